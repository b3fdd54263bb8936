//! The crash-recovery manager at host scale (`preset::large`, built in place on
//! the heap), with float-second times and string statuses for the Python layer.
//!
//! `pouw_netops/crash_recovery.py` wraps it in the old API's class; this type
//! only converts arguments, results and errors.

use crate::errors::{core_error, id_error, invalid};
use crate::time::{duration, fraction, instant};
use pouw_netops::crash_recovery::{RecoveryEventKind, RecoveryStrategy};
use pouw_netops::phi::PhiConfig;
use pouw_netops::preset::large;
use pouw_netops::{CrashRecoveryConfig, CrashRecoveryError, NodeId, NodeStatus};
use pyo3::prelude::*;
use pyo3::types::PyDict;

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
        Ok(PyCrashRecoveryCore { inner })
    }

    /// A heartbeat with fresh metrics from `node_id` at `now`, registering the
    /// node if new: the old API's `update_node_health`, taking its
    /// `NodeHealthMetrics` (or any object with its attributes).
    #[pyo3(signature = (node_id, metrics, now = None))]
    fn update_metrics(&mut self, node_id: &str, metrics: &Bound<'_, PyAny>, now: Option<f64>) -> PyResult<()> {
        let now = instant(now)?;
        let node = self::node_id(node_id)?;
        let m = crate::types::health_of(metrics)?;
        self.inner.update_node_health(now, &node, m).map_err(core_error)
    }

    /// A bare heartbeat (no new metrics) from `node_id` at `now`.
    #[pyo3(signature = (node_id, now = None))]
    fn heartbeat(&mut self, node_id: &str, now: Option<f64>) -> PyResult<()> {
        let now = instant(now)?;
        let node = self::node_id(node_id)?;
        self.inner.heartbeat(now, &node).map_err(core_error)
    }

    /// Sweeps all nodes at `now`; returns the nodes newly found crashed.
    #[pyo3(signature = (now = None))]
    fn detect_crashes(&mut self, now: Option<f64>) -> PyResult<Vec<String>> {
        let now = instant(now)?;
        Ok(self.inner.detect_crashes(now).map(|id| id.as_str().to_owned()).collect())
    }

    /// Starts a recovery; `False` when the node is unknown, does not need one
    /// (online or already recovering) or has no attempts left (it is then failed).
    #[pyo3(signature = (node_id, strategy = "automatic", now = None))]
    fn initiate_recovery(&mut self, node_id: &str, strategy: &str, now: Option<f64>) -> PyResult<bool> {
        let now = instant(now)?;
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
        let now = instant(now)?;
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
    fn phi(&self, node_id: &str, now: Option<f64>) -> PyResult<f64> {
        let now = instant(now)?;
        let node = self::node_id(node_id)?;
        self.inner.phi(now, &node).map_err(core_error)
    }

    /// Whether the node's last heartbeat and metrics meet the health thresholds at `now`.
    #[pyo3(signature = (node_id, now = None))]
    fn is_healthy(&self, node_id: &str, now: Option<f64>) -> PyResult<bool> {
        let now = instant(now)?;
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
    fn summary<'py>(&self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.network_health_summary(instant(now)?);
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCrashRecoveryCore>()
}
