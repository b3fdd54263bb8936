//! Property test: random register / assign / checkpoint / fail / recover / release
//! sequences against a plain reference model (sorting instead of heaps), with the
//! invariants checked after every step.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

const POOL_NAMES: [&str; 2] = ["p0", "p1"];
const BAND: u16 = 500;

#[derive(Clone, Debug)]
enum Op {
    Add { worker: u8, pool: u8, slots: u16 },
    Remove { worker: u8, pool: u8 },
    Health { worker: u8, online: bool, score: u16 },
    Assign { task: u8, pool: u8, required: u16, backups: u16 },
    Checkpoint { task: u8, member: u8, sequence: u64 },
    Fail { task: u8, member: u8 },
    Recover { worker: u8 },
    Release { task: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    let score = prop_oneof![Just(0u16), Just(3_000), Just(9_600), Just(9_900), Just(10_000)];
    prop_oneof![
        4 => (0..8u8, 0..2u8, 1..=2u16).prop_map(|(worker, pool, slots)| Op::Add { worker, pool, slots }),
        1 => (0..8u8, 0..2u8).prop_map(|(worker, pool)| Op::Remove { worker, pool }),
        2 => (0..8u8, any::<bool>(), score).prop_map(|(worker, online, score)| Op::Health { worker, online, score }),
        3 => (0..5u8, 0..2u8, 1..=2u16, 0..=2u16)
            .prop_map(|(task, pool, required, backups)| Op::Assign { task, pool, required, backups }),
        2 => (0..5u8, 0..4u8, 0..20u64).prop_map(|(task, member, sequence)| Op::Checkpoint { task, member, sequence }),
        3 => (0..5u8, 0..4u8).prop_map(|(task, member)| Op::Fail { task, member }),
        1 => (0..8u8).prop_map(|worker| Op::Recover { worker }),
        1 => (0..5u8).prop_map(|task| Op::Release { task }),
    ]
}

fn wname(i: u8) -> String {
    format!("w{i}")
}

fn tname(i: u8) -> String {
    format!("t{i}")
}

#[derive(Clone, Debug)]
struct MWorker {
    slots: u16,
    pools: BTreeSet<usize>,
    quarantined: bool,
}

#[derive(Clone, Debug)]
struct MTask {
    pool: usize,
    required: u16,
    wanted: u16,
    primaries: Vec<String>,
    backups: Vec<String>,
    checkpoint: Option<u64>,
    needy: bool,
}

#[derive(Default)]
struct Model {
    workers: BTreeMap<String, MWorker>,
    tasks: BTreeMap<String, MTask>,
    /// Tasks short of workers, oldest shortage first.
    needy: Vec<String>,
    /// What the health view says: (online, score).
    health: BTreeMap<String, (bool, u16)>,
}

impl Model {
    fn load(&self, w: &str) -> u16 {
        self.tasks.values().map(|t| t.primaries.iter().chain(&t.backups).filter(|m| *m == w).count() as u16).sum()
    }

    fn health(&self, w: &str) -> (bool, u16) {
        // Unknown to the view: live with the default unknown score.
        self.health.get(w).copied().unwrap_or((true, 5_000))
    }

    /// The pool's available workers outside `exclude`, best first.
    fn ranked(&self, pool: usize, exclude: &[String]) -> Vec<String> {
        let mut c: Vec<(String, u16, u16, u16)> = self
            .workers
            .iter()
            .filter(|(id, w)| w.pools.contains(&pool) && !w.quarantined && !exclude.contains(id))
            .filter_map(|(id, w)| {
                let (online, score) = self.health(id);
                let load = self.load(id);
                (online && score > 0 && load < w.slots).then(|| (id.clone(), score, load, w.slots))
            })
            .collect();
        c.sort_by(|a, b| {
            (b.1 / BAND)
                .cmp(&(a.1 / BAND))
                .then((u32::from(a.2) * u32::from(b.3)).cmp(&(u32::from(b.2) * u32::from(a.3))))
                .then(b.1.cmp(&a.1))
                .then(a.0.cmp(&b.0))
        });
        c.into_iter().map(|e| e.0).collect()
    }

