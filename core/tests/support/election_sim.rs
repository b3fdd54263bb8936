//! A deterministic, event-driven cluster simulator for the leader election, using
//! only the public API. Shared by `tests/election_sim.rs` and
//! `examples/election_figure16.rs`.
//!
//! Every message is encoded, given a random one-way latency (which reorders),
//! and may be lost, duplicated or blocked by a (possibly one-way) partition.
//! Crashed nodes lose their memory; restarted ones come back from the hard state
//! they persisted. After every step the simulator checks that no two nodes were
//! ever leader in the same term and that no node ever voted twice in one term.
#![allow(dead_code)]

use pouw_netops::election::{ElectionConfig, HardState, Role};
use pouw_netops::preset::small::LeaderElectionManager;
use pouw_netops::{Duration, Envelope, Instant, NodeId, Rng};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

struct Node {
    m: Box<LeaderElectionManager>,
}

/// A message on the wire.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Instant,
    seq: u64,
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

/// The simulated cluster.
pub struct Sim {
    pub now: Instant,
    pub rng: Rng,
    pub ids: Vec<NodeId>,
    nodes: Vec<Option<Node>>,
    configs: Vec<ElectionConfig>,
    /// What each node persisted: its hard state, as a host's disk would hold it.
    disk: Vec<HardState>,
    wire: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    /// One-way latency, uniform in `[min, max]`.
    pub latency: (Duration, Duration),
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// `blocked[a][b]`: messages from `a` to `b` are dropped.
    pub blocked: Vec<Vec<bool>>,
    /// Every leader ever seen, by term (the global safety record).
    pub leaders: BTreeMap<u64, usize>,
    /// Every vote ever persisted, by node and term.
    votes: Vec<BTreeMap<u64, NodeId>>,
    restarts: u64,
    /// Messages delivered so far.
    pub delivered: u64,
}

impl Sim {
    /// A cluster of `n` voters `s0..`, node `i` with `config(i)`.
    pub fn new(n: usize, seed: u64, config: impl Fn(usize) -> ElectionConfig) -> Sim {
        let ids: Vec<NodeId> = (0..n).map(|i| NodeId::new(&format!("s{i}")).unwrap()).collect();
        let configs: Vec<ElectionConfig> = (0..n).map(&config).collect();
        let nodes = (0..n)
            .map(|i| {
                let m = LeaderElectionManager::new_boxed(configs[i], ids[i].clone(), &ids, Instant::ZERO).unwrap();
                Some(Node { m })
            })
            .collect();
        Sim {
            now: Instant::ZERO,
            rng: Rng::new(seed),
            ids,
            nodes,
            configs,
            disk: vec![HardState::default(); n],
            wire: BinaryHeap::new(),
            seq: 0,
            latency: (Duration::from_millis(1), Duration::from_millis(5)),
            loss: 0.0,
            duplicate: 0.0,
            blocked: vec![vec![false; n]; n],
            leaders: BTreeMap::new(),
            votes: vec![BTreeMap::new(); n],
            restarts: 0,
            delivered: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].is_some()
    }

    pub fn node(&self, i: usize) -> Option<&LeaderElectionManager> {
        self.nodes[i].as_ref().map(|n| &*n.m)
    }

    /// Crashes node `i`: its memory is gone; messages already on the wire still arrive elsewhere.
    pub fn crash(&mut self, i: usize) {
        self.nodes[i] = None;
    }

    /// Restarts a crashed node `i` from its persisted hard state (with a new jitter seed).
    pub fn restart(&mut self, i: usize) {
        if self.nodes[i].is_some() {
            return;
        }
        self.restarts += 1;
        let config =
            ElectionConfig { seed: self.configs[i].seed ^ self.restarts.wrapping_mul(0x9E37), ..self.configs[i] };
        let m = LeaderElectionManager::restore_boxed(
            config,
            self.ids[i].clone(),
            &self.ids,
            self.disk[i].clone(),
            self.now,
        )
        .unwrap();
        self.nodes[i] = Some(Node { m });
    }

    pub fn heal(&mut self) {
        for row in &mut self.blocked {
            row.iter_mut().for_each(|b| *b = false);
        }
    }

    /// Blocks both directions between the groups `side` and the rest.
    pub fn partition(&mut self, side: &[usize]) {
        let n = self.len();
        for a in 0..n {
            for b in 0..n {
                self.blocked[a][b] = side.contains(&a) != side.contains(&b);
            }
        }
    }

