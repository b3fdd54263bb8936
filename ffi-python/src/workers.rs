//! Worker pools, assignment and failover (`preset::large`: 4096 workers and
//! tasks, built in place on the heap), with float-second times.
//!
//! The old API has no health feed, so workers are ranked through the core's
//! `NoHealth` view: every worker scores the same and ties go to the lower load,
//! then the lower id. The old API's `WorkerReplacementManager` is the native
//! class below (the package's name binds it), over this core class.

use crate::errors::{core_error, id_error};
use crate::py::{Given, Logger, cached, clear, given, not_initialized, py_error};
use crate::time::OwnTime;
use pouw_netops::preset::large;
use pouw_netops::{NoHealth, NodeId, ReplaceError, TaskId, TaskType, WorkerConfig};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};
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
    /// The latest `now` given: the time of reports made on the user's behalf.
    own: OwnTime,
}

#[pymethods]
impl PyWorkerCore {
    /// An empty manager with the core's default ranking.
    #[new]
    fn new() -> PyResult<Self> {
        let inner =
            large::WorkerReplacementManager::new_boxed(WorkerConfig::default()).map_err(crate::errors::config_error)?;
        Ok(PyWorkerCore { inner, own: OwnTime::default() })
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
        let now = self.own.input(now)?;
        let (task, tt) = (self::task_id(task_id)?, self::task_type(task_type)?);
        let a = self.inner.assign_workers_to_task(now, &task, &tt, required, backups, &NoHealth).map_err(core_error)?;
        let names = |v: &[NodeId]| v.iter().map(|w| w.as_str().to_owned()).collect();
        Ok((names(&a.primaries), names(&a.backups)))
    }

    /// Replaces `failed` in `task_id` (quarantining it); the worker that took its
    /// role over, or `None` when nobody could or the worker has no role in the task.
    #[pyo3(signature = (failed, task_id, now = None))]
    fn replace(&mut self, failed: &str, task_id: &str, now: Option<f64>) -> PyResult<Option<String>> {
        let now = self.own.input(now)?;
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
        let now = self.own.input(now)?;
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
    fn utilization<'py>(&mut self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.utilization(self.own.input(now)?);
        Ok(fields_dict!(py, s;
            total_workers, assigned_workers, backup_workers, quarantined_workers, total_slots, used_slots,
            utilization_rate, active_tasks, degraded_tasks, replacements_last_hour, replacements_total,
        ))
    }
}

static LOG: Logger = Logger::new("pouw_netops.workers");
static INSUFFICIENT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// What `pouw_netops/workers.py` provides the class: its live views, the
/// reasons the read-only ones give, and the helper assigning a whole container.
#[derive(Clone, Copy)]
enum View {
    Pools,
    Assignments,
    Backups,
    History,
    Replace,
    AssignmentsWhy,
    BackupsWhy,
    HistoryWhy,
}

impl View {
    const fn name(self) -> &'static str {
        match self {
            View::Pools => "_PoolsMap",
            View::Assignments => "_AssignmentsMap",
            View::Backups => "_BackupsMap",
            View::History => "_history_view",
            View::Replace => "_replace",
            View::AssignmentsWhy => "_ASSIGNMENTS_READ_ONLY",
            View::BackupsWhy => "_BACKUPS_READ_ONLY",
            View::HistoryWhy => "_HISTORY_READ_ONLY",
        }
    }

    fn get(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        static POOLS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static ASSIGNMENTS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static BACKUPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static HISTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static REPLACE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static ASSIGNMENTS_WHY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static BACKUPS_WHY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static HISTORY_WHY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let cell = match self {
            View::Pools => &POOLS,
            View::Assignments => &ASSIGNMENTS,
            View::Backups => &BACKUPS,
            View::History => &HISTORY,
            View::Replace => &REPLACE,
            View::AssignmentsWhy => &ASSIGNMENTS_WHY,
            View::BackupsWhy => &BACKUPS_WHY,
            View::HistoryWhy => &HISTORY_WHY,
        };
        // `_replace` is the crash-recovery module's, which the Python class used too.
        let module = if matches!(self, View::Replace) { "pouw_netops.crash_recovery" } else { "pouw_netops.workers" };
        cached(py, cell, module, self.name())
    }

    /// The `TypeError` a read-only container's assignment raises.
    fn refuse(self, py: Python<'_>) -> PyErr {
        match self.get(py) {
            Ok(why) => PyTypeError::new_err(why.unbind()),
            Err(e) => e,
        }
    }
}

