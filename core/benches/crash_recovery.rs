//! Crash-recovery figures: heartbeat ingest, phi query, the crash sweep over
//! 4096 nodes, and state size per node. `cargo bench -p pouw-netops --bench crash_recovery`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pouw_netops::phi::{PhiAccrualDetector, PhiConfig};
use pouw_netops::preset::large;
use pouw_netops::{CrashRecoveryConfig, Duration, HealthMetrics, Instant, NodeId};
use std::hint::black_box;

fn ids(n: usize) -> Vec<NodeId> {
    (0..n).map(|i| NodeId::new(&format!("worker-{i:04}")).unwrap()).collect()
}

/// A large manager with every node heartbeating once a second for `beats` seconds.
fn warmed(nodes: &[NodeId], beats: u64) -> Box<large::CrashRecoveryManager> {
    let mut m = large::CrashRecoveryManager::new_boxed(CrashRecoveryConfig::default()).unwrap();
    for t in 0..beats {
        for (i, id) in nodes.iter().enumerate() {
            let jitter = (i as u64 * 7919) % 50_000;
            m.heartbeat(Instant::from_micros(t * 1_000_000 + jitter), id).unwrap();
        }
    }
    m
}

fn sizes() {
    let manager = std::mem::size_of::<large::CrashRecoveryManager>();
    println!(
        "state: large manager {} bytes for {} nodes = {} bytes per node (window {}); detector alone {} bytes",
        manager,
        large::NODES,
        manager / large::NODES,
        large::WINDOW,
        std::mem::size_of::<PhiAccrualDetector<{ large::WINDOW }>>()
    );
}

fn bench(c: &mut Criterion) {
    sizes();
    let nodes = ids(large::NODES);
    let mut group = c.benchmark_group("crash_recovery");
    group.measurement_time(std::time::Duration::from_secs(3)).sample_size(30);

    let mut m = warmed(&nodes, 10);
    let mut t = 10_000_000u64;
    let mut i = 0usize;
    group.bench_function("heartbeat_ingest_4096_tracked", |b| {
        b.iter(|| {
            i = (i + 1) % nodes.len();
            t += 250;
            m.heartbeat(Instant::from_micros(t), black_box(&nodes[i])).unwrap();
        })
    });

    // The same with 64 tracked nodes: the records stay in cache, isolating the
    // instruction cost from the cache misses of touching 2.8 MB round-robin.
    let few = &nodes[..64];
    let mut small = warmed(few, 10);
    group.bench_function("heartbeat_ingest_64_tracked", |b| {
        b.iter(|| {
            i = (i + 1) % few.len();
            t += 250;
            small.heartbeat(Instant::from_micros(t), black_box(&few[i])).unwrap();
        })
    });

    let metrics = HealthMetrics { cpu_usage: 0.4, ..HealthMetrics::default() };
    group.bench_function("update_node_health_4096_tracked", |b| {
        b.iter(|| {
            i = (i + 1) % nodes.len();
            t += 250;
            m.update_node_health(Instant::from_micros(t), black_box(&nodes[i]), metrics).unwrap();
        })
    });

    let mut detector: PhiAccrualDetector<{ large::WINDOW }> = PhiAccrualDetector::new(PhiConfig::default()).unwrap();
    for s in 0..200u64 {
        detector.heartbeat(Instant::from_micros(s * 1_000_000 + (s * 7919) % 30_000));
    }
    let mut q = 200_000_000u64;
    group.bench_function("phi_query", |b| {
        b.iter(|| {
            q += 37;
            black_box(detector.phi(black_box(Instant::from_micros(q))))
        })
    });
    group.bench_function("detector_heartbeat", |b| {
        b.iter(|| {
            q += 1_000_000;
            detector.heartbeat(black_box(Instant::from_micros(q)));
        })
    });

    // Sweep of 4096 healthy nodes half a second after their last heartbeats.
    group.bench_function("detect_crashes_4096_quiet", |b| {
        b.iter_batched_ref(
            || warmed(&nodes, 10),
            |m| black_box(m.detect_crashes(Instant::from_micros(9_600_000)).count()),
            BatchSize::LargeInput,
        )
    });
    // Sweep in which all 4096 nodes are found crashed (worst case: every node emits events).
    group.bench_function("detect_crashes_4096_all_crashed", |b| {
        b.iter_batched_ref(
            || warmed(&nodes, 10),
            |m| black_box(m.detect_crashes(Instant::from_micros(9_000_000) + Duration::from_secs(60)).count()),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
