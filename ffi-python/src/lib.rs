//! `pouw_netops._native`: the private native module of the Python package `pouw_netops`.
//!
//! A thin layer over the core (see docs/architecture.md): it converts Python
//! values to core types (float seconds to microsecond [`Instant`](pouw_netops::Instant)s, `str` to
//! bounded ids), core errors to the Python exception hierarchy defined in
//! `pouw_netops/_errors.py`, and core results back to Python values. The old
//! API's six classes (`LeaderElectionManager`, …, `NetworkOperationsManager`)
//! are this module's classes themselves, registered under their public names
//! next to the core classes they hold; the other Python-facing shapes of the
//! old API (enums, most data classes, the live views of containers) are built
//! by the pure-Python half of the package, and the two data classes built on
//! hot paths, `NodeHealthMetrics` and `NetworkMessage`, are native (`types`).
//! `py` has what the old-API classes share.
//!
//! Each component lives in its own module here, mirroring `core/src`; a new
//! manager slots in as one more module plus one `register` call below.

#[macro_use]
mod dict;

mod args;
mod crash_recovery;
mod election;
mod errors;
mod history;
mod identity;
mod json;
mod mesh;
mod operations;
mod ops;
mod phi;
mod py;
mod quorum;
mod time;
mod types;
mod wire;
mod workers;

use pyo3::prelude::*;

/// The native module. Registered names are private to the package; the public
/// names are re-exported by `pouw_netops/__init__.py`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PanicException", m.py().get_type::<pyo3::panic::PanicException>())?;
    #[cfg(feature = "panic-probe")]
    m.add_function(wrap_pyfunction!(trigger_panic, m)?)?;
    errors::register(m)?;
    types::register(m)?;
    phi::register(m)?;
    crash_recovery::register(m)?;
    wire::register(m)?;
    election::register(m)?;
    workers::register(m)?;
    history::register(m)?;
    json::register(m)?;
    mesh::register(m)?;
    identity::register(m)?;
    quorum::register(m)?;
    ops::register(m)?;
    operations::register(m)?;
    m.add_class::<Noop>()?;
    Ok(())
}

/// A native method that does nothing: the floor the benchmarks compare the
/// hot calls against (`ffi-python/bench/floor.py`), measured in the same run.
#[pyclass(module = "pouw_netops._native", frozen)]
struct Noop;

#[pymethods]
impl Noop {
    #[new]
    fn new() -> Self {
        Noop
    }

    /// Takes one or two arguments and an optional `now`, as the hot calls do; returns `False`.
    #[pyo3(signature = (a, b = None, now = None))]
    fn call(&self, a: &Bound<'_, PyAny>, b: Option<&Bound<'_, PyAny>>, now: Option<f64>) -> bool {
        let _ = (a, b, now);
        false
    }
}

/// Panics inside the core, for the test that proves a panic becomes a Python
/// exception (`PanicException`) instead of aborting the interpreter. Only in
/// builds with the test-only `panic-probe` feature (the test suite's wheel).
#[cfg(feature = "panic-probe")]
#[pyfunction]
#[pyo3(name = "_trigger_panic")]
fn trigger_panic() -> PyResult<()> {
    pouw_netops::testing::trigger_panic()
}
