//! The README's Rust tour, kept compiling: three supervisors elect a leader over
//! in-memory "sockets", and one of them watches a worker fall silent.
//!
//! `cargo run --release -p pouw-netops --example tour`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::election::ElectionConfig;
use pouw_netops::preset::small;
use pouw_netops::wire::Envelope;
use pouw_netops::{CrashRecoveryConfig, Duration, Instant, NodeId};

fn main() {
    let ids: Vec<NodeId> = ["s1", "s2", "s3"].iter().map(|s| NodeId::new(s).unwrap()).collect();
    let mut nodes: Vec<small::LeaderElectionManager> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let config = ElectionConfig { seed: i as u64, ..ElectionConfig::default() };
            small::LeaderElectionManager::new(config, id.clone(), &ids, Instant::ZERO).unwrap()
        })
        .collect();

    // Drive every node with the same clock; deliver each datagram at once.
    let mut now = Instant::ZERO;
    while !nodes.iter().any(|n| n.is_leader()) {
        now += Duration::from_millis(10);
        let mut wire: Vec<(Option<NodeId>, Vec<u8>)> = Vec::new();
        for node in nodes.iter_mut() {
            node.tick(now);
            while let Some(hard_state) = node.poll_hard_state() {
                let _ = hard_state; // a real host persists (term, voted_for) here, before sending
            }
            while let Some(t) = node.poll_transmit() {
                wire.push((t.to, t.envelope.to_vec().unwrap()));
            }
        }
        for (to, bytes) in wire {
            let envelope = Envelope::decode(&bytes).unwrap();
            for (id, node) in ids.iter().zip(nodes.iter_mut()) {
                if id != &envelope.sender && to.as_ref().is_none_or(|t| t == id) {
                    node.step(now, &envelope).unwrap();
                }
            }
        }
    }
    let leader = nodes.iter().find(|n| n.is_leader()).unwrap();
    println!("{:?} leads term {} at {now}", leader.leader(), leader.term());

    // The leader tracks a worker; silence becomes a crash in the next sweep.
    let mut crash = small::CrashRecoveryManager::new(CrashRecoveryConfig::default()).unwrap();
    let worker = NodeId::new("worker-1").unwrap();
    for s in 0..10 {
        crash.heartbeat(Instant::from_secs(s), &worker).unwrap();
    }
    let crashed: Vec<&NodeId> = crash.detect_crashes(Instant::from_secs(30)).collect();
    println!("crashed at 30 s: {crashed:?}");
}
