//! The old API's `NetworkOperationsManager`, the coordinator of the five
//! managers, as a native class (the package's name binds it).
//!
//! It has no core of its own: it owns one instance of each old-API manager
//! and calls them as the old loop did. Its attributes (`node_id`, `role`,
//! the managers, `is_running`, `ticks`, …) are plain instance attributes in
//! its `__dict__`, assignable as before, and every call on a manager goes
//! through Python attribute lookup, so a manager replaced by the user (or
//! subclassed) is the one called. The asyncio loop (`start_operations`,
//! `stop_operations`) needs the running event loop and stays in
//! `pouw_netops/ops.py`, which attaches those two coroutine functions to
//! this class.

use crate::crash_recovery::PyCrashRecoveryManager;
use crate::election::PyLeaderElectionManager;
use crate::history::PyMessageHistoryCompressor;
use crate::mesh::PyVPNMeshTopologyManager;
use crate::py::{Given, Logger, given, now_or_wall};
use crate::workers::PyWorkerReplacementManager;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

static LOG: Logger = Logger::new("pouw_netops.ops");

/// `obj.name(*args, now=now)`.
fn call_at<'py, A>(obj: &Bound<'py, PyAny>, name: &str, args: A, now: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>>
where
    A: pyo3::call::PyCallArgs<'py>,
{
    let kwargs = PyDict::new(obj.py());
    kwargs.set_item("now", now)?;
    obj.call_method(name, args, Some(&kwargs))
}

/// The manager's own time, the latest `now` it was given, when it is one of
/// the package's native managers (a subclass included) that was given one.
fn own_now(manager: &Bound<'_, PyAny>) -> Option<f64> {
    let py = manager.py();
    if let Ok(m) = manager.cast::<PyCrashRecoveryManager>() {
        m.try_borrow().ok()?.own_now(py)
    } else if let Ok(m) = manager.cast::<PyWorkerReplacementManager>() {
        m.try_borrow().ok()?.own_now(py)
    } else if let Ok(m) = manager.cast::<PyVPNMeshTopologyManager>() {
        m.try_borrow().ok()?.own_now(py)
    } else if let Ok(m) = manager.cast::<PyLeaderElectionManager>() {
        m.try_borrow().ok()?.own_now()
    } else {
        None
    }
}

/// `manager.<method>()`, a report made on the user's behalf: at the manager's
/// own time (`now=` the latest `now` it was given), or without `now` (so
/// `time.time()`) if it was never given one or is not a native manager.
fn report_at_own_time<'py>(manager: &Bound<'py, PyAny>, method: &str) -> PyResult<Bound<'py, PyAny>> {
    match own_now(manager) {
        Some(now) => {
            call_at(manager, method, PyTuple::empty(manager.py()), &now.into_pyobject(manager.py())?.into_any())
        }
        None => manager.call_method0(method),
    }
}

/// One node's managers; ``leader_election`` exists only for a ``"supervisor"`` given ``supervisor_nodes``.
///
/// ``tick_interval`` (seconds, default 1.0) is how often the loop runs.
#[pyclass(name = "NetworkOperationsManager", module = "pouw_netops", subclass, dict, weakref)]
pub struct PyNetworkOperationsManager;

