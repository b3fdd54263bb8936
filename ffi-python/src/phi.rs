//! `PhiAccrualDetector`: the core's phi-accrual detector for one monitored
//! process, with every time in float seconds.

use crate::errors::{config_error, error};
use crate::time::{duration, instant};
use pouw_netops::ErrorKind;
use pouw_netops::phi::PhiConfig;
use pyo3::prelude::*;

/// The window capacity: `max_sample_size` may not exceed it.
const WINDOW: usize = 1000;

/// Akka's phi-accrual failure detector (sans-IO: every call takes `now` in seconds).
#[pyclass(name = "PhiAccrualDetector", module = "pouw_netops")]
pub struct PyPhiAccrualDetector {
    inner: pouw_netops::PhiAccrualDetector<WINDOW>,
}

#[pymethods]
impl PyPhiAccrualDetector {
    #[new]
    #[pyo3(signature = (
        threshold = 8.0,
        max_sample_size = 1000,
        min_std_deviation = 0.1,
        acceptable_heartbeat_pause = 0.0,
        first_heartbeat_estimate = 1.0,
    ))]
    fn new(
        threshold: f64,
        #[pyo3(from_py_with = crate::args::usize_arg)] max_sample_size: usize,
        min_std_deviation: f64,
        acceptable_heartbeat_pause: f64,
        first_heartbeat_estimate: f64,
    ) -> PyResult<Self> {
        if max_sample_size > WINDOW {
            return Err(error(
                ErrorKind::InvalidConfig,
                format!("invalid configuration: `max_sample_size` must be at most {WINDOW} (this binding's window)"),
            ));
        }
        let config = PhiConfig {
            threshold,
            max_sample_size,
            min_std_deviation: duration(min_std_deviation, "min_std_deviation")?,
            acceptable_heartbeat_pause: duration(acceptable_heartbeat_pause, "acceptable_heartbeat_pause")?,
            first_heartbeat_estimate: duration(first_heartbeat_estimate, "first_heartbeat_estimate")?,
        };
        let inner = pouw_netops::PhiAccrualDetector::new(config).map_err(config_error)?;
        Ok(PyPhiAccrualDetector { inner })
    }

    /// Records a heartbeat arriving at `now` (seconds).
    fn heartbeat(&mut self, now: f64) -> PyResult<()> {
        self.inner.heartbeat(instant(Some(now))?);
        Ok(())
    }

    /// Phi at `now` (seconds): 0 before any heartbeat, `inf` once the tail underflows.
    fn phi(&self, now: f64) -> PyResult<f64> {
        Ok(self.inner.phi(instant(Some(now))?))
    }

    /// Whether the process is available at `now` (phi below the threshold).
    fn is_available(&self, now: f64) -> PyResult<bool> {
        Ok(self.inner.is_available(instant(Some(now))?))
    }

    /// The phi threshold.
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.config().threshold
    }

    /// Intervals currently in the window (two seeded by the first heartbeat).
    #[getter]
    fn sample_count(&self) -> usize {
        self.inner.window().sample_count()
    }

    /// When the last heartbeat arrived (seconds), or `None` before any.
    #[getter]
    fn last_heartbeat(&self) -> Option<f64> {
        self.inner.window().last_heartbeat().map(|t| t.as_secs_f64())
    }

    /// Mean interval in seconds (before the acceptable pause is added).
    #[getter]
    fn mean_interval(&self) -> f64 {
        self.inner.window().mean_micros() / 1e6
    }

    /// Population standard deviation of intervals in seconds (before the floor).
    #[getter]
    fn std_deviation(&self) -> f64 {
        self.inner.window().std_deviation_micros() / 1e6
    }

    fn __repr__(&self) -> String {
        format!(
            "PhiAccrualDetector(threshold={}, samples={})",
            self.inner.config().threshold,
            self.inner.window().sample_count()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPhiAccrualDetector>()
}
