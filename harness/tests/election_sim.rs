//! Seeded cluster simulation of the leader election over 1000 seeds: message
//! loss, delay and reordering, duplication, symmetric and one-way partitions,
//! crashes and restarts from persisted state. After every step: never two leaders
//! in one term (a global term → leader record over the whole run) and never two
//! votes by one node in one term. After the faults stop, one leader everybody
//! follows must emerge within 10 election timeouts.
//!
//! Runs on the shared harness: its per-step checker finds the two-leader and
//! double-vote violations, which fail the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::election::ElectionConfig;
use pouw_netops::{Duration, Instant, Rng};
use pouw_netops_harness::election::{self, ElectionNode};
use pouw_netops_harness::{Cluster, NetConfig};

const E: Duration = Duration::from_secs(1);

/// What one run did, to check that the faults really bit.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    terms_with_leader: usize,
    crashes: u32,
    partitions: u32,
    delivered: u64,
    recovery: Duration,
}

fn set(sim: &mut Cluster<ElectionNode>, f: impl FnOnce(&mut NetConfig)) {
    let mut c = sim.net().config();
    f(&mut c);
    sim.net_mut().set_config(c);
}

fn run(seed: u64) -> Outcome {
    let mut r = Rng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xE1EC);
    let n = if r.below(2) == 0 { 3 } else { 5 };
    let pre_vote = r.chance(0.75);
    let check_quorum = r.chance(0.75);
    let mut sim = election::cluster(n, seed, move |i| ElectionConfig {
        pre_vote,
        check_quorum,
        seed: seed.wrapping_mul(31).wrapping_add(i as u64),
        ..ElectionConfig::default()
    })
    .unwrap();
    set(&mut sim, |c| c.latency_max = Duration::from_millis(20));
    let mut out = Outcome::default();
    let fault_end = Instant::from_millis(5_000 + r.below(20_000));
    let fail = |v| panic!("seed {seed}: {v}");
    while sim.now() < fault_end {
        let next = (sim.now() + Duration::from_millis(100 + r.below(1_500))).min(fault_end);
        sim.run_until(next, |_| false).unwrap_or_else(fail);
        match r.below(10) {
            0 => {
                let p = [0.0, 0.1, 0.3, 0.6][r.below(4) as usize];
                set(&mut sim, |c| c.loss = p);
            }
            1 => {
                let p = [0.0, 0.1, 0.5][r.below(3) as usize];
                set(&mut sim, |c| c.duplicate = p);
            }
            2 => {
                let side: Vec<usize> = (0..n).filter(|_| r.chance(0.5)).collect();
                sim.partition(&side);
                out.partitions += 1;
            }
            3 => {
                // One-way: a stops hearing b (b still hears a).
                let (a, b) = (r.below(n as u64) as usize, r.below(n as u64) as usize);
                if a != b {
                    sim.net_mut().block(b, a);
                }
                out.partitions += 1;
            }
            4 => {
                let i = r.below(n as u64) as usize;
                if sim.is_up(i) {
                    sim.crash(i);
                    out.crashes += 1;
                }
            }
            5 | 6 => {
                let i = r.below(n as u64) as usize;
                sim.restart(i);
            }
            7 => sim.net_mut().heal(),
            8 => {
                // Crash whoever leads.
                if let Some(l) = sim.leaders().first().copied() {
                    sim.crash(l);
                    out.crashes += 1;
                }
            }
            _ => {
                let max = [5, 50, 400][r.below(3) as usize];
                set(&mut sim, |c| c.latency_max = Duration::from_millis(max));
            }
        }
    }
    // The faults stop.
    sim.net_mut().heal();
    (0..n).for_each(|i| {
        sim.restart(i);
    });
    set(&mut sim, |c| *c = NetConfig { latency_max: Duration::from_millis(10), ..NetConfig::default() });
    let healed = sim.now();
    let settled =
        sim.run_until(healed + E.saturating_mul(10), |s| election::stable_leader(s).is_some()).unwrap_or_else(fail);
    assert!(
        settled,
        "seed {seed}: no single leader within 10 E after the faults stopped (n={n}, pre_vote={pre_vote}, check_quorum={check_quorum})"
    );
    out.recovery = sim.now() - healed;
    out.terms_with_leader = sim.leaders_by_term().len();
    out.delivered = sim.net().stats().delivered;
    out
}

fn run_range(seeds: std::ops::Range<u64>) -> Vec<Outcome> {
    seeds.map(run).collect()
}

fn check_batch(outcomes: &[Outcome]) {
    // The faults must have bitten: leaders changed and nodes crashed in most runs.
    let changed = outcomes.iter().filter(|o| o.terms_with_leader >= 2).count();
    assert!(changed * 2 > outcomes.len(), "only {changed} runs saw a second leader");
    assert!(outcomes.iter().filter(|o| o.crashes > 0).count() * 2 > outcomes.len());
    assert!(outcomes.iter().all(|o| o.partitions > 0 || o.crashes > 0 || o.delivered > 0));
}

/// One test per batch of seeds, so the batches run in parallel.
macro_rules! seed_batches {
    ($($name:ident: $seeds:expr;)*) => {$(
        #[test]
        fn $name() {
            check_batch(&run_range($seeds));
        }
    )*};
}

seed_batches! {
    seeds_0_to_250: 0..250;
    seeds_250_to_500: 250..500;
    seeds_500_to_750: 500..750;
    seeds_750_to_1000: 750..1000;
}

#[test]
fn the_same_seed_replays_the_same_run() {
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}
