//! Coordinator figures behind the simulator's 1,000-node run: one
//! health heartbeat handled by a supervisor that tracks 1,000 nodes (the
//! authentication at the entrance — parse, replay window, MAC — then decode,
//! phi update, tunnel bookkeeping, history record), and one crash sweep of
//! those 1,000 nodes by the leader (a `tick` with no crash).
//!
//! Run with `cargo bench -p pouw-netops --bench ops`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pouw_netops::auth::{IdentityKey, PairwiseKey, seal};
use pouw_netops::coordinator::Credentials;
use pouw_netops::test_support::{UNIX0, authority, certificate, identity_of, signed};
use pouw_netops::wire::{Body, Heartbeat, Membership};
use pouw_netops::{Duration, Instant, NetworkOperationsManager, NodeId, NodeRole, OpsConfig, TaskType};
use std::cell::{Cell, RefCell};
use std::hint::black_box;

/// The simulator's supervisor capacities.
type Supervisor = NetworkOperationsManager<1024, 32, 8, 1024, 8, 4, 4, 2048, 2048, 4>;

const NODES: usize = 1000;

/// One worker as the supervisor hears it: it seals heartbeats for the supervisor.
struct Peer {
    id: NodeId,
    key: IdentityKey,
    pairwise: PairwiseKey,
    counter: u64,
}

impl Peer {
    fn new(i: usize, sup: &NodeId) -> Peer {
        let id = NodeId::new(&format!("worker-{i:04}")).unwrap();
        let key = identity_of(id.as_str());
        let pairwise = PairwiseKey::derive(&key, &identity_of(sup.as_str()).public(), &authority().public()).unwrap();
        Peer { id, key, pairwise, counter: 0 }
    }

    fn seal(&mut self, body: &Body, to: Option<&NodeId>) -> Vec<u8> {
        let body = body.to_vec().unwrap();
        let mut buf = vec![0u8; 4096];
        self.counter += 1;
        let n = match to {
            // The node under test runs in epoch 1.
            Some(to) => seal::seal_mac(&mut buf, &self.id, to, 1, 1, self.counter, &body, &self.pairwise).unwrap(),
            None => {
                seal::seal_signed(&mut buf, &self.id, 1, self.counter, &body, &self.key, &authority().public()).unwrap()
            }
        };
        buf.truncate(n);
        buf
    }

    fn join(&mut self) -> Vec<u8> {
        let cert = certificate(&self.id, NodeRole::Worker, &[TaskType::new("train").unwrap()], 1);
        let certificate = heapless::Vec::from_slice(&signed(cert).unwrap()).unwrap();
        self.seal(&Body::Membership(Membership { joining: true, certificate }), None)
    }

    fn heartbeat(&mut self, seq: u64, at: Instant, sup: &NodeId) -> Vec<u8> {
        let hb = Heartbeat { sequence: seq, sent_at: at, ..Heartbeat::default() };
        self.seal(&Body::Heartbeat(hb), Some(sup))
    }
}

/// A started supervisor (a single voter, so it leads) that heard 10 s of heartbeats from 999 peers.
fn warmed(config: OpsConfig) -> (Box<Supervisor>, Vec<Peer>, Instant) {
    let me = NodeId::new("sup-0").unwrap();
    let cert = certificate(&me, NodeRole::Supervisor, &[], 0);
    let credentials = Credentials::issue(&authority(), identity_of(me.as_str()), cert, 1, UNIX0).unwrap();
    let mut s =
        Supervisor::new_boxed(me.clone(), NodeRole::Supervisor, std::slice::from_ref(&me), config, 1, credentials)
            .unwrap();
    let mut peers: Vec<Peer> = (1..NODES).map(|i| Peer::new(i, &me)).collect();
    let mut now = Instant::from_secs(100);
    s.start(now).unwrap();
    for p in peers.iter_mut() {
        s.handle_message(now, &p.join()).unwrap();
    }
    for round in 0..10u64 {
        for p in peers.iter_mut() {
            s.handle_message(now, &p.heartbeat(round, now, &me)).unwrap();
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
