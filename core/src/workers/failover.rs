//! Failover: replacing a failed worker, recovery and refilling degraded tasks.

use super::pool::{observe, still_live, worker};
use super::*;

impl<const W: usize, const T: usize, const P: usize, const S: usize, const C: usize, const H: usize, const E: usize>
    WorkerReplacementManager<W, T, P, S, C, H, E>
{
    // ----- failover -----------------------------------------------------------

    /// Replaces `failed` in `task`: quarantines it, hands a failed primary's
    /// place to the healthiest live backup (or the best pool worker), refills
    /// the backups from the pool, and reports the checkpoint to resume from.
    /// With nobody left the task is degraded (an event), never dropped.
    pub fn replace_failed_worker<V: HealthView + ?Sized>(
        &mut self,
        now: Instant,
        failed: &NodeId,
        task: &TaskId,
        view: &V,
    ) -> Result<Replacement, ReplaceError> {
        let now = self.clock.observe(now);
        let t = self.task_index.get(task).copied().ok_or_else(|| ReplaceError::UnknownTask(task.clone()))?;
        let w = self.worker_index.get(failed).copied().ok_or_else(|| ReplaceError::UnknownWorker(failed.clone()))?;
        self.replace_in(now, w, t, view).ok_or_else(|| ReplaceError::NotAssigned(failed.clone()))
    }

    /// Replaces `failed` in every task it serves (primary or backup), in the
    /// order it took them on; returns what each replacement did.
    pub fn handle_worker_failure<V: HealthView + ?Sized>(
        &mut self,
        now: Instant,
        failed: &NodeId,
        view: &V,
    ) -> Result<heapless::Vec<Replacement, C>, ReplaceError> {
        let now = self.clock.observe(now);
        let w = self.worker_index.get(failed).copied().ok_or_else(|| ReplaceError::UnknownWorker(failed.clone()))?;
        let tasks = self.worker_ref(w).map(|r| r.tasks.clone()).unwrap_or_default();
        let mut done = heapless::Vec::new();
        self.quarantine(now, w);
        for t in tasks {
            if let Some(r) = self.replace_in(now, w, t, view) {
                let _ = done.push(r);
            }
        }
        Ok(done)
    }

    fn quarantine(&mut self, now: Instant, w: u16) {
        let Some(rec) = self.worker_mut(w) else { return };
        if rec.quarantined {
            return;
        }
        rec.quarantined = true;
        let worker = rec.id.clone();
        self.rekey(w);
        self.push_event(WorkerEvent::WorkerQuarantined { at: now, worker });
    }

    fn replace_in<V: HealthView + ?Sized>(&mut self, now: Instant, w: u16, t: u16, view: &V) -> Option<Replacement> {
        let record = self.task_ref(t)?;
        let role = if record.primaries.contains(&w) {
            TaskRole::Primary
        } else if record.backups.contains(&w) {
            TaskRole::Backup
        } else {
            return None;
        };
        let pool = usize::from(record.pool);
        let members: heapless::Vec<u16, S> = record.members().collect();
        self.op = self.op.wrapping_add(1);
        self.quarantine(now, w);
        let mut slot = None;
        if let Some(record) = self.task_mut(t) {
            match role {
                TaskRole::Primary => {
                    slot = record.primaries.iter().position(|p| *p == w);
                    if let Some(i) = slot {
                        record.primaries.remove(i);
                    }
                }
                TaskRole::Backup => {
                    if let Some(i) = record.backups.iter().position(|b| *b == w) {
                        record.backups.remove(i);
                    }
                }
            }
        }
        self.detach(w, t, role);
        let mut replacement = None;
        let mut from_backup = false;
        let mut picked: heapless::Vec<u16, S> = heapless::Vec::new();
        if role == TaskRole::Primary {
            let at = slot.unwrap_or(0);
            if let Some(b) = self.healthiest_backup(t, view) {
                if let Some(record) = self.task_mut(t) {
                    if let Some(i) = record.backups.iter().position(|x| *x == b) {
                        record.backups.remove(i);
                    }
                    let at = at.min(record.primaries.len());
                    let _ = record.primaries.insert(at, b);
                }
                if let Some(rec) = self.worker_mut(b) {
                    rec.backup_roles = rec.backup_roles.saturating_sub(1);
                    rec.primary_roles = rec.primary_roles.saturating_add(1);
                }
                replacement = Some(b);
                from_backup = true;
            } else if self.pick(pool, view, 1, &members, &mut picked) == 1
                && let Some(&p) = picked.first()
            {
                self.attach(p, t, TaskRole::Primary);
                if let Some(record) = self.task_mut(t) {
                    let at = at.min(record.primaries.len());
                    let _ = record.primaries.insert(at, p);
                }
                replacement = Some(p);
            }
        }
        let first_refill = picked.len();
        let wanted = self.task_ref(t).map_or(0, |r| usize::from(r.wanted_backups).saturating_sub(r.backups.len()));
        self.pick(pool, view, wanted, &members, &mut picked);
        let refills: heapless::Vec<u16, S> = picked.iter().skip(first_refill).copied().collect();
        for &b in &refills {
            self.attach(b, t, TaskRole::Backup);
            if let Some(record) = self.task_mut(t) {
                let _ = record.backups.push(b);
            }
        }
        if role == TaskRole::Backup {
            replacement = refills.first().copied();
        }
        let record = self.task_ref(t)?;
        let task = record.id.clone();
        let checkpoint = record.checkpoint;
        let remaining_backups = u16::try_from(record.backups.len()).unwrap_or(u16::MAX);
        let failed = self.id_of(w)?;
        let replacement = replacement.and_then(|r| self.id_of(r));
        if let Some(r) = &replacement {
            self.push_event(WorkerEvent::WorkerReplaced {
                at: now,
                task: task.clone(),
                failed: failed.clone(),
                role,
                replacement: r.clone(),
                from_backup,
                checkpoint,
                remaining_backups,
            });
        }
        // A failed backup's first refill is its replacement, already reported above.
        let skip = usize::from(role == TaskRole::Backup);
        for &b in refills.iter().skip(skip) {
            if let Some(worker) = self.id_of(b) {
                self.push_event(WorkerEvent::BackupAdded { at: now, task: task.clone(), worker });
            }
        }
        self.update_flags(now, t);
        let degraded = self.task_ref(t).is_some_and(|r| r.degraded);
        if self.history.is_full() {
            let _ = self.history.pop_front();
            self.dropped_history = self.dropped_history.saturating_add(1);
        }
        let record = ReplacementRecord {
            at: now,
            task: task.clone(),
            failed: failed.clone(),
            replacement: replacement.clone(),
            remaining_backups,
            checkpoint,
        };
        if self.history.push_back(record).is_err() {
            // Only possible with H == 0.
            self.dropped_history = self.dropped_history.saturating_add(1);
        }
        self.replacements.record(now);
        self.maybe_forget(w);
        Some(Replacement { task, failed, role, replacement, from_backup, checkpoint, remaining_backups, degraded })
    }

    /// The task's live, unquarantined backup with the highest score (then lowest
    /// id). Liveness is checked against `view` now; scores are the cached ones.
    fn healthiest_backup<V: HealthView + ?Sized>(&mut self, t: u16, view: &V) -> Option<u16> {
        let backups = self.task_ref(t)?.backups.clone();
        let mut best: Option<(HealthScore, u16)> = None;
        for b in backups {
            let Some(rec) = self.workers.get_mut(usize::from(b)).and_then(Option::as_mut) else { continue };
            if rec.live && !still_live(&self.config, view, &rec.id) {
                rec.live = false;
                rec.score = HealthScore::ZERO;
                self.rekey(b);
                continue;
            }
            let Some(rec) = self.worker_ref(b) else { continue };
            let score = rec.score;
            if !rec.live || rec.quarantined || score.0 == 0 {
                continue;
            }
            let wins = match best {
                None => true,
                Some((s, other)) => {
                    score > s || (score == s && worker(&self.workers, b).map(|x| &x.id) < self.id_ref(other))
                }
            };
            if wins {
                best = Some((score, b));
            }
        }
        best.map(|(_, b)| b)
    }

    fn id_ref(&self, idx: u16) -> Option<&NodeId> {
        self.worker_ref(idx).map(|w| &w.id)
    }

    /// Recomputes `degraded` and `needy`, keeps the needy list in step, and reports
    /// degradation and restoration.
    pub(super) fn update_flags(&mut self, now: Instant, t: u16) {
        let Some(record) = self.task_mut(t) else { return };
        let was_degraded = record.degraded;
        let degraded = record.primaries.len() < usize::from(record.required);
        let needy = degraded || record.backups.len() < usize::from(record.wanted_backups);
        let was_needy = record.needy;
        record.degraded = degraded;
        record.needy = needy;
        let task = record.id.clone();
        let primaries = u16::try_from(record.primaries.len()).unwrap_or(u16::MAX);
        let required = record.required;
        if needy && !was_needy {
            // Cannot fail: each task is listed at most once and there are at most T.
            let _ = self.needy.push(t);
        } else if !needy
            && was_needy
            && let Some(i) = self.needy.iter().position(|n| *n == t)
        {
            self.needy.remove(i);
        }
        if degraded && !was_degraded {
            self.push_event(WorkerEvent::TaskDegraded { at: now, task, primaries, required });
        } else if !degraded && was_degraded {
            self.push_event(WorkerEvent::TaskRestored { at: now, task });
        }
    }

    /// Lifts `worker`'s quarantine after it recovered, then [`Self::reassign`]s;
    /// returns how many roles were filled.
    pub fn recover_worker<V: HealthView + ?Sized>(
        &mut self,
        now: Instant,
        worker: &NodeId,
        view: &V,
    ) -> Result<usize, ReplaceError> {
        let now = self.clock.observe(now);
        let w = self.worker_index.get(worker).copied().ok_or_else(|| ReplaceError::UnknownWorker(worker.clone()))?;
        if let Some(rec) = self.worker_mut(w)
            && rec.quarantined
        {
            rec.quarantined = false;
            let (live, score) = observe(&self.config, view, worker, now);
            if let Some(rec) = self.worker_mut(w) {
                rec.live = live;
                rec.score = score;
            }
            self.rekey(w);
            self.push_event(WorkerEvent::WorkerRecovered { at: now, worker: worker.clone() });
        }
        Ok(self.reassign(now, view))
    }

    /// Fills the missing primaries (from the task's live backups first, healthiest
    /// first, then from the pool), then the missing backups, of every task that
    /// is short, oldest shortage first; returns how many roles were filled.
    /// Costs O(short tasks × k log n).
    pub fn reassign<V: HealthView + ?Sized>(&mut self, now: Instant, view: &V) -> usize {
        let now = self.clock.observe(now);
        self.needy_pass.clear();
        for t in self.needy.iter() {
            let _ = self.needy_pass.push(*t);
        }
        let mut filled = 0;
        for i in 0..self.needy_pass.len() {
            let Some(&t) = self.needy_pass.get(i) else { break };
            filled += self.fill(now, t, view);
        }
        filled
    }

    fn fill<V: HealthView + ?Sized>(&mut self, now: Instant, t: u16, view: &V) -> usize {
        let Some(record) = self.task_ref(t) else { return 0 };
        let pool = usize::from(record.pool);
        let members: heapless::Vec<u16, S> = record.members().collect();
        let mut missing_primaries = usize::from(record.required).saturating_sub(record.primaries.len());
        let checkpoint = record.checkpoint;
        let task = record.id.clone();
        self.op = self.op.wrapping_add(1);
        // Missing primaries come first from the task's own live backups, healthiest
        // first, as in a failover; only then from the pool.
        let mut promoted = 0;
        while missing_primaries > 0 {
            let Some(b) = self.healthiest_backup(t, view) else { break };
            if let Some(record) = self.task_mut(t) {
                if let Some(i) = record.backups.iter().position(|x| *x == b) {
                    record.backups.remove(i);
                }
                // Cannot fail: primaries + backups <= S and the backup left the list.
                let _ = record.primaries.push(b);
            }
            if let Some(rec) = self.worker_mut(b) {
                rec.backup_roles = rec.backup_roles.saturating_sub(1);
                rec.primary_roles = rec.primary_roles.saturating_add(1);
            }
            if let Some(worker) = self.id_of(b) {
                self.push_event(WorkerEvent::PrimaryAdded { at: now, task: task.clone(), worker, checkpoint });
            }
            missing_primaries -= 1;
            promoted += 1;
        }
        let mut picked: heapless::Vec<u16, S> = heapless::Vec::new();
        let new_primaries = self.pick(pool, view, missing_primaries, &members, &mut picked);
        let missing_backups =
            self.task_ref(t).map_or(0, |r| usize::from(r.wanted_backups).saturating_sub(r.backups.len()));
        self.pick(pool, view, missing_backups, &members, &mut picked);
        for (i, &p) in picked.iter().enumerate() {
            let role = if i < new_primaries { TaskRole::Primary } else { TaskRole::Backup };
            self.attach(p, t, role);
            if let Some(record) = self.task_mut(t) {
                let _ = match role {
                    TaskRole::Primary => record.primaries.push(p),
                    TaskRole::Backup => record.backups.push(p),
                };
            }
            if let Some(worker) = self.id_of(p) {
                let task = task.clone();
                self.push_event(match role {
                    TaskRole::Primary => WorkerEvent::PrimaryAdded { at: now, task, worker, checkpoint },
                    TaskRole::Backup => WorkerEvent::BackupAdded { at: now, task, worker },
                });
            }
        }
        self.update_flags(now, t);
        promoted + picked.len()
    }
}
