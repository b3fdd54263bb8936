//! Worker-replacement figures: assign + release of a 4-primary /
//! 2-backup task in a pool of 4096 workers (goal ≤ 5 µs median) and one
//! replacement of a failed primary (goal ≤ 2 µs median).
//!
//! Health comes from a real large-preset `CrashRecoveryManager` tracking all 4096
//! workers with varied metrics (so ranking reads live phi and scores), and, for
//! comparison, from a trivial view that answers without a lookup.
//!
//! Run with `cargo bench -p pouw-netops --bench workers`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{Criterion, criterion_group, criterion_main};
use pouw_netops::health::{HealthMetrics, HealthScore, HealthView, NodeStatus};
use pouw_netops::preset::large;
use pouw_netops::workers::WorkerConfig;
use pouw_netops::{CrashRecoveryConfig, Instant, NodeId, TaskId, TaskType};
use std::hint::black_box;
use std::time::Duration;

/// Every node online with a score derived from its id, no table lookup.
struct FlatView;

impl HealthView for FlatView {
    fn status(&self, _node: &NodeId) -> Option<NodeStatus> {
        Some(NodeStatus::Online)
    }
    fn health_score(&self, node: &NodeId, _now: Instant) -> Option<HealthScore> {
        let h = node.as_bytes().iter().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)));
        Some(HealthScore(5_000 + (h % 5_000) as u16))
    }
}

fn workers() -> Vec<NodeId> {
    (0..large::WORKERS).map(|i| NodeId::new(&format!("worker-{i:04}")).unwrap()).collect()
}

/// A crash-recovery manager that has heard from every worker for ten seconds, with varied CPU load.
fn health(ids: &[NodeId]) -> Box<large::CrashRecoveryManager> {
    let mut crm = large::CrashRecoveryManager::new_boxed(CrashRecoveryConfig::default()).unwrap();
    for t in 0..10u64 {
        for (i, id) in ids.iter().enumerate() {
            let metrics = HealthMetrics { cpu_usage: (i % 80) as f32 / 100.0, ..HealthMetrics::default() };
            crm.update_node_health(Instant::from_secs(t), id, metrics).unwrap();
        }
    }
    crm
}

fn manager(ids: &[NodeId], view: &impl HealthView, now: Instant) -> Box<large::WorkerReplacementManager> {
    let mut m = large::WorkerReplacementManager::new_boxed(WorkerConfig::default()).unwrap();
    let ty = TaskType::new("train").unwrap();
    m.register_pool(&ty).unwrap();
    for id in ids {
        m.add_worker(&ty, id).unwrap();
    }
    m.refresh_health(now, view);
    m
}

fn bench_view(c: &mut Criterion, label: &str, view: &impl HealthView, ids: &[NodeId]) {
    let now = Instant::from_secs(10);
    let ty = TaskType::new("train").unwrap();
    let task = TaskId::new("task-1").unwrap();
    let mut m = manager(ids, view, now);

    c.bench_function(&format!("assign+release 4p/2b, pool 4096 ({label})"), |b| {
        b.iter(|| {
            let got = m.assign_workers_to_task(now, &task, &ty, 4, 2, view).unwrap();
            black_box(&got);
            m.release_task_workers(&task).unwrap()
        })
    });

    c.bench_function(&format!("replace failed primary, pool 4096 ({label})"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let got = m.assign_workers_to_task(now, &task, &ty, 4, 2, view).unwrap();
                let failed = got.primaries[0].clone();
                let start = std::time::Instant::now();
                let r = m.replace_failed_worker(now, &failed, &task, view).unwrap();
                total += start.elapsed();
                black_box(&r);
                m.release_task_workers(&task).unwrap();
                m.recover_worker(now, &failed, view).unwrap();
                while m.poll_event().is_some() {}
            }
            total
        })
    });
}

fn bench(c: &mut Criterion) {
    let ids = workers();
    let crm = health(&ids);
    // What one liveness check costs the manager with this view (for reading the figures below).
    let mut i = 0usize;
    c.bench_function("crash-recovery view: one status lookup, 4096 nodes", |b| {
        b.iter(|| {
            i = (i + 617) % ids.len();
            black_box(HealthView::status(&*crm, &ids[i]))
        })
    });
    bench_view(c, "crash-recovery view", &*crm, &ids);
    bench_view(c, "flat view", &FlatView, &ids);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
