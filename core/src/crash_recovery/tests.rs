use super::*;
use crate::preset::small;
use std::vec::Vec;

use crate::test_support::id;

fn secs(s: f64) -> Instant {
    Instant::from_secs_f64(s)
}

fn manager() -> small::CrashRecoveryManager {
    small::CrashRecoveryManager::new(CrashRecoveryConfig::default()).unwrap()
}

/// Heartbeats `node` every second from `from` to `to` seconds inclusive.
fn beat(m: &mut small::CrashRecoveryManager, node: &NodeId, from: u64, to: u64) {
    for t in from..=to {
        m.heartbeat(Instant::from_secs(t), node).unwrap();
    }
}

/// A manager that heard node `a` every second from 0 to `last` s, then found
/// it crashed at 60 s.
fn crashed(last: u64) -> (small::CrashRecoveryManager, NodeId) {
    let mut m = manager();
    let a = id("a");
    beat(&mut m, &a, 0, last);
    assert_eq!(m.detect_crashes(secs(60.0)).count(), 1);
    (m, a)
}

/// [`crashed`]`(10)`, its automatic recovery started at 61 s (as the coordinator does).
fn recovering() -> (small::CrashRecoveryManager, NodeId) {
    let (mut m, a) = crashed(10);
    m.initiate_recovery(secs(61.0), &a, RecoveryStrategy::Automatic).unwrap();
    (m, a)
}

fn kinds(m: &small::CrashRecoveryManager, node: &NodeId) -> Vec<&'static str> {
    m.events().filter(|e| &e.node == node).map(|e| e.kind.as_str()).collect()
}

#[test]
fn first_heartbeat_registers_node_online() {
    let mut m = manager();
    let a = id("a");
    assert!(matches!(m.status(&a), Err(CrashRecoveryError::UnknownNode(_))));
    m.heartbeat(secs(0.0), &a).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    assert_eq!(m.len(), 1);
    assert!(m.events().next().is_none());
}

#[test]
fn silence_goes_suspected_then_offline_and_is_reported_once() {
    let mut m = manager();
    let a = id("a");
    beat(&mut m, &a, 0, 10);
    assert_eq!(m.detect_crashes(secs(11.0)).count(), 0);
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    // Half the threshold (phi 4) comes before phi 8.
    let mut suspected_at = None;
    let mut offline_at = None;
    for tenth in 110..400 {
        let now = secs(f64::from(tenth) / 10.0);
        let crashed: Vec<NodeId> = m.detect_crashes(now).cloned().collect();
        if suspected_at.is_none() && m.status(&a) == Ok(NodeStatus::Suspected) {
            suspected_at = Some(now);
            assert!(m.phi(now, &a).unwrap() >= 4.0);
        }
        if !crashed.is_empty() {
            assert_eq!(crashed.as_slice(), core::slice::from_ref(&a));
            assert!(offline_at.is_none(), "crash reported twice");
            offline_at = Some(now);
            assert!(m.phi(now, &a).unwrap() >= 8.0);
        }
    }
    let (s, o) = (suspected_at.unwrap(), offline_at.unwrap());
    assert!(s < o);
    assert_eq!(m.status(&a), Ok(NodeStatus::Offline));
    assert_eq!(kinds(&m, &a), ["status_changed", "status_changed", "crash_detected"]);
    assert_eq!(m.network_health_summary(o).recent_crashes, 1);
}

#[test]
fn unhealthy_metrics_suspect_and_recover_without_silence() {
    let mut m = manager();
    let a = id("a");
    m.heartbeat(secs(0.0), &a).unwrap();
    let busy = HealthMetrics { cpu_usage: 0.95, ..HealthMetrics::default() };
    m.update_node_health(secs(1.0), &a, busy).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Suspected));
    assert_eq!(m.is_healthy(secs(1.0), &a), Ok(false));
    m.update_node_health(secs(2.0), &a, HealthMetrics::default()).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
}

#[test]
fn invalid_metrics_change_nothing() {
    let mut m = manager();
    let a = id("a");
    let bad = HealthMetrics { memory_usage: -0.1, ..HealthMetrics::default() };
    assert!(matches!(m.update_node_health(secs(0.0), &a, bad), Err(CrashRecoveryError::InvalidMetric(_))));
    assert!(m.is_empty());
}

