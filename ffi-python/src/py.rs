//! Python objects the native classes of the old API use: the package's own
//! enums and data classes (defined in `pouw_netops/_types.py`), the standard
//! library's `logging` and `float`, each looked up once per interpreter.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

/// `module.name`, imported once and kept in `cell`.
pub fn cached<'py>(
    py: Python<'py>,
    cell: &PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || -> PyResult<Py<PyAny>> { Ok(py.import(module)?.getattr(name)?.unbind()) })
        .map(|v| v.bind(py).clone())
}

/// A logger of the package, `logging.getLogger(name)`, looked up once and kept in `cell`.
pub struct Logger {
    cell: PyOnceLock<Py<PyAny>>,
    name: &'static str,
}

impl Logger {
    pub const fn new(name: &'static str) -> Self {
        Logger { cell: PyOnceLock::new(), name }
    }

    fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.cell
            .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                Ok(py.import("logging")?.call_method1("getLogger", (self.name,))?.unbind())
            })
            .map(|v| v.bind(py).clone())
    }

    /// `logger.<level>(message, *args)`, as the Python classes logged (lazy `%` formatting).
    pub fn log<'py, A>(&self, py: Python<'py>, level: &str, message: &str, args: A) -> PyResult<()>
    where
        A: IntoPyObject<'py, Target = PyTuple, Output = Bound<'py, PyTuple>>,
        A::Error: Into<PyErr>,
    {
        let args = args.into_pyobject(py).map_err(Into::into)?;
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(message.into_pyobject(py)?.into_any());
        all.extend(args.iter());
        self.get(py)?.call_method1(level, PyTuple::new(py, all)?)?;
        Ok(())
    }
}

/// `float(value)`, Python's own conversion (a property setter of the old API
/// converted with it, so a `str` such as `"0.5"` is accepted as before).
pub fn float(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    value.py().get_type::<pyo3::types::PyFloat>().call1((value,))?.extract()
}

/// `time.time()`: the wall clock in seconds since the Unix epoch.
pub fn now_or_wall(now: Option<f64>) -> f64 {
    now.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
    })
}

/// What a method of an old-API class raises on an instance whose `__init__`
/// never ran (a subclass that did not call it): `InvalidStateError`.
pub fn not_initialized(class: &str) -> PyErr {
    crate::errors::error(
        pouw_netops::error::ErrorKind::InvalidState,
        format!("{class}.__init__ was not called on this instance"),
    )
}

/// An argument whose default is a Python value, kept as given: `Missing`
/// when the caller left it out (the method substitutes its default), else
/// the object itself (`None` included), as a Python method receives it.
pub enum Given {
    Missing,
    Object(Py<PyAny>),
}

impl Given {
    /// The argument, or `default` when it was left out.
    pub fn or<'py, T>(self, py: Python<'py>, default: T) -> PyResult<Bound<'py, PyAny>>
    where
        T: IntoPyObject<'py>,
        T::Error: Into<PyErr>,
    {
        match self {
            Given::Object(o) => Ok(o.into_bound(py)),
            Given::Missing => default.into_bound_py_any(py),
        }
    }
}

/// `from_py_with` for a [`Given`] argument.
pub fn given(obj: &Bound<'_, PyAny>) -> PyResult<Given> {
    Ok(Given::Object(obj.clone().unbind()))
}

/// An exception of the Python class `module.name` (kept in `cell`) with `message`.
pub fn py_error(py: Python<'_>, cell: &PyOnceLock<Py<PyAny>>, module: &str, name: &str, message: String) -> PyErr {
    match cached(py, cell, module, name).and_then(|class| class.call1((message,))) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// `__clear__` of an object field: drops the reference (the field reads `None`).
pub fn clear(field: &mut Py<PyAny>) {
    Python::attach(|py| *field = py.None());
}
