//! The Raft paper's Figure 16 in simulation (Ongaro and Ousterhout, 2014, §9.3):
//! five voters, election timeouts drawn from 150–300 ms, the leader crashed at a
//! uniformly random point of its heartbeat interval (half the minimum election
//! timeout, as in the paper), one-way network latency uniform in 2–5 ms. Prints
//! the median, p99 and maximum time without a leader over 1000 trials, with
//! PreVote and CheckQuorum on (the defaults) and off, then in Byzantine mode
//! (`f = 1`, quorum certificates on every term change, modelled as in
//! `pouw_netops_harness::byzantine`) against crash-only mode at 4 and 5
//! voters, with the messages and certificates per election.
//!
//! ```sh
//! cargo run --release -p pouw-netops-harness --example election_figure16
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::election::{ElectionConfig, FaultModel};
use pouw_netops::{Duration, Instant, Rng};
use pouw_netops_harness::byzantine::{LiarCluster, Voter as _};
use pouw_netops_harness::{byzantine, election, signed};

const TRIALS: u64 = 1000;
const E: Duration = Duration::from_millis(150);
const H: Duration = Duration::from_micros(75_000);

/// One trial: the time from the leader's crash until another node is leader.
fn trial(seed: u64, pre_vote: bool) -> Option<Duration> {
    trial_n(5, seed, pre_vote).map(|(t, _)| t)
}

/// What one election cost: datagrams, certificates attached, signed grants.
#[derive(Clone, Copy, Default)]
struct Cost {
    messages: u64,
    certificates: u64,
    grants: u64,
    /// Attachment bytes (real signatures only).
    bytes: u64,
}

/// [`trial`] with `n` voters; also the datagrams sent from the crash to the new leader.
fn trial_n(n: usize, seed: u64, pre_vote: bool) -> Option<(Duration, Cost)> {
    let mut sim = election::cluster(n, seed, move |i| ElectionConfig {
        election_timeout: E,
        heartbeat_interval: H,
        pre_vote,
        check_quorum: pre_vote,
        seed: seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
        ..ElectionConfig::default()
    })
    .expect("a valid cluster");
    let mut net = sim.net().config();
    net.latency_min = Duration::from_millis(2);
    sim.net_mut().set_config(net);
    let check = |r: Result<bool, pouw_netops_harness::Violation>| r.unwrap_or_else(|v| panic!("{v}"));
    // Elect a first leader, then let the cluster run steadily for a while.
    check(sim.run_until(Instant::from_secs(10), |s| election::stable_leader(s).is_some()));
    let steady = sim.now() + Duration::from_secs(1);
    check(sim.run_until(steady, |_| false));
    let leader = election::stable_leader(&sim)?;
    let term = sim.node(leader)?.term();
    // Crash it at a uniformly random point of its heartbeat interval.
    let mut r = Rng::new(seed ^ 0xF16);
    let crash_at = sim.now() + Duration::from_micros(r.below(H.total_micros()));
    check(sim.run_until(crash_at, |_| false));
    let leader = election::stable_leader(&sim)?;
    sim.crash(leader);
    let sent = sim.net().stats().sent;
    let found = check(sim.run_until(crash_at + Duration::from_secs(10), |s| election::leader_above(s, term).is_some()));
    let cost = Cost { messages: sim.net().stats().sent - sent, ..Cost::default() };
    found.then(|| (sim.now() - crash_at, cost))
}

/// The configuration of node `i` in the Byzantine trials (`f = 1`).
fn byzantine_config(seed: u64) -> impl Fn(usize) -> ElectionConfig + 'static {
    move |i| ElectionConfig {
        election_timeout: E,
        heartbeat_interval: H,
        fault_model: FaultModel::Byzantine { f: 1 },
        seed: seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
        ..ElectionConfig::default()
    }
}

/// [`trial_n`] on a Byzantine cluster without liars: `counters` reads the
/// cumulative costs, before the crash and once a leader of a higher term is found.
fn trial_liars<C: LiarCluster>(mut sim: C, seed: u64, counters: impl Fn(&C) -> Cost) -> Option<(Duration, Cost)> {
    let mut net = sim.cluster().net().config();
    net.latency_min = Duration::from_millis(2);
    sim.cluster_mut().net_mut().set_config(net);
    let check = |r: Result<bool, pouw_netops_harness::Violation>| r.unwrap_or_else(|v| panic!("{v}"));
    check(sim.run_until(Instant::from_secs(10), |s| s.stable_leader().is_some()));
    let steady = sim.cluster().now() + Duration::from_secs(1);
    check(sim.run_until(steady, |_| false));
    let leader = sim.stable_leader()?;
    let term = sim.cluster().node(leader)?.term();
    let mut r = Rng::new(seed ^ 0xF16);
    let crash_at = sim.cluster().now() + Duration::from_micros(r.below(H.total_micros()));
    check(sim.run_until(crash_at, |_| false));
    let leader = sim.stable_leader()?;
    sim.cluster_mut().crash(leader);
    let before = counters(&sim);
    let found = check(sim.run_until(crash_at + Duration::from_secs(10), |s| s.leader_above(term)));
    let after = counters(&sim);
    let cost = Cost {
        messages: after.messages - before.messages,
        certificates: after.certificates - before.certificates,
        grants: after.grants - before.grants,
        bytes: after.bytes - before.bytes,
    };
    found.then(|| (sim.cluster().now() - crash_at, cost))
}

