use super::*;
use crate::health::NodeStatus;
use crate::preset::small;
use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

type Manager = small::WorkerReplacementManager;

use crate::test_support::id;

fn task(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}

fn ty(s: &str) -> TaskType {
    TaskType::new(s).unwrap()
}

fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn cp(sequence: u64) -> Checkpoint {
    Checkpoint { sequence, digest: [sequence as u8; 32] }
}

/// A health view whose answers the test sets directly.
#[derive(Default)]
struct View(BTreeMap<NodeId, (NodeStatus, HealthScore)>);

impl View {
    fn set(&mut self, node: &str, status: NodeStatus, score: u16) {
        self.0.insert(id(node), (status, HealthScore(score)));
    }

    fn online(nodes: &[(&str, u16)]) -> View {
        let mut v = View::default();
        for (n, s) in nodes {
            v.set(n, NodeStatus::Online, *s);
        }
        v
    }
}

impl HealthView for View {
    fn status(&self, node: &NodeId) -> Option<NodeStatus> {
        self.0.get(node).map(|e| e.0)
    }
    fn health_score(&self, node: &NodeId, _now: Instant) -> Option<HealthScore> {
        self.0.get(node).map(|e| e.1)
    }
}

/// A manager with pool "train" holding `workers` (one slot each), health from `view`.
fn manager(workers: &[&str], view: &View) -> Manager {
    let mut m = Manager::new(WorkerConfig::default()).unwrap();
    m.register_pool(&ty("train")).unwrap();
    for w in workers {
        m.add_worker(&ty("train"), &id(w)).unwrap();
    }
    m.refresh_health(at(0), view);
    m
}

fn names<'a>(ids: impl IntoIterator<Item = &'a NodeId>) -> Vec<String> {
    ids.into_iter().map(|n| n.to_string()).collect()
}

fn primaries(m: &Manager, t: &str) -> Vec<String> {
    names(m.task(&task(t)).unwrap().primaries())
}

fn backups(m: &Manager, t: &str) -> Vec<String> {
    names(m.task(&task(t)).unwrap().backups())
}

fn drain(m: &mut Manager) -> Vec<WorkerEvent> {
    core::iter::from_fn(|| m.poll_event()).collect()
}

#[test]
fn pools_hold_workers_and_a_worker_may_join_several() {
    let mut m = Manager::new(WorkerConfig::default()).unwrap();
    assert_eq!(m.register_pool(&ty("train")), Ok(true));
    assert_eq!(m.register_pool(&ty("train")), Ok(false));
    m.register_pool(&ty("infer")).unwrap();
    assert_eq!(m.add_worker(&ty("train"), &id("a")), Ok(true));
    assert_eq!(m.add_worker(&ty("train"), &id("a")), Ok(false));
    assert_eq!(m.add_worker(&ty("infer"), &id("a")), Ok(true));
    assert_eq!(m.worker(&id("a")).unwrap().pools, 2);
    assert_eq!(m.worker(&id("a")).unwrap().slots, DEFAULT_SLOTS);
    assert!(m.in_pool(&ty("infer"), &id("a")));
    assert_eq!(m.add_worker(&ty("nope"), &id("a")), Err(PoolError::UnknownPool(ty("nope"))));
    assert_eq!(
        m.add_worker_with_slots(&ty("train"), &id("b"), 0),
        Err(PoolError::InvalidSlots { slots: 0, max: small::WORKER_SLOTS })
    );
    assert!(m.worker(&id("b")).is_none(), "a rejected add stores nothing");
    m.remove_worker(&ty("infer"), &id("a")).unwrap();
    assert!(!m.in_pool(&ty("infer"), &id("a")));
    assert_eq!(m.remove_worker(&ty("infer"), &id("a")), Err(PoolError::NotInPool(id("a"))));
    m.remove_worker(&ty("train"), &id("a")).unwrap();
    assert!(m.worker(&id("a")).is_none(), "a worker in no pool and no task is forgotten");
    assert_eq!(m.worker_count(), 0);
}