#[test]
fn full_table_rejects_without_losing_anything() {
    let mut m = manager();
    for i in 0..small::NODES {
        m.heartbeat(secs(0.0), &id(&std::format!("n{i}"))).unwrap();
    }
    let extra = id("extra");
    match m.heartbeat(secs(1.0), &extra) {
        Err(CrashRecoveryError::TableFull(e)) => {
            assert_eq!(e.rejected, extra);
            assert_eq!(e.capacity, small::NODES);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.len(), small::NODES);
    assert_eq!(m.status(&id("n0")), Ok(NodeStatus::Online));
    // Marking a new node's status registers it too, so it is refused the same
    // way, and leaves no event behind.
    let events = m.events().count();
    assert!(matches!(
        m.set_status(secs(1.0), &extra, NodeStatus::Offline),
        Err(CrashRecoveryError::TableFull(e)) if e.rejected == extra
    ));
    assert_eq!((m.len(), m.events().count()), (small::NODES, events));
    assert!(matches!(m.status(&extra), Err(CrashRecoveryError::UnknownNode(_))));
    // Removing one makes room.
    m.remove_node(&id("n3")).unwrap();
    m.heartbeat(secs(1.0), &extra).unwrap();
    assert!(matches!(m.remove_node(&id("n3")), Err(CrashRecoveryError::UnknownNode(_))));
}

#[test]
fn recovery_lifecycle_completes_after_healthy_heartbeats() {
    let (mut m, a) = crashed(10);
    assert!(matches!(
        m.initiate_recovery(secs(60.0), &id("zz"), RecoveryStrategy::Restart),
        Err(CrashRecoveryError::UnknownNode(_))
    ));
    m.initiate_recovery(secs(61.0), &a, RecoveryStrategy::Restart).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    assert!(matches!(
        m.initiate_recovery(secs(61.0), &a, RecoveryStrategy::Restart),
        Err(CrashRecoveryError::InvalidStatus { status: NodeStatus::Recovering, .. })
    ));
    m.heartbeat(secs(70.0), &a).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    m.heartbeat(secs(71.0), &a).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    let done = m.events().find(|e| e.kind.as_str() == "recovery_completed").unwrap();
    assert_eq!(
        done.kind,
        RecoveryEventKind::RecoveryCompleted { strategy: RecoveryStrategy::Restart, took: Duration::from_secs(10) }
    );
    // Recovery applies only to nodes in trouble.
    assert!(matches!(
        m.initiate_recovery(secs(72.0), &a, RecoveryStrategy::Restart),
        Err(CrashRecoveryError::InvalidStatus { status: NodeStatus::Online, .. })
    ));
}

#[test]
fn returning_node_recovers_automatically() {
    let (mut m, a) = crashed(5);
    m.heartbeat(secs(100.0), &a).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    m.heartbeat(secs(101.0), &a).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    assert!(kinds(&m, &a).contains(&"recovery_started"));
    assert!(kinds(&m, &a).contains(&"recovery_completed"));
}

#[test]
fn a_vouched_heartbeat_completes_an_automatic_recovery_at_once() {
    let (mut m, a) = recovering();
    m.update_node_health_vouched(secs(70.0), &a, HealthMetrics::default()).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    assert_eq!(
        m.events().find(|e| e.kind.as_str() == "recovery_completed").map(|e| e.kind),
        Some(RecoveryEventKind::RecoveryCompleted {
            strategy: RecoveryStrategy::Automatic,
            took: Duration::from_secs(9)
        })
    );
    // A node that returns on its own (offline, no recovery under way) too.
    let (mut m, a) = crashed(10);
    m.update_node_health_vouched(secs(70.0), &a, HealthMetrics::default()).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    assert!(
        kinds(&m, &a).ends_with(&["status_changed", "recovery_started", "recovery_completed"]),
        "{:?}",
        kinds(&m, &a)
    );
}

#[test]
fn without_vouching_a_recovery_still_needs_its_heartbeats() {
    let (mut m, a) = recovering();
    m.update_node_health(secs(70.0), &a, HealthMetrics::default()).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    m.update_node_health(secs(71.0), &a, HealthMetrics::default()).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
}

#[test]
fn vouching_skips_neither_an_unhealthy_heartbeat_nor_another_strategy() {
    // An unhealthy heartbeat completes nothing, vouched or not.
    let (mut m, a) = recovering();
    let sick = HealthMetrics { cpu_usage: 0.99, ..HealthMetrics::default() };
    m.update_node_health_vouched(secs(70.0), &a, sick).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    m.update_node_health_vouched(secs(71.0), &a, HealthMetrics::default()).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    // A restart by the host is a new process: the flap guard stays.
    let (mut m, a) = crashed(10);
    m.initiate_recovery(secs(61.0), &a, RecoveryStrategy::Restart).unwrap();
    m.update_node_health_vouched(secs(70.0), &a, HealthMetrics::default()).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    m.update_node_health_vouched(secs(71.0), &a, HealthMetrics::default()).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    // Invalid metrics change nothing.
    let (mut m, a) = crashed(10);
    let bad = HealthMetrics { cpu_usage: f32::NAN, ..HealthMetrics::default() };
    assert!(m.update_node_health_vouched(secs(70.0), &a, bad).is_err());
    assert_eq!(m.status(&a), Ok(NodeStatus::Offline));
}

#[test]
fn recovery_fails_after_deadline_and_attempts_run_out() {
    let cfg = CrashRecoveryConfig {
        recovery_deadline: Duration::from_secs(30),
        max_recovery_attempts: 2,
        ..CrashRecoveryConfig::default()
    };
    let mut m = small::CrashRecoveryManager::new(cfg).unwrap();
    let a = id("a");
    beat(&mut m, &a, 0, 5);
    assert_eq!(m.detect_crashes(secs(60.0)).count(), 1);
    m.initiate_recovery(secs(60.0), &a, RecoveryStrategy::Replace).unwrap();
    let _ = m.detect_crashes(secs(89.0)).count();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    let _ = m.detect_crashes(secs(90.0)).count();
    assert_eq!(m.status(&a), Ok(NodeStatus::Failed));
    let failed = m.events().filter(|e| e.kind.as_str() == "recovery_failed").count();
    assert_eq!(failed, 1);
    m.initiate_recovery(secs(91.0), &a, RecoveryStrategy::Custom(7)).unwrap();
    let _ = m.detect_crashes(secs(130.0)).count();
    assert_eq!(m.status(&a), Ok(NodeStatus::Failed));
    assert!(matches!(
        m.initiate_recovery(secs(131.0), &a, RecoveryStrategy::Restart),
        Err(CrashRecoveryError::AttemptsExhausted(_))
    ));
    assert_eq!(m.status(&a), Ok(NodeStatus::Failed));
}

#[test]
fn event_ring_counts_overflow() {
    let mut m = manager();
    let a = id("a");
    // Each busy/healthy flip is one status change event.
    let busy = HealthMetrics { cpu_usage: 0.95, ..HealthMetrics::default() };
    for i in 0..(small::EVENTS as u64 + 10) {
        let metrics = if i % 2 == 0 { busy } else { HealthMetrics::default() };
        m.update_node_health(Instant::from_secs(i), &a, metrics).unwrap();
    }
    assert_eq!(m.events().count(), small::EVENTS);
    assert_eq!(m.dropped_events(), 10);
    assert_eq!(m.next_event_seq(), small::EVENTS as u64 + 10);
    assert_eq!(m.events().next().unwrap().seq, 10);
    assert_eq!(m.events_since(40).count(), 2);
}

#[test]
fn backwards_clock_never_panics_or_rewinds() {
    let mut m = manager();
    let a = id("a");
    beat(&mut m, &a, 100, 110);
    m.heartbeat(secs(5.0), &a).unwrap();
    assert_eq!(m.node(&a).unwrap().last_heartbeat, Instant::from_secs(110));
    assert_eq!(m.detect_crashes(secs(0.0)).count(), 0);
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
}

#[test]
fn summary_counts_statuses() {
    let mut m = manager();
    for n in ["a", "b", "c", "d"] {
        beat(&mut m, &id(n), 0, 10);
    }
    beat(&mut m, &id("a"), 11, 100);
    beat(&mut m, &id("b"), 11, 100);
    let busy = HealthMetrics { memory_usage: 0.99, ..HealthMetrics::default() };
    m.update_node_health(secs(100.0), &id("b"), busy).unwrap();
    let _ = m.detect_crashes(secs(100.0)).count();
    m.initiate_recovery(secs(100.0), &id("d"), RecoveryStrategy::Automatic).unwrap();
    let s = m.network_health_summary(secs(100.0));
    assert_eq!(
        (s.total_nodes, s.online_nodes, s.suspected_nodes, s.offline_nodes, s.recovering_nodes, s.failed_nodes),
        (4, 1, 1, 1, 1, 0)
    );
    assert_eq!(s.network_health_ratio, 0.25);
    assert_eq!(s.recent_crashes, 2);
    assert_eq!(m.network_health_summary(secs(100.0 + 3700.0)).recent_crashes, 0);
}

#[test]
fn health_view_scores_online_above_suspected() {
    let mut m = manager();
    beat(&mut m, &id("a"), 0, 10);
    beat(&mut m, &id("b"), 0, 10);
    let busy = HealthMetrics { cpu_usage: 0.95, ..HealthMetrics::default() };
    m.update_node_health(secs(10.0), &id("b"), busy).unwrap();
    let now = secs(10.5);
    let a = HealthView::health_score(&m, &id("a"), now).unwrap();
    let b = HealthView::health_score(&m, &id("b"), now).unwrap();
    assert!(a > b);
    assert_eq!(HealthView::status(&m, &id("b")), Some(NodeStatus::Suspected));
    assert_eq!(HealthView::health_score(&m, &id("nope"), now), None);
}

#[test]
fn config_is_validated() {
    let bad = CrashRecoveryConfig { suspect_phi: Some(9.0), ..CrashRecoveryConfig::default() };
    assert!(small::CrashRecoveryManager::new(bad).is_err());
    let bad = CrashRecoveryConfig { recovery_heartbeats: 0, ..CrashRecoveryConfig::default() };
    assert!(small::CrashRecoveryManager::new(bad).is_err());
}

#[test]
fn large_preset_builds_in_place_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut m = crate::preset::large::CrashRecoveryManager::new_boxed(CrashRecoveryConfig::default()).unwrap();
            for i in 0..crate::preset::large::NODES {
                m.heartbeat(Instant::from_secs(1), &id(&std::format!("w{i}"))).unwrap();
            }
            assert!(m.heartbeat(Instant::from_secs(1), &id("one-too-many")).is_err());
            m.len()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), crate::preset::large::NODES);
}

