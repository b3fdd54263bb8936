//! The heartbeat receive path of `benches/ops.rs` (`heartbeat_ingest_1000_nodes`)
//! as a plain program, for instruction counts that do not depend on the
//! machine's load:
//!
//! ```text
//! cargo build --release -p pouw-netops --example heartbeat_probe
//! valgrind --tool=callgrind --toggle-collect='heartbeat_probe::measured' \
//!     target/release/examples/heartbeat_probe 2
//! ```
//!
//! Counts `handle_message` on 999 heartbeats per round (argument: rounds,
//! default 3) and prints the wall time per heartbeat.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use pouw_netops::auth::{Certificate, IdentityKey, PairwiseKey, Role, SignedCertificate, seal};
use pouw_netops::coordinator::Credentials;
use pouw_netops::mesh::WgKey;
use pouw_netops::wire::{Body, Heartbeat, Membership};
use pouw_netops::{Duration, Instant, NetworkOperationsManager, NodeId, NodeRole, OpsConfig, TaskType};
use std::hint::black_box;
/// The simulator's supervisor capacities.
type Supervisor = NetworkOperationsManager<1024, 32, 8, 1024, 8, 4, 4, 2048, 2048, 4>;

const NODES: usize = 1000;

const UNIX0: u64 = 1_800_000_000;

fn authority() -> IdentityKey {
    IdentityKey::from_seed(&[0xA0; 32])
}

fn key(i: usize) -> IdentityKey {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    IdentityKey::from_seed(&seed)
}

fn certificate(node: &NodeId, i: usize, role: Role) -> Certificate {
    let mut pools = heapless::Vec::new();
    if role == Role::Worker {
        pools.push(TaskType::new("train").unwrap()).unwrap();
    }
    Certificate {
        node: node.clone(),
        role,
        identity: key(i).public(),
        wg_key: WgKey::placeholder(node),
        endpoints: heapless::Vec::new(),
        slots: 1,
        pools,
        serial: 1,
        not_before: UNIX0,
        not_after: UNIX0 + 86_400,
    }
}

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
        let sup_key = key(0).public();
        let pairwise = PairwiseKey::derive(&key(i), &sup_key, &authority().public()).unwrap();
        let _ = sup;
        Peer { id, key: key(i), pairwise, counter: 0 }
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

    fn join(&mut self, i: usize) -> Vec<u8> {
        let signed = SignedCertificate::issue(&authority(), certificate(&self.id, i, Role::Worker)).unwrap();
        let mut bytes = vec![0u8; signed.encoded_len()];
        signed.encode(&mut bytes).unwrap();
        let certificate = heapless::Vec::from_slice(&bytes).unwrap();
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
    let credentials =
        Credentials::issue(&authority(), key(0), certificate(&me, 0, Role::Supervisor), 1, UNIX0).unwrap();
    let mut s =
        Supervisor::new_boxed(me.clone(), NodeRole::Supervisor, std::slice::from_ref(&me), config, 1, credentials)
            .unwrap();
    let mut peers: Vec<Peer> = (1..NODES).map(|i| Peer::new(i, &me)).collect();
    let mut now = Instant::from_secs(100);
    s.start(now).unwrap();
    for (i, p) in peers.iter_mut().enumerate() {
        s.handle_message(now, &p.join(i + 1)).unwrap();
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

#[inline(never)]
fn measured(s: &mut Supervisor, now: Instant, batch: &[Vec<u8>]) {
    for b in batch {
        s.handle_message(black_box(now), black_box(b)).unwrap();
    }
}

fn main() {
    let (mut s, mut peers, start) = warmed(OpsConfig::default());
    let me = NodeId::new("sup-0").unwrap();
    let rounds: u64 = std::env::args().nth(1).map_or(3, |a| a.parse().unwrap());
    let mut now = start;
    let mut total = std::time::Duration::ZERO;
    let mut n = 0u64;
    for r in 0..rounds {
        let batch: Vec<Vec<u8>> = peers.iter_mut().map(|p| p.heartbeat(11 + r, now, &me)).collect();
        let t = std::time::Instant::now();
        measured(&mut s, now, &batch);
        total += t.elapsed();
        n += batch.len() as u64;
        while s.poll_event().is_some() {}
        while s.poll_archived().is_some() {}
        while s.poll_transmit().is_some() {}
        now += Duration::from_secs(1);
    }
    println!("{} heartbeats, {:.3} us each (wall)", n, total.as_secs_f64() * 1e6 / n as f64);
}
