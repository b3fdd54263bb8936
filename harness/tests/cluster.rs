//! The harness itself: virtual time and clock offsets, crash and restart from
//! the persisted hard state, determinism, and an invariant checker that fails
//! when it should (two leaders in a term, two votes in a term, a refused
//! message). Coordinator clusters are in `coordinator.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::election::{ElectionConfig, HardState};
use pouw_netops::{Duration, Instant, NodeId};
use pouw_netops_harness::election::{self, ElectionNode};
use pouw_netops_harness::{Cluster, ClusterConfig, HarnessNode, NetConfig, Outgoing, Spawn, Target};

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// A scripted node: ticks at fixed local instants, says what it is told.
#[derive(Default)]
struct Probe {
    deadlines: Vec<Instant>,
    ticks: Vec<Instant>,
    received: Vec<(Instant, Vec<u8>)>,
    leading: Option<u64>,
    hard: Vec<HardState>,
    out: Vec<Outgoing>,
    refuse: bool,
}

impl HarnessNode for Probe {
    type Event = String;
    fn start(&mut self, _now: Instant) -> Result<(), String> {
        Ok(())
    }
    fn deliver(&mut self, now: Instant, bytes: &[u8]) -> Result<bool, String> {
        if self.refuse {
            return Err("not today".into());
        }
        self.received.push((now, bytes.to_vec()));
        Ok(true)
    }
    fn tick(&mut self, now: Instant) {
        self.ticks.push(now);
        self.deadlines.retain(|d| *d > now);
    }
    fn poll_timeout(&self) -> Instant {
        self.deadlines.iter().copied().min().unwrap_or(Instant::MAX)
    }
    fn poll_hard_state(&mut self) -> Option<HardState> {
        (!self.hard.is_empty()).then(|| self.hard.remove(0))
    }
    fn poll_transmit(&mut self) -> Option<Result<Outgoing, String>> {
        (!self.out.is_empty()).then(|| Ok(self.out.remove(0)))
    }
    fn poll_event(&mut self) -> Option<String> {
        None
    }
    fn leading(&self) -> Option<u64> {
        self.leading
    }
}

