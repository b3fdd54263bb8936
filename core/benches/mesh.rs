//! VPN mesh benchmarks: joining 10,000 nodes into a /16 and route
//! recomputes over 256, 1024 and 4096 nodes with 8 links per node.
//!
//! Run with `cargo bench -p pouw-netops --bench mesh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pouw_netops::mesh::{Endpoint, MeshConfig, MeshNode, VPNMeshTopologyManager, WgKey};
use pouw_netops::{Duration, Instant, NodeId, Rng};
use std::hint::black_box;

const JOINS: usize = 10_000;

fn node(i: usize) -> MeshNode {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&(i as u64).to_le_bytes());
    let endpoint = Endpoint::parse(&format!("198.51.{}.{}:51820", (i / 250) % 250, i % 250 + 1)).unwrap();
    MeshNode::new(NodeId::new(&format!("worker-{i}")).unwrap(), WgKey::from_bytes(key), endpoint)
}

fn join(c: &mut Criterion) {
    type Big = VPNMeshTopologyManager<16_384, 16, 16>;
    let nodes: Vec<MeshNode> = (0..JOINS).map(node).collect();
    let mut g = c.benchmark_group("mesh");
    g.measurement_time(std::time::Duration::from_secs(3))
        .sample_size(30)
        .throughput(Throughput::Elements(JOINS as u64));
    g.bench_function("join_10000_into_slash16", |b| {
        b.iter_batched(
            || (Big::new_boxed(MeshConfig::new(NodeId::new("worker-0").unwrap())).unwrap(), nodes.clone()),
            |(mut m, nodes)| {
                for n in nodes {
                    black_box(m.join_mesh(Instant::ZERO, n).unwrap());
                }
                m
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A ring over `nodes` (so everything is reachable) plus random chords up to
/// `8 * nodes` links, latencies 1-100 ms, large preset.
fn ring_with_chords(
    nodes: usize,
    rng: &mut Rng,
) -> (Box<pouw_netops::preset::large::VPNMeshTopologyManager>, Vec<(usize, usize)>) {
    use pouw_netops::preset::large;
    let links_wanted = 8 * nodes;
    let id = |i: usize| NodeId::new(&format!("worker-{i}")).unwrap();
    let mut m = large::VPNMeshTopologyManager::new_boxed(MeshConfig::new(id(0))).unwrap();
    for i in 0..nodes {
        m.join_mesh(Instant::ZERO, node(i)).unwrap();
    }
    let mut pairs = std::collections::BTreeSet::new();
    for i in 0..nodes {
        let latency = Duration::from_micros(rng.in_range(1_000, 100_000));
        m.record_link(Instant::ZERO, &id(i), &id((i + 1) % nodes), latency, true).unwrap();
        pairs.insert((i.min((i + 1) % nodes), i.max((i + 1) % nodes)));
    }
    while pairs.len() < links_wanted {
        let (a, b) = (rng.below(nodes as u64) as usize, rng.below(nodes as u64) as usize);
        if a == b {
            continue;
        }
        let latency = Duration::from_micros(rng.in_range(1_000, 100_000));
        m.record_link(Instant::ZERO, &id(a), &id(b), latency, true).unwrap();
        pairs.insert((a.min(b), a.max(b)));
    }
    assert_eq!(m.topology_report().links, links_wanted);
    m.recompute_routes(Instant::ZERO);
    assert_eq!(m.topology_report().reachable, nodes - 1);
    (m, pairs.into_iter().collect())
}

#[repr(C)]
struct Timespec {
    secs: i64,
    nanos: i64,
}

unsafe extern "C" {
    fn clock_gettime(clock: i32, out: *mut Timespec) -> i32;
}

/// This thread's CPU time in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`, Linux
/// x86-64 / aarch64), `None` if unavailable. On a shared machine wall time
/// includes waiting for a core; CPU time does not.
fn thread_cpu_ns() -> Option<u64> {
    if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
        return None;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec { secs: 0, nanos: 0 };
    // SAFETY: `t` is a valid, writable timespec (two 64-bit fields on these targets).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    (rc == 0).then(|| t.secs as u64 * 1_000_000_000 + t.nanos as u64)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn routes(c: &mut Criterion) {
    let id = |i: usize| NodeId::new(&format!("worker-{i}")).unwrap();
    let mut g = c.benchmark_group("mesh");
    g.measurement_time(std::time::Duration::from_secs(3)).sample_size(30);
    for nodes in [256usize, 1024, 4096] {
        let mut rng = Rng::new(6);
        let (mut m, pairs) = ring_with_chords(nodes, &mut rng);
        let links = 8 * nodes;
        g.bench_function(format!("recompute_routes_{nodes}_nodes_{links}_links"), |b| {
            b.iter(|| {
                m.recompute_routes(Instant::ZERO);
                black_box(m.route(&id(nodes - 1)).map(|r| r.cost));
            })
        });
        // A new latency on one random existing link each time (the link count
        // stays 8 per node): held routes pile up, so hysteresis has contested
        // destinations to check on most neighbours.
        let mut t = 0u64;
        let mut change = |m: &mut pouw_netops::preset::large::VPNMeshTopologyManager, rng: &mut Rng| {
            t += 1;
            let latency = Duration::from_micros(rng.in_range(1_000, 100_000));
            let (a, z) = pairs[rng.below(pairs.len() as u64) as usize];
            m.record_link(Instant::from_micros(t), &id(a), &id(z), latency, true).unwrap();
            m.recompute_routes(Instant::from_micros(t));
            while m.poll_route_change().is_some() {}
        };
        let name = if nodes == 1024 {
            "recompute_routes_after_latency_change".to_owned()
        } else {
            format!("recompute_routes_after_latency_change_{nodes}_nodes")
        };
        g.bench_function(name, |b| b.iter(|| change(&mut m, &mut rng)));
        assert_eq!(m.topology_report().links, links);
        // CPU time per call, median of 300, for the shared machine's sake, on
        // a fresh mesh after a fixed 2,000 latency changes: the same state
        // whatever criterion's iteration counts were, so figures compare
        // across versions and runs.
        let mut rng = Rng::new(6);
        let (mut m, _) = ring_with_chords(nodes, &mut rng);
        for _ in 0..2_000 {
            change(&mut m, &mut rng);
        }
        let held = m.routes().filter(|r| r.held).count();
        let cpu = |f: &mut dyn FnMut()| {
            median(
                (0..300)
                    .filter_map(|_| {
                        let start = thread_cpu_ns()?;
                        f();
                        Some(thread_cpu_ns()? - start)
                    })
                    .collect(),
            )
        };
        if thread_cpu_ns().is_some() {
            let plain = cpu(&mut || m.recompute_routes(Instant::from_micros(u64::MAX / 2)));
            let changed = cpu(&mut || change(&mut m, &mut rng));
            eprintln!(
                "{nodes} nodes, {links} links: CPU time median {} us full recompute, {} us after a latency change; {held} routes held",
                plain / 1000,
                changed / 1000
            );
        }
    }
    g.finish();
}

criterion_group!(benches, join, routes);
criterion_main!(benches);
