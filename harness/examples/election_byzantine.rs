//! Sweep of Byzantine-mode elections with lying supervisors (see
//! `pouw_netops_harness::byzantine`): `N` voters, the last `K` of them lying
//! (double votes, inflated terms, leadership claims with and without forged
//! certificates, replayed certificates, withheld traffic) for the first 20 s,
//! the leader crashed every 4 s (back 2 s later) meanwhile. Checked after
//! every step: never two certified leaders in one term, never two leaders in
//! one term. Reported: the time from the end of the faults to a leader every
//! honest node follows (the liveness bound), the highest term reached, the
//! lies refused.
//!
//! With `--signed` the nodes are `CertifiedElection`s with real Ed25519
//! signatures and certificates (`pouw_netops_harness::signed`), the liar
//! signing its double votes and forged certificates with its own key, and
//! the equivocation evidence the nodes report is counted.
//!
//! ```sh
//! cargo run --release -p pouw-netops-harness --example election_byzantine -- --seeds 0..1000 --voters 4 --liars 1 --f 1
//! cargo run --release -p pouw-netops-harness --example election_byzantine -- --seeds 0..200 --signed
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::election::{ElectionConfig, FaultModel};
use pouw_netops::{Duration, Instant};
use pouw_netops_harness::byzantine::LiarCluster;
use pouw_netops_harness::{byzantine, signed};

const LIE: Duration = Duration::from_secs(20);

struct Outcome {
    after: Option<Duration>,
    max_term: u64,
    forged: u64,
    uncertified: u64,
    liar_led: bool,
}

fn config(seed: u64, model: FaultModel) -> impl Fn(usize) -> ElectionConfig + 'static {
    move |i| ElectionConfig {
        fault_model: model,
        seed: seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
        ..ElectionConfig::default()
    }
}

fn one(seed: u64, n: usize, liars: usize, model: FaultModel) -> Result<Outcome, String> {
    let stop = Instant::ZERO + LIE;
    let mut c: byzantine::ByzCluster = byzantine::cluster(n, liars, seed, stop, config(seed, model))?;
    let (mut uncertified, mut liar_led) = (0, false);
    let after = c.crash_leaders(stop, Duration::from_secs(60), |c, l| {
        liar_led |= c.liars.contains(&l);
        uncertified += c.cluster.node(l).map_or(0, |n| n.inner().stats().uncertified);
    })?;
    let forged = c.shared.borrow().forged;
    Ok(Outcome { after, max_term: c.max_term(), forged, uncertified: uncertified + c.uncertified(), liar_led })
}

/// [`one`] with real signatures; `forged` counts certificates refused as bad
/// or for another claim, `uncertified` the evidence records.
fn one_signed(seed: u64, n: usize, liars: usize, model: FaultModel) -> Result<Outcome, String> {
    use pouw_netops::election::CertReject;
    let stop = Instant::ZERO + LIE;
    let mut c: signed::SignedCluster = byzantine::cluster(n, liars, seed, stop, config(seed, model))?;
    let refused =
        |c: &signed::SignedCluster| c.rejected(CertReject::BadCertificate) + c.rejected(CertReject::WrongClaim);
    let (mut forged, mut liar_led) = (0, false);
    let after = c.crash_leaders(stop, Duration::from_secs(60), |c, l| {
        liar_led |= c.liars.contains(&l);
        forged += refused(c);
    })?;
    let forged = forged + refused(&c);
    let evidence = c.shared.borrow().evidence.len() as u64;
    Ok(Outcome { after, max_term: c.max_term(), forged, uncertified: evidence, liar_led })
}

fn main() {
    let mut seeds = 0..1000u64;
    let (mut n, mut liars, mut f) = (4usize, 1usize, Some(1u32));
    let mut signed = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--signed" {
            signed = true;
            continue;
        }
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--seeds" => {
                let (a, b) = v.split_once("..").expect("--seeds A..B");
                seeds = a.parse().unwrap()..b.parse().unwrap();
            }
            "--voters" => n = v.parse().unwrap(),
            "--liars" => liars = v.parse().unwrap(),
            "--f" => f = if v == "crash" { None } else { Some(v.parse().unwrap()) },
            _ => panic!("unknown argument {a}"),
        }
    }
    let model = f.map_or(FaultModel::CrashOnly, |f| FaultModel::Byzantine { f });
    let (mut times, mut failures, mut no_leader) = (Vec::new(), Vec::new(), 0u64);
    let (mut max_term, mut forged, mut uncertified, mut liar_led) = (0, 0, 0, 0);
    let total = seeds.end.saturating_sub(seeds.start);
    for seed in seeds {
        let run = if signed { one_signed(seed, n, liars, model) } else { one(seed, n, liars, model) };
        match run {
            Ok(o) => {
                match o.after {
                    Some(t) => times.push(t),
                    None => no_leader += 1,
                }
                max_term = max_term.max(o.max_term);
                forged += o.forged;
                uncertified += o.uncertified;
                liar_led += u64::from(o.liar_led);
            }
            Err(e) => failures.push(e),
        }
    }
    times.sort();
    let ms = |d: Duration| d.total_micros() as f64 / 1000.0;
    let pct = |p: f64| times.get(((p * times.len() as f64) as usize).min(times.len().saturating_sub(1))).copied();
    println!(
        "{total} seeds, {n} voters, {liars} lying for {} s, {model:?}, {}",
        LIE.total_micros() / 1_000_000,
        if signed { "real signatures" } else { "ideal signatures" }
    );
    println!("violations: {}", failures.len());
    for f in failures.iter().take(5) {
        println!("  {f}");
    }
    println!("seeds without a leader within 60 s after the faults stopped: {no_leader}");
    if let (Some(p50), Some(p99), Some(max)) = (pct(0.5), pct(0.99), times.last().copied()) {
        println!(
            "time from the end of the faults to a leader all honest nodes follow: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(p50),
            ms(p99),
            ms(max)
        );
    }
    println!("highest term reached: {max_term}");
    if signed {
        println!("certificates refused (bad or wrong claim): {forged}; equivocation evidence records: {uncertified}");
    } else {
        println!("forged certificates refused: {forged}; uncertified messages refused: {uncertified}");
    }
    println!("seeds where a liar led at some crash point: {liar_led}");
    if !failures.is_empty() || no_leader > 0 {
        std::process::exit(1);
    }
}
