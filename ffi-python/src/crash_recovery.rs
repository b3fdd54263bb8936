//! The crash-recovery manager at host scale (`preset::large`, built in place on
//! the heap), with float-second times and string statuses for the Python layer.
//!
//! The old API's `CrashRecoveryManager` is the native class below (the
//! package's name binds it), over this core class; both only convert
//! arguments, results and errors.

use crate::errors::{core_error, id_error, invalid};
use crate::py::{Logger, cached, clear, float, not_initialized};
use crate::time::{OwnTime, duration, fraction};
use pouw_netops::crash_recovery::{RecoveryEventKind, RecoveryStrategy};
use pouw_netops::phi::PhiConfig;
use pouw_netops::preset::large;
use pouw_netops::{CrashRecoveryConfig, CrashRecoveryError, NodeId, NodeStatus};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

/// One node as a tuple: `(id, status, last_heartbeat, response_time,
/// success_rate, task_completion_rate, bandwidth_utilization, cpu_usage, memory_usage, recovery_attempts)`.
type NodeTuple = (String, &'static str, f64, f64, f64, f64, f64, f64, f64, u32);

/// One event as a tuple: `(seq, timestamp, node_id, event_type, metadata)`.
type EventTuple<'py> = (u64, f64, String, &'static str, Bound<'py, PyDict>);

fn node_id(s: &str) -> PyResult<NodeId> {
    NodeId::new(s).map_err(|e| id_error("node_id", e))
}

fn strategy(s: &str) -> PyResult<RecoveryStrategy> {
    s.parse().map_err(|e| invalid(format!("{e}, not {s:?}")))
}

/// The event's fields as the old API's `metadata` dict.
fn metadata<'py>(py: Python<'py>, kind: &RecoveryEventKind) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match *kind {
        RecoveryEventKind::StatusChanged { from, to, phi } => {
            d.set_item("from", from.as_str())?;
            d.set_item("to", to.as_str())?;
            d.set_item("phi", phi)?;
        }
        RecoveryEventKind::CrashDetected { phi, silence } => {
            d.set_item("phi", phi)?;
            d.set_item("silence", silence.as_secs_f64())?;
        }
        RecoveryEventKind::RecoveryStarted { strategy, attempt } => {
            d.set_item("strategy", strategy.as_str())?;
            d.set_item("attempt", attempt)?;
        }
        RecoveryEventKind::RecoveryCompleted { strategy, took } => {
            d.set_item("strategy", strategy.as_str())?;
            d.set_item("took", took.as_secs_f64())?;
        }
        RecoveryEventKind::RecoveryFailed { strategy, reason } => {
            d.set_item("strategy", strategy.as_str())?;
            d.set_item("reason", reason.as_str())?;
        }
    }
    Ok(d)
}

/// The core's `CrashRecoveryManager` (large preset: 4096 nodes, 100-interval
/// windows, 1024 retained events).
#[pyclass(name = "CrashRecoveryCore", module = "pouw_netops._native")]
pub struct PyCrashRecoveryCore {
    inner: Box<large::CrashRecoveryManager>,
    /// The latest `now` given: the time of the writes that cannot take one.
    own: OwnTime,
}

impl PyCrashRecoveryCore {
    fn view_tuple(v: pouw_netops::crash_recovery::NodeView<'_>) -> NodeTuple {
        let m = v.metrics;
        (
            v.id.as_str().to_owned(),
            v.status.as_str(),
            v.last_heartbeat.as_secs_f64(),
            m.response_time.as_secs_f64(),
            fraction(m.success_rate),
            fraction(m.task_completion_rate),
            fraction(m.bandwidth_utilization),
            fraction(m.cpu_usage),
            fraction(m.memory_usage),
            v.recovery_attempts,
        )
    }
}

#[pymethods]
impl PyCrashRecoveryCore {
    /// A manager whose phi threshold is `threshold` (the other settings are the core's defaults).
    #[new]
    #[pyo3(signature = (threshold = 8.0))]
    fn new(threshold: f64) -> PyResult<Self> {
        let config = CrashRecoveryConfig { phi: PhiConfig { threshold, ..PhiConfig::default() }, ..Default::default() };
        let inner = large::CrashRecoveryManager::new_boxed(config).map_err(crate::errors::config_error)?;
        Ok(PyCrashRecoveryCore { inner, own: OwnTime::default() })
    }