#[test]
fn remove_pool_drops_its_members_and_is_refused_while_a_task_uses_it() {
    let view = View::online(&[("a", 10_000), ("b", 9_000)]);
    let mut m = manager(&["a", "b"], &view);
    m.register_pool(&ty("infer")).unwrap();
    m.add_worker(&ty("infer"), &id("a")).unwrap();
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    assert_eq!(m.remove_pool(&ty("nope")), Err(PoolError::UnknownPool(ty("nope"))));
    assert_eq!(m.remove_pool(&ty("train")), Err(PoolError::PoolInUse { task_type: ty("train"), tasks: 1 }));
    assert!(m.in_pool(&ty("train"), &id("b")), "a refused removal changes nothing");
    assert_eq!(m.remove_pool(&ty("infer")), Ok(1));
    assert_eq!(m.pools().cloned().collect::<Vec<_>>(), [ty("train")]);
    assert_eq!(m.pool_count(), 1);
    assert_eq!(m.worker(&id("a")).unwrap().pools, 1, "a stays in train");
    m.release_task_workers(&task("t")).unwrap();
    assert_eq!(m.remove_pool(&ty("train")), Ok(2));
    assert_eq!((m.pool_count(), m.worker_count()), (0, 0), "workers in no pool and no task are forgotten");
    // The freed places are reused, the pool count stays exact across the hole.
    m.register_pool(&ty("x")).unwrap();
    m.register_pool(&ty("y")).unwrap();
    m.remove_pool(&ty("x")).unwrap();
    assert_eq!(m.pool_count(), 1);
    m.register_pool(&ty("z")).unwrap();
    assert_eq!(m.pools().cloned().collect::<Vec<_>>(), [ty("z"), ty("y")]);
    assert_eq!(m.add_worker(&ty("z"), &id("c")), Ok(true));
}

#[test]
fn a_worker_in_two_pools_has_one_capacity() {
    let view = View::online(&[("a", 10_000), ("b", 9_000)]);
    let mut m = manager(&["a", "b"], &view);
    m.register_pool(&ty("infer")).unwrap();
    m.add_worker(&ty("infer"), &id("a")).unwrap();
    m.add_worker(&ty("infer"), &id("b")).unwrap();
    m.refresh_health(at(0), &view);
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["a"]);
    // a's only slot is taken through "train": "infer" must not use it again.
    let got = m.assign_workers_to_task(at(1), &task("u"), &ty("infer"), 1, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["b"]);
    assert_eq!(m.pool_stats(&ty("infer")).unwrap().available, 0);
    m.release_task_workers(&task("t")).unwrap();
    assert_eq!(m.pool_stats(&ty("infer")).unwrap().available, 1);
    let tasks: Vec<(TaskId, TaskRole)> = m.worker_tasks(&id("b")).map(|(t, r)| (t.clone(), r)).collect();
    assert_eq!(tasks, [(task("u"), TaskRole::Primary)]);
}

#[test]
fn full_tables_reject_and_change_nothing() {
    let mut m = Manager::new(WorkerConfig::default()).unwrap();
    assert_eq!(m.pool_count(), 0);
    for i in 0..small::POOLS {
        assert_eq!(m.register_pool(&ty(&format!("t{i}"))), Ok(true));
        assert_eq!(m.pool_count(), i + 1);
    }
    assert_eq!(m.register_pool(&ty("t1")), Ok(false));
    assert!(matches!(m.register_pool(&ty("extra")), Err(PoolError::PoolTableFull(e)) if e.rejected == ty("extra")));
    assert_eq!(m.pool_count(), small::POOLS);
    for i in 0..small::WORKERS {
        m.add_worker(&ty("t0"), &id(&format!("w{i:02}"))).unwrap();
    }
    let err = m.add_worker(&ty("t0"), &id("extra")).unwrap_err();
    assert!(matches!(err, PoolError::WorkerTableFull(e) if e.rejected == id("extra")));
    assert_eq!(m.worker_count(), small::WORKERS);
    assert!(!m.in_pool(&ty("t0"), &id("extra")));
    let view = View::default();
    for i in 0..small::TASKS {
        m.assign_workers_to_task(at(1), &task(&format!("k{i}")), &ty("t0"), 1, 0, &view).unwrap();
    }
    let err = m.assign_workers_to_task(at(1), &task("extra"), &ty("t0"), 1, 0, &view).unwrap_err();
    assert!(matches!(err, AssignError::TaskTableFull(e) if e.rejected == task("extra")));
    assert_eq!(m.utilization(at(1)).used_slots, small::TASKS as u64);
}