#[test]
fn a_node_that_returns_then_falls_silent_again_is_a_new_crash() {
    let (mut m, a) = crashed(10);
    // One heartbeat back: recovering (two healthy heartbeats complete it), then silence.
    m.heartbeat(secs(100.0), &a).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    assert_eq!(m.detect_crashes(secs(101.0)).count(), 0);
    let crashed: Vec<NodeId> = m.detect_crashes(secs(160.0)).cloned().collect();
    assert_eq!(crashed.as_slice(), core::slice::from_ref(&a));
    assert_eq!(m.status(&a), Ok(NodeStatus::Offline));
    let failed = m
        .events()
        .filter(|e| matches!(e.kind, RecoveryEventKind::RecoveryFailed { reason: RecoveryFailure::CrashedAgain, .. }))
        .count();
    assert_eq!(failed, 1);
    assert_eq!(m.network_health_summary(secs(160.0)).recent_crashes, 2);
    // A recovery initiated on a silent node is not a crash-again: it waits for its deadline.
    m.initiate_recovery(secs(161.0), &a, RecoveryStrategy::Restart).unwrap();
    assert_eq!(m.detect_crashes(secs(200.0)).count(), 0);
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
}

#[test]
fn poll_event_delivers_each_event_once_and_leaves_the_ring() {
    let mut m = manager();
    let a = id("a");
    assert_eq!(m.poll_event(), None);
    beat(&mut m, &a, 0, 10);
    assert_eq!(m.detect_crashes(secs(60.0)).count(), 1);
    let polled: Vec<RecoveryEvent> = core::iter::from_fn(|| m.poll_event()).collect();
    let retained: Vec<RecoveryEvent> = m.events().cloned().collect();
    assert_eq!(polled, retained);
    assert_eq!(polled.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["status_changed", "crash_detected"]);
    assert_eq!(m.poll_event(), None);
    // Newer events come next, oldest first.
    m.heartbeat(secs(61.0), &a).unwrap();
    let seq = m.next_event_seq();
    let next = m.poll_event().unwrap();
    assert_eq!(next.seq, polled.last().unwrap().seq + 1);
    assert!(next.seq < seq);
    while m.poll_event().is_some() {}
    // Events pushed out of the ring before they were polled are skipped:
    // crash and return until more than the ring holds has happened.
    let mut t = 200;
    while m.next_event_seq() < seq + 2 * small::EVENTS as u64 {
        beat(&mut m, &a, t, t + 10);
        let _ = m.detect_crashes(Instant::from_secs(t + 60)).count();
        t += 100;
    }
    assert!(m.dropped_events() > 0);
    let first = m.poll_event().unwrap();
    assert_eq!(first.seq, m.events().next().unwrap().seq);
    let rest = core::iter::from_fn(|| m.poll_event()).count() as u64;
    assert_eq!(first.seq + 1 + rest, m.next_event_seq());
    assert_eq!(1 + rest, small::EVENTS as u64);
}