/// [`trial_n`] in Byzantine mode (`f = 1`), no liar: every vote request and
/// leader heartbeat carries its certificate.
fn trial_byzantine(n: usize, seed: u64) -> Option<(Duration, Cost)> {
    let sim: byzantine::ByzCluster =
        byzantine::cluster(n, 0, seed, Instant::ZERO, byzantine_config(seed)).expect("a valid cluster");
    trial_liars(sim, seed, |s| {
        let book = s.shared.borrow();
        Cost { messages: s.cluster.net().stats().sent, certificates: book.attached, grants: book.grants, bytes: 0 }
    })
}

/// [`trial_byzantine`] with real signatures (`CertifiedElection`): the
/// datagrams, certificates, signed grants and attachment bytes, per recipient.
fn trial_signed(n: usize, seed: u64) -> Option<(Duration, Cost)> {
    let sim: signed::SignedCluster =
        byzantine::cluster(n, 0, seed, Instant::ZERO, byzantine_config(seed)).expect("a valid cluster");
    trial_liars(sim, seed, |s| {
        let l = s.shared.borrow();
        Cost { messages: l.datagrams, certificates: l.certificates, grants: l.grants, bytes: l.attachment_bytes }
    })
}

/// Runs `TRIALS` of `one` and prints a row: median, p99, max, failures, mean cost.
fn row(label: &str, one: impl Fn(u64) -> Option<(Duration, Cost)>) -> Duration {
    let mut times = Vec::new();
    let mut failed = 0;
    let mut total = Cost::default();
    for seed in 0..TRIALS {
        match one(seed) {
            Some((t, c)) => {
                times.push(t);
                total.messages += c.messages;
                total.certificates += c.certificates;
                total.grants += c.grants;
                total.bytes += c.bytes;
            }
            None => failed += 1,
        }
    }
    times.sort();
    let ms = |d: Duration| d.total_micros() as f64 / 1000.0;
    let k = times.len().max(1) as f64;
    let worst = *times.last().unwrap_or(&Duration::ZERO);
    println!(
        "| {label} | {:.1} ms | {:.1} ms | {:.1} ms | {failed} | {:.1} | {:.1} | {:.1} | {:.0} |",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(worst),
        total.messages as f64 / k,
        total.certificates as f64 / k,
        total.grants as f64 / k,
        total.bytes as f64 / k,
    );
    worst
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() {
    println!(
        "Raft Figure 16 setup: 5 voters, timeouts [150, 300) ms, heartbeat 75 ms, one-way latency 2-5 ms, {TRIALS} trials"
    );
    println!("| configuration | median | p99 | max | trials without a new leader in 10 s |");
    println!("|---|---|---|---|---|");
    for pre_vote in [true, false] {
        let mut times = Vec::new();
        let mut failed = 0;
        for seed in 0..TRIALS {
            match trial(seed, pre_vote) {
                Some(t) => times.push(t),
                None => failed += 1,
            }
        }
        times.sort();
        let ms = |d: Duration| d.total_micros() as f64 / 1000.0;
        println!(
            "| PreVote + CheckQuorum {} | {:.1} ms | {:.1} ms | {:.1} ms | {failed} |",
            if pre_vote { "on" } else { "off" },
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
        );
    }
    println!();
    println!("Fault models (PreVote + CheckQuorum on; Byzantine mode f = 1, certificates on every term change):");
    println!(
        "| configuration | median | p99 | max | trials without a new leader in 10 s | datagrams per election | certificates attached | signed grants | attachment bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in [4, 5] {
        let crash =
            row(&format!("N = {n}, crash-only (q = {})", FaultModel::CrashOnly.quorum(n)), |s| trial_n(n, s, true));
        let q = FaultModel::Byzantine { f: 1 }.quorum(n);
        let byz = row(&format!("N = {n}, Byzantine f = 1 (q = {q}), ideal signatures"), |s| trial_byzantine(n, s));
        let real = row(&format!("N = {n}, Byzantine f = 1 (q = {q}), real signatures"), |s| trial_signed(n, s));
        println!(
            "| N = {n}: worst-case ratio Byzantine / crash-only | {:.2} (real signatures {:.2}) | | | | | | | |",
            byz.total_micros() as f64 / crash.total_micros().max(1) as f64,
            real.total_micros() as f64 / crash.total_micros().max(1) as f64
        );
    }
}