#[test]
fn assignment_ranks_by_health_band_then_load_then_id() {
    // a and b share the top band (9500..10000), c is a band lower, d is offline.
    let mut view = View::online(&[("a", 9_600), ("b", 9_900), ("c", 9_000), ("e", 9_700)]);
    view.set("d", NodeStatus::Offline, 0);
    let mut m = manager(&[], &view);
    for w in ["a", "b", "c", "d"] {
        m.add_worker_with_slots(&ty("train"), &id(w), 2).unwrap();
    }
    m.refresh_health(at(0), &view);
    let got = m.assign_workers_to_task(at(1), &task("t1"), &ty("train"), 1, 1, &view).unwrap();
    // Same band, same load: the higher exact score wins, then the other one.
    assert_eq!(names(&got.primaries), ["b"]);
    assert_eq!(names(&got.backups), ["a"]);
    // Now a and b carry one task each; an idle worker in the same band would win,
    // but c is a band lower, so a and b (same load) are used again, b first.
    let got = m.assign_workers_to_task(at(1), &task("t2"), &ty("train"), 2, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["b", "a"]);
    // Both full: c is next; d is offline and never chosen.
    let got = m.assign_workers_to_task(at(1), &task("t3"), &ty("train"), 1, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["c"]);
    // A new idle worker in the top band beats loaded c.
    m.add_worker_with_slots(&ty("train"), &id("e"), 2).unwrap();
    m.refresh_health(at(1), &view);
    let got = m.assign_workers_to_task(at(2), &task("t4"), &ty("train"), 1, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["e"]);
}

#[test]
fn equal_workers_spread_load_and_break_ties_by_id() {
    let view = View::online(&[("a", 10_000), ("b", 10_000), ("c", 10_000)]);
    let mut m = manager(&[], &view);
    for w in ["c", "b", "a"] {
        m.add_worker_with_slots(&ty("train"), &id(w), 2).unwrap();
    }
    m.refresh_health(at(0), &view);
    let order: Vec<String> = (0..6)
        .map(|i| {
            let got = m.assign_workers_to_task(at(1), &task(&format!("t{i}")), &ty("train"), 1, 0, &view).unwrap();
            got.primaries[0].to_string()
        })
        .collect();
    assert_eq!(order, ["a", "b", "c", "a", "b", "c"]);
    let stats = m.pool_stats(&ty("train")).unwrap();
    assert_eq!((stats.workers, stats.available, stats.slots, stats.used), (3, 0, 6, 6));
}

#[test]
fn a_worker_is_never_primary_and_backup_of_one_task_nor_over_its_slots() {
    let view = View::online(&[("a", 10_000), ("b", 9_000)]);
    let mut m = manager(&[], &view);
    m.add_worker_with_slots(&ty("train"), &id("a"), 2).unwrap();
    m.add_worker_with_slots(&ty("train"), &id("b"), 2).unwrap();
    m.refresh_health(at(0), &view);
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 2, &view).unwrap();
    assert_eq!(names(&got.primaries), ["a"]);
    assert_eq!(names(&got.backups), ["b"], "a has a free slot but is already the primary");
    m.assign_workers_to_task(at(1), &task("u"), &ty("train"), 2, 0, &view).unwrap();
    assert_eq!(m.worker(&id("a")).unwrap().used, 2);
    assert_eq!(
        m.assign_workers_to_task(at(1), &task("v"), &ty("train"), 1, 0, &view),
        Err(AssignError::NotEnoughWorkers { required: 1, available: 0 })
    );
    assert_eq!(
        m.add_worker_with_slots(&ty("train"), &id("a"), 1),
        Err(PoolError::SlotsBelowLoad { slots: 1, used: 2 })
    );
}

#[test]
fn not_enough_workers_assigns_nothing() {
    let view = View::online(&[("a", 10_000), ("b", 10_000), ("c", 10_000)]);
    let mut m = manager(&["a", "b", "c"], &view);
    let err = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 4, 0, &view).unwrap_err();
    assert_eq!(err, AssignError::NotEnoughWorkers { required: 4, available: 3 });
    assert_eq!(err.to_string(), "4 workers required, 3 available");
    assert!(m.task(&task("t")).is_none());
    assert_eq!(m.utilization(at(1)).used_slots, 0);
    // The same workers are still all available, in the same order.
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 3, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["a", "b", "c"]);
    assert_eq!(
        m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view),
        Err(AssignError::AlreadyAssigned(task("t")))
    );
    assert!(matches!(
        m.assign_workers_to_task(at(1), &task("z"), &ty("train"), 0, 1, &view),
        Err(AssignError::InvalidCount { .. })
    ));
    assert!(matches!(
        m.assign_workers_to_task(at(1), &task("z"), &ty("train"), 3, 2, &view),
        Err(AssignError::InvalidCount { max: small::TASK_WORKERS, .. })
    ));
    assert_eq!(
        m.assign_workers_to_task(at(1), &task("z"), &ty("nope"), 1, 0, &view),
        Err(AssignError::UnknownPool(ty("nope")))
    );
}

