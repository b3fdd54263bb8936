//! The same seed replays the same run; the default story ends healthy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::Duration;
use pouw_netops_sim::cluster::{self, Scenario, SimConfig};

fn small(seed: u64) -> SimConfig {
    SimConfig { seed, supervisors: 3, workers: 8, duration: Duration::from_secs(90), ..SimConfig::default() }
}

#[test]
fn same_seed_same_trace_hash_and_summary() {
    let (a, ta) = cluster::run(small(7));
    let (b, tb) = cluster::run(small(7));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert_eq!(ta, tb);
    let (c, _) = cluster::run(small(8));
    assert_ne!(a.trace_hash, c.unwrap().trace_hash, "another seed gives another run");
}

/// Stepping the nodes on two threads, in windows of the minimum latency,
/// replays the same run: the same deliveries and events (trace hash), the
/// same summary (the control-plane watch's included) and timeline. Only the
/// step count (no empty wake-ups) and the time to a followed leader
/// (measured once a window) may differ.
#[test]
fn node_threads_replay_the_same_run() {
    let configs = [
        small(7),
        SimConfig { scenario: Scenario::Churn, follower_heartbeat_every: 3, ..small(5) },
        SimConfig { supervisors: 4, byzantine: 1, ..small(3) },
        // No attacker, an end that falls on no act of the run: the last
        // wake-up before it may be an empty one.
        SimConfig { attack_rate: 0.0, duration: Duration::from_millis(93_300), ..small(11) },
        SimConfig { scenario: Scenario::ControlPlanePartition, duration: Duration::from_secs(680), ..small(2) },
    ];
    for cfg in configs {
        let (one, t_one) = cluster::run(cfg.clone());
        let (two, t_two) = cluster::run(SimConfig { node_threads: 2, ..cfg });
        let (one, mut two) = (one.unwrap(), two.unwrap());
        assert!(two.steps <= one.steps);
        let within = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 0.001 + 1e-9,
            (a, b) => a.is_none() && b.is_none(),
        };
        assert!(within(one.leader_after_fault, two.leader_after_fault), "{one:?} / {two:?}");
        (two.steps, two.leader_after_fault) = (one.steps, one.leader_after_fault);
        assert_eq!(one.trace_hash, two.trace_hash, "seed {}", one.seed);
        assert_eq!(one, two);
        assert_eq!(t_one, t_two);
    }
}

#[test]
fn default_story_detects_replaces_and_recovers() {
    let (s, timeline) = cluster::run(SimConfig { duration: Duration::from_secs(240), ..SimConfig::default() });
    let s = s.unwrap_or_else(|v| panic!("{v}"));
    assert!(s.time_to_first_leader.unwrap() < 10.0, "{s:?}");
    assert!(s.leader_changes >= 1, "the leader crash elects another");
    assert_eq!(s.crashes.len(), 4, "the leader and three workers");
    for c in &s.crashes {
        let d = c.detection_delay.expect("every crash is detected");
        assert!(d > 0.0 && d <= 10.0, "{c:?}");
        if !c.supervisor {
            assert!(!c.replacement_delays.is_empty(), "a loaded worker's roles move: {c:?}");
            assert!(c.replacement_delays.iter().all(|&r| r == 0.0), "in the detecting tick: {c:?}");
        }
    }
    assert_eq!((s.tasks, s.tasks_complete), (20, 20));
    // What the workers hold agrees with the leader once settled (the leader
    // crash is survived without a worker over its slots or a second primary).
    assert_eq!(s.stale_roles, 0, "{s:?}");
    assert!(s.compression_ratio() < 0.5);
    assert!(timeline.iter().any(|l| l.contains("resuming from checkpoint #")));
}

#[test]
fn churn_under_loss_keeps_invariants() {
    let cfg = SimConfig {
        scenario: Scenario::Churn,
        supervisors: 3,
        workers: 20,
        duration: Duration::from_secs(120),
        ..SimConfig::default()
    };
    let (s, _) = cluster::run(cfg);
    let s = s.unwrap_or_else(|v| panic!("{v}"));
    assert!(s.crashes.len() >= 9);
    assert_eq!(s.stale_roles, 0, "{s:?}");
}

#[test]
fn udp_transport_elects_and_survives_real_kills() {
    let cfg = SimConfig { supervisors: 3, workers: 6, duration: Duration::from_secs(12), ..SimConfig::default() };
    let (s, timeline) = pouw_netops_sim::udp::run(cfg);
    let s = s.unwrap_or_else(|v| panic!("{v}"));
    assert!(s.time_to_first_leader.is_some(), "{timeline:?}");
    assert!(s.messages_sent > 0);
    assert!(timeline.iter().any(|l| l.contains("KILL the leader")), "{timeline:?}");
}

#[test]
fn a_re_elected_leader_leaves_no_old_term_roles_behind() {
    // Seeds where the first leader steps down and wins again: before the
    // step-down released its roles, workers kept them beside the new term's.
    for seed in [990, 991] {
        let (s, _) = cluster::run(small(seed));
        let s = s.unwrap_or_else(|v| panic!("{v}"));
        assert_eq!(s.stale_roles, 0, "seed {seed}");
    }
}

#[test]
fn losing_the_control_plane_leaves_the_data_plane_and_resyncs_within_a_heartbeat() {
    // No loss: the resync bounds are exact (a lost heartbeat would add an interval).
    let mut cfg = small(7);
    cfg.scenario = Scenario::ControlPlanePartition;
    cfg.workers = 5;
    cfg.duration = Duration::from_secs(690);
    cfg.net.loss = 0.0;
    cfg.net.duplicate = 0.0;
    cfg.attack_rate = 0.0;
    let (s, timeline) = cluster::run(cfg.clone());
    let s = s.unwrap_or_else(|v| panic!("{v}\n{}", timeline.join("\n")));
    let c = s.control_plane.expect("the scenario measures the cut");
    // 3 supervisors and 5 workers: each supervisor has a tunnel to each of
    // the 7 others, each worker to the 3 supervisors; both ends count.
    assert_eq!(c.tunnels_at_cut, 3 * 7 + 5 * 3, "{c:?}");
    assert_eq!((c.tunnels_lost, c.worker_route_changes, c.supervisor_route_changes), (0, 0, 0));
    assert!(c.checks >= 5_990, "checked every 100 ms of the 10-minute cut: {c:?}");
    assert!(s.partition_detections > 0, "the control plane declared the other side crashed");
    let heartbeat = cfg.heartbeat.as_secs_f64();
    let latency = cfg.net.latency_max.as_secs_f64();
    assert!(c.leader_resync.is_some_and(|t| t <= heartbeat + latency), "{c:?}");
    // Peers are online again at their first heartbeat: their tunnels stayed
    // up by the handshakes, so the data plane vouched for them (no flap guard).
    assert!(c.membership_resync.is_some_and(|t| t <= heartbeat + latency), "{c:?}");
    assert!(c.tasks_resync.is_some_and(|t| t <= heartbeat + latency), "{c:?}");
    // The same seed replays exactly.
    assert_eq!(cluster::run(cfg).0.map(|s| s.trace_hash).ok(), Some(s.trace_hash));
}
