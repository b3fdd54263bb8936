//! Whole coordinator clusters on the harness: election, assignment, failover
//! from a checkpoint, graceful stops and restarts, driven through the public
//! API of `NetworkOperationsManager` and checked with the harness's invariants.
//!
//! Every cluster here is built the same way ([`coordinators_with`]): the
//! `small` preset, every message 5 ms, supervisors `sup-i` and workers `w-i`,
//! node seeds `1000 + i`, start at 1 s, hard state restored at every build;
//! crash-only by default, and one cluster under the Byzantine fault model
//! (four supervisors tolerating one liar, certified votes and leader
//! certificates carried as envelope attachments).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::auth::{seal, sign_checkpoint};
use pouw_netops::coordinator::{OpsConfig, OpsEventKind, RejectReason};
use pouw_netops::election::FaultModel;
use pouw_netops::preset::small;
use pouw_netops::wire::CheckpointReport;
use pouw_netops::workers::{Checkpoint, TaskRole};
use pouw_netops::{Body, Duration, Instant, NodeId, NodeRole, OpsEvent, TaskId, TaskType};
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

fn checkpoint(seq: u64) -> Checkpoint {
    Checkpoint { sequence: seq, digest: [seq as u8; 32] }
}

/// Crash-only coordinators (see [`coordinators_with`]).
fn coordinators(supervisors: usize, workers: usize) -> Ops {
    coordinators_with(supervisors, workers, OpsConfig::default())
}

/// Coordinators as the coordinator tests build them: the `small` preset, every
/// message 5 ms, supervisors `sup-i` and workers `w-i`, `config` for every node,
/// hard state restored at every build.
fn coordinators_with(supervisors: usize, workers: usize, config: OpsConfig) -> Ops {
    let sups: Vec<NodeId> = (0..supervisors).map(|i| id(&format!("sup-{i}"))).collect();
    let mut ids = sups.clone();
    ids.extend((0..workers).map(|i| id(&format!("w-{i}"))));
    let authority = ClusterAuthority::new(1);
    let factory = move |s: &Spawn<'_>| {
        let role = if s.index < supervisors { NodeRole::Supervisor } else { NodeRole::Worker };
        let (pools, slots) = if role == NodeRole::Worker { (vec![train()], 1) } else { (vec![], 0) };
        let credentials = authority.credentials(s.id, role, &pools, slots, s.restarts)?;
        let mut n = Node::new_boxed(s.id.clone(), role, &sups, config.clone(), 1000 + s.index as u64, credentials)
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

/// Up node `i`.
fn node(c: &Ops, i: usize) -> &Node {
    c.node(i).unwrap_or_else(|| panic!("{} is down", c.name(i)))
}

/// Every supervisor takes `task` (the leader assigns it), then all are drained.
fn submit(c: &mut Ops, task: &TaskId, required: u16, backups: u16) {
    let now = c.now();
    for s in 0..c.supervisors() {
        c.node_mut(s).unwrap().submit_task(now, task.clone(), train(), required, backups).unwrap();
    }
    c.drain_all();
}

/// Three supervisors and `workers` workers run 10 s to elect a leader (its
/// index is returned); then task `t-1` (one primary, `backups` backups) is
/// submitted and given 2 s to be assigned.
fn with_task(workers: usize, backups: u16) -> (Ops, usize, TaskId) {
    let mut c = coordinators(3, workers);
    c.run_for(secs(10)).unwrap();
    let l = c.leaders()[0];
    let task = TaskId::new("t-1").unwrap();
    submit(&mut c, &task, 1, backups);
    c.run_for(secs(2)).unwrap();
    (c, l, task)
}

/// Moves the events the cluster collected to `log`.
fn events(c: &mut Ops, log: &mut Vec<(usize, OpsEvent)>) {
    while let Some(e) = c.poll_event() {
        log.push(e);
    }
}

/// The events node `i` reported.
fn events_of(log: &[(usize, OpsEvent)], i: usize) -> impl Iterator<Item = &OpsEvent> + '_ {
    log.iter().filter(move |(j, _)| *j == i).map(|(_, e)| e)
}

/// The leader `l`'s primaries of `task`.
fn primaries(c: &Ops, l: usize, task: &TaskId) -> Vec<NodeId> {
    node(c, l).workers().unwrap().task(task).unwrap().primaries().cloned().collect()
}