#[test]
fn backups_are_best_effort_and_refilled_later() {
    let view = View::online(&[("a", 10_000), ("b", 10_000), ("c", 10_000)]);
    let mut m = manager(&["a", "b"], &view);
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 2, &view).unwrap();
    assert_eq!((got.primaries.len(), got.backups.len()), (1, 1));
    m.add_worker(&ty("train"), &id("c")).unwrap();
    m.refresh_health(at(2), &view);
    assert_eq!(m.reassign(at(2), &view), 1);
    assert_eq!(backups(&m, "t"), ["b", "c"]);
    assert!(drain(&mut m).contains(&WorkerEvent::BackupAdded { at: at(2), task: task("t"), worker: id("c") }));
}

#[test]
fn stale_cache_is_checked_against_the_view_on_pick() {
    let mut view = View::online(&[("a", 10_000), ("b", 8_000)]);
    let mut m = manager(&["a", "b"], &view);
    // a crashes after the last sweep: the pick notices and skips it.
    view.set("a", NodeStatus::Offline, 0);
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["b"]);
    assert_eq!(m.worker(&id("a")).unwrap().score, HealthScore::ZERO);
}

#[test]
fn unknown_workers_get_the_configured_score() {
    let view = View::online(&[("known", 6_000)]);
    let mut m = manager(&["known", "stranger"], &view);
    assert_eq!(m.worker(&id("stranger")).unwrap().score, HealthScore(5_000));
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 2, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["known", "stranger"]);

    let config = WorkerConfig { unknown_score: HealthScore::ZERO, ..WorkerConfig::default() };
    let mut m = Manager::new(config).unwrap();
    m.register_pool(&ty("train")).unwrap();
    m.add_worker(&ty("train"), &id("stranger")).unwrap();
    assert_eq!(
        m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view),
        Err(AssignError::NotEnoughWorkers { required: 1, available: 0 })
    );
    assert!(Manager::new(WorkerConfig { score_band: 0, ..WorkerConfig::default() }).is_err());
}

#[test]
fn refresh_health_reranks_improved_workers() {
    let mut view = View::online(&[("a", 9_000), ("b", 2_000)]);
    let mut m = manager(&["a", "b"], &view);
    view.set("b", NodeStatus::Online, 10_000);
    m.refresh_health(at(1), &view);
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["b"]);
}

#[test]
fn checkpoints_come_from_primaries_and_never_go_backwards() {
    let view = View::online(&[("a", 10_000), ("b", 9_000)]);
    let mut m = manager(&["a", "b"], &view);
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 1, &view).unwrap();
    assert_eq!(m.record_checkpoint(at(2), &task("t"), &id("b"), cp(1)), Err(CheckpointError::NotAPrimary(id("b"))));
    assert_eq!(m.record_checkpoint(at(2), &task("x"), &id("a"), cp(1)), Err(CheckpointError::UnknownTask(task("x"))));
    m.record_checkpoint(at(2), &task("t"), &id("a"), cp(5)).unwrap();
    assert_eq!(
        m.record_checkpoint(at(3), &task("t"), &id("a"), cp(4)),
        Err(CheckpointError::Regression { stored: 5, offered: 4 })
    );
    let other = Checkpoint { sequence: 5, digest: [9; 32] };
    assert_eq!(m.record_checkpoint(at(3), &task("t"), &id("a"), other), Err(CheckpointError::Conflict { sequence: 5 }));
    assert_eq!(m.record_checkpoint(at(3), &task("t"), &id("a"), cp(5)), Ok(()));
    assert_eq!(m.checkpoint(&task("t")), Some(cp(5)));
    assert_eq!(m.task(&task("t")).unwrap().checkpoint(), Some((cp(5), at(2))));
}

