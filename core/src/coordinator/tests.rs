use super::*;
use crate::preset::small;
use crate::time::Duration;
use crate::workers::TaskRole;
use std::string::ToString;
use std::vec;
use std::vec::Vec as StdVec;

type Node = small::NetworkOperationsManager;

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn train() -> TaskType {
    TaskType::new("train").unwrap()
}

fn worker_config() -> OpsConfig {
    let mut c = OpsConfig::default();
    c.task_types.push(train()).unwrap();
    c
}

/// An in-memory cluster: every message takes 5 ms, a down node neither sends nor receives.
#[allow(clippy::vec_box)]
struct Cluster {
    ids: StdVec<NodeId>,
    sups: StdVec<NodeId>,
    nodes: StdVec<Box<Node>>,
    up: StdVec<bool>,
    hard: StdVec<HardState>,
    now: Instant,
    in_flight: StdVec<(Instant, usize, StdVec<u8>)>,
    events: StdVec<(usize, OpsEvent)>,
}

impl Cluster {
    fn new(supervisors: usize, workers: usize) -> Cluster {
        let sups: StdVec<NodeId> = (0..supervisors).map(|i| id(&std::format!("sup-{i}"))).collect();
        let mut ids = sups.clone();
        ids.extend((0..workers).map(|i| id(&std::format!("w-{i}"))));
        let mut c = Cluster {
            nodes: StdVec::new(),
            up: vec![true; ids.len()],
            hard: vec![HardState::default(); ids.len()],
            ids,
            sups,
            now: Instant::from_secs(1),
            in_flight: StdVec::new(),
            events: StdVec::new(),
        };
        for i in 0..c.ids.len() {
            let n = c.build(i);
            c.nodes.push(n);
        }
        for i in 0..c.ids.len() {
            c.nodes[i].start(c.now).unwrap();
        }
        c.drain();
        c
    }

    fn build(&self, i: usize) -> Box<Node> {
        let role = if i < self.sups.len() { NodeRole::Supervisor } else { NodeRole::Worker };
        let config = if role == NodeRole::Worker { worker_config() } else { OpsConfig::default() };
        let mut n = Node::new_boxed(self.ids[i].clone(), role, &self.sups, config, 1000 + i as u64).unwrap();
        n.restore_hard_state(self.hard[i].clone());
        n
    }

    fn index(&self, n: &NodeId) -> usize {
        self.ids.iter().position(|x| x == n).unwrap()
    }

    fn drain(&mut self) {
        for i in 0..self.nodes.len() {
            if !self.up[i] {
                continue;
            }
            while let Some(hs) = self.nodes[i].poll_hard_state() {
                self.hard[i] = hs;
            }
            while let Some(t) = self.nodes[i].poll_transmit() {
                let targets: StdVec<usize> = match &t.to {
                    Destination::Node(n) => vec![self.index(n)],
                    Destination::Supervisors => (0..self.sups.len()).filter(|&j| j != i).collect(),
                    Destination::Cluster => (0..self.ids.len()).filter(|&j| j != i).collect(),
                };
                for j in targets {
                    self.in_flight.push((self.now + Duration::from_millis(5), j, t.bytes.clone()));
                }
            }
            while let Some(e) = self.nodes[i].poll_event() {
                self.events.push((i, e));
            }
            while self.nodes[i].poll_archived().is_some() {}
        }
    }

    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next_msg = self.in_flight.iter().map(|m| m.0).min().unwrap_or(Instant::MAX);
            let next_tick = (0..self.nodes.len())
                .filter(|&i| self.up[i])
                .map(|i| self.nodes[i].poll_timeout())
                .min()
                .unwrap_or(Instant::MAX);
            let t = next_msg.min(next_tick);
            if t > end {
                self.now = end;
                return;
            }
            self.now = self.now.max(t);
            let due: StdVec<_> = self.in_flight.iter().filter(|m| m.0 <= self.now).cloned().collect();
            self.in_flight.retain(|m| m.0 > self.now);
            for (_, j, bytes) in due {
                if self.up[j] {
                    self.nodes[j].handle_message(self.now, &bytes).unwrap();
                }
            }
            for i in 0..self.nodes.len() {
                if self.up[i] && self.nodes[i].poll_timeout() <= self.now {
                    self.nodes[i].tick(self.now);
                }
            }
            self.drain();
        }
    }

    fn leaders(&self) -> StdVec<usize> {
        (0..self.sups.len()).filter(|&i| self.up[i] && self.nodes[i].is_leader()).collect()
    }

    fn crash(&mut self, i: usize) {
        self.up[i] = false;
    }

    fn restart(&mut self, i: usize) {
        self.nodes[i] = self.build(i);
        self.up[i] = true;
        self.nodes[i].start(self.now).unwrap();
        self.drain();
    }

    fn events_of(&self, i: usize) -> impl Iterator<Item = &OpsEvent> + '_ {
        self.events.iter().filter(move |(j, _)| *j == i).map(|(_, e)| e)
    }
}

