//! Time conversion: Python float seconds ↔ the core's microsecond `Instant`/`Duration`.
//!
//! The old API reads `time.time()`; so does `now=None` here (the wall clock in
//! seconds since the Unix epoch, read once per call). Non-finite values are
//! rejected, and so are negative spans (latencies, response times,
//! intervals: `InvalidArgumentError`, never silently 0). A negative `now`
//! clamps to the epoch (time going backwards, which the core clamps anyway),
//! and a huge one saturates at `AnchoredClock::INPUT_MAX`, below
//! `Instant::MAX`, which the core reads as "no deadline".

use crate::errors::{core_error, invalid};
use pouw_netops::health::HealthThresholds;
use pouw_netops::time::AnchoredClock;
use pouw_netops::{Duration, HealthMetrics, Instant};
use pyo3::prelude::*;

/// `now` as an `Instant`: `None` reads the wall clock like `time.time()`.
pub fn instant(now: Option<f64>) -> PyResult<Instant> {
    match now {
        // Saturates below `Instant::MAX` (which reads as "no deadline"), where the core clamps input anyway.
        Some(secs) => finite(secs, "now").map(|s| Instant::from_secs_f64(s).min(AnchoredClock::INPUT_MAX)),
        None => {
            let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            Ok(Instant::from_micros(u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX)))
        }
    }
}

/// A manager's own time: the latest `now` it was given explicitly, for the
/// writes that cannot take one (property setters, live-container writes,
/// calls a class makes on the user's behalf).
///
/// Every explicit `now` a core wrapper converts goes through [`OwnTime::input`];
/// a write without `now` passes on [`OwnTime::get`]: that latest `now`, or
/// `None` (the wall clock, as `time.time()`) if none was ever given. So a
/// manager driven on a simulated clock stays on it, and one never given `now`
/// stays on the wall clock. The core decides what the time means.
#[derive(Clone, Copy, Debug, Default)]
pub struct OwnTime(Option<f64>);

impl OwnTime {
    /// `now` as an `Instant` (see [`instant`]); an explicit one is remembered.
    pub fn input(&mut self, now: Option<f64>) -> PyResult<Instant> {
        let at = instant(now)?;
        if now.is_some() {
            self.0 = now;
        }
        Ok(at)
    }

    /// The `now` of a write that cannot take one: the latest given, or `None`
    /// (the wall clock) if the manager was never given one.
    pub fn get(self) -> Option<f64> {
        self.0
    }
}

/// A span in float seconds as a `Duration`.
pub fn duration(secs: f64, what: &str) -> PyResult<Duration> {
    nonnegative(secs, what).map(Duration::from_secs_f64)
}

/// A span in float seconds as a `Duration`; a negative span is refused (it
/// would be stored as 0), as is NaN or an infinity.
fn nonnegative(value: f64, what: &str) -> PyResult<f64> {
    let value = finite(value, what)?;
    if value < 0.0 { Err(invalid(format!("`{what}` must not be negative (got {value})"))) } else { Ok(value) }
}

fn finite(value: f64, what: &str) -> PyResult<f64> {
    if value.is_finite() { Ok(value) } else { Err(invalid(format!("`{what}` must be a finite number of seconds"))) }
}

/// A stored `f32` fraction as the Python float a person would have written:
/// the shortest decimal that round-trips the `f32` (`0.95`, not `0.949999988…`).
pub fn fraction(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// The names of the health figures a caller gives, in the order [`metrics`]
/// takes them: `response_time` in seconds, then the five fractions.
pub const FIGURES: [&str; 6] =
    ["response_time", "success_rate", "task_completion_rate", "bandwidth_utilization", "cpu_usage", "memory_usage"];

/// Health figures from their Python values, in the order of [`FIGURES`];
/// only the response time is checked (finite, not negative).
pub fn figures([response_time, success, completion, bandwidth, cpu, memory]: [f64; 6]) -> PyResult<HealthMetrics> {
    Ok(HealthMetrics {
        response_time: duration(response_time, "response_time")?,
        success_rate: success as f32,
        task_completion_rate: completion as f32,
        bandwidth_utilization: bandwidth as f32,
        cpu_usage: cpu as f32,
        memory_usage: memory as f32,
    })
}

/// [`figures`], checked as a manager checks them (fractions in `[0, 1]`).
pub fn metrics(values: [f64; 6]) -> PyResult<HealthMetrics> {
    let metrics = figures(values)?;
    metrics.validate().map_err(core_error)?;
    Ok(metrics)
}

/// The core's default thresholds (heartbeat younger than 30 s, success rate
/// above 0.8, response time below 5 s, CPU and memory below 0.9) at `now`.
/// Out-of-range fractions are judged as given, not rejected: a metrics record
/// is only data until it is fed to a manager.
pub fn healthy(now: Instant, last_heartbeat: f64, values: [f64; 6]) -> PyResult<bool> {
    let last = Instant::from_secs_f64(finite(last_heartbeat, "last_heartbeat")?);
    Ok(HealthThresholds::default().is_healthy(now, last, &figures(values)?))
}