#[test]
fn cluster_elects_assigns_replaces_from_checkpoint_and_readmits() {
    let grace = secs(20);
    let mut c = coordinators(3, 5);
    let mut log = Vec::new();
    c.run_for(secs(10)).unwrap();
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1, "exactly one leader");
    let l = leaders[0];
    let (leader_id, term) = node(&c, l).leader().map(|(n, t)| (n.clone(), t)).unwrap();
    assert_eq!(leader_id, c.ids()[l]);
    for w in 3..8 {
        assert_eq!(
            node(&c, w).leader().map(|(n, t)| (n.clone(), t)),
            Some((leader_id.clone(), term)),
            "worker follows"
        );
    }

    let task = TaskId::new("t-1").unwrap();
    submit(&mut c, &task, 1, 1);
    c.run_for(secs(2)).unwrap();
    let view = node(&c, l).workers().unwrap().task(&task).expect("the leader assigned the task");
    let primary = view.primaries().next().unwrap().clone();
    let backup = view.backups().next().unwrap().clone();
    let (p, b) = (c.index_of(&primary).unwrap(), c.index_of(&backup).unwrap());
    assert_eq!(node(&c, p).held_tasks().find(|(t, _)| **t == task).unwrap().1.role, TaskRole::Primary);
    assert_eq!(node(&c, b).held_tasks().find(|(t, _)| **t == task).unwrap().1.role, TaskRole::Backup);
    // Followers keep no assignments of their own.
    for s in (0..3).filter(|&s| s != l) {
        assert_eq!(node(&c, s).workers().unwrap().task_count(), 0);
    }

    let now = c.now();
    c.node_mut(p).unwrap().report_checkpoint(now, &task, checkpoint(5)).unwrap();
    c.drain(p);
    c.run_for(secs(2)).unwrap();
    assert_eq!(node(&c, l).workers().unwrap().checkpoint(&task), Some(checkpoint(5)));
    for s in 0..3 {
        assert_eq!(node(&c, s).tasks().next().unwrap().1.checkpoint, Some(checkpoint(5)), "every supervisor knows it");
    }
    c.check_drained().unwrap();
    c.check_leader_tables().unwrap();
    c.check_held_roles(1, |_| 1).unwrap();
    c.check_coverage(l, 1, grace).unwrap();

    let crash_at = c.now();
    assert!(c.crash(p));
    c.run_for(secs(20)).unwrap();
    events(&mut c, &mut log);
    let detected = events_of(&log, l)
        .find(|e| e.node == primary && matches!(e.kind, OpsEventKind::CrashDetected { .. }))
        .expect("crash detected")
        .clone();
    assert!(detected.at > crash_at && detected.at <= crash_at + secs(12), "{detected:?}");
    let replaced = events_of(&log, l)
        .find(|e| e.node == primary && matches!(e.kind, OpsEventKind::WorkerReplaced { .. }))
        .expect("worker replaced")
        .clone();
    assert_eq!(replaced.at, detected.at, "replacement in the same tick as detection");
    let OpsEventKind::WorkerReplaced { replacement, from_backup, checkpoint: cp, role, .. } = replaced.kind else {
        panic!("found as a replacement: {replaced:?}")
    };
    assert_eq!(
        (replacement.clone(), from_backup, cp, role),
        (backup.clone(), true, Some(checkpoint(5)), TaskRole::Primary)
    );
    let held = node(&c, b).held_tasks().find(|(t, _)| **t == task).unwrap().1.clone();
    assert_eq!((held.role, held.checkpoint), (TaskRole::Primary, Some(checkpoint(5))), "the backup resumes from it");
    assert!(node(&c, l).mesh().node(&primary).is_none(), "crashed node left the mesh");
    assert!(node(&c, l).workers().unwrap().worker(&primary).unwrap().quarantined);
    // Down for the grace period: no route leads through it, the task is covered without it.
    c.check_routes(grace).unwrap();
    c.check_coverage(l, 1, grace).unwrap();
    c.check_held_roles(1, |_| 1).unwrap();

    assert!(c.restart(p));
    c.run_for(secs(15)).unwrap();
    events(&mut c, &mut log);
    assert!(
        events_of(&log, l).any(|e| e.node == primary && matches!(e.kind, OpsEventKind::RecoveryCompleted { .. })),
        "recovered"
    );
    assert!(node(&c, l).mesh().node(&primary).is_some(), "rejoined the mesh");
    assert!(!node(&c, l).workers().unwrap().worker(&primary).unwrap().quarantined, "assignable again");
    // Its old role was taken; it is now a backup or idle, never a second primary.
    assert_eq!(primaries(&c, l, &task), vec![backup]);
    c.check_leader_tables().unwrap();
    c.check_held_roles(1, |_| 1).unwrap();
    c.check_routes(grace).unwrap();
    c.check_drained().unwrap();
}