fn probes(n: usize, cfg: ClusterConfig, make: impl Fn(usize) -> Probe + 'static) -> Cluster<Probe> {
    let ids = (0..n).map(|i| id(&format!("p{i}"))).collect();
    let mut c = Cluster::new(cfg, ids, Box::new(move |s: &Spawn<'_>| Ok(Box::new(make(s.index))))).unwrap();
    c.start_all();
    c
}

#[test]
fn nodes_live_on_their_own_clocks() {
    let mut cfg = ClusterConfig::new(1, 2);
    cfg.start = Instant::from_secs(10);
    cfg.offsets = vec![Duration::ZERO, Duration::from_millis(300)];
    // Both want a tick at local 11 s: node 1's clock is 300 ms ahead, so it ticks first.
    let mut c = probes(2, cfg, |_| Probe { deadlines: vec![Instant::from_secs(11)], ..Probe::default() });
    assert!(c.step(Instant::from_secs(12)).unwrap());
    assert_eq!(c.now(), Instant::from_millis(10_700));
    assert_eq!(c.node(1).unwrap().ticks, vec![Instant::from_secs(11)]);
    assert!(c.node(0).unwrap().ticks.is_empty());
    assert!(c.step(Instant::from_secs(12)).unwrap());
    assert_eq!(c.now(), Instant::from_secs(11));
    assert_eq!(c.node(0).unwrap().ticks, vec![Instant::from_secs(11)]);
    // Nothing more to do: the clock goes to the limit and stops there.
    assert!(!c.step(Instant::from_secs(12)).unwrap());
    assert_eq!(c.now(), Instant::from_secs(12));
    assert_eq!(c.steps(), 2);
}

#[test]
fn messages_respect_latency_partitions_and_crashes() {
    let mut cfg = ClusterConfig::new(3, 3);
    cfg.net = NetConfig { latency_min: Duration::from_millis(5), latency_max: Duration::from_millis(5), ..cfg.net };
    let mut c = probes(3, cfg, |_| Probe::default());
    let send = |c: &mut Cluster<Probe>, from: usize, to: Target, byte: u8| {
        c.node_mut(from).unwrap().out.push(Outgoing { to, bytes: vec![byte] });
        c.drain(from);
    };
    send(&mut c, 0, Target::All, 1);
    c.run_for(Duration::from_millis(4)).unwrap();
    assert!(c.node(1).unwrap().received.is_empty(), "5 ms latency");
    c.run_for(Duration::from_millis(1)).unwrap();
    assert_eq!(c.node(1).unwrap().received, vec![(Instant::from_millis(5), vec![1])]);
    assert_eq!(c.node(2).unwrap().received.len(), 1);
    assert!(c.node(0).unwrap().received.is_empty(), "not to itself");
    // One way: 0 cannot reach 1, 1 still reaches 0.
    c.net_mut().block(0, 1);
    send(&mut c, 0, Target::Node(id("p1")), 2);
    send(&mut c, 1, Target::Node(id("p0")), 3);
    c.run_for(Duration::from_millis(10)).unwrap();
    assert_eq!(c.node(1).unwrap().received.len(), 1);
    assert_eq!(c.node(0).unwrap().received.last().unwrap().1, vec![3]);
    assert_eq!(c.net().stats().partitioned, 1);
    // A crashed node neither receives nor is reachable through node(); it comes back empty.
    c.net_mut().heal();
    assert!(c.crash(2));
    assert!(!c.crash(2), "already down");
    send(&mut c, 0, Target::Node(id("p2")), 4);
    c.run_for(Duration::from_millis(10)).unwrap();
    assert!(c.node(2).is_none());
    assert_eq!(c.last_state(2).unwrap().received.len(), 1, "what it had at the crash");
    assert_eq!(c.net().stats().to_down_node, 1);
    assert!(c.restart(2));
    assert!(c.node(2).unwrap().received.is_empty(), "a restart starts from scratch");
}

#[test]
fn the_checker_catches_two_leaders_in_a_term() {
    let mut c = probes(3, ClusterConfig::new(1, 3), |i| Probe { leading: (i != 1).then_some(4), ..Probe::default() });
    let v = c.check_step().unwrap_err();
    assert!(v.what.contains("two leaders in term 4: p0 and p2"), "{v}");
    // Workers (beyond the supervisors) are not voters: not counted.
    let mut c = probes(3, ClusterConfig::new(1, 1), |_| Probe { leading: Some(4), ..Probe::default() });
    c.check_step().unwrap();
    // The record spans the run: a later leader of an old term is caught too.
    let mut c = probes(2, ClusterConfig::new(1, 2), |i| Probe { leading: (i == 0).then_some(7), ..Probe::default() });
    c.check_step().unwrap();
    c.crash(0);
    c.node_mut(1).unwrap().leading = Some(7);
    assert!(c.check_step().is_err());
    assert_eq!(c.leaders_by_term().get(&7), Some(&0));
}

#[test]
fn the_checker_catches_two_votes_in_a_term_and_refused_messages() {
    let vote = |term, v: &str| HardState { term, voted_for: Some(id(v)) };
    let mut c = probes(2, ClusterConfig::new(1, 2), move |i| Probe {
        hard: if i == 0 { vec![vote(3, "p0"), vote(3, "p0"), vote(4, "p1"), vote(4, "p0")] } else { Vec::new() },
        ..Probe::default()
    });
    let v = c.check_step().unwrap_err();
    assert!(v.what.contains("voted for p1 and p0 in term 4"), "{v}");
    assert_eq!(c.hard_state(0), Some(&vote(4, "p0")), "the disk holds the last write");

    let mut c = probes(2, ClusterConfig::new(1, 2), |i| Probe { refuse: i == 1, ..Probe::default() });
    c.node_mut(0).unwrap().out.push(Outgoing { to: Target::Supervisors, bytes: vec![9] });
    c.drain(0);
    let v = c.run_for(Duration::from_secs(1)).unwrap_err();
    assert!(v.what.contains("p1 refused a message (undecodable) from p0: not today"), "{v}");
}

fn noisy_election(seed: u64) -> Cluster<ElectionNode> {
    let mut c = election::cluster(5, seed, move |i| ElectionConfig {
        seed: seed.wrapping_add(i as u64),
        ..ElectionConfig::default()
    })
    .unwrap();
    let net = NetConfig { loss: 0.2, duplicate: 0.2, latency_max: Duration::from_millis(30), ..c.net().config() };
    c.net_mut().set_config(net);
    c
}

#[test]
fn elections_survive_crashes_and_restart_from_the_persisted_term_and_vote() {
    let mut c = noisy_election(11);
    assert!(c.run_until(Instant::from_secs(20), |c| election::stable_leader(c).is_some()).unwrap());
    let l = election::stable_leader(&c).unwrap();
    let term = c.node(l).unwrap().term();
    assert_eq!(c.hard_state(l).unwrap().term, term, "the leader persisted its term");
    c.crash(l);
    assert!(c.node(l).is_none());
    let found = c.run_until(c.now() + Duration::from_secs(20), |c| election::leader_above(c, term).is_some());
    assert!(found.unwrap(), "another node leads a later term");
    let persisted = c.hard_state(l).unwrap().clone();
    assert!(c.restart(l));
    let back = c.node(l).unwrap();
    assert_eq!(back.hard_state(), persisted, "restored from what it persisted");
    c.net_mut().set_config(NetConfig::default());
    assert!(c.run_until(c.now() + Duration::from_secs(20), |c| election::stable_leader(c).is_some()).unwrap());
    assert!(c.leaders_by_term().len() >= 2);
}

#[test]
fn same_seed_same_trace() {
    let run = |seed| {
        let mut c = noisy_election(seed);
        c.run_for(Duration::from_secs(10)).unwrap();
        (c.trace_hash(), c.steps(), c.net().stats())
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3).0, run(4).0);
}
