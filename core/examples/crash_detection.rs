//! A scripted cluster of six nodes heartbeating once a second (with jitter and a
//! little loss) into one `CrashRecoveryManager`, in virtual time. Prints phi per
//! node every two seconds and every status change as it happens:
//!
//! - `worker-3` crashes at t = 20 s and comes back at t = 70 s;
//! - `worker-4` starts dropping most heartbeats at t = 40 s (a flaky link);
//! - `worker-5` reports overloaded CPU from t = 50 s to t = 60 s.
//!
//! `cargo run --release -p pouw-netops --example crash_detection`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::crash_recovery::{RecoveryEventKind, RecoveryStrategy};
use pouw_netops::preset::small;
use pouw_netops::{CrashRecoveryConfig, Duration, HealthMetrics, Instant, NodeId, Rng};

const NODES: [&str; 6] = ["supervisor-0", "worker-1", "worker-2", "worker-3", "worker-4", "worker-5"];
const STEP: Duration = Duration::from_millis(100);

fn main() {
    let ids: Vec<NodeId> = NODES.iter().map(|n| NodeId::new(n).unwrap()).collect();
    let mut manager = small::CrashRecoveryManager::new(CrashRecoveryConfig::default()).unwrap();
    let mut rng = Rng::new(7);
    let mut next_beat: Vec<Instant> = (0..ids.len()).map(|i| Instant::from_millis(100 * i as u64)).collect();
    let mut seen_events = 0u64;
    let mut first_silence = [None::<Instant>; NODES.len()];

    println!("phi per node (threshold 8, suspect 4); S = suspected, X = offline, R = recovering\n");
    print!("{:>7}", "t");
    for n in NODES {
        print!(" {n:>13}");
    }
    println!();

    let end = Instant::from_secs(90);
    let mut now = Instant::ZERO;
    while now <= end {
        let t = now.total_millis();
        for (i, id) in ids.iter().enumerate() {
            if now < next_beat[i] {
                continue;
            }
            // Next heartbeat in 1 s ± 50 ms.
            next_beat[i] = now + Duration::from_millis(950 + rng.below(100));
            let crashed = id.as_str() == "worker-3" && (20_000..70_000).contains(&t);
            let flaky = id.as_str() == "worker-4" && t >= 40_000 && rng.chance(0.6);
            let lost = rng.chance(0.02);
            if crashed || flaky || lost {
                if first_silence[i].is_none() {
                    first_silence[i] = Some(now);
                }
                continue;
            }
            first_silence[i] = None;
            let overloaded = id.as_str() == "worker-5" && (50_000..60_000).contains(&t);
            let metrics = HealthMetrics {
                cpu_usage: if overloaded { 0.97 } else { 0.35 + rng.below(20) as f32 / 100.0 },
                response_time: Duration::from_millis(20 + rng.below(30)),
                ..HealthMetrics::default()
            };
            manager.update_node_health(now, id, metrics).unwrap();
        }

        let crashed: Vec<NodeId> = manager.detect_crashes(now).cloned().collect();
        for id in &crashed {
            // A supervisor would now fail the node's tasks over; here we ask the host to restart it.
            manager.initiate_recovery(now, id, RecoveryStrategy::Restart).unwrap();
        }
        for event in manager.events_since(seen_events) {
            print_event(event.at, &event.node, &event.kind);
        }
        seen_events = manager.next_event_seq();

        if t.is_multiple_of(2000) {
            print!("{:>6}s", t / 1000);
            for id in &ids {
                let phi = manager.phi(now, id).unwrap_or(0.0);
                let mark = match manager.status(id) {
                    Ok(pouw_netops::NodeStatus::Suspected) => "S",
                    Ok(pouw_netops::NodeStatus::Offline) | Ok(pouw_netops::NodeStatus::Failed) => "X",
                    Ok(pouw_netops::NodeStatus::Recovering) => "R",
                    _ => " ",
                };
                if phi.is_infinite() {
                    print!(" {:>12}{mark}", "inf");
                } else {
                    print!(" {phi:>12.2}{mark}");
                }
            }
            println!();
        }
        now += STEP;
    }

    let s = manager.network_health_summary(now);
    println!(
        "\nsummary at {now}: {} nodes, {} online, {} suspected, {} offline, {} recovering, {} failed; \
         health ratio {:.2}; {} crashes in the last hour; {} events ({} dropped)",
        s.total_nodes,
        s.online_nodes,
        s.suspected_nodes,
        s.offline_nodes,
        s.recovering_nodes,
        s.failed_nodes,
        s.network_health_ratio,
        s.recent_crashes,
        manager.next_event_seq(),
        manager.dropped_events()
    );
}

fn print_event(at: Instant, node: &NodeId, kind: &RecoveryEventKind) {
    let what = match kind {
        RecoveryEventKind::StatusChanged { from, to, phi } => format!("{from} -> {to} (phi {phi:.2})"),
        RecoveryEventKind::CrashDetected { phi, silence } => {
            format!("CRASH DETECTED after {silence} of silence (phi {phi:.2})")
        }
        RecoveryEventKind::RecoveryStarted { strategy, attempt } => {
            format!("recovery started: {} (attempt {attempt})", strategy.as_str())
        }
        RecoveryEventKind::RecoveryCompleted { strategy, took } => {
            format!("recovery completed: {} in {took}", strategy.as_str())
        }
        RecoveryEventKind::RecoveryFailed { strategy, reason } => {
            format!("recovery failed: {} ({reason:?})", strategy.as_str())
        }
    };
    println!("  [{at:>12}] {node:<13} {what}");
}