/// Statuses of every node, in table order.
fn statuses(m: &small::CrashRecoveryManager) -> Vec<(NodeId, NodeStatus)> {
    m.nodes().map(|n| (n.id.clone(), n.status)).collect()
}

/// Sweeps just before and at each `poll_timeout` until nothing is left to
/// watch: nothing may change before the timeout, something must change at it.
fn check_timeouts(m: &mut small::CrashRecoveryManager, latest: Instant) -> usize {
    let mut latest = latest;
    let mut steps = 0;
    loop {
        let t = m.poll_timeout();
        if t == Instant::MAX {
            assert!(m.nodes().all(|n| matches!(n.status, NodeStatus::Offline | NodeStatus::Failed)));
            // And indeed nothing changes however late the sweep.
            let before = statuses(m);
            let _ = m.detect_crashes(latest + Duration::from_secs(100_000)).count();
            assert_eq!(statuses(m), before);
            return steps;
        }
        let before = statuses(m);
        if t > latest {
            let just_before = Instant::from_micros(t.total_micros() - 1);
            let _ = m.detect_crashes(just_before).count();
            assert_eq!(statuses(m), before, "a status changed before the timeout {t:?}");
        }
        let at = t.max(latest);
        let _ = m.detect_crashes(at).count();
        assert_ne!(statuses(m), before, "nothing changed at the timeout {t:?}");
        latest = at;
        steps += 1;
        assert!(steps < 100, "timeouts never settle");
    }
}

