//! The old API's data classes that sit on hot paths, as native classes:
//! `NodeHealthMetrics` (built for every `update_node_health`) and
//! `NetworkMessage` (built for every `add_message`). Built in Python they cost
//! more than the call they feed. They behave as the old dataclasses: the same
//! fields, keyword or positional, mutable, compared field by field, and the
//! dataclass `repr`, `__match_args__` and pickling. They are the package's
//! classes themselves (`pouw_netops.NodeHealthMetrics is
//! _native.NodeHealthMetrics`: no Python layer on the hot path);
//! `pouw_netops/_types.py` attaches the dataclass metadata
//! (`dataclasses.fields`, `asdict`, `replace` work) and the public module name.
//! Subclassable.

use crate::time::{FIGURES, instant, metrics};
use pouw_netops::HealthMetrics;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};

static ONLINE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `NodeStatus.ONLINE`, the default status.
fn online(py: Python<'_>) -> PyResult<Py<PyAny>> {
    ONLINE
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            let status = py.import("pouw_netops._types")?.getattr("NodeStatus")?;
            Ok(status.getattr("ONLINE")?.unbind())
        })
        .map(|v| v.clone_ref(py))
}

/// A native class that behaves as one of the old API's dataclasses: its
/// fields by name, in order. The dataclass methods below are written once
/// for both classes.
trait Dataclass: pyo3::PyClass {
    const FIELDS: &'static [&'static str];

    /// The field values, in [`Dataclass::FIELDS`] order.
    fn values<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyAny>>;
}

/// The field values of `obj` (a `T`, or a subclass) as a tuple.
fn values_tuple<'py, T: Dataclass>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let py = obj.py();
    PyTuple::new(py, obj.cast::<T>()?.borrow().values(py))
}

/// `Class(field=value, ...)`, the dataclass `repr`, with the object's own class name.
fn dataclass_repr<T: Dataclass>(slf: &Bound<'_, T>) -> PyResult<String> {
    let name = slf.as_any().get_type().qualname()?;
    let mut out = format!("{name}(");
    for (i, (field, value)) in T::FIELDS.iter().zip(slf.borrow().values(slf.py())).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(field);
        out.push('=');
        out.push_str(&value.repr()?.to_cow()?);
    }
    out.push(')');
    Ok(out)
}

/// Field-by-field equality between two objects of the same class, as a dataclass's `__eq__`.
fn dataclass_eq<T: Dataclass>(a: &Bound<'_, T>, b: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
    let py = a.py();
    if !b.get_type().is(a.as_any().get_type()) {
        return Ok(py.NotImplemented());
    }
    match op {
        CompareOp::Eq | CompareOp::Ne => {
            let eq = values_tuple::<T>(a.as_any())?.eq(values_tuple::<T>(b)?)?;
            Ok(pyo3::types::PyBool::new(py, eq == matches!(op, CompareOp::Eq)).to_owned().into_any().unbind())
        }
        _ => Ok(py.NotImplemented()),
    }
}

/// What `__reduce__` returns: the class and its constructor's arguments.
type Reduced<'py> = (Bound<'py, pyo3::types::PyType>, Bound<'py, PyTuple>);

/// `__reduce__`: pickles as `type(self)(*fields)`.
fn dataclass_reduce<'py, T: Dataclass>(slf: &Bound<'py, T>) -> PyResult<Reduced<'py>> {
    Ok((slf.as_any().get_type(), values_tuple::<T>(slf.as_any())?))
}

/// `__match_args__`: the field names in order, as a dataclass has.
fn match_args<T: Dataclass>(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    PyTuple::new(py, T::FIELDS)
}

/// Health figures of one node; times in seconds, rates and usages in [0, 1].
#[pyclass(name = "NodeHealthMetrics", module = "pouw_netops._native", subclass)]
pub struct PyNodeHealthMetrics {
    #[pyo3(get, set)]
    node_id: Py<PyAny>,
    #[pyo3(get, set)]
    last_heartbeat: f64,
    #[pyo3(get, set)]
    response_time: f64,
    #[pyo3(get, set)]
    success_rate: f64,
    #[pyo3(get, set)]
    task_completion_rate: f64,
    #[pyo3(get, set)]
    bandwidth_utilization: f64,
    #[pyo3(get, set)]
    cpu_usage: f64,
    #[pyo3(get, set)]
    memory_usage: f64,
    #[pyo3(get, set)]
    status: Py<PyAny>,
}

impl Dataclass for PyNodeHealthMetrics {
    const FIELDS: &'static [&'static str] = &[
        "node_id",
        "last_heartbeat",
        "response_time",
        "success_rate",
        "task_completion_rate",
        "bandwidth_utilization",
        "cpu_usage",
        "memory_usage",
        "status",
    ];

    fn values<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyAny>> {
        let f = |x: f64| pyo3::types::PyFloat::new(py, x).into_any();
        vec![
            self.node_id.bind(py).clone(),
            f(self.last_heartbeat),
            f(self.response_time),
            f(self.success_rate),
            f(self.task_completion_rate),
            f(self.bandwidth_utilization),
            f(self.cpu_usage),
            f(self.memory_usage),
            self.status.bind(py).clone(),
        ]
    }
}

impl PyNodeHealthMetrics {
    /// The health figures in the order of [`crate::time::FIGURES`].
    fn figures(&self) -> [f64; 6] {
        [
            self.response_time,
            self.success_rate,
            self.task_completion_rate,
            self.bandwidth_utilization,
            self.cpu_usage,
            self.memory_usage,
        ]
    }