    /// A heartbeat with fresh metrics from `node_id` at `now`, registering the
    /// node if new: the old API's `update_node_health`, taking its
    /// `NodeHealthMetrics` (or any object with its attributes).
    #[pyo3(signature = (node_id, metrics, now = None))]
    fn update_metrics(&mut self, node_id: &str, metrics: &Bound<'_, PyAny>, now: Option<f64>) -> PyResult<()> {
        let now = self.own.input(now)?;
        let node = self::node_id(node_id)?;
        let m = crate::types::health_of(metrics)?;
        self.inner.update_node_health(now, &node, m).map_err(core_error)
    }

    /// A bare heartbeat (no new metrics) from `node_id` at `now`.
    #[pyo3(signature = (node_id, now = None))]
    fn heartbeat(&mut self, node_id: &str, now: Option<f64>) -> PyResult<()> {
        let now = self.own.input(now)?;
        let node = self::node_id(node_id)?;
        self.inner.heartbeat(now, &node).map_err(core_error)
    }

    /// Sweeps all nodes at `now`; returns the nodes newly found crashed.
    #[pyo3(signature = (now = None))]
    fn detect_crashes(&mut self, now: Option<f64>) -> PyResult<Vec<String>> {
        let now = self.own.input(now)?;
        Ok(self.inner.detect_crashes(now).map(|id| id.as_str().to_owned()).collect())
    }

    /// Starts a recovery; `False` when the node is unknown, does not need one
    /// (online or already recovering) or has no attempts left (it is then failed).
    #[pyo3(signature = (node_id, strategy = "automatic", now = None))]
    fn initiate_recovery(&mut self, node_id: &str, strategy: &str, now: Option<f64>) -> PyResult<bool> {
        let now = self.own.input(now)?;
        let node = self::node_id(node_id)?;
        let strategy = self::strategy(strategy)?;
        match self.inner.initiate_recovery(now, &node, strategy) {
            Ok(()) => Ok(true),
            Err(
                CrashRecoveryError::UnknownNode(_)
                | CrashRecoveryError::InvalidStatus { .. }
                | CrashRecoveryError::AttemptsExhausted(_),
            ) => Ok(false),
            Err(e) => Err(core_error(e)),
        }
    }

    /// Sets the node's status by the caller's decision (registering it if new):
    /// the old API's mutations of its status sets. `InvalidArgumentError` for a
    /// name that is not a status, `CapacityError` when the table is full.
    #[pyo3(signature = (node_id, status, now = None))]
    fn set_status(&mut self, node_id: &str, status: &str, now: Option<f64>) -> PyResult<()> {
        let now = self.own.input(now)?;
        let node = self::node_id(node_id)?;
        let status = status.parse::<NodeStatus>().map_err(|e| invalid(format!("{e}, not {status:?}")))?;
        self.inner.set_status(now, &node, status).map_err(core_error)
    }

    /// Changes the detector's settings on the running manager (`None` keeps a
    /// setting): the phi threshold, the acceptable heartbeat pause and the first
    /// interval estimate in seconds, the window size in intervals. Every node's
    /// deadlines are recomputed; an invalid value changes nothing.
    #[pyo3(signature = (*, threshold = None, acceptable_pause = None, first_estimate = None, max_sample_size = None))]
    fn configure(
        &mut self,
        threshold: Option<f64>,
        acceptable_pause: Option<f64>,
        first_estimate: Option<f64>,
        max_sample_size: Option<usize>,
    ) -> PyResult<()> {
        let mut config = *self.inner.config();
        if let Some(t) = threshold {
            config.phi.threshold = t;
        }
        if let Some(p) = acceptable_pause {
            config.phi.acceptable_heartbeat_pause = duration(p, "acceptable_pause")?;
        }
        if let Some(e) = first_estimate {
            config.phi.first_heartbeat_estimate = duration(e, "first_estimate")?;
        }
        if let Some(n) = max_sample_size {
            config.phi.max_sample_size = n;
        }
        self.inner.reconfigure(config).map_err(crate::errors::config_error)
    }