#[test]
fn leader_crash_elects_a_new_leader_that_reassigns_from_the_checkpoint() {
    let mut c = coordinators(3, 4);
    c.run_for(secs(10)).unwrap();
    let task = TaskId::new("t-1").unwrap();
    submit(&mut c, &task, 1, 0);
    c.run_for(secs(2)).unwrap();
    let l = c.leaders()[0];
    let primary = primaries(&c, l, &task)[0].clone();
    let p = c.index_of(&primary).unwrap();
    let now = c.now();
    c.node_mut(p).unwrap().report_checkpoint(now, &task, checkpoint(9)).unwrap();
    c.drain(p);
    c.run_for(secs(2)).unwrap();
    let old_term = node(&c, l).leader().unwrap().1;
    assert!(c.crash(l));
    c.run_for(secs(15)).unwrap();
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1);
    let nl = leaders[0];
    assert_ne!(nl, l);
    let (new_leader, term) = node(&c, nl).leader().map(|(n, t)| (n.clone(), t)).unwrap();
    assert!(term > old_term);
    assert_eq!(node(&c, nl).workers().unwrap().checkpoint(&task), Some(checkpoint(9)));
    let primary = primaries(&c, nl, &task)[0].clone();
    let p = c.index_of(&primary).unwrap();
    assert_eq!(node(&c, p).leader().unwrap().0, &new_leader);
    let held = node(&c, p).held_tasks().find(|(t, _)| **t == task).unwrap().1.clone();
    assert_eq!((held.role, held.checkpoint, held.from), (TaskRole::Primary, Some(checkpoint(9)), new_leader));
    // No worker holds the task as primary for the old leader any more.
    let holders = (3..7).filter(|&w| node(&c, w).held_tasks().any(|(t, h)| *t == task && h.role == TaskRole::Primary));
    assert_eq!(holders.count(), 1);
    c.check_leader_tables().unwrap();
    c.check_held_roles(1, |_| 1).unwrap();
    c.check_coverage(nl, 1, secs(15)).unwrap();
    c.check_routes(secs(15)).unwrap();
}

#[test]
fn graceful_stop_steps_down_and_peers_see_a_leave_not_a_crash() {
    let mut c = coordinators(3, 2);
    let mut log = Vec::new();
    c.run_for(secs(10)).unwrap();
    events(&mut c, &mut log);
    let l = c.leaders()[0];
    let leader = c.ids()[l].clone();
    assert!(c.stop(l));
    let stopped = c.last_state(l).unwrap();
    assert!(!stopped.is_leader());
    assert_eq!(stopped.poll_timeout(), Instant::MAX);
    events(&mut c, &mut log);
    assert!(events_of(&log, l).any(|e| matches!(e.kind, OpsEventKind::SteppedDown { .. })));
    c.run_for(secs(20)).unwrap();
    events(&mut c, &mut log);
    for i in (0..5).filter(|&i| i != l) {
        assert!(events_of(&log, i).any(|e| e.node == leader && e.kind == OpsEventKind::NodeLeft), "node {i}");
        assert!(!events_of(&log, i).any(|e| e.node == leader && matches!(e.kind, OpsEventKind::CrashDetected { .. })));
    }
    assert_eq!(c.leaders().len(), 1, "the others elect a new leader");
    c.check_routes(Duration::ZERO).unwrap();
}

