//! The Raft paper's Figure 16 in simulation (Ongaro and Ousterhout, 2014, §9.3):
//! five voters, election timeouts drawn from 150–300 ms, the leader crashed at a
//! uniformly random point of its heartbeat interval (half the minimum election
//! timeout, as in the paper), one-way network latency uniform in 2–5 ms. Prints
//! the median, p99 and maximum time without a leader over 1000 trials, with
//! PreVote and CheckQuorum on (the defaults) and off.
//!
//! ```sh
//! cargo run --release -p pouw-netops --example election_figure16
//! ```

#[path = "../tests/support/election_sim.rs"]
mod sim;

use pouw_netops::election::ElectionConfig;
use pouw_netops::{Duration, Instant, Rng};
use sim::Sim;

const TRIALS: u64 = 1000;
const E: Duration = Duration::from_millis(150);
const H: Duration = Duration::from_micros(75_000);

/// One trial: the time from the leader's crash until another node is leader.
fn trial(seed: u64, pre_vote: bool) -> Option<Duration> {
    let mut sim = Sim::new(5, seed, |i| ElectionConfig {
        election_timeout: E,
        heartbeat_interval: H,
        pre_vote,
        check_quorum: pre_vote,
        seed: seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
        ..ElectionConfig::default()
    });
    sim.latency = (Duration::from_millis(2), Duration::from_millis(5));
    // Elect a first leader, then let the cluster run steadily for a while.
    sim.run_until(Instant::from_secs(10), |s| s.stable_leader().is_some());
    let steady = sim.now + Duration::from_secs(1);
    sim.run_until(steady, |_| false);
    let leader = sim.stable_leader()?;
    let term = sim.node(leader)?.term();
    // Crash it at a uniformly random point of its heartbeat interval.
    let mut r = Rng::new(seed ^ 0xF16);
    let crash_at = sim.now + Duration::from_micros(r.below(H.total_micros()));
    sim.run_until(crash_at, |_| false);
    let leader = sim.stable_leader()?;
    sim.crash(leader);
    let found = sim.run_until(crash_at + Duration::from_secs(10), |s| s.leader_above(term).is_some());
    found.then(|| sim.now - crash_at)
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
