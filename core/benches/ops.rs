//! Coordinator figures behind the simulator's 1,000-node run: one
//! health heartbeat handled by a supervisor that tracks 1,000 nodes (the
//! authentication at the entrance — parse, replay window, MAC — then decode,
//! phi update, tunnel bookkeeping, history record), and one crash sweep of
//! those 1,000 nodes by the leader (a `tick` with no crash).
//!
//! Run with `cargo bench -p pouw-netops --bench ops`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pouw_netops::{Duration, NodeId, OpsConfig};
use std::cell::{Cell, RefCell};
use std::hint::black_box;

#[path = "fixtures/supervisor_of_1000.rs"]
mod fixture;
use fixture::warmed;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ops");
    g.measurement_time(std::time::Duration::from_secs(3)).sample_size(30);

    let (s, mut peers, start) = warmed(OpsConfig::default());
    let me = NodeId::new("sup-0").unwrap();
    let (s, now) = (RefCell::new(s), Cell::new(start));
    let mut k = 0usize;
    // Each datagram is new to its sender's replay window: sealed outside the timing.
    g.bench_function("heartbeat_ingest_1000_nodes", |b| {
        b.iter_batched(
            || {
                k = (k + 1) % peers.len();
                if k == 0 {
                    now.set(now.get() + Duration::from_secs(1));
                    let mut s = s.borrow_mut();
                    while s.poll_event().is_some() {}
                    while s.poll_archived().is_some() {}
                    while s.poll_transmit().is_some() {}
                }
                peers[k].heartbeat(11, now.get(), &me)
            },
            |bytes| s.borrow_mut().handle_message(black_box(now.get()), black_box(&bytes)).unwrap(),
            BatchSize::SmallInput,
        )
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
