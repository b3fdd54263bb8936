//! Whole coordinator clusters on the harness: election, assignment, failover
//! from a checkpoint, graceful stops and restarts, driven through the public
//! API of `NetworkOperationsManager` and checked with the harness's invariants.
//!
//! Every cluster here is built the same way ([`coordinators`]): the `small`
//! preset, every message 5 ms, supervisors `sup-i` and workers `w-i`, node
//! seeds `1000 + i`, start at 1 s, hard state restored at every build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::coordinator::{OpsConfig, OpsEventKind};
use pouw_netops::preset::small;
use pouw_netops::workers::{Checkpoint, TaskRole};
use pouw_netops::{Duration, Instant, NodeId, NodeRole, OpsEvent, TaskId, TaskType};
use pouw_netops_harness::{Cluster, ClusterConfig, NetConfig, Spawn};

type Node = small::NetworkOperationsManager;
type Ops = Cluster<Node>;

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn train() -> TaskType {
    TaskType::new("train").unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Coordinators as the coordinator tests build them: the `small` preset, every
/// message 5 ms, supervisors `sup-i` and workers `w-i`, hard state restored at every build.
fn coordinators(supervisors: usize, workers: usize) -> Ops {
    let sups: Vec<NodeId> = (0..supervisors).map(|i| id(&format!("sup-{i}"))).collect();
    let mut ids = sups.clone();
    ids.extend((0..workers).map(|i| id(&format!("w-{i}"))));
    let factory = move |s: &Spawn<'_>| {
        let role = if s.index < supervisors { NodeRole::Supervisor } else { NodeRole::Worker };
        let mut config = OpsConfig::default();
        if role == NodeRole::Worker {
            config.task_types.push(train()).unwrap();
        }
        let mut n =
            Node::new_boxed(s.id.clone(), role, &sups, config, 1000 + s.index as u64).map_err(|e| e.to_string())?;
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

/// Moves the events the cluster collected to `log`.
fn events(c: &mut Ops, log: &mut Vec<(usize, OpsEvent)>) {
    while let Some(e) = c.poll_event() {
        log.push(e);
    }
}

#[test]
fn a_stopped_node_keeps_its_memory_and_hears_nothing_until_it_starts() {
    let mut c = coordinators(3, 2);
    c.run_for(secs(10)).unwrap();
    let w = 4;
    let received = |c: &Ops| c.last_state(w).unwrap().counters().messages_received;
    assert!(c.stop(w));
    assert_eq!((c.is_stopped(w), c.is_up(w), c.node(w).is_none()), (true, false, true));
    assert_eq!(c.down_since(w), Some(c.now()));
    assert!(!c.stop(w) && !c.crash(w), "not up");
    let before = (received(&c), c.net().stats().to_down_node);
    c.run_for(secs(5)).unwrap();
    assert_eq!(received(&c), before.0, "nothing is delivered to it");
    assert!(c.net().stats().to_down_node > before.1, "the supervisors' heartbeats still come");
    assert!(c.start(w));
    assert!(!c.start(w), "already up");
    assert_eq!(received(&c), before.0, "the same object: its counters go on");
    assert_eq!((c.is_stopped(w), c.down_since(w)), (false, None));
    c.run_for(secs(1)).unwrap();
    assert!(received(&c) > before.0);
    // A crashed node's memory is gone: only a restart brings it back.
    assert!(c.crash(w));
    assert!(!c.start(w));
    assert!(c.restart(w));
    assert_eq!(received(&c), 0, "rebuilt from the factory");
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