fn checkpoint(seq: u64) -> Checkpoint {
    Checkpoint { sequence: seq, digest: [seq as u8; 32] }
}

#[test]
fn cluster_elects_assigns_replaces_from_checkpoint_and_readmits() {
    let mut c = Cluster::new(3, 5);
    c.run(Duration::from_secs(10));
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1, "exactly one leader");
    let l = leaders[0];
    let (leader_id, term) = c.nodes[l].leader().map(|(n, t)| (n.clone(), t)).unwrap();
    assert_eq!(leader_id, c.ids[l]);
    for w in 3..8 {
        assert_eq!(c.nodes[w].leader().map(|(n, t)| (n.clone(), t)), Some((leader_id.clone(), term)), "worker follows");
    }

    let task = TaskId::new("t-1").unwrap();
    for s in 0..3 {
        c.nodes[s].submit_task(c.now, task.clone(), train(), 1, 1).unwrap();
    }
    c.drain();
    c.run(Duration::from_secs(2));
    let view = c.nodes[l].workers().unwrap().task(&task).expect("the leader assigned the task");
    let primary = view.primaries().next().unwrap().clone();
    let backup = view.backups().next().unwrap().clone();
    let (p, b) = (c.index(&primary), c.index(&backup));
    assert_eq!(c.nodes[p].held_tasks().find(|(t, _)| **t == task).unwrap().1.role, TaskRole::Primary);
    assert_eq!(c.nodes[b].held_tasks().find(|(t, _)| **t == task).unwrap().1.role, TaskRole::Backup);
    // Followers keep no assignments of their own.
    for s in (0..3).filter(|&s| s != l) {
        assert_eq!(c.nodes[s].workers().unwrap().task_count(), 0);
    }

    c.nodes[p].report_checkpoint(c.now, &task, checkpoint(5)).unwrap();
    c.drain();
    c.run(Duration::from_secs(2));
    assert_eq!(c.nodes[l].workers().unwrap().checkpoint(&task), Some(checkpoint(5)));
    for s in 0..3 {
        assert_eq!(c.nodes[s].tasks().next().unwrap().1.checkpoint, Some(checkpoint(5)), "every supervisor knows it");
    }

    let crash_at = c.now;
    c.crash(p);
    c.run(Duration::from_secs(20));
    let detected = c
        .events_of(l)
        .find(|e| e.node == primary && matches!(e.kind, OpsEventKind::CrashDetected { .. }))
        .expect("crash detected")
        .clone();
    assert!(detected.at > crash_at && detected.at <= crash_at + Duration::from_secs(12), "{detected:?}");
    let replaced = c
        .events_of(l)
        .find(|e| e.node == primary && matches!(e.kind, OpsEventKind::WorkerReplaced { .. }))
        .expect("worker replaced")
        .clone();
    assert_eq!(replaced.at, detected.at, "replacement in the same tick as detection");
    let OpsEventKind::WorkerReplaced { replacement, from_backup, checkpoint: cp, role, .. } = replaced.kind else {
        panic!("no leader emerged")
    };
    assert_eq!(
        (replacement.clone(), from_backup, cp, role),
        (backup.clone(), true, Some(checkpoint(5)), TaskRole::Primary)
    );
    let held = c.nodes[b].held_tasks().find(|(t, _)| **t == task).unwrap().1.clone();
    assert_eq!((held.role, held.checkpoint), (TaskRole::Primary, Some(checkpoint(5))), "the backup resumes from it");
    assert!(c.nodes[l].mesh().node(&primary).is_none(), "crashed node left the mesh");
    assert!(c.nodes[l].workers().unwrap().worker(&primary).unwrap().quarantined);

    c.restart(p);
    c.run(Duration::from_secs(15));
    assert!(
        c.events_of(l).any(|e| e.node == primary && matches!(e.kind, OpsEventKind::RecoveryCompleted { .. })),
        "recovered"
    );
    assert!(c.nodes[l].mesh().node(&primary).is_some(), "rejoined the mesh");
    assert!(!c.nodes[l].workers().unwrap().worker(&primary).unwrap().quarantined, "assignable again");
    // Its old role was taken; it is now a backup or idle, never a second primary.
    let primaries: StdVec<_> = c.nodes[l].workers().unwrap().task(&task).unwrap().primaries().cloned().collect();
    assert_eq!(primaries, vec![backup]);
}