/// Worker pools per task type, primary and backup assignment, failover (up to 4096 workers and tasks).
///
/// Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
//
// The old API's class, native (`pouw_netops.WorkerReplacementManager` is this
// class) over a `WorkerCore`, whose methods it calls with the arguments as
// given (as the Python class did). Its containers are the live views of
// `pouw_netops/workers.py`, made once per instance. The construction is in
// `__init__`, so a subclass's `__init__` with its own signature can call
// `super().__init__`, as with the old Python class.
#[pyclass(name = "WorkerReplacementManager", module = "pouw_netops", subclass, dict, weakref)]
pub struct PyWorkerReplacementManager {
    /// `None` until `__init__` ran.
    state: Option<WorkerState>,
    #[pyo3(get, set)]
    node_id: Py<PyAny>,
}

struct WorkerState {
    core: Py<PyWorkerCore>,
    pools: Py<PyAny>,
    assignments: Py<PyAny>,
    backups: Py<PyAny>,
    history: Py<PyAny>,
}

impl PyWorkerReplacementManager {
    fn state(&self) -> PyResult<&WorkerState> {
        self.state.as_ref().ok_or_else(|| not_initialized("WorkerReplacementManager"))
    }

    /// The manager's own time (see `OwnTime`), for reports made on the user's behalf.
    pub(crate) fn own_now(&self, py: Python<'_>) -> Option<f64> {
        self.state.as_ref()?.core.bind(py).try_borrow().ok()?.own.get()
    }

    /// `core.<name>(*args)`: the core's method with the arguments as given.
    fn call<'py, A>(&self, py: Python<'py>, name: &str, args: A) -> PyResult<Bound<'py, PyAny>>
    where
        A: pyo3::call::PyCallArgs<'py>,
    {
        self.state()?.core.bind(py).call_method1(name, args)
    }
}