#[test]
fn poll_timeout_is_the_instant_a_status_changes() {
    let mut m = manager();
    assert_eq!(m.poll_timeout(), Instant::MAX);
    let (a, b) = (id("a"), id("b"));
    for t in 0..=10 {
        m.heartbeat(Instant::from_secs(t), &a).unwrap();
        if t % 2 == 0 {
            m.heartbeat(Instant::from_secs(t), &b).unwrap();
        }
    }
    // Both fall silent at 10 s; a, used to 1 s intervals, is suspected first.
    let t = m.poll_timeout();
    assert!(t > Instant::from_secs(10));
    let _ = m.detect_crashes(Instant::from_micros(t.total_micros() - 1)).count();
    assert_eq!(statuses(&m), [(a.clone(), NodeStatus::Online), (b.clone(), NodeStatus::Online)]);
    let _ = m.detect_crashes(t).count();
    assert_eq!(statuses(&m), [(a.clone(), NodeStatus::Suspected), (b.clone(), NodeStatus::Online)]);
    assert_eq!(check_timeouts(&mut m, t), 3);
    // A recovery that never hears from the node fails at its deadline.
    // (`check_timeouts` ended with a sweep 100,000 s on.)
    let now = secs(200_000.0);
    m.initiate_recovery(now, &a, RecoveryStrategy::Restart).unwrap();
    assert_eq!(m.poll_timeout(), now + CrashRecoveryConfig::default().recovery_deadline);
    assert_eq!(check_timeouts(&mut m, now), 1);
    assert_eq!(m.status(&a), Ok(NodeStatus::Failed));
}

