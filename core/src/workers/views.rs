//! Read-only views: tasks, workers, pools and utilization.

use super::pool::{entry_index, worker};
use super::*;

/// A read-only view of one worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Capacity in task slots.
    pub slots: u16,
    /// Slots in use (primary and backup roles).
    pub used: u16,
    /// Tasks it is primary of.
    pub primary_roles: u16,
    /// Tasks it is backup of.
    pub backup_roles: u16,
    /// Cached health score.
    pub score: HealthScore,
    /// Whether it is quarantined after a failure.
    pub quarantined: bool,
    /// Pools it belongs to.
    pub pools: u16,
}

/// Workers, slots, tasks and replacements, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UtilizationStats {
    /// Known workers.
    pub total_workers: usize,
    /// Workers primary of at least one task.
    pub assigned_workers: usize,
    /// Workers backup of at least one task.
    pub backup_workers: usize,
    /// Quarantined workers.
    pub quarantined_workers: usize,
    /// Slots over all workers.
    pub total_slots: u64,
    /// Slots in use.
    pub used_slots: u64,
    /// `used_slots / total_slots`, 0 without workers.
    pub utilization_rate: f64,
    /// Tasks with workers.
    pub active_tasks: usize,
    /// Tasks short of primaries.
    pub degraded_tasks: usize,
    /// Replacements in the last hour (exact to a minute).
    pub replacements_last_hour: u64,
    /// Replacements since creation.
    pub replacements_total: u64,
}

/// Load of one pool, for balancing decisions by the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Workers in the pool.
    pub workers: usize,
    /// Workers able to take work now.
    pub available: usize,
    /// Slots over the pool's workers.
    pub slots: u64,
    /// Slots in use.
    pub used: u64,
}

/// A read-only view of one task's workers.
pub struct TaskView<'a, const C: usize, const S: usize> {
    workers: &'a [Option<Worker<C>>],
    task: &'a Task<S>,
    pub(super) task_type: &'a TaskType,
}

impl<'a, const C: usize, const S: usize> TaskView<'a, C, S> {
    fn ids(&self, list: &'a [u16]) -> impl Iterator<Item = &'a NodeId> + 'a {
        let workers = self.workers;
        list.iter().filter_map(move |w| worker(workers, *w).map(|r| &r.id))
    }

    /// The primaries, in the order they were placed (a replacement takes the failed one's place).
    pub fn primaries(&self) -> impl Iterator<Item = &'a NodeId> + 'a {
        self.ids(self.task.primaries.as_slice())
    }

    /// The backups, best first at assignment, refills appended.
    pub fn backups(&self) -> impl Iterator<Item = &'a NodeId> + 'a {
        self.ids(self.task.backups.as_slice())
    }

    /// The task's type.
    pub fn task_type(&self) -> &'a TaskType {
        self.task_type
    }

    /// Primaries required.
    pub fn required(&self) -> u16 {
        self.task.required
    }

    /// Backups wanted.
    pub fn wanted_backups(&self) -> u16 {
        self.task.wanted_backups
    }

    /// The last acknowledged checkpoint and when it was recorded.
    pub fn checkpoint(&self) -> Option<(Checkpoint, Instant)> {
        self.task.checkpoint.map(|c| (c, self.task.checkpoint_at))
    }

    /// Whether the task has fewer primaries than required.
    pub fn is_degraded(&self) -> bool {
        self.task.degraded
    }
}