#[pymethods]
impl PyWorkerReplacementManager {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs), text_signature = "(node_id)")]
    fn new(py: Python<'_>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        PyWorkerReplacementManager { state: None, node_id: py.None() }
    }

    fn __init__(&mut self, node_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = node_id.py();
        self.node_id = node_id.clone().unbind();
        let core = Bound::new(py, PyWorkerCore::new()?)?;
        let view = |v: View| -> PyResult<Py<PyAny>> { Ok(v.get(py)?.call1((&core,))?.unbind()) };
        self.state = Some(WorkerState {
            pools: view(View::Pools)?,
            assignments: view(View::Assignments)?,
            backups: view(View::Backups)?,
            history: view(View::History)?,
            core: core.unbind(),
        });
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.node_id)?;
        if let Some(s) = &self.state {
            visit.call(&s.core)?;
            visit.call(&s.pools)?;
            visit.call(&s.assignments)?;
            visit.call(&s.backups)?;
            visit.call(&s.history)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.state = None;
        clear(&mut self.node_id);
    }

    // --- the old API -------------------------------------------------------

    /// Makes the pool of ``task_type`` exactly ``worker_ids`` (workers left out keep their running roles).
    fn register_worker_pool(&self, task_type: &Bound<'_, PyAny>, worker_ids: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = task_type.py();
        let ids = py.get_type::<PyList>().call1((worker_ids,))?;
        self.call(py, "register_pool", (task_type, ids))?;
        Ok(())
    }

    /// Gives ``task_id`` ``required_workers`` primaries and ``backup_workers`` backups.
    ///
    /// Returns ``(primaries, backups)``. As in the old API, a ``ValueError``
    /// and nothing assigned when there is no pool for ``task_type``
    /// (:class:`NotFoundError`, "No worker pool found for task type: T") or
    /// when fewer than ``required_workers + backup_workers`` workers of the
    /// pool are free (:class:`InsufficientWorkersError`, "Insufficient workers
    /// available. Required: R, Available: A"). A free worker has a free slot
    /// and is not quarantined; a backup holds its slot. ``InvalidStateError``
    /// (a ``ValueError``) when the task already has workers.
    #[pyo3(
        signature = (task_id, task_type, required_workers, backup_workers = Given::Missing, *, now = None),
        text_signature = "($self, task_id, task_type, required_workers, backup_workers=2, *, now=None)"
    )]
    fn assign_workers_to_task<'py>(
        &self,
        task_id: &Bound<'py, PyAny>,
        task_type: &Bound<'py, PyAny>,
        required_workers: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = given)] backup_workers: Given,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = task_id.py();
        let backup_workers = backup_workers.or(py, 2)?;
        let wanted = required_workers.add(&backup_workers)?;
        let available = self.call(py, "available", (task_type,))?;
        if available.lt(&wanted)? {
            let message =
                format!("Insufficient workers available. Required: {}, Available: {}", wanted.str()?, available.str()?);
            return Err(py_error(py, &INSUFFICIENT, "pouw_netops._errors", "InsufficientWorkersError", message));
        }
        let assigned = self.call(py, "assign", (task_id, task_type, required_workers, &backup_workers, now))?;
        let primaries = assigned.get_item(0)?;
        let backups = assigned.get_item(1)?;
        LOG.log(
            py,
            "info",
            "%s: task %s got %d workers and %d backups",
            (&self.node_id, task_id, primaries.len()?, backups.len()?),
        )?;
        PyTuple::new(py, [primaries, backups])
    }

    /// Replaces ``failed_worker_id`` in ``task_id``; the worker that took over, or ``None``.
    ///
    /// The failed worker is quarantined (no new work until :meth:`recover_worker`);
    /// a failed primary's place goes to a backup, else to the best pool worker,
    /// and the backups are refilled from the pool.
    #[pyo3(signature = (failed_worker_id, task_id, *, now = None))]
    fn replace_failed_worker<'py>(
        &self,
        failed_worker_id: &Bound<'py, PyAny>,
        task_id: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = task_id.py();
        let new = self.call(py, "replace", (failed_worker_id, task_id, now))?;
        if new.is_none() {
            LOG.log(
                py,
                "error",
                "%s: no replacement for worker %s in task %s",
                (&self.node_id, failed_worker_id, task_id),
            )?;
        } else {
            LOG.log(
                py,
                "info",
                "%s: worker %s replaced by %s in task %s",
                (&self.node_id, failed_worker_id, &new, task_id),
            )?;
        }
        Ok(new)
    }

    /// Frees every worker of ``task_id`` (nothing happens for an unknown task).
    fn release_task_workers(&self, task_id: &Bound<'_, PyAny>) -> PyResult<()> {
        self.call(task_id.py(), "release", (task_id,))?;
        Ok(())
    }

    /// ``total_workers, assigned_workers, backup_workers, utilization_rate, active_tasks, recent_replacements``.
    ///
    /// ``utilization_rate`` is the fraction of worker slots in use (a backup
    /// reserves its slot); ``recent_replacements`` counts the last hour.
    #[pyo3(signature = (*, now = None))]
    fn get_worker_utilization_stats<'py>(&self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let s = {
            let mut core = self.state()?.core.bind(py).try_borrow_mut()?;
            let now = core.own.input(now)?;
            core.inner.utilization(now)
        };
        Ok(py_dict!(py;
            "total_workers" => s.total_workers,
            "assigned_workers" => s.assigned_workers,
            "backup_workers" => s.backup_workers,
            "utilization_rate" => s.utilization_rate,
            "active_tasks" => s.active_tasks,
            "recent_replacements" => s.replacements_last_hour,
        ))
    }

    /// Task type → its workers, live, pools in registration order (a removed
    /// pool's place going to the next new one).
    ///
    /// ``worker_pools[t] = ids`` is :meth:`register_worker_pool`; ``del
    /// worker_pools[t]`` removes the pool and its members (``InvalidStateError``
    /// while a task of that type has workers). Each pool reads as a live list:
    /// ``append``/``extend``/``insert`` add a worker to the pool (one slot if
    /// new), ``remove``/``del``/``pop`` take one out (its running roles stay).
    /// The list is in the core's worker-table order (the order workers became
    /// known), whatever position a worker is inserted at.
    #[getter]
    fn worker_pools(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.pools.clone_ref(py))
    }

    #[setter]
    fn set_worker_pools(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        View::Replace.get(value.py())?.call1((&self.state()?.pools, value))?;
        Ok(())
    }

    /// Primary worker → its task, live and read-only (see :data:`_ASSIGNMENTS_READ_ONLY`).
    #[getter]
    fn worker_assignments(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.assignments.clone_ref(py))
    }

    #[setter]
    fn set_worker_assignments(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(View::AssignmentsWhy.refuse(value.py()))
    }

    /// Task → its backups, live and read-only; each value read is a copy.
    #[getter]
    fn backup_workers(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.backups.clone_ref(py))
    }

    #[setter]
    fn set_backup_workers(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(View::BackupsWhy.refuse(value.py()))
    }

    /// The last 1024 replacements, oldest first, live and read-only: ``timestamp,
    /// task_id, failed_worker, replacement_worker, remaining_backups``.
    #[getter]
    fn replacement_history(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.history.clone_ref(py))
    }

    #[setter]
    fn set_replacement_history(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(View::HistoryWhy.refuse(value.py()))
    }

    // --- beyond the old API ------------------------------------------------

    /// Lifts ``worker_id``'s quarantine and refills short tasks; the roles filled.
    #[pyo3(signature = (worker_id, *, now = None))]
    fn recover_worker<'py>(
        &self,
        worker_id: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call(worker_id.py(), "recover", (worker_id, now))
    }

    /// ``(primaries, backups)`` of ``task_id``, or ``None`` if it has no workers.
    fn task_workers<'py>(&self, task_id: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let py = task_id.py();
        let t = self.call(py, "task", (task_id,))?;
        if t.is_none() {
            return Ok(None);
        }
        PyTuple::new(py, [t.get_item(1)?, t.get_item(2)?]).map(Some)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!("WorkerReplacementManager(node_id={})", slf.getattr("node_id")?.repr()?))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWorkerCore>()?;
    m.add_class::<PyWorkerReplacementManager>()
}
