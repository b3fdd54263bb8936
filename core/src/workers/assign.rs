//! Tasks: assignment, release and checkpoints.

use super::*;

#[derive(Clone, Debug)]
pub(super) struct Task<const S: usize> {
    pub(super) id: TaskId,
    pub(super) pool: u16,
    pub(super) required: u16,
    pub(super) wanted_backups: u16,
    pub(super) primaries: heapless::Vec<u16, S>,
    pub(super) backups: heapless::Vec<u16, S>,
    pub(super) checkpoint: Option<Checkpoint>,
    pub(super) checkpoint_at: Instant,
    pub(super) degraded: bool,
    pub(super) needy: bool,
}

impl<const S: usize> Task<S> {
    pub(super) fn members(&self) -> impl Iterator<Item = u16> + '_ {
        self.primaries.iter().chain(self.backups.iter()).copied()
    }
}
impl<const W: usize, const T: usize, const P: usize, const S: usize, const C: usize, const H: usize, const E: usize>
    WorkerReplacementManager<W, T, P, S, C, H, E>
{
    // ----- assignment ---------------------------------------------------------

    /// Gives `task` `required` primaries and up to `backups` backups from the pool
    /// of `task_type`, the best-ranked first. All primaries or nothing: with too
    /// few available workers the error says how many, and nothing is assigned.
    /// Backups are best effort; a shortfall is refilled by [`Self::reassign`].
    pub fn assign_workers_to_task<V: HealthView + ?Sized>(
        &mut self,
        now: Instant,
        task: &TaskId,
        task_type: &TaskType,
        required: u16,
        backups: u16,
        view: &V,
    ) -> Result<Assignment<S>, AssignError> {
        let now = self.clock.observe(now);
        let pool = self.pool_index(task_type).ok_or_else(|| AssignError::UnknownPool(task_type.clone()))?;
        if required == 0 || usize::from(required) + usize::from(backups) > S {
            return Err(AssignError::InvalidCount { required, backups, max: S });
        }
        if self.task_index.contains_key(task) {
            return Err(AssignError::AlreadyAssigned(task.clone()));
        }
        let idx = match self.free_tasks.last() {
            Some(&i) => Some(i),
            None => u16::try_from(self.tasks.len()).ok().filter(|i| usize::from(*i) < T),
        };
        let Some(t) = idx.filter(|_| self.task_index.len() < T) else {
            return Err(AssignError::TaskTableFull(CapacityError::new(task.clone(), T)));
        };
        self.op = self.op.wrapping_add(1);
        let mut primaries = heapless::Vec::new();
        let got = self.pick(pool, view, usize::from(required), &[], &mut primaries);
        if got < usize::from(required) {
            return Err(AssignError::NotEnoughWorkers { required, available: u16::try_from(got).unwrap_or(0) });
        }
        let mut standby = heapless::Vec::new();
        self.pick(pool, view, usize::from(backups), &primaries, &mut standby);
        let record = Task {
            id: task.clone(),
            pool: u16::try_from(pool).unwrap_or(0),
            required,
            wanted_backups: backups,
            primaries: primaries.clone(),
            backups: standby.clone(),
            checkpoint: None,
            checkpoint_at: now,
            degraded: false,
            needy: false,
        };
        if self.task_index.insert(task.clone(), t).is_err()
            || (self.free_tasks.pop().is_none() && self.tasks.push(None).is_err())
        {
            // Unreachable given the checks above; undo and report the table as full.
            let _ = self.task_index.remove(task);
            return Err(AssignError::TaskTableFull(CapacityError::new(task.clone(), T)));
        }
        if let Some(slot) = self.tasks.get_mut(usize::from(t)) {
            *slot = Some(record);
        }
        let mut result = Assignment { primaries: heapless::Vec::new(), backups: heapless::Vec::new() };
        for &w in &primaries {
            self.attach(w, t, TaskRole::Primary);
            if let Some(id) = self.id_of(w) {
                let _ = result.primaries.push(id);
            }
        }
        for &w in &standby {
            self.attach(w, t, TaskRole::Backup);
            if let Some(id) = self.id_of(w) {
                let _ = result.backups.push(id);
            }
        }
        self.update_flags(now, t);
        Ok(result)
    }

    /// Frees every worker of `task` and forgets the task; returns how many workers it had.
    pub fn release_task_workers(&mut self, task: &TaskId) -> Result<usize, ReplaceError> {
        let t = self.task_index.get(task).copied().ok_or_else(|| ReplaceError::UnknownTask(task.clone()))?;
        let Some(record) = self.tasks.get_mut(usize::from(t)).and_then(Option::take) else {
            return Err(ReplaceError::UnknownTask(task.clone()));
        };
        let _ = self.task_index.remove(task);
        // Cannot fail: at most T slots exist, each freed once.
        let _ = self.free_tasks.push(t);
        if let Some(i) = self.needy.iter().position(|n| *n == t) {
            self.needy.remove(i);
        }
        let released = record.primaries.len() + record.backups.len();
        for &w in &record.primaries {
            self.detach(w, t, TaskRole::Primary);
            self.maybe_forget(w);
        }
        for &w in &record.backups {
            self.detach(w, t, TaskRole::Backup);
            self.maybe_forget(w);
        }
        Ok(released)
    }

    /// Records `checkpoint` as `task`'s last acknowledged progress, reported by its primary `worker`.
    /// A lower sequence than the stored one is rejected; the same one is accepted
    /// again only with the same digest.
    pub fn record_checkpoint(
        &mut self,
        now: Instant,
        task: &TaskId,
        worker: &NodeId,
        checkpoint: Checkpoint,
    ) -> Result<(), CheckpointError> {
        let now = self.clock.observe(now);
        let t = self.task_index.get(task).copied().ok_or_else(|| CheckpointError::UnknownTask(task.clone()))?;
        let w = self.worker_index.get(worker).copied();
        let record = self.task_ref(t).ok_or_else(|| CheckpointError::UnknownTask(task.clone()))?;
        if !w.is_some_and(|w| record.primaries.contains(&w)) {
            return Err(CheckpointError::NotAPrimary(worker.clone()));
        }
        if let Some(stored) = record.checkpoint {
            if checkpoint.sequence < stored.sequence {
                return Err(CheckpointError::Regression { stored: stored.sequence, offered: checkpoint.sequence });
            }
            if checkpoint.sequence == stored.sequence {
                return if checkpoint.digest == stored.digest {
                    Ok(())
                } else {
                    Err(CheckpointError::Conflict { sequence: stored.sequence })
                };
            }
        }
        if let Some(record) = self.task_mut(t) {
            record.checkpoint = Some(checkpoint);
            record.checkpoint_at = now;
        }
        Ok(())
    }
}