impl<const W: usize, const T: usize, const P: usize, const S: usize, const C: usize, const H: usize, const E: usize>
    WorkerReplacementManager<W, T, P, S, C, H, E>
{
    /// A view of `task`'s workers and checkpoint.
    pub fn task(&self, task: &TaskId) -> Option<TaskView<'_, C, S>> {
        let record = self.task_ref(*self.task_index.get(task)?)?;
        let task_type = self.pools.get(usize::from(record.pool))?.task_type.as_ref()?;
        Some(TaskView { workers: &self.workers, task: record, task_type })
    }

    /// `task`'s last acknowledged checkpoint.
    pub fn checkpoint(&self, task: &TaskId) -> Option<Checkpoint> {
        self.task_ref(*self.task_index.get(task)?)?.checkpoint
    }

    /// The ids of all tasks with workers, in table order.
    pub fn tasks(&self) -> impl Iterator<Item = &TaskId> + '_ {
        self.task_index.keys()
    }

    /// Facts about `worker`.
    pub fn worker(&self, worker: &NodeId) -> Option<WorkerInfo> {
        self.worker_ref(*self.worker_index.get(worker)?).map(Worker::info)
    }

    /// The tasks `worker` serves, with its role in each.
    pub fn worker_tasks(&self, worker: &NodeId) -> impl Iterator<Item = (&TaskId, TaskRole)> + '_ {
        let rec = self.worker_index.get(worker).and_then(|i| self.worker_ref(*i).map(|r| (*i, r)));
        rec.into_iter().flat_map(move |(w, r)| {
            r.tasks.iter().filter_map(move |t| {
                let task = self.task_ref(*t)?;
                let role = if task.primaries.contains(&w) { TaskRole::Primary } else { TaskRole::Backup };
                Some((&task.id, role))
            })
        })
    }

    /// Whether `worker` is in the pool of `task_type`.
    pub fn in_pool(&self, task_type: &TaskType, worker: &NodeId) -> bool {
        match (self.pool_index(task_type), self.worker_index.get(worker)) {
            (Some(p), Some(&w)) => self.pools.get(p).is_some_and(|p| p.contains(w)),
            _ => false,
        }
    }

    /// Load of the pool of `task_type`: O(pool size).
    pub fn pool_stats(&self, task_type: &TaskType) -> Option<PoolStats> {
        let pool = self.pools.get(self.pool_index(task_type)?)?;
        let mut s = PoolStats::default();
        for w in pool.heap.iter().filter_map(|e| self.worker_ref(entry_index(*e))) {
            s.workers += 1;
            s.available += usize::from(w.key & AVAILABLE != 0);
            s.slots += u64::from(w.slots);
            s.used += u64::from(w.used());
        }
        Some(s)
    }

    /// Workers, slots, tasks and replacements: O(workers).
    pub fn utilization(&self, now: Instant) -> UtilizationStats {
        let mut s = UtilizationStats { active_tasks: self.task_index.len(), ..UtilizationStats::default() };
        for w in self.workers.iter().flatten() {
            s.total_workers += 1;
            s.assigned_workers += usize::from(w.primary_roles > 0);
            s.backup_workers += usize::from(w.backup_roles > 0);
            s.quarantined_workers += usize::from(w.quarantined);
            s.total_slots += u64::from(w.slots);
            s.used_slots += u64::from(w.used());
        }
        s.utilization_rate = if s.total_slots == 0 { 0.0 } else { s.used_slots as f64 / s.total_slots as f64 };
        s.degraded_tasks = self.tasks.iter().flatten().filter(|t| t.degraded).count();
        s.replacements_last_hour = self.replacements.count(now.max(self.clock.latest()));
        s.replacements_total = self.replacements.total();
        s
    }

    /// Known workers.
    pub fn worker_count(&self) -> usize {
        self.worker_index.len()
    }

    /// Tasks with workers.
    pub fn task_count(&self) -> usize {
        self.task_index.len()
    }

    /// Registered pools.
    pub fn pool_count(&self) -> usize {
        self.pools.iter().filter(|p| p.task_type.is_some()).count()
    }
}

/// Pool membership, read-only: what a host needs to show or diff its pools
/// without keeping its own copy.
impl<const W: usize, const T: usize, const P: usize, const S: usize, const C: usize, const H: usize, const E: usize>
    WorkerReplacementManager<W, T, P, S, C, H, E>
{
    /// Every registered pool's task type, in registration order (a removed
    /// pool's place going to the next new one).
    pub fn pools(&self) -> impl Iterator<Item = &TaskType> + '_ {
        self.pools.iter().filter_map(|p| p.task_type.as_ref())
    }

    /// The workers in the pool of `task_type`, in worker-table order (the order
    /// they became known, a forgotten worker's place going to the next new one);
    /// `None` for an unknown pool. O(known workers).
    pub fn pool_members(&self, task_type: &TaskType) -> Option<impl Iterator<Item = &NodeId> + '_> {
        let pool = self.pools.get(self.pool_index(task_type)?)?;
        Some((0..self.workers.len()).filter_map(move |i| {
            let idx = u16::try_from(i).ok()?;
            if !pool.contains(idx) {
                return None;
            }
            self.worker_ref(idx).map(|w| &w.id)
        }))
    }

    /// The task types of the pools `worker` is in, in registration order (none
    /// for an unknown worker).
    pub fn worker_pools(&self, worker: &NodeId) -> impl Iterator<Item = &TaskType> + '_ {
        let idx = self.worker_index.get(worker).copied();
        self.pools.iter().filter(move |p| idx.is_some_and(|i| p.contains(i))).filter_map(|p| p.task_type.as_ref())
    }
}