#[test]
fn same_seeds_same_bytes() {
    let run = || {
        let mut c = coordinators(3, 3);
        c.run_for(secs(8)).unwrap();
        let mut log = Vec::new();
        events(&mut c, &mut log);
        (log.iter().map(|(i, e)| format!("{i}{e:?}")).collect::<Vec<_>>(), c.trace_hash(), c.steps())
    };
    let first = run();
    assert!(!first.0.is_empty(), "a cluster that elects a leader reports events");
    assert_eq!(first, run());
}

#[test]
fn the_leader_takes_checkpoints_only_from_the_tasks_primaries() {
    let (mut c, l, task) = with_task(3, 1);
    let view = node(&c, l).workers().unwrap().task(&task).unwrap();
    let primary = view.primaries().next().unwrap().clone();
    let backup = view.backups().next().unwrap().clone();
    let p = c.index_of(&primary).unwrap();
    let now = c.now();
    c.node_mut(p).unwrap().report_checkpoint(now, &task, checkpoint(5)).unwrap();
    c.drain(p);
    c.run_for(secs(1)).unwrap();
    // A backup (or a worker holding a deposed leader's role) is not the task's
    // primary: the leader refuses its report, so its table must not take it either.
    let authority = ClusterAuthority::new(1);
    // Signed and sealed with the backup's own key: a member that misbehaves, not a stranger.
    let key = authority.identity(&backup);
    let signature = sign_checkpoint(&key, &authority.public(), &task, &backup, &checkpoint(50)).into();
    let forged = CheckpointReport { task: task.clone(), checkpoint: checkpoint(50), signature };
    let body = Body::CheckpointReport(forged).to_vec().unwrap();
    let mut buf = vec![0u8; 4096];
    let n = seal::seal_signed(&mut buf, &backup, 0, 1 << 40, &body, &authority.identity(&backup), &authority.public())
        .unwrap();
    let bytes = buf[..n].to_vec();
    let now = c.local(l);
    let leader = c.node_mut(l).unwrap();
    let ignored = leader.counters().messages_ignored;
    leader.handle_message(now, &bytes).unwrap();
    assert_eq!(leader.counters().messages_ignored, ignored + 1, "counted as ignored");
    c.drain(l);
    assert_eq!(node(&c, l).workers().unwrap().checkpoint(&task), Some(checkpoint(5)));
    assert_eq!(node(&c, l).tasks().next().unwrap().1.checkpoint, Some(checkpoint(5)), "the table keeps the primary's");
}

/// A worker primary stops gracefully, its role moves, and it comes back:
/// rebuilt from the factory (`rebuild`) or the same object started again.
fn left_gracefully_then_rejoins(rebuild: bool) {
    let (mut c, l, task) = with_task(2, 0);
    let primary = primaries(&c, l, &task)[0].clone();
    let p = c.index_of(&primary).unwrap();
    assert!(c.stop(p));
    c.run_for(secs(3)).unwrap();
    let other = primaries(&c, l, &task)[0].clone();
    assert_ne!(other, primary, "the leave moved the role");
    assert!(node(&c, l).workers().unwrap().worker(&primary).unwrap().quarantined);
    c.check_held_roles(1, |_| 1).unwrap();
    assert!(if rebuild { c.restart(p) } else { c.start(p) });
    c.run_for(secs(10)).unwrap();
    // No crash was detected, so no recovery will lift the quarantine: the rejoin must.
    assert!(!node(&c, l).workers().unwrap().worker(&primary).unwrap().quarantined, "assignable again");
    assert!(node(&c, p).held_tasks().next().is_none(), "the role it let go of stays with {other}");
    c.check_leader_tables().unwrap();
    c.check_held_roles(1, |_| 1).unwrap();
    c.check_routes(secs(10)).unwrap();
}

#[test]
fn a_worker_that_left_gracefully_is_assignable_after_it_rejoins() {
    left_gracefully_then_rejoins(true);
}

#[test]
fn a_worker_that_stopped_is_assignable_after_it_starts_again() {
    left_gracefully_then_rejoins(false);
}

