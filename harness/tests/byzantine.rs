//! Byzantine-mode elections with a lying supervisor (see `pouw_netops_harness::byzantine`).

use pouw_netops::election::{ElectionConfig, FaultModel};
use pouw_netops::{Duration, Instant};
use pouw_netops_harness::byzantine::{self, ByzCluster, LiarCluster};

fn config(seed: u64, model: FaultModel) -> impl Fn(usize) -> ElectionConfig + 'static {
    move |i| ElectionConfig {
        fault_model: model,
        seed: seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
        ..ElectionConfig::default()
    }
}

/// Faults last `lie` seconds; returns the time from their end to a stable honest leader.
fn run(
    n: usize,
    liars: usize,
    seed: u64,
    model: FaultModel,
    lie: u64,
) -> Result<(ByzCluster, Option<Duration>), String> {
    let stop = Instant::from_secs(lie);
    let mut c: ByzCluster = byzantine::cluster(n, liars, seed, stop, config(seed, model))?;
    // Elections under attack: every 4 s the leader crashes, and comes back 2 s later.
    let after = c.crash_leaders(stop, Duration::from_secs(30), |_, _| {})?;
    Ok((c, after))
}

#[test]
fn one_liar_among_four_never_makes_two_certified_leaders() {
    let mut worst = Duration::ZERO;
    for seed in 0..60 {
        let (c, after) = run(4, 1, seed, byzantine::byzantine(1), 20).unwrap();
        let after = after.unwrap_or_else(|| {
            for i in 0..4 {
                let n = c.cluster.node(i).unwrap().inner();
                eprintln!(
                    "{i}: {:?} t={} l={:?} v={:?} {:?}",
                    n.role(),
                    n.term(),
                    n.leader(),
                    n.voted_for(),
                    n.stats()
                );
            }
            eprintln!("{:?}", c.shared.borrow());
            panic!("seed {seed}: no leader within 30 s after the faults stopped")
        });
        worst = worst.max(after);
        let book = c.shared.borrow();
        assert!(book.violation().is_none());
        assert!(c.max_term() < 1000, "seed {seed}: term {} inflated", c.max_term());
        let liar = c.cluster.node(3).unwrap().liar().unwrap();
        assert!(liar.attacks > 0, "seed {seed}: the liar attacked");
        assert!(c.uncertified() > 0 && book.forged > 0, "seed {seed}: lies were refused and counted");
        assert!(!book.certified_leaders().is_empty());
    }
    assert!(worst <= Duration::from_secs(10), "liveness bound: {worst:?}");
}

#[test]
fn honest_byzantine_mode_elects_and_reelects() {
    for seed in 0..20 {
        let (c, after) = run(4, 0, seed, byzantine::byzantine(1), 0).unwrap();
        assert!(after.is_some(), "seed {seed}");
        assert_eq!(c.uncertified(), 0, "seed {seed}: honest nodes always carry their certificates");
        assert_eq!(c.shared.borrow().forged, 0);
    }
}

/// The same liar against majority quorums (crash-only mode, N = 3): its double
/// votes elect two leaders in one term in some runs, which the checker catches.
#[test]
fn the_same_liar_breaks_crash_only_majorities() {
    let broken = (0..200).filter(|&seed| run(3, 1, seed, FaultModel::CrashOnly, 20).is_err()).count();
    assert!(broken > 0, "the checker never saw two leaders in one term");
}

/// The same story with real signatures (`pouw_netops_harness::signed`): the
/// liar double-votes with its own key, forges and replays certificates.
#[test]
fn one_signing_liar_among_four_is_caught_and_harmless() {
    use pouw_netops::election::CertReject;
    use pouw_netops_harness::signed;
    // Real Ed25519 in a debug build: one short run here; the release
    // example `election_byzantine -- --signed` sweeps more.
    {
        let seed = 0u64;
        let stop = Instant::from_secs(5);
        let mut c: signed::SignedCluster =
            byzantine::cluster(4, 1, seed, stop, config(seed, byzantine::byzantine(1))).unwrap();
        let mut t = Instant::ZERO;
        while t + Duration::from_secs(2) < stop {
            t += Duration::from_secs(2);
            c.run_until(t, |_| false).unwrap();
            if let Some(l) = c.cluster.leader() {
                c.cluster.crash(l);
                c.run_until(t + Duration::from_secs(1), |_| false).unwrap();
                c.cluster.restart(l);
            }
        }
        c.run_until(stop, |_| false).unwrap();
        let found = c.run_until(stop + Duration::from_secs(30), |c| c.stable_leader().is_some()).unwrap();
        assert!(found, "seed {seed}: a leader after the faults stopped");
        assert!(!c.shared.borrow().certified.is_empty());
        assert!(c.max_term() < 100, "seed {seed}: term {}", c.max_term());
        assert!(c.rejected(CertReject::BadCertificate) + c.rejected(CertReject::WrongClaim) > 0, "seed {seed}");
        let ledger = c.shared.borrow();
        assert!(ledger.violation.is_none());
        for e in &ledger.evidence {
            assert_eq!(e.voter().as_str(), "s3", "only the liar equivocates");
            let key = pouw_netops_harness::ClusterAuthority::new(seed).identity(e.voter()).public();
            e.verify(&pouw_netops_harness::ClusterAuthority::new(seed).public(), &key).unwrap();
        }
    }
}
