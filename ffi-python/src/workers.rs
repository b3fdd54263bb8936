//! Worker pools, assignment and failover (`preset::large`: 4096 workers and
//! tasks, built in place on the heap), with float-second times.
//!
//! The old API has no health feed, so workers are ranked through the core's
//! `NoHealth` view: every worker scores the same and ties go to the lower load,
//! then the lower id. `pouw_netops/workers.py` wraps this class in the old API's.

use crate::errors::{core_error, id_error};
use crate::time::instant;
use pouw_netops::preset::large;
use pouw_netops::{NoHealth, NodeId, ReplaceError, TaskId, TaskType, WorkerConfig};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::HashSet;

fn node_id(s: &str, what: &str) -> PyResult<NodeId> {
    NodeId::new(s).map_err(|e| id_error(what, e))
}

fn task_id(s: &str) -> PyResult<TaskId> {
    TaskId::new(s).map_err(|e| id_error("task_id", e))
}

fn task_type(s: &str) -> PyResult<TaskType> {
    TaskType::new(s).map_err(|e| id_error("task_type", e))
}

/// One task as `(task_id, task_type, primaries, backups)`.
type TaskTuple = (String, String, Vec<String>, Vec<String>);

/// One task's workers as `(task_type, primaries, backups)`.
type TaskParts = (String, Vec<String>, Vec<String>);

/// The core's `WorkerReplacementManager` (large preset).
#[pyclass(name = "WorkerCore", module = "pouw_netops._native")]
pub struct PyWorkerCore {
    inner: Box<large::WorkerReplacementManager>,
}

#[pymethods]
impl PyWorkerCore {
    /// An empty manager with the core's default ranking.
    #[new]
    fn new() -> PyResult<Self> {
        let inner =
            large::WorkerReplacementManager::new_boxed(WorkerConfig::default()).map_err(crate::errors::config_error)?;
        Ok(PyWorkerCore { inner })
    }

    /// Makes the pool of `task_type` exactly `workers` (registering it if new):
    /// workers no longer listed leave the pool (their running roles stay), new
    /// ones join with one slot. Ids are all checked before anything changes.
    fn register_pool(&mut self, task_type: &str, workers: Vec<String>) -> PyResult<()> {
        let tt = self::task_type(task_type)?;
        let ids = workers.iter().map(|w| node_id(w, "worker_id")).collect::<PyResult<Vec<_>>>()?;
        let wanted: HashSet<&NodeId> = ids.iter().collect();
        self.inner.register_pool(&tt).map_err(core_error)?;
        let leaving: Vec<NodeId> =
            self.inner.pool_members(&tt).into_iter().flatten().filter(|w| !wanted.contains(w)).cloned().collect();
        for w in &leaving {
            self.inner.remove_worker(&tt, w).map_err(core_error)?;
        }
        for id in &ids {
            // `Ok(false)` for a worker already in the pool.
            self.inner.add_worker(&tt, id).map_err(core_error)?;
        }
        Ok(())
    }

    /// Adds `worker` to the existing pool of `task_type` (one slot if new);
    /// `False` if it was already there. `NotFoundError` for an unknown pool.
    fn add_worker(&mut self, task_type: &str, worker: &str) -> PyResult<bool> {
        let (tt, w) = (self::task_type(task_type)?, node_id(worker, "worker_id")?);
        self.inner.add_worker(&tt, &w).map_err(core_error)
    }

    /// Takes `worker` out of the pool of `task_type` (its running roles stay).
    /// `NotFoundError` for an unknown pool or a worker not in it.
    fn remove_worker(&mut self, task_type: &str, worker: &str) -> PyResult<()> {
        let (tt, w) = (self::task_type(task_type)?, node_id(worker, "worker_id")?);
        self.inner.remove_worker(&tt, &w).map_err(core_error)
    }

    /// Removes the pool of `task_type` and its members; how many left it.
    /// `NotFoundError` for an unknown pool, `InvalidStateError` while a task of
    /// that type exists.
    fn remove_pool(&mut self, task_type: &str) -> PyResult<usize> {
        let tt = self::task_type(task_type)?;
        self.inner.remove_pool(&tt).map_err(core_error)
    }

    /// The workers of the pool of `task_type` in worker-table order, or `None`
    /// for an unknown pool.
    fn pool(&self, task_type: &str) -> PyResult<Option<Vec<String>>> {
        let tt = self::task_type(task_type)?;
        Ok(self.inner.pool_members(&tt).map(|m| m.map(|w| w.as_str().to_owned()).collect()))
    }

    /// The tasks `worker` serves as a primary (none for an unknown worker).
    fn primary_tasks(&self, worker: &str) -> PyResult<Vec<String>> {
        let w = node_id(worker, "worker_id")?;
        Ok(self
            .inner
            .worker_tasks(&w)
            .filter(|(_, role)| *role == pouw_netops::TaskRole::Primary)
            .map(|(t, _)| t.as_str().to_owned())
            .collect())
    }

    /// `(task_type, primaries, backups)` of `task_id`, or `None` if it has no workers.
    fn task(&self, task_id: &str) -> PyResult<Option<TaskParts>> {
        let t = self::task_id(task_id)?;
        Ok(self.inner.task(&t).map(|v| {
            let names = |it: &mut dyn Iterator<Item = &NodeId>| it.map(|w| w.as_str().to_owned()).collect();
            (v.task_type().as_str().to_owned(), names(&mut v.primaries()), names(&mut v.backups()))
        }))
    }