#[test]
fn leader_crash_elects_a_new_leader_that_reassigns_from_the_checkpoint() {
    let mut c = Cluster::new(3, 4);
    c.run(Duration::from_secs(10));
    let task = TaskId::new("t-1").unwrap();
    for s in 0..3 {
        c.nodes[s].submit_task(c.now, task.clone(), train(), 1, 0).unwrap();
    }
    c.drain();
    c.run(Duration::from_secs(2));
    let l = c.leaders()[0];
    let primary = c.nodes[l].workers().unwrap().task(&task).unwrap().primaries().next().unwrap().clone();
    let p = c.index(&primary);
    c.nodes[p].report_checkpoint(c.now, &task, checkpoint(9)).unwrap();
    c.drain();
    c.run(Duration::from_secs(2));
    let old_term = c.nodes[l].leader().unwrap().1;
    c.crash(l);
    c.run(Duration::from_secs(15));
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1);
    let nl = leaders[0];
    assert_ne!(nl, l);
    let (new_leader, term) = c.nodes[nl].leader().map(|(n, t)| (n.clone(), t)).unwrap();
    assert!(term > old_term);
    assert_eq!(c.nodes[nl].workers().unwrap().checkpoint(&task), Some(checkpoint(9)));
    let primary = c.nodes[nl].workers().unwrap().task(&task).unwrap().primaries().next().unwrap().clone();
    let p = c.index(&primary);
    assert_eq!(c.nodes[p].leader().unwrap().0, &new_leader);
    let held = c.nodes[p].held_tasks().find(|(t, _)| **t == task).unwrap().1.clone();
    assert_eq!((held.role, held.checkpoint, held.from), (TaskRole::Primary, Some(checkpoint(9)), new_leader));
    // No worker holds the task as primary for the old leader any more.
    let holders = (3..7).filter(|&w| c.nodes[w].held_tasks().any(|(t, h)| *t == task && h.role == TaskRole::Primary));
    assert_eq!(holders.count(), 1);
}

#[test]
fn graceful_stop_steps_down_and_peers_see_a_leave_not_a_crash() {
    let mut c = Cluster::new(3, 2);
    c.run(Duration::from_secs(10));
    let l = c.leaders()[0];
    let leader = c.ids[l].clone();
    c.nodes[l].stop(c.now);
    assert!(!c.nodes[l].is_leader());
    assert_eq!(c.nodes[l].poll_timeout(), Instant::MAX);
    c.drain();
    assert!(c.events_of(l).any(|e| matches!(e.kind, OpsEventKind::SteppedDown { .. })));
    c.up[l] = false;
    c.run(Duration::from_secs(20));
    for i in (0..5).filter(|&i| i != l) {
        assert!(c.events_of(i).any(|e| e.node == leader && e.kind == OpsEventKind::NodeLeft), "node {i}");
        assert!(!c.events_of(i).any(|e| e.node == leader && matches!(e.kind, OpsEventKind::CrashDetected { .. })));
    }
    assert_eq!(c.leaders().len(), 1, "the others elect a new leader");
}

#[test]
fn same_seeds_same_bytes() {
    let run = || {
        let mut c = Cluster::new(3, 3);
        c.run(Duration::from_secs(8));
        c.events.iter().map(|(i, e)| std::format!("{i}{e:?}")).collect::<StdVec<_>>()
    };
    assert_eq!(run(), run());
}