#[test]
fn poll_timeout_sees_unhealthy_metrics_and_old_heartbeats() {
    let config = CrashRecoveryConfig {
        health: HealthThresholds { max_heartbeat_age: Duration::from_millis(1500), ..HealthThresholds::default() },
        ..CrashRecoveryConfig::default()
    };
    let mut m = small::CrashRecoveryManager::new(config).unwrap();
    let a = id("a");
    beat(&mut m, &a, 0, 10);
    // The heartbeat-age limit comes before phi's suspicion.
    assert_eq!(m.poll_timeout(), Instant::from_millis(11_500));
    // Unhealthy metrics make a node suspected at its next heartbeat already.
    let busy = HealthMetrics { cpu_usage: 0.95, ..HealthMetrics::default() };
    m.update_node_health(secs(11.0), &a, busy).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Suspected));
    assert!(m.poll_timeout() > secs(11.0));
    assert_eq!(check_timeouts(&mut m, secs(11.0)), 1);
}

#[derive(Clone, Debug)]
enum Step {
    Beat { node: u8, after_ms: u64, healthy: bool },
    Recover { node: u8, after_ms: u64 },
    Sweep { after_ms: u64 },
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        6 => (0u8..4, 0u64..4000, proptest::bool::weighted(0.8))
            .prop_map(|(node, after_ms, healthy)| Step::Beat { node, after_ms, healthy }),
        1 => (0u8..4, 0u64..4000).prop_map(|(node, after_ms)| Step::Recover { node, after_ms }),
        2 => (0u64..20_000).prop_map(|after_ms| Step::Sweep { after_ms }),
    ]
}

proptest::proptest! {
    /// After any history of heartbeats, recoveries and sweeps, each timeout is
    /// exactly the instant a sweep first changes a status.
    #[test]
    fn poll_timeout_matches_the_sweeps(
        steps in proptest::collection::vec(step(), 1..40),
        max_age_ms in proptest::prop_oneof![proptest::strategy::Just(30_000u64), 500u64..5000],
        deadline_ms in proptest::prop_oneof![proptest::strategy::Just(300_000u64), 1000u64..20_000],
    ) {
        let config = CrashRecoveryConfig {
            health: HealthThresholds {
                max_heartbeat_age: Duration::from_millis(max_age_ms),
                ..HealthThresholds::default()
            },
            recovery_deadline: Duration::from_millis(deadline_ms),
            ..CrashRecoveryConfig::default()
        };
        let mut m = small::CrashRecoveryManager::new(config).unwrap();
        let mut now = Instant::ZERO;
        for s in steps {
            match s {
                Step::Beat { node, after_ms, healthy } => {
                    now += Duration::from_millis(after_ms);
                    let metrics = if healthy {
                        HealthMetrics::default()
                    } else {
                        HealthMetrics { success_rate: 0.5, ..HealthMetrics::default() }
                    };
                    m.update_node_health(now, &id(&std::format!("n{node}")), metrics).unwrap();
                }
                Step::Recover { node, after_ms } => {
                    now += Duration::from_millis(after_ms);
                    let _ = m.initiate_recovery(now, &id(&std::format!("n{node}")), RecoveryStrategy::Restart);
                }
                Step::Sweep { after_ms } => {
                    now += Duration::from_millis(after_ms);
                    let _ = m.detect_crashes(now).count();
                }
            }
        }
        check_timeouts(&mut m, now);
    }
}