    /// How many workers of the pool of `task_type` can take work now (a free
    /// slot, not quarantined). `NotFoundError` ("No worker pool found for task
    /// type: ...", the old API's words) when there is no such pool.
    fn available(&self, task_type: &str) -> PyResult<usize> {
        let tt = self::task_type(task_type)?;
        match self.inner.pool_stats(&tt) {
            Some(s) => Ok(s.available),
            None => Err(crate::errors::error(
                pouw_netops::error::ErrorKind::NotFound,
                format!("No worker pool found for task type: {task_type}"),
            )),
        }
    }

    /// Gives `task_id` `required` primaries and up to `backups` backups from the
    /// pool of `task_type`; returns `(primaries, backups)`.
    #[pyo3(signature = (task_id, task_type, required, backups = 2, now = None))]
    fn assign(
        &mut self,
        task_id: &str,
        task_type: &str,
        #[pyo3(from_py_with = crate::args::u16_arg)] required: u16,
        #[pyo3(from_py_with = crate::args::u16_arg)] backups: u16,
        now: Option<f64>,
    ) -> PyResult<(Vec<String>, Vec<String>)> {
        let now = instant(now)?;
        let (task, tt) = (self::task_id(task_id)?, self::task_type(task_type)?);
        let a = self.inner.assign_workers_to_task(now, &task, &tt, required, backups, &NoHealth).map_err(core_error)?;
        let names = |v: &[NodeId]| v.iter().map(|w| w.as_str().to_owned()).collect();
        Ok((names(&a.primaries), names(&a.backups)))
    }

    /// Replaces `failed` in `task_id` (quarantining it); the worker that took its
    /// role over, or `None` when nobody could or the worker has no role in the task.
    #[pyo3(signature = (failed, task_id, now = None))]
    fn replace(&mut self, failed: &str, task_id: &str, now: Option<f64>) -> PyResult<Option<String>> {
        let now = instant(now)?;
        let (failed, task) = (node_id(failed, "failed_worker_id")?, self::task_id(task_id)?);
        match self.inner.replace_failed_worker(now, &failed, &task, &NoHealth) {
            Ok(r) => Ok(r.replacement.map(|w| w.as_str().to_owned())),
            Err(ReplaceError::UnknownTask(_) | ReplaceError::UnknownWorker(_) | ReplaceError::NotAssigned(_)) => {
                Ok(None)
            }
        }
    }

    /// Frees every worker of `task_id`; how many it had (0 for an unknown task).
    fn release(&mut self, task_id: &str) -> PyResult<usize> {
        let task = self::task_id(task_id)?;
        Ok(self.inner.release_task_workers(&task).unwrap_or(0))
    }

    /// Lifts a failed worker's quarantine and refills short tasks; roles filled.
    /// `NotFoundError` for an unknown worker.
    #[pyo3(signature = (worker, now = None))]
    fn recover(&mut self, worker: &str, now: Option<f64>) -> PyResult<usize> {
        let now = instant(now)?;
        let w = node_id(worker, "worker_id")?;
        self.inner.recover_worker(now, &w, &NoHealth).map_err(core_error)
    }

    /// Every pool in registration order as `(task_type, workers)`, the workers
    /// in the core's worker-table order.
    fn pools(&self) -> Vec<(String, Vec<String>)> {
        self.inner
            .pools()
            .map(|t| {
                let members = self.inner.pool_members(t).into_iter().flatten();
                (t.as_str().to_owned(), members.map(|w| w.as_str().to_owned()).collect())
            })
            .collect()
    }

    /// Every task as `(task_id, task_type, primaries, backups)`, in table order.
    fn tasks(&self) -> Vec<TaskTuple> {
        self.inner
            .tasks()
            .filter_map(|t| {
                let v = self.inner.task(t)?;
                let names = |it: &mut dyn Iterator<Item = &NodeId>| it.map(|w| w.as_str().to_owned()).collect();
                Some((
                    t.as_str().to_owned(),
                    v.task_type().as_str().to_owned(),
                    names(&mut v.primaries()),
                    names(&mut v.backups()),
                ))
            })
            .collect()
    }

    /// The replacement history ring, oldest first, as `(timestamp, task_id,
    /// failed, replacement, remaining_backups)`.
    fn history(&self) -> Vec<(f64, String, String, Option<String>, u16)> {
        self.inner
            .history()
            .map(|r| {
                (
                    r.at.as_secs_f64(),
                    r.task.as_str().to_owned(),
                    r.failed.as_str().to_owned(),
                    r.replacement.as_ref().map(|w| w.as_str().to_owned()),
                    r.remaining_backups,
                )
            })
            .collect()
    }

    /// Workers, slots, tasks and replacements (last hour and total) as a dict.
    #[pyo3(signature = (now = None))]
    fn utilization<'py>(&self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.utilization(instant(now)?);
        Ok(fields_dict!(py, s;
            total_workers, assigned_workers, backup_workers, quarantined_workers, total_slots, used_slots,
            utilization_rate, active_tasks, degraded_tasks, replacements_last_hour, replacements_total,
        ))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWorkerCore>()
}