fn solo(role: NodeRole) -> Box<Node> {
    let config = if role == NodeRole::Worker { worker_config() } else { OpsConfig::default() };
    let me = if role == NodeRole::Worker { id("w") } else { id("s") };
    Node::new_boxed(me, role, &[id("s")], config, 1).unwrap()
}

#[test]
fn rejects_bad_input_and_counts_it() {
    let mut n = solo(NodeRole::Supervisor);
    assert_eq!(n.handle_message(Instant::ZERO, &[1, 2, 3]), Err(HandleError::NotRunning));
    n.start(Instant::from_secs(1)).unwrap();
    assert!(matches!(n.handle_message(Instant::from_secs(1), &[1, 2, 3]), Err(HandleError::Wire(_))));
    assert_eq!(n.counters().decode_errors, 1);
    let own = Envelope::new(id("s"), Body::LeaderNotice(LeaderNotice { term: 1 })).to_vec().unwrap();
    assert_eq!(n.handle_message(Instant::from_secs(1), &own), Err(HandleError::FromSelf));
    // A task assignment to a supervisor is not for it: ignored and counted.
    let a = TaskAssignment {
        term: 1,
        task: TaskId::new("t").unwrap(),
        task_type: train(),
        role: TaskRole::Primary,
        checkpoint: None,
    };
    let bytes = Envelope::new(id("x"), Body::TaskAssignment(a)).to_vec().unwrap();
    n.handle_message(Instant::from_secs(1), &bytes).unwrap();
    assert_eq!(n.counters().messages_ignored, 1);
}

#[test]
fn task_operations_check_role_and_capacity() {
    let mut s = solo(NodeRole::Supervisor);
    let now = Instant::from_secs(1);
    s.start(now).unwrap();
    assert_eq!(s.submit_task(now, TaskId::new("t").unwrap(), train(), 0, 0), Err(TaskError::NoPrimaries));
    for i in 0..small::TASKS {
        s.submit_task(now, TaskId::new(&std::format!("t{i}")).unwrap(), train(), 1, 0).unwrap();
    }
    assert_eq!(
        s.submit_task(now, TaskId::new("t0").unwrap(), train(), 1, 0),
        Err(TaskError::Duplicate(TaskId::new("t0").unwrap()))
    );
    let err = s.submit_task(now, TaskId::new("extra").unwrap(), train(), 1, 0).unwrap_err();
    assert_eq!(err, TaskError::TableFull(CapacityError::new(TaskId::new("extra").unwrap(), small::TASKS)));
    assert_eq!(s.tasks().count(), small::TASKS, "nothing changed");
    assert_eq!(s.report_checkpoint(now, &TaskId::new("t0").unwrap(), checkpoint(1)), Err(TaskError::WrongRole));

    let mut w = solo(NodeRole::Worker);
    w.start(now).unwrap();
    let t = TaskId::new("t").unwrap();
    assert_eq!(w.submit_task(now, t.clone(), train(), 1, 0), Err(TaskError::WrongRole));
    assert_eq!(w.report_checkpoint(now, &t, checkpoint(1)), Err(TaskError::NotAPrimary(t.clone())));
    let a = TaskAssignment {
        term: 1,
        task: t.clone(),
        task_type: train(),
        role: TaskRole::Primary,
        checkpoint: Some(checkpoint(3)),
    };
    w.handle_message(now, &Envelope::new(id("s"), Body::TaskAssignment(a)).to_vec().unwrap()).unwrap();
    assert_eq!(w.report_checkpoint(now, &t, checkpoint(2)), Err(TaskError::Regression { last: 3 }));
    w.report_checkpoint(now, &t, checkpoint(4)).unwrap();
    // A release from a supervisor that did not give the task, while another leads, is ignored.
    let notice = Envelope::new(id("s"), Body::LeaderNotice(LeaderNotice { term: 2 })).to_vec().unwrap();
    w.handle_message(now, &notice).unwrap();
    assert_eq!(w.leader().map(|(n, t)| (n.to_string(), t)), Some(("s".to_string(), 2)));
}