    /// The manager's own time: the latest `now` given (by any method), or
    /// `None` if never (the wall clock). The live views pass it as the `now`
    /// of their writes, which cannot take one.
    #[getter]
    fn own_now(&self) -> Option<f64> {
        self.own.get()
    }

    /// The acceptable heartbeat pause in seconds.
    #[getter]
    fn acceptable_pause(&self) -> f64 {
        self.inner.config().phi.acceptable_heartbeat_pause.as_secs_f64()
    }

    /// The interval assumed before any is observed, in seconds.
    #[getter]
    fn first_estimate(&self) -> f64 {
        self.inner.config().phi.first_heartbeat_estimate.as_secs_f64()
    }

    /// How many intervals a node's window keeps (at most the window capacity).
    #[getter]
    fn max_sample_size(&self) -> usize {
        self.inner.config().phi.max_sample_size.min(large::WINDOW)
    }

    /// Forgets `node_id`; `NotFoundError` if it is not tracked.
    fn remove_node(&mut self, node_id: &str) -> PyResult<()> {
        let node = self::node_id(node_id)?;
        self.inner.remove_node(&node).map_err(core_error)
    }

    /// The node's status name; `NotFoundError` if it is not tracked.
    fn status(&self, node_id: &str) -> PyResult<&'static str> {
        let node = self::node_id(node_id)?;
        self.inner.status(&node).map(NodeStatus::as_str).map_err(core_error)
    }

    /// The node's phi at `now`.
    #[pyo3(signature = (node_id, now = None))]
    fn phi(&mut self, node_id: &str, now: Option<f64>) -> PyResult<f64> {
        let now = self.own.input(now)?;
        let node = self::node_id(node_id)?;
        self.inner.phi(now, &node).map_err(core_error)
    }

    /// Whether the node's last heartbeat and metrics meet the health thresholds at `now`.
    #[pyo3(signature = (node_id, now = None))]
    fn is_healthy(&mut self, node_id: &str, now: Option<f64>) -> PyResult<bool> {
        let now = self.own.input(now)?;
        let node = self::node_id(node_id)?;
        self.inner.is_healthy(now, &node).map_err(core_error)
    }

    /// One node as a tuple (see `nodes`); `NotFoundError` if it is not tracked.
    fn node(&self, node_id: &str) -> PyResult<NodeTuple> {
        let node = self::node_id(node_id)?;
        self.inner.node(&node).map(Self::view_tuple).map_err(core_error)
    }

    /// Every node in registration order as `(id, status, last_heartbeat,
    /// response_time, success_rate, task_completion_rate, bandwidth_utilization,
    /// cpu_usage, memory_usage, recovery_attempts)`.
    fn nodes(&self) -> Vec<NodeTuple> {
        self.inner.nodes().map(Self::view_tuple).collect()
    }

    /// Ids of the nodes whose status is one of `statuses`, in registration order.
    /// `InvalidArgumentError` for a name that is not a status.
    #[pyo3(signature = (*statuses))]
    fn ids_with_status(&self, statuses: Vec<String>) -> PyResult<Vec<String>> {
        let wanted = statuses
            .iter()
            .map(|s| s.parse::<NodeStatus>().map_err(|e| invalid(format!("{e}, not {s:?}"))))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(self.inner.nodes().filter(|v| wanted.contains(&v.status)).map(|v| v.id.as_str().to_owned()).collect())
    }

    /// Counts by status and crashes in the last hour, as a dict.
    #[pyo3(signature = (now = None))]
    fn summary<'py>(&mut self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.network_health_summary(self.own.input(now)?);
        Ok(fields_dict!(py, s;
            total_nodes, online_nodes, suspected_nodes, offline_nodes, failed_nodes, recovering_nodes,
            network_health_ratio, recent_crashes,
        ))
    }

    /// Retained events with a sequence number of at least `since`, oldest first,
    /// as `(seq, timestamp, node_id, event_type, metadata)`.
    #[pyo3(signature = (since = 0))]
    fn events<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = crate::args::u64_arg)] since: u64,
    ) -> PyResult<Vec<EventTuple<'py>>> {
        self.inner
            .events_since(since)
            .map(|e| {
                Ok((e.seq, e.at.as_secs_f64(), e.node.as_str().to_owned(), e.kind.as_str(), metadata(py, &e.kind)?))
            })
            .collect()
    }

    /// The sequence number the next event will get.
    #[getter]
    fn next_event_seq(&self) -> u64 {
        self.inner.next_event_seq()
    }

    /// Events pushed out of the retained ring by newer ones.
    #[getter]
    fn dropped_events(&self) -> u64 {
        self.inner.dropped_events()
    }

    /// The node capacity.
    #[getter]
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// The phi threshold.
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.config().phi.threshold
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