#[pymethods]
impl PyNetworkOperationsManager {
    #[new]
    #[pyo3(
        signature = (*_args, **_kwargs),
        text_signature = "(node_id, role, supervisor_nodes=None, *, tick_interval=1.0)"
    )]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        PyNetworkOperationsManager
    }

    #[pyo3(signature = (node_id, role, supervisor_nodes = None, *, tick_interval = Given::Missing))]
    fn __init__(
        slf: &Bound<'_, Self>,
        node_id: &Bound<'_, PyAny>,
        role: &Bound<'_, PyAny>,
        supervisor_nodes: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = given)] tick_interval: Given,
    ) -> PyResult<()> {
        let py = slf.py();
        slf.setattr("node_id", node_id)?;
        slf.setattr("role", role)?;
        // `list(supervisor_nodes or [])`
        let nodes = match supervisor_nodes {
            Some(s) if s.is_truthy()? => py.get_type::<PyList>().call1((s,))?,
            _ => PyList::empty(py).into_any(),
        };
        slf.setattr("supervisor_nodes", &nodes)?;
        slf.setattr("tick_interval", tick_interval.or(py, 1.0)?)?;
        slf.setattr("crash_recovery", py.get_type::<PyCrashRecoveryManager>().call1((node_id,))?)?;
        slf.setattr("worker_replacement", py.get_type::<PyWorkerReplacementManager>().call1((node_id,))?)?;
        slf.setattr("message_compressor", py.get_type::<PyMessageHistoryCompressor>().call1((node_id,))?)?;
        slf.setattr("vpn_mesh", py.get_type::<PyVPNMeshTopologyManager>().call1((node_id,))?)?;
        slf.setattr("leader_election", py.None())?;
        if role.eq("supervisor")? && nodes.is_truthy()? {
            slf.setattr("leader_election", py.get_type::<PyLeaderElectionManager>().call1((node_id, &nodes))?)?;
        }
        slf.setattr("is_running", false)?;
        slf.setattr("ticks", 0)?;
        slf.setattr("_task", py.None())?;
        Ok(())
    }

    /// One round of the loop at ``now``: crash detection (each crashed node
    /// handled as the old API did, see :meth:`handle_node_crash`), election
    /// timeout, tunnel health, compression.
    #[pyo3(signature = (*, now = None))]
    fn tick(slf: &Bound<'_, Self>, now: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let now = match now {
            Some(n) if !n.is_none() => n.clone(),
            _ => now_or_wall(None).into_pyobject(py)?.into_any(),
        };
        let empty = PyTuple::empty(py);
        let crashed = call_at(&slf.getattr("crash_recovery")?, "detect_crashes", &empty, &now)?;
        for node in crashed.try_iter()? {
            call_at(slf.as_any(), "handle_node_crash", (node?,), &now)?;
        }
        let election = slf.getattr("leader_election")?;
        if !election.is_none() && call_at(&election, "check_election_timeout", &empty, &now)?.is_truthy()? {
            call_at(&election, "start_election", &empty, &now)?;
        }
        call_at(&slf.getattr("vpn_mesh")?, "monitor_tunnel_health", &empty, &now)?;
        let history = slf.getattr("message_compressor")?;
        if history.getattr("message_buffer")?.len()?.into_pyobject(py)?.ge(history.getattr("compression_threshold")?)? {
            call_at(&history, "compress_message_batch", &empty, &now)?;
        }
        slf.setattr("ticks", slf.getattr("ticks")?.add(1)?)?;
        Ok(())
    }

    /// What the old API's loop did for a crashed node: start its recovery,
    /// give each task it was a primary of to a backup, and take it out of the mesh.
    #[pyo3(signature = (crashed_node_id, *, now = None))]
    fn handle_node_crash(
        slf: &Bound<'_, Self>,
        crashed_node_id: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let now = match now {
            Some(n) => n.clone(),
            None => py.None().into_bound(py),
        };
        LOG.log(py, "warning", "%s: handling the crash of node %s", (slf.getattr("node_id")?, crashed_node_id))?;
        call_at(&slf.getattr("crash_recovery")?, "initiate_recovery", (crashed_node_id,), &now)?;
        let workers = slf.getattr("worker_replacement")?;
        let mut tasks = Vec::new();
        for item in workers.getattr("worker_assignments")?.call_method0("items")?.try_iter()? {
            let (worker, task): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            if worker.eq(crashed_node_id)? {
                tasks.push(task);
            }
        }
        for task in tasks {
            call_at(&workers, "replace_failed_worker", (crashed_node_id, task), &now)?;
        }
        call_at(&slf.getattr("vpn_mesh")?, "leave_mesh", (crashed_node_id,), &now)?;
        Ok(())
    }

    /// The old API's report: ``node_id, role, is_running, crash_recovery, worker_replacement,
    /// message_compression, vpn_mesh`` and, on a supervisor, ``leader_election``.
    ///
    /// It takes no ``now``: each manager reports at its own time, the latest
    /// ``now`` it was given (``time.time()`` if it was never given one).
    fn get_network_status<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let report = |manager: &str, method: &str| report_at_own_time(&slf.getattr(manager)?, method);
        let status = py_dict!(py;
            "node_id" => slf.getattr("node_id")?,
            "role" => slf.getattr("role")?,
            "is_running" => slf.getattr("is_running")?,
            "crash_recovery" => report("crash_recovery", "get_network_health_summary")?,
            "worker_replacement" => report("worker_replacement", "get_worker_utilization_stats")?,
            // Takes no `now`: nothing in it depends on the time.
            "message_compression" => slf.getattr("message_compressor")?.call_method0("get_compression_stats")?,
            "vpn_mesh" => report("vpn_mesh", "get_mesh_topology")?,
        );
        let election = slf.getattr("leader_election")?;
        if !election.is_none() {
            status.set_item("leader_election", report_at_own_time(&election, "get_election_status")?)?;
        }
        Ok(status)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!(
            "NetworkOperationsManager(node_id={}, role={})",
            slf.getattr("node_id")?.repr()?,
            slf.getattr("role")?.repr()?,
        ))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNetworkOperationsManager>()
}
