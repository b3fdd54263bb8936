//! The Raft paper's Figure 16 in simulation (Ongaro and Ousterhout, 2014, §9.3):
//! five voters, election timeouts drawn from 150–300 ms, the leader crashed at a
//! uniformly random point of its heartbeat interval (half the minimum election
//! timeout, as in the paper), one-way network latency uniform in 2–5 ms. Prints
//! the median, p99 and maximum time without a leader over 1000 trials, with
//! PreVote and CheckQuorum on (the defaults) and off.
//!
//! ```sh
//! cargo run --release -p pouw-netops-harness --example election_figure16
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::election::ElectionConfig;
use pouw_netops::{Duration, Instant, Rng};
use pouw_netops_harness::election;

const TRIALS: u64 = 1000;
const E: Duration = Duration::from_millis(150);
const H: Duration = Duration::from_micros(75_000);

/// One trial: the time from the leader's crash until another node is leader.
fn trial(seed: u64, pre_vote: bool) -> Option<Duration> {
    let mut sim = election::cluster(5, seed, move |i| ElectionConfig {
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
    let found = check(sim.run_until(crash_at + Duration::from_secs(10), |s| election::leader_above(s, term).is_some()));
    found.then(|| sim.now() - crash_at)
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
}