static LOG: Logger = Logger::new("pouw_netops.crash_recovery");
static STATUS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static EVENT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static STATUS_SET: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static METRICS_MAP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static REPLACE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `pouw_netops.crash_recovery.<name>`: the live containers and their helper, in Python.
fn views<'py>(py: Python<'py>, cell: &PyOnceLock<Py<PyAny>>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    cached(py, cell, "pouw_netops.crash_recovery", name)
}

/// Tracks the health of up to 4096 nodes and detects their crashes.
///
/// ``failure_detector_threshold`` is the phi level at which a silent node is
/// judged crashed (phi 10 ≈ a 10⁻¹⁰ chance that it is merely late). A node is
/// suspected at half that level, or when its metrics are unhealthy.
///
/// Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
/// A write that cannot take ``now`` (``failed_nodes.add(n)``, ``node_metrics[n] = m``, …)
/// happens at the manager's own time: the latest ``now`` it was given, or
/// ``time.time()`` if it was never given one.
//
// The old API's class, native (`pouw_netops.CrashRecoveryManager` is this
// class) over a `CrashRecoveryCore`: the core decides everything, this class
// converts. Its containers are the live views of `pouw_netops/crash_recovery.py`
// (`_StatusSet`, `_MetricsMap`) over the core, made once per instance (so
// `m.failed_nodes is m.failed_nodes`). The construction is in `__init__`, so a
// subclass's `__init__` with its own signature can call `super().__init__`, as
// with the old Python class.
#[pyclass(name = "CrashRecoveryManager", module = "pouw_netops", subclass, dict, weakref)]
pub struct PyCrashRecoveryManager {
    /// The core and the live views; `None` until `__init__` ran (and after the GC cleared it).
    state: Option<CrashState>,
    #[pyo3(get, set)]
    node_id: Py<PyAny>,
}

struct CrashState {
    core: Py<PyCrashRecoveryCore>,
    suspected: Py<PyAny>,
    failed: Py<PyAny>,
    recovering: Py<PyAny>,
    /// The `_MetricsMap`, which holds the manager itself (a cycle the GC sees
    /// through `__traverse__`).
    metrics: Py<PyAny>,
}

impl PyCrashRecoveryManager {
    fn state(&self) -> PyResult<&CrashState> {
        self.state.as_ref().ok_or_else(|| not_initialized("CrashRecoveryManager"))
    }

    fn core<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyCrashRecoveryCore>> {
        Ok(self.state()?.core.bind(py))
    }

    /// The manager's own time (see `OwnTime`), for reports made on the user's behalf.
    pub(crate) fn own_now(&self, py: Python<'_>) -> Option<f64> {
        self.state.as_ref()?.core.bind(py).try_borrow().ok()?.own.get()
    }

    /// Assigns a detector setting of the core: `configure(name=convert(value))`.
    fn configure(&self, value: &Bound<'_, PyAny>, name: &str, convert: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = value.py();
        let kwargs = PyDict::new(py);
        kwargs.set_item(name, convert.call1((value,))?)?;
        self.core(py)?.call_method("configure", (), Some(&kwargs))?;
        Ok(())
    }

    fn configure_float(&self, value: &Bound<'_, PyAny>, name: &str) -> PyResult<()> {
        self.configure(value, name, value.py().get_type::<PyFloat>().as_any())
    }