#[test]
fn failed_primary_is_replaced_by_healthiest_live_backup_from_the_last_checkpoint() {
    let mut view = View::online(&[("p1", 10_000), ("p2", 10_000), ("b1", 9_000), ("b2", 8_000), ("spare", 7_000)]);
    let mut m = manager(&["p1", "p2", "b1", "b2", "spare"], &view);
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 2, 2, &view).unwrap();
    assert_eq!(
        (names(&got.primaries), names(&got.backups)),
        (vec!["p1".into(), "p2".into()], vec!["b1".into(), "b2".into()])
    );
    for seq in 1..=7 {
        m.record_checkpoint(at(1 + seq), &task("t"), &id("p1"), cp(seq)).unwrap();
    }
    drain(&mut m);
    // b2 has become healthier than b1 since assignment (seen at the last sweep).
    view.set("b1", NodeStatus::Online, 3_000);
    m.refresh_health(at(19), &view);
    let r = m.replace_failed_worker(at(20), &id("p1"), &task("t"), &view).unwrap();
    assert_eq!(r.replacement, Some(id("b2")));
    assert!(r.from_backup && !r.degraded && r.role == TaskRole::Primary);
    assert_eq!(r.checkpoint, Some(cp(7)), "the replacement resumes from the last acknowledged progress");
    assert_eq!(r.remaining_backups, 2);
    // b2 takes p1's place; the spare refills the backups.
    assert_eq!(primaries(&m, "t"), ["b2", "p2"]);
    assert_eq!(backups(&m, "t"), ["b1", "spare"]);
    assert!(m.worker(&id("p1")).unwrap().quarantined);
    assert_eq!(m.worker(&id("p1")).unwrap().used, 0);
    let events = drain(&mut m);
    assert_eq!(
        events,
        [
            WorkerEvent::WorkerQuarantined { at: at(20), worker: id("p1") },
            WorkerEvent::WorkerReplaced {
                at: at(20),
                task: task("t"),
                failed: id("p1"),
                role: TaskRole::Primary,
                replacement: id("b2"),
                from_backup: true,
                checkpoint: Some(cp(7)),
                remaining_backups: 2,
            },
            WorkerEvent::BackupAdded { at: at(20), task: task("t"), worker: id("spare") },
        ]
    );
    // No acknowledged progress is lost: the new primary continues from 7, never below.
    assert_eq!(m.checkpoint(&task("t")), Some(cp(7)));
    assert!(matches!(
        m.record_checkpoint(at(21), &task("t"), &id("b2"), cp(6)),
        Err(CheckpointError::Regression { stored: 7, .. })
    ));
    m.record_checkpoint(at(21), &task("t"), &id("b2"), cp(8)).unwrap();
    assert_eq!(m.record_checkpoint(at(21), &task("t"), &id("p1"), cp(9)), Err(CheckpointError::NotAPrimary(id("p1"))));
    let h: Vec<_> = m.history().collect();
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].at, &h[0].failed, h[0].replacement.as_ref()), (at(20), &id("p1"), Some(&id("b2"))));
    assert_eq!((h[0].remaining_backups, h[0].checkpoint), (2, Some(cp(7))));
}

#[test]
fn quarantined_worker_gets_no_new_work_until_it_recovers() {
    let view = View::online(&[("a", 10_000), ("b", 5_000)]);
    let mut m = manager(&["a", "b"], &view);
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    let r = m.replace_failed_worker(at(2), &id("a"), &task("t"), &view).unwrap();
    assert_eq!(r.replacement, Some(id("b")));
    assert!(!r.from_backup);
    // a is healthy in the view but quarantined.
    assert_eq!(
        m.assign_workers_to_task(at(3), &task("u"), &ty("train"), 1, 0, &view),
        Err(AssignError::NotEnoughWorkers { required: 1, available: 0 })
    );
    assert_eq!(m.recover_worker(at(4), &id("a"), &view), Ok(0));
    assert!(drain(&mut m).contains(&WorkerEvent::WorkerRecovered { at: at(4), worker: id("a") }));
    let got = m.assign_workers_to_task(at(5), &task("u"), &ty("train"), 1, 0, &view).unwrap();
    assert_eq!(names(&got.primaries), ["a"]);
}