    fn members(t: &MTask) -> Vec<String> {
        t.primaries.iter().chain(&t.backups).cloned().collect()
    }

    fn update_needy(&mut self, name: &str) {
        let Some(t) = self.tasks.get_mut(name) else { return };
        let needy = t.primaries.len() < usize::from(t.required) || t.backups.len() < usize::from(t.wanted);
        if needy && !t.needy {
            self.needy.push(name.to_string());
        } else if !needy && t.needy {
            self.needy.retain(|n| n != name);
        }
        t.needy = needy;
    }

    fn forget_idle(&mut self) {
        let idle: Vec<String> = self
            .workers
            .iter()
            .filter(|(id, w)| w.pools.is_empty() && self.load(id) == 0)
            .map(|e| e.0.clone())
            .collect();
        for id in idle {
            self.workers.remove(&id);
        }
    }

    /// The task's live, unquarantined backup with the highest score, then the lowest id.
    fn healthiest_backup(&self, t: &MTask) -> Option<String> {
        t.backups
            .iter()
            .filter(|b| !self.workers.get(*b).is_some_and(|w| w.quarantined))
            .filter(|b| {
                let (online, score) = self.health(b);
                online && score > 0
            })
            .max_by(|a, b| self.health(a).1.cmp(&self.health(b).1).then(b.cmp(a)))
            .cloned()
    }

    fn fill(&mut self, name: &str) {
        let Some(mut t) = self.tasks.get(name).cloned() else { return };
        // Missing primaries come from the task's own live backups first.
        while t.primaries.len() < usize::from(t.required) {
            let Some(b) = self.healthiest_backup(&t) else { break };
            t.backups.retain(|x| *x != b);
            t.primaries.push(b);
        }
        self.tasks.insert(name.to_string(), t.clone());
        let ranked = self.ranked(t.pool, &Self::members(&t));
        let missing_p = usize::from(t.required).saturating_sub(t.primaries.len());
        let missing_b = usize::from(t.wanted).saturating_sub(t.backups.len());
        let new_p: Vec<String> = ranked.iter().take(missing_p).cloned().collect();
        let new_b: Vec<String> = ranked.iter().skip(new_p.len()).take(missing_b).cloned().collect();
        let t = self.tasks.get_mut(name).unwrap();
        t.primaries.extend(new_p);
        t.backups.extend(new_b);
        self.update_needy(name);
    }