    /// Makes the live container `view` hold exactly `value` (`manager.attr = value`).
    fn replace(py: Python<'_>, view: &Py<PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        views(py, &REPLACE, "_replace")?.call1((view, value))?;
        Ok(())
    }
}

#[pymethods]
impl PyCrashRecoveryManager {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs), text_signature = "(node_id, failure_detector_threshold=10.0)")]
    fn new(py: Python<'_>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        PyCrashRecoveryManager { state: None, node_id: py.None() }
    }

    #[pyo3(signature = (node_id, failure_detector_threshold = 10.0))]
    fn __init__(
        slf: &Bound<'_, Self>,
        node_id: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = float)] failure_detector_threshold: f64,
    ) -> PyResult<()> {
        let py = slf.py();
        slf.try_borrow_mut()?.node_id = node_id.clone().unbind();
        let core = Bound::new(py, PyCrashRecoveryCore::new(failure_detector_threshold)?)?;
        let status_set = views(py, &STATUS_SET, "_StatusSet")?;
        let set = |statuses: &[&str], mark: &str| -> PyResult<Py<PyAny>> {
            Ok(status_set.call1((&core, PyTuple::new(py, statuses)?, mark))?.unbind())
        };
        let state = CrashState {
            suspected: set(&["suspected"], "suspected")?,
            failed: set(&["offline", "failed"], "offline")?,
            recovering: set(&["recovering"], "recovering")?,
            metrics: views(py, &METRICS_MAP, "_MetricsMap")?.call1((slf,))?.unbind(),
            core: core.unbind(),
        };
        slf.try_borrow_mut()?.state = Some(state);
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.node_id)?;
        if let Some(s) = &self.state {
            visit.call(&s.core)?;
            visit.call(&s.suspected)?;
            visit.call(&s.failed)?;
            visit.call(&s.recovering)?;
            visit.call(&s.metrics)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.state = None;
        clear(&mut self.node_id);
    }

    // --- the old configuration attributes, live ---------------------------

    /// The phi level at which a silent node is judged crashed (the core's threshold).
    #[getter]
    fn failure_detector_threshold(&self, py: Python<'_>) -> PyResult<f64> {
        Ok(self.core(py)?.borrow().threshold())
    }

    #[setter]
    fn set_failure_detector_threshold(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.configure_float(value, "threshold")
    }

    /// The same threshold as :attr:`failure_detector_threshold` (the old API had two,
    /// and used this one); assigning either changes the core's detector.
    #[getter]
    fn phi_threshold(&self, py: Python<'_>) -> PyResult<f64> {
        self.failure_detector_threshold(py)
    }

    #[setter]
    fn set_phi_threshold(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.configure_float(value, "threshold")
    }

    /// Silence tolerated beyond the usual heartbeat interval, in seconds: the
    /// detector's acceptable heartbeat pause (default 3 s), added to the mean interval.
    #[getter]
    fn heartbeat_timeout(&self, py: Python<'_>) -> PyResult<f64> {
        Ok(self.core(py)?.borrow().acceptable_pause())
    }

    #[setter]
    fn set_heartbeat_timeout(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.configure_float(value, "acceptable_pause")
    }

    /// The heartbeat interval assumed for a node before its intervals are
    /// measured, in seconds (the detector's first estimate, default 1 s).
    #[getter]
    fn heartbeat_interval(&self, py: Python<'_>) -> PyResult<f64> {
        Ok(self.core(py)?.borrow().first_estimate())
    }

    #[setter]
    fn set_heartbeat_interval(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.configure_float(value, "first_estimate")
    }

    /// How many heartbeat intervals per node the detector keeps (at most 100).
    #[getter]
    fn sampling_window(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.core(py)?.borrow().max_sample_size())
    }

    #[setter]
    fn set_sampling_window(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.configure(value, "max_sample_size", value.py().get_type::<PyInt>().as_any())
    }

    // --- the old API -------------------------------------------------------

    /// Records a heartbeat from ``node_id`` carrying ``metrics``, at ``now``.
    ///
    /// The heartbeat's arrival time is ``now``; ``metrics.last_heartbeat`` and
    /// ``metrics.status`` are outputs of the manager (see ``node_metrics``),
    /// not inputs. Raises ``InvalidArgumentError`` for a metric outside [0, 1]
    /// and ``CapacityError`` when 4096 nodes are already tracked.
    #[pyo3(signature = (node_id, metrics, *, now = None))]
    fn update_node_health(&self, node_id: &str, metrics: &Bound<'_, PyAny>, now: Option<f64>) -> PyResult<()> {
        self.core(metrics.py())?.try_borrow_mut()?.update_metrics(node_id, metrics, now)
    }

    /// Sweeps every node at ``now``; returns the nodes newly found crashed (each reported once).
    #[pyo3(signature = (*, now = None))]
    fn detect_crashes(&self, py: Python<'_>, now: Option<f64>) -> PyResult<Vec<String>> {
        let crashed = self.core(py)?.try_borrow_mut()?.detect_crashes(now)?;
        for node in &crashed {
            LOG.log(py, "warning", "%s: crash detected for node %s", (&self.node_id, node))?;
        }
        Ok(crashed)
    }

    /// Starts recovering a suspected, crashed or failed node.
    ///
    /// ``recovery_strategy`` is ``"automatic"``, ``"restart"`` or ``"replace"``.
    /// Returns ``False`` when the node is unknown, online, already recovering,
    /// or out of attempts (three per outage; it is then failed).
    #[pyo3(signature = (node_id, recovery_strategy = "automatic", *, now = None))]
    fn initiate_recovery(
        &self,
        py: Python<'_>,
        node_id: &str,
        recovery_strategy: &str,
        now: Option<f64>,
    ) -> PyResult<bool> {
        let started = self.core(py)?.try_borrow_mut()?.initiate_recovery(node_id, recovery_strategy, now)?;
        if started {
            LOG.log(py, "info", "%s: recovery of %s started (%s)", (&self.node_id, node_id, recovery_strategy))?;
        }
        Ok(started)
    }

    /// Counts by status, the online ratio and the crashes of the last hour.
    ///
    /// ``failed_nodes`` counts crashed nodes (status ``OFFLINE``) and nodes
    /// whose recovery failed (``FAILED``), as the old API's failed set did.
    #[pyo3(signature = (*, now = None))]
    fn get_network_health_summary<'py>(&self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let s = {
            let mut core = self.core(py)?.try_borrow_mut()?;
            let now = core.own.input(now)?;
            core.inner.network_health_summary(now)
        };
        Ok(py_dict!(py;
            "total_nodes" => s.total_nodes,
            "online_nodes" => s.online_nodes,
            "suspected_nodes" => s.suspected_nodes,
            "failed_nodes" => s.offline_nodes + s.failed_nodes,
            "recovering_nodes" => s.recovering_nodes,
            "network_health_ratio" => s.network_health_ratio,
            "recent_crashes" => s.recent_crashes,
        ))
    }

    /// Node → its last metrics, heartbeat time and status, live: assigning
    /// ``node_metrics[n] = m`` is :meth:`update_node_health` at the manager's own time,
    /// ``del node_metrics[n]`` is :meth:`remove_node`. Each value read is a copy.
    #[getter]
    fn node_metrics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.metrics.clone_ref(py))
    }

    #[setter]
    fn set_node_metrics(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::replace(value.py(), &self.state()?.metrics, value)
    }

    /// Nodes currently suspected, live: ``add(n)`` marks ``n`` suspected,
    /// ``discard(n)`` (``remove``, ``clear``, …) brings a suspected node back online.
    #[getter]
    fn suspected_nodes(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.suspected.clone_ref(py))
    }

    #[setter]
    fn set_suspected_nodes(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::replace(value.py(), &self.state()?.suspected, value)
    }

    /// Nodes crashed (``OFFLINE``) or whose recovery failed (``FAILED``), live:
    /// ``add(n)`` marks ``n`` crashed (``OFFLINE``; a node never heard from is
    /// registered), so :meth:`initiate_recovery` accepts it; ``discard(n)`` brings it back online.
    #[getter]
    fn failed_nodes(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.failed.clone_ref(py))
    }

    #[setter]
    fn set_failed_nodes(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::replace(value.py(), &self.state()?.failed, value)
    }

    /// Nodes being recovered, live: ``add(n)`` starts an automatic recovery of
    /// ``n`` (no attempt used), ``discard(n)`` ends it with the node online.
    #[getter]
    fn recovering_nodes(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.recovering.clone_ref(py))
    }

    #[setter]
    fn set_recovering_nodes(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::replace(value.py(), &self.state()?.recovering, value)
    }

    /// Node → when its last heartbeat arrived, in seconds (a snapshot).
    #[getter]
    fn last_heartbeats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for v in self.core(py)?.try_borrow()?.inner.nodes() {
            d.set_item(v.id.as_str(), v.last_heartbeat.as_secs_f64())?;
        }
        Ok(d)
    }

    /// The retained events (the last 1024), oldest first.
    #[getter]
    fn recovery_events<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.call_method0("events")
    }

    // --- beyond the old API ------------------------------------------------

    /// Records a bare heartbeat (metrics unchanged) from ``node_id`` at ``now``.
    #[pyo3(signature = (node_id, *, now = None))]
    fn heartbeat(&self, py: Python<'_>, node_id: &str, now: Option<f64>) -> PyResult<()> {
        self.core(py)?.try_borrow_mut()?.heartbeat(node_id, now)
    }

    /// The node's status; ``NotFoundError`` if it is not tracked.
    fn status<'py>(&self, py: Python<'py>, node_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let status = self.core(py)?.try_borrow()?.status(node_id)?;
        cached(py, &STATUS, "pouw_netops._types", "NodeStatus")?.call1((status,))
    }

    /// The node's phi at ``now``; ``NotFoundError`` if it is not tracked.
    #[pyo3(signature = (node_id, *, now = None))]
    fn phi(&self, py: Python<'_>, node_id: &str, now: Option<f64>) -> PyResult<f64> {
        self.core(py)?.try_borrow_mut()?.phi(node_id, now)
    }

    /// Whether the node's last heartbeat and metrics meet the health thresholds at ``now``.
    #[pyo3(signature = (node_id, *, now = None))]
    fn is_node_healthy(&self, py: Python<'_>, node_id: &str, now: Option<f64>) -> PyResult<bool> {
        self.core(py)?.try_borrow_mut()?.is_healthy(node_id, now)
    }

    /// Forgets ``node_id`` (its events stay); ``NotFoundError`` if it is not tracked.
    fn remove_node(&self, py: Python<'_>, node_id: &str) -> PyResult<()> {
        self.core(py)?.try_borrow_mut()?.remove_node(node_id)
    }

    /// Retained events whose ``metadata["seq"]`` is at least ``since``, oldest first.
    ///
    /// A consumer that passes ``next_event_seq`` from its previous call reads each event once.
    #[pyo3(signature = (since = 0))]
    fn events<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = crate::args::u64_arg)] since: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let event = cached(py, &EVENT, "pouw_netops._types", "CrashRecoveryEvent")?;
        let out = PyList::empty(py);
        for (seq, at, node, kind, meta) in self.core(py)?.try_borrow()?.events(py, since)? {
            meta.set_item("seq", seq)?;
            out.append(event.call1((node, kind, at, meta))?)?;
        }
        Ok(out)
    }

    /// The sequence number the next event will get.
    #[getter]
    fn next_event_seq(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.core(py)?.try_borrow()?.next_event_seq())
    }

    /// How many nodes can be tracked.
    #[getter]
    fn capacity(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.core(py)?.try_borrow()?.capacity())
    }

    /// The core (for the live views in `pouw_netops/crash_recovery.py`).
    #[getter]
    fn _core(&self, py: Python<'_>) -> PyResult<Py<PyCrashRecoveryCore>> {
        Ok(self.state()?.core.clone_ref(py))
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.core(py)?.try_borrow()?.__len__())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!(
            "CrashRecoveryManager(node_id={}, failure_detector_threshold={}, nodes={})",
            slf.getattr("node_id")?.repr()?,
            slf.getattr("failure_detector_threshold")?.repr()?,
            slf.len()?,
        ))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCrashRecoveryCore>()?;
    m.add_class::<PyCrashRecoveryManager>()
}