#[test]
fn with_nobody_left_the_task_is_degraded_then_restored_on_recovery() {
    let view = View::online(&[("a", 10_000), ("b", 9_000)]);
    let mut m = manager(&["a", "b"], &view);
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 2, 0, &view).unwrap();
    m.record_checkpoint(at(2), &task("t"), &id("a"), cp(3)).unwrap();
    drain(&mut m);
    let r = m.replace_failed_worker(at(3), &id("a"), &task("t"), &view).unwrap();
    assert_eq!((r.replacement, r.degraded), (None, true));
    let tv = m.task(&task("t")).unwrap();
    assert!(tv.is_degraded());
    assert_eq!(names(tv.primaries()), ["b"]);
    let events = drain(&mut m);
    assert!(events.contains(&WorkerEvent::TaskDegraded { at: at(3), task: task("t"), primaries: 1, required: 2 }));
    let stats = m.utilization(at(3));
    assert_eq!((stats.degraded_tasks, stats.active_tasks, stats.quarantined_workers), (1, 1, 1));
    // The worker comes back: the task gets its primary again, from checkpoint 3.
    assert_eq!(m.recover_worker(at(10), &id("a"), &view), Ok(1));
    assert_eq!(primaries(&m, "t"), ["b", "a"]);
    let events = drain(&mut m);
    assert!(events.contains(&WorkerEvent::PrimaryAdded {
        at: at(10),
        task: task("t"),
        worker: id("a"),
        checkpoint: Some(cp(3))
    }));
    assert!(events.contains(&WorkerEvent::TaskRestored { at: at(10), task: task("t") }));
    assert!(!m.task(&task("t")).unwrap().is_degraded());
}

/// A degraded task whose backup is live again gets that backup as its primary:
/// a task must not stay short of primaries while one of its own backups could run it.
#[test]
fn a_degraded_task_promotes_its_backup_once_the_backup_is_live_again() {
    let mut view = View::online(&[("a", 10_000), ("b", 9_000)]);
    let mut m = manager(&["a", "b"], &view);
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 1, &view).unwrap();
    m.record_checkpoint(at(2), &task("t"), &id("a"), cp(4)).unwrap();
    // The backup is recovering (not assignable) when the primary fails: nobody can take over.
    view.set("b", NodeStatus::Recovering, 2_000);
    let r = m.replace_failed_worker(at(3), &id("a"), &task("t"), &view).unwrap();
    assert_eq!((r.replacement, r.degraded), (None, true));
    assert_eq!(backups(&m, "t"), ["b"]);
    drain(&mut m);
    // The backup is back: the coordinator's sweep promotes it.
    view.set("b", NodeStatus::Online, 9_000);
    m.refresh_health(at(10), &view);
    assert_eq!(m.reassign(at(10), &view), 1);
    assert_eq!((primaries(&m, "t"), backups(&m, "t")), (vec!["b".to_string()], Vec::<String>::new()));
    assert!(!m.task(&task("t")).unwrap().is_degraded());
    let events = drain(&mut m);
    assert!(events.contains(&WorkerEvent::PrimaryAdded {
        at: at(10),
        task: task("t"),
        worker: id("b"),
        checkpoint: Some(cp(4))
    }));
    assert!(events.contains(&WorkerEvent::TaskRestored { at: at(10), task: task("t") }));
    let info = m.worker(&id("b")).unwrap();
    assert_eq!((info.used, info.primary_roles, info.backup_roles), (1, 1, 0));
}

#[test]
fn failed_backup_is_refilled_and_errors_change_nothing() {
    let view = View::online(&[("a", 10_000), ("b", 9_000), ("c", 8_000)]);
    let mut m = manager(&["a", "b", "c"], &view);
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 1, &view).unwrap();
    let r = m.replace_failed_worker(at(2), &id("b"), &task("t"), &view).unwrap();
    assert_eq!((r.role, r.replacement, r.from_backup), (TaskRole::Backup, Some(id("c")), false));
    assert_eq!((primaries(&m, "t"), backups(&m, "t")), (vec!["a".to_string()], vec!["c".to_string()]));
    assert_eq!(m.replace_failed_worker(at(2), &id("b"), &task("t"), &view), Err(ReplaceError::NotAssigned(id("b"))));
    assert_eq!(
        m.replace_failed_worker(at(2), &id("zz"), &task("t"), &view),
        Err(ReplaceError::UnknownWorker(id("zz")))
    );
    assert_eq!(
        m.replace_failed_worker(at(2), &id("a"), &task("zz"), &view),
        Err(ReplaceError::UnknownTask(task("zz")))
    );
    assert_eq!(primaries(&m, "t"), ["a"]);
}

#[test]
fn offline_backups_are_skipped_for_promotion() {
    let mut view = View::online(&[("a", 10_000), ("b", 9_000), ("c", 8_000)]);
    let mut m = manager(&["a", "b", "c"], &view);
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 2, &view).unwrap();
    view.set("b", NodeStatus::Offline, 0);
    let r = m.replace_failed_worker(at(2), &id("a"), &task("t"), &view).unwrap();
    assert_eq!(r.replacement, Some(id("c")));
    assert_eq!((primaries(&m, "t"), backups(&m, "t")), (vec!["c".to_string()], vec!["b".to_string()]));
}