    /// The figures a manager takes (checked: fractions in [0, 1], a finite non-negative response time).
    pub fn health(&self) -> PyResult<HealthMetrics> {
        metrics(self.figures())
    }
}

/// The health figures of any object with the old data class's attributes (a
/// native `NodeHealthMetrics` is read directly).
pub fn health_of(obj: &Bound<'_, PyAny>) -> PyResult<HealthMetrics> {
    if let Ok(m) = obj.cast::<PyNodeHealthMetrics>() {
        return m.borrow().health();
    }
    let mut values = [0.0; 6];
    for (value, name) in values.iter_mut().zip(FIGURES) {
        *value = obj.getattr(name)?.extract()?;
    }
    metrics(values)
}

#[pymethods]
impl PyNodeHealthMetrics {
    #[new]
    #[pyo3(signature = (
        node_id, last_heartbeat, response_time, success_rate, task_completion_rate, bandwidth_utilization,
        cpu_usage, memory_usage, status = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        node_id: Py<PyAny>,
        last_heartbeat: f64,
        response_time: f64,
        success_rate: f64,
        task_completion_rate: f64,
        bandwidth_utilization: f64,
        cpu_usage: f64,
        memory_usage: f64,
        status: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let status = match status {
            Some(s) => s,
            None => online(py)?,
        };
        Ok(PyNodeHealthMetrics {
            node_id,
            last_heartbeat,
            response_time,
            success_rate,
            task_completion_rate,
            bandwidth_utilization,
            cpu_usage,
            memory_usage,
            status,
        })
    }

    /// Whether the node is healthy at `now` (default `time.time()`): last
    /// heartbeat younger than 30 s, success rate above 0.8, response time
    /// below 5 s, CPU and memory usage below 0.9 (the old API's thresholds).
    #[pyo3(signature = (now = None))]
    fn is_healthy(&self, now: Option<f64>) -> PyResult<bool> {
        crate::time::healthy(instant(now)?, self.last_heartbeat, self.figures())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        dataclass_repr(slf)
    }

    fn __richcmp__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        dataclass_eq(slf, other, op)
    }

    #[classattr]
    fn __match_args__(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        match_args::<Self>(py)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        dataclass_reduce(slf)
    }
}

/// A message a node saw: its type, sender, time in seconds and a JSON-serializable `data` dict.
#[pyclass(name = "NetworkMessage", module = "pouw_netops._native", subclass)]
pub struct PyNetworkMessage {
    #[pyo3(get, set)]
    msg_type: Py<PyAny>,
    #[pyo3(get, set)]
    sender_id: Py<PyAny>,
    #[pyo3(get, set)]
    timestamp: Py<PyAny>,
    #[pyo3(get, set)]
    data: Py<PyAny>,
}

impl Dataclass for PyNetworkMessage {
    const FIELDS: &'static [&'static str] = &["msg_type", "sender_id", "timestamp", "data"];

    fn values<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyAny>> {
        vec![
            self.msg_type.bind(py).clone(),
            self.sender_id.bind(py).clone(),
            self.timestamp.bind(py).clone(),
            self.data.bind(py).clone(),
        ]
    }
}

/// A message's `(sender, msg_type, timestamp, data)`.
pub type MessageParts<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, f64, Bound<'py, PyAny>);

/// [`MessageParts`] of any object with the old data class's attributes (a
/// native `NetworkMessage` is read directly).
pub fn message_of<'py>(obj: &Bound<'py, PyAny>) -> PyResult<MessageParts<'py>> {
    let py = obj.py();
    if let Ok(m) = obj.cast::<PyNetworkMessage>() {
        let m = m.borrow();
        return Ok((
            m.sender_id.bind(py).clone(),
            m.msg_type.bind(py).clone(),
            m.timestamp.extract(py)?,
            m.data.bind(py).clone(),
        ));
    }
    Ok((
        obj.getattr("sender_id")?,
        obj.getattr("msg_type")?,
        obj.getattr("timestamp")?.extract()?,
        obj.getattr("data")?,
    ))
}

#[pymethods]
impl PyNetworkMessage {
    /// `timestamp` defaults to the current UNIX time in whole seconds, `data` to a new empty dict.
    #[new]
    #[pyo3(signature = (msg_type, sender_id, timestamp = None, data = None))]
    fn new(
        py: Python<'_>,
        msg_type: Py<PyAny>,
        sender_id: Py<PyAny>,
        timestamp: Option<Py<PyAny>>,
        data: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let timestamp = match timestamp {
            Some(t) => t,
            None => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                now.into_pyobject(py)?.into_any().unbind()
            }
        };
        let data = match data {
            Some(d) => d,
            None => PyDict::new(py).into_any().unbind(),
        };
        Ok(PyNetworkMessage { msg_type, sender_id, timestamp, data })
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        dataclass_repr(slf)
    }

    fn __richcmp__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        dataclass_eq(slf, other, op)
    }

    #[classattr]
    fn __match_args__(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        match_args::<Self>(py)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        dataclass_reduce(slf)
    }
}

/// A `str` argument as `&str` (for ids given as any object, as the old data classes allowed).
pub fn text<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<std::borrow::Cow<'a, str>> {
    match obj.cast::<PyString>() {
        Ok(s) => s.to_cow(),
        Err(_) => Err(crate::errors::invalid(format!("`{what}` must be a str"))),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNodeHealthMetrics>()?;
    m.add_class::<PyNetworkMessage>()
}