#[test]
fn a_leader_that_steps_down_tells_its_workers_to_let_go() {
    // Workers end other supervisors' roles at a leader's notice, but not the
    // roles this same node gave in its old term if it wins again: without a
    // release they would sit beside the new term's assignments.
    let (mut c, l, task) = with_task(3, 1);
    let old_leader = c.ids()[l].clone();
    let view = node(&c, l).workers().unwrap().task(&task).unwrap();
    let mut members: Vec<NodeId> = view.primaries().chain(view.backups()).cloned().collect();
    members.sort();
    // Drive the stop by hand to read what it sends, then send it as a host would.
    let now = c.now();
    let leader = c.node_mut(l).unwrap();
    leader.stop(now);
    let mut released = Vec::new();
    let mut sent = Vec::new();
    while let Some(t) = leader.poll_transmit() {
        if let Body::TaskRelease(r) = Body::decode(seal::parse(&t.bytes).unwrap().body).unwrap() {
            assert_eq!(r.task, task);
            released.push(t.to.clone());
        }
        sent.push(t);
    }
    released.sort();
    assert_eq!(released, members);
    for t in sent {
        let j = c.index_of(&t.to).unwrap();
        c.net_mut().send(now, l, j, t.bytes.clone());
    }
    assert!(c.stop(l), "already stopped: drains the rest and keeps it down");
    c.run_for(secs(15)).unwrap();
    assert_eq!(c.leaders().len(), 1, "another supervisor leads");
    for w in 3..6 {
        assert!(node(&c, w).held_tasks().all(|(_, h)| h.from != old_leader), "{} let go", c.name(w));
    }
    c.check_leader_tables().unwrap();
    c.check_held_roles(1, |_| 1).unwrap();
}