#[test]
fn worker_failure_is_handled_in_every_task_it_serves() {
    let view = View::online(&[("a", 10_000), ("b", 9_000), ("c", 8_000), ("d", 7_000)]);
    let mut m = manager(&[], &view);
    m.add_worker_with_slots(&ty("train"), &id("a"), 2).unwrap();
    for w in ["b", "c", "d"] {
        m.add_worker(&ty("train"), &id(w)).unwrap();
    }
    m.refresh_health(at(0), &view);
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    m.assign_workers_to_task(at(1), &task("u"), &ty("train"), 1, 1, &view).unwrap();
    assert_eq!(m.worker_tasks(&id("a")).count(), 2);
    let done = m.handle_worker_failure(at(2), &id("a"), &view).unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(primaries(&m, "t"), ["c"]);
    assert_eq!(primaries(&m, "u"), ["b"]);
    assert_eq!(backups(&m, "u"), ["d"]);
    assert_eq!(m.worker(&id("a")).unwrap().used, 0);
    assert_eq!(m.utilization(at(2)).replacements_last_hour, 2);
}

#[test]
fn release_frees_every_slot() {
    let view = View::online(&[("a", 10_000), ("b", 9_000), ("c", 8_000)]);
    let mut m = manager(&["a", "b", "c"], &view);
    m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 2, 1, &view).unwrap();
    assert_eq!(m.utilization(at(1)).used_slots, 3);
    assert_eq!(m.release_task_workers(&task("t")), Ok(3));
    assert_eq!(m.release_task_workers(&task("t")), Err(ReplaceError::UnknownTask(task("t"))));
    let s = m.utilization(at(1));
    assert_eq!((s.used_slots, s.active_tasks, s.assigned_workers), (0, 0, 0));
    assert_eq!(m.pool_stats(&ty("train")).unwrap().available, 3);
    // A worker removed from its pool while busy is forgotten once released.
    m.assign_workers_to_task(at(1), &task("u"), &ty("train"), 1, 0, &view).unwrap();
    m.remove_worker(&ty("train"), &id("a")).unwrap();
    assert!(m.worker(&id("a")).is_some());
    m.release_task_workers(&task("u")).unwrap();
    assert!(m.worker(&id("a")).is_none());
}

#[test]
fn utilization_counts_roles_slots_and_recent_replacements() {
    let view = View::online(&[("a", 10_000), ("b", 9_000), ("c", 8_000), ("d", 7_000)]);
    let mut m = manager(&["a", "b", "c", "d"], &view);
    m.assign_workers_to_task(at(0), &task("t"), &ty("train"), 1, 1, &view).unwrap();
    m.replace_failed_worker(at(0), &id("a"), &task("t"), &view).unwrap();
    let s = m.utilization(at(0));
    assert_eq!(
        (s.total_workers, s.assigned_workers, s.backup_workers, s.total_slots, s.used_slots, s.active_tasks),
        (4, 1, 1, 4, 2, 1)
    );
    assert_eq!(s.utilization_rate, 0.5);
    assert_eq!((s.replacements_last_hour, s.replacements_total), (1, 1));
    assert_eq!(m.utilization(at(3_700)).replacements_last_hour, 0);
    assert_eq!(m.utilization(at(3_700)).replacements_total, 1);
}