    fn reassign(&mut self) {
        for name in self.needy.clone() {
            self.fill(&name);
        }
    }
}

fn view_of(model: &Model) -> View {
    let mut v = View::default();
    for (id, (online, score)) in &model.health {
        v.set(id, if *online { NodeStatus::Online } else { NodeStatus::Offline }, *score);
    }
    v
}

/// Checks the manager against the model and the invariants from the issue.
fn check(m: &Manager, model: &Model, last_checkpoint: &mut BTreeMap<String, u64>) {
    let mut used: BTreeMap<String, u16> = BTreeMap::new();
    assert_eq!(m.task_count(), model.tasks.len());
    for (name, t) in &model.tasks {
        let view = m.task(&task(name)).expect("task known");
        let p = names(view.primaries());
        let b = names(view.backups());
        assert_eq!((&p, &b), (&t.primaries, &t.backups), "members of {name}");
        let all: BTreeSet<&String> = p.iter().chain(&b).collect();
        assert_eq!(all.len(), p.len() + b.len(), "a worker is primary and backup of {name}");
        for w in p.iter().chain(&b) {
            *used.entry(w.clone()).or_default() += 1;
        }
        // Every task has its primaries while a live worker could fill the gap.
        let spare = model.ranked(t.pool, &Model::members(t));
        if p.len() < usize::from(t.required) {
            assert!(spare.is_empty(), "{name} short of primaries while {spare:?} are free");
            let backup = model.healthiest_backup(t);
            assert!(backup.is_none(), "{name} short of primaries while its backup {backup:?} is live");
            assert!(view.is_degraded());
        }
        if b.len() < usize::from(t.wanted) {
            assert!(spare.is_empty(), "{name} short of backups while {spare:?} are free");
        }
        // Checkpoints never go backwards.
        let cp = m.checkpoint(&task(name)).map(|c| c.sequence);
        assert_eq!(cp, t.checkpoint);
        if let Some(seq) = cp {
            let last = last_checkpoint.entry(name.clone()).or_insert(seq);
            assert!(seq >= *last);
            *last = seq;
        }
    }
    assert_eq!(m.worker_count(), model.workers.len());
    for (id, w) in &model.workers {
        let info = m.worker(&super::id(id)).expect("worker known");
        let n = used.get(id).copied().unwrap_or(0);
        assert_eq!(info.used, n, "slots of {id}");
        assert!(info.used <= info.slots, "{id} over its slots");
        assert_eq!((info.slots, info.quarantined), (w.slots, w.quarantined), "{id}");
    }
}

fn run(ops: Vec<Op>) {
    let mut m = Manager::new(WorkerConfig { score_band: BAND, ..WorkerConfig::default() }).unwrap();
    let mut model = Model::default();
    for p in POOL_NAMES {
        m.register_pool(&ty(p)).unwrap();
    }
    let mut last_checkpoint = BTreeMap::new();
    for (step, op) in ops.into_iter().enumerate() {
        let now = Instant::from_secs(step as u64);
        let mut view = view_of(&model);
        match op {
            Op::Add { worker, pool, slots } => {
                let name = wname(worker);
                let result = m.add_worker_with_slots(&ty(POOL_NAMES[usize::from(pool)]), &id(&name), slots);
                let load = model.load(&name);
                if slots < load {
                    assert!(matches!(result, Err(PoolError::SlotsBelowLoad { .. })));
                } else if model.workers.len() >= small::WORKERS && !model.workers.contains_key(&name) {
                    assert!(matches!(result, Err(PoolError::WorkerTableFull(_))));
                } else {
                    let w = model.workers.entry(name).or_insert(MWorker {
                        slots,
                        pools: BTreeSet::new(),
                        quarantined: false,
                    });
                    w.slots = slots;
                    assert_eq!(result, Ok(w.pools.insert(usize::from(pool))));
                }
            }
            Op::Remove { worker, pool } => {
                let name = wname(worker);
                let result = m.remove_worker(&ty(POOL_NAMES[usize::from(pool)]), &id(&name));
                if model.workers.get_mut(&name).is_some_and(|w| w.pools.remove(&usize::from(pool))) {
                    assert_eq!(result, Ok(()));
                } else {
                    assert_eq!(result, Err(PoolError::NotInPool(id(&name))));
                }
            }
            Op::Health { worker, online, score } => {
                model.health.insert(wname(worker), (online, score));
                view = view_of(&model);
            }
            Op::Assign { task: t, pool, required, backups } => {
                let name = tname(t);
                let result = m.assign_workers_to_task(
                    now,
                    &task(&name),
                    &ty(POOL_NAMES[usize::from(pool)]),
                    required,
                    backups,
                    &view,
                );
                let ranked = model.ranked(usize::from(pool), &[]);
                if model.tasks.contains_key(&name) {
                    assert_eq!(result, Err(AssignError::AlreadyAssigned(task(&name))));
                } else if required + backups > small::TASK_WORKERS as u16 {
                    assert!(matches!(result, Err(AssignError::InvalidCount { .. })));
                } else if ranked.len() < usize::from(required) {
                    let available = ranked.len() as u16;
                    assert_eq!(result, Err(AssignError::NotEnoughWorkers { required, available }));
                } else {
                    let got = result.expect("assignment");
                    let p: Vec<String> = ranked.iter().take(usize::from(required)).cloned().collect();
                    let b: Vec<String> = ranked.iter().skip(p.len()).take(usize::from(backups)).cloned().collect();
                    assert_eq!((names(&got.primaries), names(&got.backups)), (p.clone(), b.clone()));
                    model.tasks.insert(
                        name.clone(),
                        MTask {
                            pool: usize::from(pool),
                            required,
                            wanted: backups,
                            primaries: p,
                            backups: b,
                            checkpoint: None,
                            needy: false,
                        },
                    );
                    model.update_needy(&name);
                }
            }
            Op::Checkpoint { task: t, member, sequence } => {
                let name = tname(t);
                let worker = model
                    .tasks
                    .get(&name)
                    .and_then(|mt| Model::members(mt).get(usize::from(member) % 4).cloned())
                    .unwrap_or_else(|| wname(member));
                let result = m.record_checkpoint(now, &task(&name), &id(&worker), cp(sequence));
                match model.tasks.get_mut(&name) {
                    None => assert_eq!(result, Err(CheckpointError::UnknownTask(task(&name)))),
                    Some(mt) if !mt.primaries.contains(&worker) => {
                        assert_eq!(result, Err(CheckpointError::NotAPrimary(id(&worker))))
                    }
                    Some(mt) => match mt.checkpoint {
                        Some(stored) if sequence < stored => {
                            assert_eq!(result, Err(CheckpointError::Regression { stored, offered: sequence }))
                        }
                        _ => {
                            assert_eq!(result, Ok(()));
                            mt.checkpoint = Some(sequence);
                        }
                    },
                }
            }
            Op::Fail { task: t, member } => {
                let name = tname(t);
                let Some(mt) = model.tasks.get(&name).cloned() else {
                    let result = m.replace_failed_worker(now, &id("w0"), &task(&name), &view);
                    assert!(result.is_err());
                    continue;
                };
                let members = Model::members(&mt);
                let Some(failed) = members.get(usize::from(member) % members.len().max(1)).cloned() else {
                    continue;
                };
                let r = m.replace_failed_worker(now, &id(&failed), &task(&name), &view).expect("replacement");
                // Reference failover.
                model.workers.get_mut(&failed).unwrap().quarantined = true;
                let mut nt = mt.clone();
                let replacement;
                if let Some(i) = nt.primaries.iter().position(|w| *w == failed) {
                    nt.primaries.remove(i);
                    let best = model.healthiest_backup(&nt);
                    let ranked = model.ranked(mt.pool, &members);
                    let mut pool_iter = ranked.into_iter();
                    let new_primary = match best {
                        Some(b) => {
                            nt.backups.retain(|x| *x != b);
                            Some(b)
                        }
                        None => pool_iter.next(),
                    };
                    if let Some(p) = &new_primary {
                        nt.primaries.insert(i, p.clone());
                    }
                    replacement = new_primary;
                    let want = usize::from(nt.wanted).saturating_sub(nt.backups.len());
                    nt.backups.extend(pool_iter.take(want));
                } else {
                    nt.backups.retain(|w| *w != failed);
                    let want = usize::from(nt.wanted).saturating_sub(nt.backups.len());
                    let refill: Vec<String> = model.ranked(mt.pool, &members).into_iter().take(want).collect();
                    replacement = refill.first().cloned();
                    nt.backups.extend(refill);
                }
                assert_eq!(r.replacement.map(|n| n.to_string()), replacement);
                assert_eq!(r.checkpoint.map(|c| c.sequence), mt.checkpoint, "resumes from the last checkpoint");
                model.tasks.insert(name.clone(), nt);
                model.update_needy(&name);
            }
            Op::Recover { worker } => {
                let name = wname(worker);
                let result = m.recover_worker(now, &id(&name), &view);
                match model.workers.get_mut(&name) {
                    None => assert_eq!(result, Err(ReplaceError::UnknownWorker(id(&name)))),
                    Some(w) => {
                        w.quarantined = false;
                        let _ = result.expect("recovery");
                        model.reassign();
                    }
                }
            }
            Op::Release { task: t } => {
                let name = tname(t);
                let result = m.release_task_workers(&task(&name));
                match model.tasks.remove(&name) {
                    None => assert_eq!(result, Err(ReplaceError::UnknownTask(task(&name)))),
                    Some(mt) => {
                        assert_eq!(result, Ok(mt.primaries.len() + mt.backups.len()));
                        model.needy.retain(|n| *n != name);
                        last_checkpoint.remove(&name);
                    }
                }
            }
        }
        model.forget_idle();
        // The coordinator's sweep: re-read health, refill short tasks.
        m.refresh_health(now, &view);
        m.reassign(now, &view);
        model.reassign();
        check(&m, &model, &mut last_checkpoint);
        while m.poll_event().is_some() {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn manager_matches_reference_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops);
    }
}