    fn random_latency(&mut self) -> Duration {
        let (lo, hi) = self.latency;
        Duration::from_micros(self.rng.in_range(lo.total_micros(), hi.total_micros() + 1))
    }

    /// Moves node `i`'s outputs to disk and wire, in the documented drain order.
    fn drain(&mut self, i: usize) {
        let Some(node) = self.nodes[i].as_mut() else { return };
        while let Some(hs) = node.m.poll_hard_state() {
            // The vote is "on disk" before any message leaves.
            if let Some(v) = &hs.voted_for {
                let prev = self.votes[i].entry(hs.term).or_insert_with(|| v.clone());
                assert_eq!(prev, v, "s{i} voted twice in term {}", hs.term);
            }
            self.disk[i] = hs;
        }
        let n = self.ids.len();
        let mut out = Vec::new();
        while let Some(t) = node.m.poll_transmit() {
            let bytes = t.envelope.to_vec().unwrap();
            match &t.to {
                Some(to) => out.push((self.ids.iter().position(|x| x == to).unwrap(), bytes)),
                None => (0..n).filter(|&j| j != i).for_each(|j| out.push((j, bytes.clone()))),
            }
        }
        for (to, bytes) in out {
            if self.blocked[i][to] || self.rng.chance(self.loss) {
                continue;
            }
            let copies = if self.rng.chance(self.duplicate) { 2 } else { 1 };
            for _ in 0..copies {
                let at = self.now + self.random_latency();
                self.seq += 1;
                self.wire.push(Reverse(InFlight { at, seq: self.seq, from: i, to, bytes: bytes.clone() }));
            }
        }
    }

    fn check_safety(&mut self) {
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(n) = n
                && n.m.role() == Role::Leader
            {
                let prev = *self.leaders.entry(n.m.term()).or_insert(i);
                assert_eq!(prev, i, "two leaders in term {}: s{prev} and s{i}", n.m.term());
            }
        }
    }

    /// The next instant anything happens.
    fn next_time(&self) -> Instant {
        let mut t = self.wire.peek().map_or(Instant::MAX, |Reverse(m)| m.at);
        for n in self.nodes.iter().flatten() {
            t = t.min(n.m.poll_timeout());
        }
        t
    }

    /// Processes everything due at the next instant, not later than `limit`.
    /// Returns `false` when the next event is past `limit` (then `now = limit`).
    pub fn step(&mut self, limit: Instant) -> bool {
        let t = self.next_time().max(self.now);
        if t > limit {
            self.now = limit;
            return false;
        }
        self.now = t;
        while let Some(Reverse(m)) = self.wire.peek() {
            if m.at > self.now {
                break;
            }
            let Reverse(m) = self.wire.pop().unwrap();
            let now = self.now;
            if let Some(node) = self.nodes[m.to].as_mut() {
                let env = Envelope::decode(&m.bytes).unwrap();
                node.m.step(now, &env).unwrap();
                self.delivered += 1;
                let _ = m.from;
                self.drain(m.to);
                self.check_safety();
            }
        }
        for i in 0..self.nodes.len() {
            let now = self.now;
            if let Some(node) = self.nodes[i].as_mut()
                && node.m.poll_timeout() <= now
            {
                node.m.tick(now);
                self.drain(i);
                self.check_safety();
            }
        }
        true
    }

    /// Runs until `limit`, or until `stop` (checked after every step) says so; returns whether it stopped early.
    pub fn run_until(&mut self, limit: Instant, mut stop: impl FnMut(&Sim) -> bool) -> bool {
        while self.step(limit) {
            if stop(self) {
                return true;
            }
        }
        false
    }

    /// The leader every live node agrees on (same term, all following it), if any.
    pub fn stable_leader(&self) -> Option<usize> {
        let leaders: Vec<usize> =
            (0..self.len()).filter(|&i| self.node(i).is_some_and(|n| n.role() == Role::Leader)).collect();
        let [l] = leaders[..] else { return None };
        let term = self.node(l)?.term();
        let all = self.nodes.iter().flatten().all(|n| n.m.term() == term && n.m.leader() == Some(&self.ids[l]));
        all.then_some(l)
    }

    /// Any node is leader with a term above `term`.
    pub fn leader_above(&self, term: u64) -> Option<usize> {
        (0..self.len()).find(|&i| self.node(i).is_some_and(|n| n.role() == Role::Leader && n.term() > term))
    }
}
