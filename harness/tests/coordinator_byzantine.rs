//! Whole coordinator clusters under the Byzantine fault model (issue 14):
//! four supervisors tolerating one Byzantine (`f = 1`, quorum 3), certified
//! votes and leader certificates carried as envelope attachments. Built like
//! `coordinator.rs` (the `small` preset, every message 5 ms, supervisors
//! `sup-i`, workers `w-i`, node seeds `1000 + i`, start at 1 s).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::coordinator::{OpsConfig, RejectReason};
use pouw_netops::election::FaultModel;
use pouw_netops::preset::small;
use pouw_netops::workers::TaskRole;
use pouw_netops::{Duration, Instant, NodeId, NodeRole, TaskId, TaskType};
use pouw_netops_harness::{Cluster, ClusterAuthority, ClusterConfig, NetConfig, Spawn};

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

fn byzantine_config() -> OpsConfig {
    let mut c = OpsConfig::default();
    c.election.fault_model = FaultModel::Byzantine { f: 1 };
    c
}

fn coordinators(supervisors: usize, workers: usize) -> Ops {
    let sups: Vec<NodeId> = (0..supervisors).map(|i| id(&format!("sup-{i}"))).collect();
    let mut ids = sups.clone();
    ids.extend((0..workers).map(|i| id(&format!("w-{i}"))));
    let authority = ClusterAuthority::new(1);
    let factory = move |s: &Spawn<'_>| {
        let role = if s.index < supervisors { NodeRole::Supervisor } else { NodeRole::Worker };
        let (pools, slots) = if role == NodeRole::Worker { (vec![train()], 1) } else { (vec![], 0) };
        let credentials = authority.credentials(s.id, role, &pools, slots, s.restarts)?;
        let mut n = Node::new_boxed(s.id.clone(), role, &sups, byzantine_config(), 1000 + s.index as u64, credentials)
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

fn node(c: &Ops, i: usize) -> &Node {
    c.node(i).unwrap_or_else(|| panic!("{} is down", c.name(i)))
}

#[test]
fn byzantine_mode_cluster_elects_a_certified_leader_that_workers_follow() {
    let mut c = coordinators(4, 3);
    c.run_for(secs(10)).unwrap();
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1, "exactly one leader");
    let l = leaders[0];
    let (leader_id, term) = node(&c, l).leader().map(|(n, t)| (n.clone(), t)).unwrap();
    for i in 0..7 {
        assert_eq!(
            node(&c, i).leader().map(|(n, t)| (n.clone(), t)),
            Some((leader_id.clone(), term)),
            "{} follows the certified leader",
            c.name(i)
        );
    }
    let task = TaskId::new("t-1").unwrap();
    let now = c.now();
    for s in 0..4 {
        c.node_mut(s).unwrap().submit_task(now, task.clone(), train(), 1, 1).unwrap();
    }
    c.drain_all();
    c.run_for(secs(3)).unwrap();
    let view = node(&c, l).workers().unwrap().task(&task).expect("the leader assigned the task");
    let primary = view.primaries().next().unwrap().clone();
    let p = c.index_of(&primary).unwrap();
    assert_eq!(node(&c, p).held_tasks().find(|(t, _)| **t == task).unwrap().1.role, TaskRole::Primary);
    // Honest nodes refuse nothing of each other's as uncertified.
    for i in 0..7 {
        let r = node(&c, i).counters().rejected;
        assert_eq!(r.get(RejectReason::Uncertified), 0, "{}: {r:?}", c.name(i));
    }

    // The leader crashes: the others elect a new certified leader, which
    // the workers follow and which assigns the task again.
    assert!(c.crash(l));
    c.run_for(secs(20)).unwrap();
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1, "a new leader");
    let l2 = leaders[0];
    assert_ne!(l2, l);
    let (leader2, term2) = node(&c, l2).leader().map(|(n, t)| (n.clone(), t)).unwrap();
    assert!(term2 > term);
    for i in 4..7 {
        assert_eq!(node(&c, i).leader().map(|(n, t)| (n.clone(), t)), Some((leader2.clone(), term2)));
    }
    assert!(node(&c, l2).workers().unwrap().task(&task).is_some_and(|v| v.primaries().next().is_some()));
}