#[test]
fn set_status_registers_marks_and_lets_recovery_start() {
    let mut m = manager();
    let a = id("a");
    // Marked failed without ever being heard from: known, offline, recoverable.
    m.set_status(secs(1.0), &a, NodeStatus::Offline).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Offline));
    assert_eq!(kinds(&m, &a), ["status_changed"]);
    m.initiate_recovery(secs(2.0), &a, RecoveryStrategy::Restart).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Recovering));
    // Marking the status it has changes nothing; Online ends the recovery.
    m.set_status(secs(3.0), &a, NodeStatus::Recovering).unwrap();
    assert_eq!(kinds(&m, &a), ["status_changed", "status_changed", "recovery_started"]);
    m.set_status(secs(4.0), &a, NodeStatus::Online).unwrap();
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    assert!(matches!(
        m.initiate_recovery(secs(5.0), &a, RecoveryStrategy::Automatic),
        Err(CrashRecoveryError::InvalidStatus { .. })
    ));
    // A marked recovery completes on healthy heartbeats like any other.
    m.set_status(secs(6.0), &a, NodeStatus::Recovering).unwrap();
    beat(&mut m, &a, 7, 8);
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
}

#[test]
fn reconfigure_moves_the_crash_instant_of_tracked_nodes() {
    let mut m = manager();
    let a = id("a");
    beat(&mut m, &a, 0, 10);
    let before = m.node(&a).unwrap().status;
    assert_eq!(before, NodeStatus::Online);
    // With the default 3 s pause the node is alive 2.5 s after its last beat...
    assert_eq!(m.detect_crashes(secs(12.5)).count(), 0);
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    // ...with no pause and a low threshold it is judged crashed then.
    let mut config = *m.config();
    config.phi.acceptable_heartbeat_pause = Duration::ZERO;
    config.phi.threshold = 1.0;
    m.reconfigure(config).unwrap();
    assert_eq!(m.config().phi.threshold, 1.0);
    assert_eq!(m.detect_crashes(secs(12.6)).count(), 1);
    // An invalid configuration changes nothing.
    config.phi.threshold = -1.0;
    assert!(m.reconfigure(config).is_err());
    assert_eq!(m.config().phi.threshold, 1.0);
}

/// Heartbeats `node` every `every` s from `from` to `to` s (inclusive), except
/// at `lost`, sweeping every 250 ms; returns the crashes found.
fn beat_spaced(
    m: &mut small::CrashRecoveryManager,
    node: &NodeId,
    every: u64,
    from: u64,
    to: u64,
    lost: &[u64],
) -> usize {
    let mut crashes = 0;
    for t in (from..=to).step_by(every as usize) {
        if !lost.contains(&t) {
            m.heartbeat(Instant::from_secs(t), node).unwrap();
        }
        for q in 1..(every * 4) {
            crashes += m.detect_crashes(Instant::from_micros(t * 1_000_000 + q * 250_000)).count();
        }
    }
    crashes
}

#[test]
fn a_node_slowed_on_purpose_is_not_taken_for_a_crashed_one() {
    let a = id("a");
    // Every 3 s, with two heartbeats lost in a row: the full-rate detector
    // takes the 9 s of silence for a crash.
    let mut m = manager();
    beat(&mut m, &a, 0, 30);
    assert_eq!(beat_spaced(&mut m, &a, 3, 33, 120, &[36, 39]), 1);
    // Told the node's new spacing, it does not, and still finds the real crash.
    let mut m = manager();
    beat(&mut m, &a, 0, 30);
    m.set_spacing(&a, 3).unwrap();
    assert_eq!(beat_spaced(&mut m, &a, 3, 33, 120, &[36, 39]), 0);
    assert_eq!(m.status(&a), Ok(NodeStatus::Online));
    let crashed_by = |m: &mut small::CrashRecoveryManager, t: f64| m.detect_crashes(secs(t)).count();
    assert_eq!(crashed_by(&mut m, 120.0 + 9.5), 0, "two lost heartbeats are no crash");
    // At most 3 × a lossless full-rate wait (1 s + 3 s pause + the threshold's distance × 100 ms).
    assert_eq!(crashed_by(&mut m, 120.0 + 3.0 * 4.6), 1);
    // Back to the full rate: the window starts again from 1 s intervals.
    m.set_spacing(&a, 1).unwrap();
    assert!(matches!(m.set_spacing(&id("b"), 3), Err(CrashRecoveryError::UnknownNode(_))));
}