#[test]
fn outbox_overflow_is_counted_not_grown() {
    let mut w = solo(NodeRole::Worker);
    w.start(Instant::from_secs(1)).unwrap();
    for k in 0..(small::OPS_QUEUE as u64 * 3) {
        w.tick(Instant::from_secs(2 + k));
    }
    let (pending, _) = w.pending();
    assert!(pending <= small::OPS_QUEUE);
    assert!(w.counters().dropped_transmits > 0);
    let mut sent = 0;
    while w.poll_transmit().is_some() {
        sent += 1;
    }
    assert_eq!(sent, pending);
}

#[test]
fn poll_timeout_is_the_earliest_timer() {
    let mut w = solo(NodeRole::Worker);
    assert_eq!(w.poll_timeout(), Instant::MAX);
    w.start(Instant::from_secs(10)).unwrap();
    let t = w.poll_timeout();
    assert_eq!(t, Instant::from_secs(10) + OpsConfig::default().sweep_interval);
    w.tick(t);
    assert!(w.poll_timeout() > t);
}

#[test]
fn large_preset_builds_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let n = crate::preset::large::NetworkOperationsManager::new_boxed(
                id("s"),
                NodeRole::Supervisor,
                &[id("s")],
                OpsConfig::default(),
                1,
            )
            .unwrap();
            assert_eq!(n.status(Instant::ZERO).tasks, 0);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn worker_keeps_only_the_current_leaders_roles() {
    let mut w = Node::new_boxed(id("w"), NodeRole::Worker, &[id("s1"), id("s2")], worker_config(), 1).unwrap();
    let now = Instant::from_secs(1);
    w.start(now).unwrap();
    let msg = |from: &str, body: Body| Envelope::new(id(from), body).to_vec().unwrap();
    let assign = |task: &str, term: u64| {
        Body::TaskAssignment(TaskAssignment {
            term,
            task: TaskId::new(task).unwrap(),
            task_type: train(),
            role: TaskRole::Primary,
            checkpoint: None,
        })
    };
    w.handle_message(now, &msg("s1", Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    w.handle_message(now, &msg("s1", assign("a", 1))).unwrap();
    // The new leader's assignment overtakes its notice: still accepted.
    w.handle_message(now, &msg("s2", assign("b", 2))).unwrap();
    assert_eq!(w.held_tasks().count(), 2);
    w.handle_message(now, &msg("s2", Body::LeaderNotice(LeaderNotice { term: 2 }))).unwrap();
    let held: StdVec<_> = w.held_tasks().map(|(t, _)| t.as_str().to_string()).collect();
    assert_eq!(held, vec!["b".to_string()], "the deposed leader's role ends");
    // A late assignment from the deposed leader's older term is ignored at once.
    w.handle_message(now, &msg("s1", assign("c", 1))).unwrap();
    assert_eq!(w.held_tasks().count(), 1);
    // An older term's notice changes nothing.
    w.handle_message(now, &msg("s1", Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    assert_eq!(w.leader().map(|(n, t)| (n.as_str().to_string(), t)), Some(("s2".to_string(), 2)));
    // s2 loses and wins again (term 4) without its step-down releases arriving:
    // its term-2 role must not linger beside the roles of its new term.
    w.handle_message(now, &msg("s2", assign("d", 4))).unwrap();
    w.handle_message(now, &msg("s2", Body::LeaderNotice(LeaderNotice { term: 4 }))).unwrap();
    let held: StdVec<_> = w.held_tasks().map(|(t, h)| (t.as_str().to_string(), h.term)).collect();
    assert_eq!(held, vec![("d".to_string(), 4)], "a re-elected leader's old-term role ends");
}

#[test]
fn peek_transmit_shows_what_poll_transmit_takes_next() {
    let mut reference = solo(NodeRole::Worker);
    let mut peeked = solo(NodeRole::Worker);
    for n in [&mut reference, &mut peeked] {
        n.start(Instant::from_secs(1)).unwrap();
    }
    // The reference drains with poll_transmit alone; the other peeks (twice) before
    // every poll: both must yield the same messages in the same order.
    let mut expected = StdVec::new();
    while let Some(t) = reference.poll_transmit() {
        expected.push(t);
    }
    assert!(expected.len() >= 2, "start queues a membership and a heartbeat");
    let mut got = StdVec::new();
    loop {
        let first = peeked.peek_transmit().cloned();
        assert_eq!(peeked.peek_transmit().cloned(), first, "peeking does not consume");
        assert_eq!(peeked.pending().0, usize::from(first.is_some()) + peeked.out.queued());
        let taken = peeked.poll_transmit();
        assert_eq!(taken, first);
        match taken {
            Some(t) => got.push(t),
            None => break,
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn a_stopped_worker_lets_go_of_its_roles() {
    // On a graceful stop the leader hands the worker's roles to others (it sees
    // the leave); its release messages cannot reach a stopped node, so the node
    // itself must let go, or after a restart two workers hold the same role.
    let mut w = Node::new_boxed(id("w"), NodeRole::Worker, &[id("s1")], worker_config(), 1).unwrap();
    let now = Instant::from_secs(1);
    w.start(now).unwrap();
    let msg = |from: &str, body: Body| Envelope::new(id(from), body).to_vec().unwrap();
    w.handle_message(now, &msg("s1", Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    let a = TaskAssignment {
        term: 1,
        task: TaskId::new("a").unwrap(),
        task_type: train(),
        role: TaskRole::Primary,
        checkpoint: None,
    };
    w.handle_message(now, &msg("s1", Body::TaskAssignment(a))).unwrap();
    assert_eq!(w.held_tasks().count(), 1);
    while w.poll_event().is_some() {}
    w.stop(now + Duration::from_secs(1));
    assert_eq!(w.held_tasks().count(), 0, "roles end with a graceful stop");
    assert!(
        w.poll_event().is_some_and(|e| e.kind == OpsEventKind::AssignmentReleased { task: TaskId::new("a").unwrap() })
    );
    w.start(now + Duration::from_secs(2)).unwrap();
    assert_eq!(w.held_tasks().count(), 0, "nothing comes back on restart");
    assert!(w.report_checkpoint(now + Duration::from_secs(2), &TaskId::new("a").unwrap(), checkpoint(1)).is_err());
}

#[test]
fn the_leader_takes_checkpoints_only_from_the_tasks_primaries() {
    let mut c = Cluster::new(3, 3);
    c.run(Duration::from_secs(10));
    let l = c.leaders()[0];
    let task = TaskId::new("t-1").unwrap();
    for s in 0..3 {
        c.nodes[s].submit_task(c.now, task.clone(), train(), 1, 1).unwrap();
    }
    c.drain();
    c.run(Duration::from_secs(2));
    let view = c.nodes[l].workers().unwrap().task(&task).unwrap();
    let primary = view.primaries().next().unwrap().clone();
    let backup = view.backups().next().unwrap().clone();
    let p = c.index(&primary);
    c.nodes[p].report_checkpoint(c.now, &task, checkpoint(5)).unwrap();
    c.drain();
    c.run(Duration::from_secs(1));
    // A backup (or a worker holding a deposed leader's role) is not the task's
    // primary: the leader refuses its report, so its table must not take it either.
    let forged = CheckpointReport { task: task.clone(), checkpoint: checkpoint(50) };
    let bytes = Envelope::new(backup.clone(), Body::CheckpointReport(forged)).to_vec().unwrap();
    let ignored = c.nodes[l].counters().messages_ignored;
    c.nodes[l].handle_message(c.now, &bytes).unwrap();
    assert_eq!(c.nodes[l].counters().messages_ignored, ignored + 1, "counted as ignored");
    assert_eq!(c.nodes[l].workers().unwrap().checkpoint(&task), Some(checkpoint(5)));
    assert_eq!(c.nodes[l].tasks().next().unwrap().1.checkpoint, Some(checkpoint(5)), "the table keeps the primary's");
}

#[test]
fn a_worker_that_left_gracefully_is_assignable_after_it_rejoins() {
    let mut c = Cluster::new(3, 2);
    c.run(Duration::from_secs(10));
    let l = c.leaders()[0];
    let task = TaskId::new("t-1").unwrap();
    for s in 0..3 {
        c.nodes[s].submit_task(c.now, task.clone(), train(), 1, 0).unwrap();
    }
    c.drain();
    c.run(Duration::from_secs(2));
    let primary = c.nodes[l].workers().unwrap().task(&task).unwrap().primaries().next().unwrap().clone();
    let p = c.index(&primary);
    c.nodes[p].stop(c.now);
    c.drain();
    c.up[p] = false;
    c.run(Duration::from_secs(3));
    let other = c.nodes[l].workers().unwrap().task(&task).unwrap().primaries().next().unwrap().clone();
    assert_ne!(other, primary, "the leave moved the role");
    assert!(c.nodes[l].workers().unwrap().worker(&primary).unwrap().quarantined);
    c.restart(p);
    c.run(Duration::from_secs(10));
    // No crash was detected, so no recovery will lift the quarantine: the rejoin must.
    assert!(!c.nodes[l].workers().unwrap().worker(&primary).unwrap().quarantined, "assignable again");
}

#[test]
fn a_leader_that_steps_down_tells_its_workers_to_let_go() {
    // Workers end other supervisors' roles at a leader's notice, but not the
    // roles this same node gave in its old term if it wins again: without a
    // release they would sit beside the new term's assignments.
    let mut c = Cluster::new(3, 3);
    c.run(Duration::from_secs(10));
    let l = c.leaders()[0];
    let task = TaskId::new("t-1").unwrap();
    for s in 0..3 {
        c.nodes[s].submit_task(c.now, task.clone(), train(), 1, 1).unwrap();
    }
    c.drain();
    c.run(Duration::from_secs(2));
    let view = c.nodes[l].workers().unwrap().task(&task).unwrap();
    let mut members: StdVec<NodeId> = view.primaries().chain(view.backups()).cloned().collect();
    members.sort();
    c.nodes[l].stop(c.now);
    let mut released = StdVec::new();
    while let Some(t) = c.nodes[l].poll_transmit() {
        if let Body::TaskRelease(r) = Envelope::decode(&t.bytes).unwrap().body {
            let Destination::Node(to) = t.to else { panic!("a release goes to one node") };
            assert_eq!(r.task, task);
            released.push(to);
        }
    }
    released.sort();
    assert_eq!(released, members);
}

#[test]
fn a_restarted_node_builds_its_tunnels_again() {
    let mut c = Cluster::new(3, 2);
    c.run(Duration::from_secs(10));
    let w = 4;
    let peers = |c: &Cluster| c.nodes[w].mesh().tunnels().filter(|t| *t.a == c.ids[w] || *t.b == c.ids[w]).count();
    assert!(peers(&c) > 0, "tunnels to the supervisors");
    c.nodes[w].stop(c.now);
    c.drain();
    assert_eq!(peers(&c), 0, "leaving the mesh takes them down");
    c.up[w] = false;
    c.run(Duration::from_secs(1));
    c.up[w] = true;
    c.nodes[w].start(c.now).unwrap();
    c.drain();
    c.run(Duration::from_secs(15));
    assert!(peers(&c) > 0, "heartbeats build them again after a restart");
}

#[test]
fn a_deposed_leaders_release_leaves_the_new_leaders_role_alone() {
    // s1 stepped down (and releases its roles); s2 won and its assignment
    // overtook its notice. s1's release must not end s2's role.
    let mut w = Node::new_boxed(id("w"), NodeRole::Worker, &[id("s1"), id("s2")], worker_config(), 1).unwrap();
    let now = Instant::from_secs(1);
    w.start(now).unwrap();
    let msg = |from: &str, body: Body| Envelope::new(id(from), body).to_vec().unwrap();
    let a = TaskId::new("a").unwrap();
    let assign =
        TaskAssignment { term: 2, task: a.clone(), task_type: train(), role: TaskRole::Primary, checkpoint: None };
    w.handle_message(now, &msg("s1", Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    w.handle_message(now, &msg("s2", Body::TaskAssignment(assign))).unwrap();
    w.handle_message(now, &msg("s1", Body::TaskRelease(TaskRelease { task: a.clone() }))).unwrap();
    assert_eq!(w.held_tasks().map(|(t, h)| (t.clone(), h.from.clone())).collect::<StdVec<_>>(), vec![(a, id("s2"))]);
}
