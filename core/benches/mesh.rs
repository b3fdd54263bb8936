//! VPN mesh benchmarks: joining 10,000 nodes into a /16 and a full
//! route recompute over 1024 nodes and 8192 links.
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

fn routes(c: &mut Criterion) {
    use pouw_netops::preset::large;
    const NODES: usize = 1024;
    const LINKS: usize = 8192;
    let id = |i: usize| NodeId::new(&format!("worker-{i}")).unwrap();
    let mut m = large::VPNMeshTopologyManager::new_boxed(MeshConfig::new(id(0))).unwrap();
    for i in 0..NODES {
        m.join_mesh(Instant::ZERO, node(i)).unwrap();
    }
    // A ring (so everything is reachable) plus random chords, latencies 1-100 ms.
    let mut rng = Rng::new(6);
    let mut links = 0;
    for i in 0..NODES {
        let latency = Duration::from_micros(rng.in_range(1_000, 100_000));
        m.record_link(Instant::ZERO, &id(i), &id((i + 1) % NODES), latency, true).unwrap();
        links += 1;
    }
    while links < LINKS {
        let (a, b) = (rng.below(NODES as u64) as usize, rng.below(NODES as u64) as usize);
        if a == b || m.topology_report().links >= LINKS {
            continue;
        }
        let before = m.topology_report().links;
        let latency = Duration::from_micros(rng.in_range(1_000, 100_000));
        m.record_link(Instant::ZERO, &id(a), &id(b), latency, true).unwrap();
        links += m.topology_report().links - before;
    }
    assert_eq!(m.topology_report().links, LINKS);
    m.recompute_routes(Instant::ZERO);
    assert_eq!(m.topology_report().reachable, NODES - 1);

    let mut g = c.benchmark_group("mesh");
    g.measurement_time(std::time::Duration::from_secs(3)).sample_size(30);
    g.bench_function("recompute_routes_1024_nodes_8192_links", |b| {
        b.iter(|| {
            m.recompute_routes(Instant::ZERO);
            black_box(m.route(&id(NODES - 1)).map(|r| r.cost));
        })
    });
    // The same after one latency change each time, so hysteresis has contested routes to check.
    let mut t = 0u64;
    g.bench_function("recompute_routes_after_latency_change", |b| {
        b.iter(|| {
            t += 1;
            let latency = Duration::from_micros(rng.in_range(1_000, 100_000));
            let (a, z) = (rng.below(NODES as u64) as usize, rng.below(NODES as u64 - 1) as usize);
            let z = if z >= a { z + 1 } else { z };
            let _ = m.record_link(Instant::from_micros(t), &id(a), &id(z), latency, true);
            m.recompute_routes(Instant::from_micros(t));
            while m.poll_route_change().is_some() {}
        })
    });
    g.finish();
}

criterion_group!(benches, join, routes);
criterion_main!(benches);
