//! The harness itself: virtual time and clock offsets, crash and restart from
//! the persisted hard state, determinism, and an invariant checker that fails
//! when it should (two leaders in a term, two votes in a term, a refused
//! message). Then a coordinator cluster driven the way the coordinator tests
//! drive theirs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::coordinator::{OpsConfig, OpsEventKind};
use pouw_netops::election::{ElectionConfig, HardState};
use pouw_netops::preset::small;
use pouw_netops::workers::{Checkpoint, TaskRole};
use pouw_netops::{Duration, Instant, NodeId, NodeRole, OpsEvent, TaskId, TaskType};
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
    fn handle_message(&mut self, now: Instant, bytes: &[u8]) -> Result<(), String> {
        if self.refuse {
            return Err("not today".into());
        }
        self.received.push((now, bytes.to_vec()));
        Ok(())
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
    assert!(v.what.contains("p1 refused a message: not today"), "{v}");
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

/// Coordinators as the coordinator tests build them: the `small` preset, every
/// message 5 ms, supervisors `sup-i` and workers `w-i`, hard state restored at every build.
fn coordinators(supervisors: usize, workers: usize) -> Cluster<small::NetworkOperationsManager> {
    let sups: Vec<NodeId> = (0..supervisors).map(|i| id(&format!("sup-{i}"))).collect();
    let mut ids = sups.clone();
    ids.extend((0..workers).map(|i| id(&format!("w-{i}"))));
    let factory = move |s: &Spawn<'_>| {
        let role = if s.index < supervisors { NodeRole::Supervisor } else { NodeRole::Worker };
        let mut config = OpsConfig::default();
        if role == NodeRole::Worker {
            config.task_types.push(TaskType::new("train").unwrap()).unwrap();
        }
        let mut n =
            small::NetworkOperationsManager::new_boxed(s.id.clone(), role, &sups, config, 1000 + s.index as u64)
                .map_err(|e| e.to_string())?;
        n.restore_hard_state(s.hard_state.clone());
        Ok(n)
    };
    let mut cfg = ClusterConfig::new(1, supervisors);
    cfg.net = NetConfig { latency_min: Duration::from_millis(5), latency_max: Duration::from_millis(5), ..cfg.net };
    cfg.start = Instant::from_secs(1);
    let mut c = Cluster::new(cfg, ids, Box::new(factory)).unwrap();
    c.start_all();
    c
}

fn events(c: &mut Cluster<small::NetworkOperationsManager>, log: &mut Vec<(usize, OpsEvent)>) {
    while let Some(e) = c.poll_event() {
        log.push(e);
    }
}

#[test]
fn coordinators_elect_assign_fail_over_from_a_checkpoint_and_readmit() {
    let grace = Duration::from_secs(20);
    let mut c = coordinators(3, 5);
    let mut log = Vec::new();
    c.run_for(Duration::from_secs(10)).unwrap();
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1);
    let l = leaders[0];

    let task = TaskId::new("t-1").unwrap();
    let now = c.now();
    for s in 0..3 {
        c.node_mut(s).unwrap().submit_task(now, task.clone(), TaskType::new("train").unwrap(), 1, 1).unwrap();
    }
    c.drain_all();
    c.run_for(Duration::from_secs(2)).unwrap();
    let view = c.node(l).unwrap().workers().unwrap().task(&task).unwrap();
    let primary = view.primaries().next().unwrap().clone();
    let backup = view.backups().next().unwrap().clone();
    let (p, b) = (c.index_of(&primary).unwrap(), c.index_of(&backup).unwrap());
    let cp = Checkpoint { sequence: 5, digest: [5; 32] };
    let now = c.now();
    c.node_mut(p).unwrap().report_checkpoint(now, &task, cp).unwrap();
    c.drain(p);
    c.run_for(Duration::from_secs(2)).unwrap();
    events(&mut c, &mut log);
    c.check_drained().unwrap();
    c.check_leader_tables().unwrap();
    c.check_held_roles(1, |_| 1).unwrap();
    c.check_coverage(l, 1, grace).unwrap();

    c.crash(p);
    c.run_for(Duration::from_secs(20)).unwrap();
    events(&mut c, &mut log);
    let moved = log.iter().find_map(|(i, e)| match &e.kind {
        OpsEventKind::WorkerReplaced { replacement, checkpoint, .. } if *i == l && e.node == primary => {
            Some((replacement.clone(), *checkpoint))
        }
        _ => None,
    });
    assert_eq!(moved, Some((backup.clone(), Some(cp))), "the backup takes over from checkpoint 5");
    let held = c.node(b).unwrap().held_tasks().find(|(t, _)| **t == task).unwrap().1.clone();
    assert_eq!((held.role, held.checkpoint), (TaskRole::Primary, Some(cp)));
    // Down for the grace period: no route may lead through it, the task is covered without it.
    c.check_routes(grace).unwrap();
    c.check_coverage(l, 1, grace).unwrap();
    c.check_held_roles(1, |_| 1).unwrap();

    assert!(c.restart(p));
    c.run_for(Duration::from_secs(15)).unwrap();
    events(&mut c, &mut log);
    assert!(
        log.iter()
            .any(|(i, e)| *i == l && e.node == primary && matches!(e.kind, OpsEventKind::RecoveryCompleted { .. }))
    );
    c.check_routes(grace).unwrap();
    c.check_drained().unwrap();
}