#[test]
fn a_restarted_node_builds_its_tunnels_again() {
    let mut c = coordinators(3, 2);
    c.run_for(secs(10)).unwrap();
    let w = 4;
    // Read even while it is stopped: the node object it keeps.
    let peers = |c: &Ops| {
        let me = &c.ids()[w];
        c.last_state(w).unwrap().mesh().tunnels().filter(|t| t.a == me || t.b == me).count()
    };
    assert!(peers(&c) > 0, "tunnels to the supervisors");
    assert!(c.stop(w));
    assert_eq!(peers(&c), 0, "leaving the mesh takes them down");
    c.run_for(secs(1)).unwrap();
    assert!(c.start(w), "the same node starts again");
    c.run_for(secs(15)).unwrap();
    assert!(c.is_up(w));
    assert!(peers(&c) > 0, "heartbeats build them again after a restart");
    c.check_routes(secs(1)).unwrap();
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

/// Runs `c` for `d`, checking the lease invariants every step (the checker's
/// [`Cluster::check_roles_step`], settled a lease plus 3 s after a fault).
fn run_checked(c: &mut Ops, d: Duration) {
    let settle = OpsConfig::default().lease_timeout + secs(3);
    let until = c.now() + d;
    while c.step(until).unwrap() {
        c.check_roles_step(settle, |_| 1).unwrap();
    }
}

/// The stale primary: cut off (both ways, or only its messages to the
/// leader) long enough to be failed over, it must not run the task beside its
/// replacement once the partition heals, and its replacement resumes from the
/// newest acknowledged checkpoint.
#[test]
fn a_primary_cut_off_and_failed_over_lets_go() {
    for both_ways in [true, false] {
        let mut c = coordinators(3, 4);
        let mut log = Vec::new();
        run_checked(&mut c, secs(10));
        let l = c.leaders()[0];
        let task = TaskId::new("t-1").unwrap();
        submit(&mut c, &task, 1, 1);
        run_checked(&mut c, secs(2));
        let old = primaries(&c, l, &task)[0].clone();
        let p = c.index_of(&old).unwrap();
        let now = c.now();
        assert!(c.node_mut(p).unwrap().report_checkpoint(now, &task, checkpoint(3)).is_ok());
        c.drain(p);
        run_checked(&mut c, secs(1));
        let n = c.len();
        if both_ways {
            c.net_mut().isolate(&[p], n);
        } else {
            c.net_mut().block(p, l);
        }
        // Long enough to be detected and failed over, then 300 s after the heal.
        run_checked(&mut c, secs(20));
        let now_primaries = primaries(&c, l, &task);
        assert!(!now_primaries.contains(&old), "failed over ({both_ways})");
        events(&mut c, &mut log);
        if both_ways {
            let expired = events_of(&log, p).any(|e| e.kind == OpsEventKind::LeaseExpired { task: task.clone() });
            assert!(expired, "the isolated primary's lease ran out");
        }
        assert!(node(&c, p).held_tasks().all(|(t, _)| *t != task), "the old primary let go ({both_ways})");
        let new = c.index_of(&now_primaries[0]).unwrap();
        let resumed = node(&c, new).held_tasks().find(|(t, _)| **t == task).unwrap().1.checkpoint;
        assert_eq!(resumed.map(|c| c.sequence), Some(3), "resumed from the acknowledged checkpoint");
        c.net_mut().heal();
        run_checked(&mut c, secs(300));
        let running: Vec<usize> = (3..c.len())
            .filter(|&w| node(&c, w).held_tasks().any(|(t, h)| *t == task && h.role == TaskRole::Primary))
            .collect();
        assert_eq!(running.len(), 1, "one primary 300 s after the heal ({both_ways}): {running:?}");
    }
}

/// Four supervisors tolerating one Byzantine (f = 1, quorum 3) elect a
/// certified leader that the workers follow, it assigns, and after it crashes
/// the others elect another, without refusing each other anything as uncertified.
#[test]
fn byzantine_mode_cluster_elects_a_certified_leader_that_workers_follow() {
    let mut config = OpsConfig::default();
    config.election.fault_model = FaultModel::Byzantine { f: 1 };
    let mut c = coordinators_with(4, 3, config);
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
    submit(&mut c, &task, 1, 1);
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

/// Runs `c` for `d` of virtual time: one step at a time, or in windows
/// ([`Cluster::process_window`]); either way the clock ends at the limit.
fn run_for_in(c: &mut Ops, d: Duration, windows: bool) {
    let limit = c.now() + d;
    if windows {
        let end = limit + Duration::from_micros(1);
        while c.next_time() <= limit {
            c.process_window(end).unwrap();
        }
    }
    c.run_until(limit, |_| false).unwrap();
}

/// What a run did that must not depend on how it was stepped.
type Outcome =
    (u64, pouw_netops_harness::net::NetStats, Vec<pouw_netops_harness::Reported<OpsEvent>>, Vec<HardStateView>);
type HardStateView = (u64, Option<NodeId>);

/// The same script (an election, a task, a worker crash and restart, under
/// loss, duplication and latency jitter), stepped one step at a time
/// (`threads == 0`) or in windows on `threads` threads.
fn scripted(threads: usize) -> Outcome {
    let mut c = coordinators(3, 6);
    c.net_mut().set_config(NetConfig {
        latency_min: Duration::from_millis(2),
        latency_max: Duration::from_millis(20),
        loss: 0.1,
        duplicate: 0.1,
    });
    c.set_threads(threads.max(1));
    let windows = threads > 0;
    let mut log = Vec::new();
    let mut take = |c: &mut Ops| {
        while let Some(e) = c.poll_event_at() {
            log.push(e);
        }
    };
    run_for_in(&mut c, secs(10), windows);
    take(&mut c);
    let task = TaskId::new("t-1").unwrap();
    submit(&mut c, &task, 2, 1);
    run_for_in(&mut c, secs(5), windows);
    take(&mut c);
    c.crash(3);
    run_for_in(&mut c, secs(10), windows);
    take(&mut c);
    c.restart(3);
    c.drain(3);
    run_for_in(&mut c, secs(5), windows);
    take(&mut c);
    let hard = (0..c.len()).map(|i| c.hard_state(i).map(|h| (h.term, h.voted_for.clone())).unwrap()).collect();
    (c.trace_hash(), c.net().stats(), log, hard)
}

#[test]
fn windows_take_the_same_steps_as_one_step_at_a_time() {
    let stepped = scripted(0);
    assert!(stepped.2.iter().any(|r| matches!(r.event.kind, OpsEventKind::WorkerReplaced { .. })), "a failover");
    assert!(stepped.2.iter().any(|r| r.leading.is_some()), "events of a leader");
    assert!(stepped.1.duplicated > 0 && stepped.1.lost > 0);
    for threads in [1, 2] {
        let windowed = scripted(threads);
        assert_eq!(windowed.0, stepped.0, "trace hash on {threads} threads");
        assert_eq!(windowed.1, stepped.1, "network on {threads} threads");
        assert_eq!(windowed.2, stepped.2, "events and their times on {threads} threads");
        assert_eq!(windowed.3, stepped.3, "hard states on {threads} threads");
    }
}