#[test]
fn event_queue_and_history_are_bounded_and_count_drops() {
    let mut view = View::default();
    let workers: Vec<String> = (0..small::WORKERS).map(|i| format!("w{i:02}")).collect();
    for w in &workers {
        view.set(w, NodeStatus::Online, 10_000);
    }
    let refs: Vec<&str> = workers.iter().map(String::as_str).collect();
    let mut m = manager(&refs, &view);
    m.assign_workers_to_task(at(0), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    // Each replacement quarantines one worker and replaces it: two events.
    for (i, w) in workers.iter().enumerate().take(small::WORKERS - 1) {
        m.replace_failed_worker(at(i as u64), &id(w), &task("t"), &view).unwrap();
    }
    let replacements = small::WORKERS - 1;
    assert_eq!(m.dropped_events(), (2 * replacements - small::WORKER_EVENTS) as u64);
    assert_eq!(drain(&mut m).len(), small::WORKER_EVENTS);
    assert_eq!(m.history().count(), small::REPLACEMENT_HISTORY.min(replacements));
    assert_eq!(m.history().last().unwrap().failed, id(&workers[replacements - 1]));
}

/// The replacement history is a ring of the last `H`: what it pushes out is counted.
#[test]
fn replacement_history_overflow_is_counted() {
    let view = View::online(&[("a", 10_000), ("b", 10_000)]);
    let mut m = manager(&["a", "b"], &view);
    m.assign_workers_to_task(at(0), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    let rounds = small::REPLACEMENT_HISTORY + 5;
    for i in 0..rounds {
        let failed = primaries(&m, "t").remove(0);
        let r = m.replace_failed_worker(at(i as u64), &id(&failed), &task("t"), &view).unwrap();
        assert!(r.replacement.is_some());
        m.recover_worker(at(i as u64), &id(&failed), &view).unwrap();
    }
    assert_eq!(m.history().count(), small::REPLACEMENT_HISTORY);
    assert_eq!(m.dropped_history(), (rounds - small::REPLACEMENT_HISTORY) as u64);
}

#[test]
fn large_preset_builds_in_place_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            use crate::preset::large;
            let mut m = large::WorkerReplacementManager::new_boxed(WorkerConfig::default()).unwrap();
            let view = View::default();
            m.register_pool(&ty("train")).unwrap();
            for i in 0..large::WORKERS {
                m.add_worker(&ty("train"), &id(&format!("w{i}"))).unwrap();
            }
            assert!(m.add_worker(&ty("train"), &id("one-too-many")).is_err());
            m.refresh_health(at(0), &view);
            let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 4, 2, &view).unwrap();
            let r = m.replace_failed_worker(at(2), &got.primaries[0], &task("t"), &view).unwrap();
            assert_eq!(r.replacement.as_ref(), Some(&got.backups[0]));
            m.worker_count()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), crate::preset::large::WORKERS);
}

mod model;

#[test]
fn pool_membership_is_readable_without_a_copy() {
    let mut m = Manager::new(WorkerConfig::default()).unwrap();
    let view = View::default();
    let names = |it: &mut dyn Iterator<Item = &NodeId>| it.map(|w| w.to_string()).collect::<Vec<_>>();
    let types = |it: &mut dyn Iterator<Item = &TaskType>| it.map(|t| t.to_string()).collect::<Vec<_>>();
    assert!(m.pool_members(&ty("train")).is_none(), "unknown pool");
    m.register_pool(&ty("train")).unwrap();
    m.register_pool(&ty("infer")).unwrap();
    assert_eq!(types(&mut m.pools()), ["train", "infer"], "registration order");
    assert_eq!(names(&mut m.pool_members(&ty("train")).unwrap()), Vec::<String>::new());
    for w in ["w3", "w1", "w2"] {
        m.add_worker(&ty("train"), &id(w)).unwrap();
    }
    m.add_worker(&ty("infer"), &id("w2")).unwrap();
    assert_eq!(names(&mut m.pool_members(&ty("train")).unwrap()), ["w3", "w1", "w2"]);
    assert_eq!(names(&mut m.pool_members(&ty("infer")).unwrap()), ["w2"]);
    assert_eq!(types(&mut m.worker_pools(&id("w2"))), ["train", "infer"]);
    assert_eq!(types(&mut m.worker_pools(&id("ghost"))), Vec::<String>::new());
    // A worker that leaves its only pool while serving a task stays known but
    // is no member; one with nothing left is forgotten and its place reused.
    m.refresh_health(at(0), &view);
    let got = m.assign_workers_to_task(at(1), &task("t"), &ty("train"), 1, 0, &view).unwrap();
    assert_eq!(got.primaries, [id("w1")], "ties go to the lower id");
    m.remove_worker(&ty("train"), &id("w1")).unwrap();
    assert_eq!(names(&mut m.pool_members(&ty("train")).unwrap()), ["w3", "w2"]);
    assert!(m.worker(&id("w1")).is_some(), "still serving t");
    assert_eq!(types(&mut m.worker_pools(&id("w1"))), Vec::<String>::new());
    m.remove_worker(&ty("train"), &id("w3")).unwrap();
    m.add_worker(&ty("train"), &id("w9")).unwrap();
    assert_eq!(names(&mut m.pool_members(&ty("train")).unwrap()), ["w9", "w2"], "w9 takes w3's forgotten place");
}
