//! Coordinator figures behind the simulator's 1,000-node run: one
//! health heartbeat handled by a supervisor that tracks 1,000 nodes (decode,
//! phi update, tunnel bookkeeping, history record), and one crash sweep of those
//! 1,000 nodes by the leader (a `tick` with no crash).
//!
//! Run with `cargo bench -p pouw-netops --bench ops`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{Criterion, criterion_group, criterion_main};
use pouw_netops::wire::{Body, Envelope, Heartbeat};
use pouw_netops::{Duration, Instant, NetworkOperationsManager, NodeId, NodeRole, OpsConfig};
use std::hint::black_box;

/// The simulator's supervisor capacities.
type Supervisor = NetworkOperationsManager<1024, 32, 8, 1024, 8, 4, 4, 2048, 2048, 4>;

const NODES: usize = 1000;

fn heartbeat(id: &NodeId, seq: u64, at: Instant) -> Vec<u8> {
    let hb = Heartbeat { sequence: seq, sent_at: at, ..Heartbeat::default() };
    Envelope::new(id.clone(), Body::Heartbeat(hb)).to_vec().unwrap()
}

/// A started supervisor (a single voter, so it leads) that heard 10 s of heartbeats from 999 peers.
fn warmed(config: OpsConfig) -> (Box<Supervisor>, Vec<NodeId>, Instant) {
    let me = NodeId::new("sup-0").unwrap();
    let mut s = Supervisor::new_boxed(me.clone(), NodeRole::Supervisor, &[me], config, 1).unwrap();
    let peers: Vec<NodeId> = (1..NODES).map(|i| NodeId::new(&format!("worker-{i:04}")).unwrap()).collect();
    let mut now = Instant::from_secs(100);
    s.start(now).unwrap();
    for round in 0..10u64 {
        for p in &peers {
            s.handle_message(now, &heartbeat(p, round, now)).unwrap();
        }
        s.tick(now);
        while s.poll_transmit().is_some() {}
        while s.poll_event().is_some() {}
        while s.poll_archived().is_some() {}
        now += Duration::from_secs(1);
    }
    (s, peers, now)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ops");
    g.measurement_time(std::time::Duration::from_secs(3)).sample_size(30);

    let (mut s, peers, start) = warmed(OpsConfig::default());
    let msgs: Vec<Vec<u8>> = peers.iter().map(|p| heartbeat(p, 10, start)).collect();
    let mut k = 0usize;
    let mut now = start;
    g.bench_function("heartbeat_ingest_1000_nodes", |b| {
        b.iter(|| {
            k = (k + 1) % msgs.len();
            if k == 0 {
                now += Duration::from_secs(1);
                while s.poll_event().is_some() {}
                while s.poll_archived().is_some() {}
            }
            s.handle_message(black_box(now), black_box(&msgs[k])).unwrap();
        })
    });

    // Nobody is ever declared crashed (a day's acceptable pause): the sweep is the pure scan.
    let mut quiet = OpsConfig::default();
    quiet.crash.phi.acceptable_heartbeat_pause = Duration::from_secs(86_400);
    let (mut s, _, mut now) = warmed(quiet);
    g.bench_function("sweep_tick_1000_nodes", |b| {
        b.iter(|| {
            now += Duration::from_millis(250);
            s.tick(black_box(now));
            while s.poll_transmit().is_some() {}
            while s.poll_event().is_some() {}
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
