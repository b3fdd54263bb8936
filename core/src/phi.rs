//! The phi-accrual failure detector (Hayashibara et al.), as Akka implements it.
//!
//! It follows the crate's [sans-IO contract](crate#the-sans-io-contract): time,
//! method kinds, drain order, errors and capacity.
//!
//! A bounded window of heartbeat inter-arrival intervals keeps a running sum and
//! sum of squares, so a heartbeat and a phi query are O(1). Phi is `-log10` of the
//! logistic approximation of the normal tail beyond the time since the last
//! heartbeat, with the mean lengthened by `acceptable_heartbeat_pause` and the
//! standard deviation floored at `min_std_deviation`.
//!
//! [`HeartbeatWindow`] is the config-free state, shared by the standalone
//! [`PhiAccrualDetector`] and by every node record of the crash-recovery manager.
//! When a heartbeat is recorded the window also solves, once, for the instant at
//! which phi will reach the threshold, so "is the node available?" is an integer
//! comparison; it agrees with `phi(now) < threshold` up to float rounding,
//! except under [`PhiParams::spaced`] parameters whose cap decides: the
//! instant is then earlier than phi's crossing.

use crate::error::ConfigError;
use crate::time::{Duration, Instant};
use heapless::Deque;

/// Detector parameters. Defaults: threshold 8, no sample cap beyond the window,
/// `min_std_deviation` 100 ms, no acceptable pause, first estimate 1 s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhiConfig {
    /// Phi at or above which a node is judged unavailable. In `(0, 300]`.
    pub threshold: f64,
    /// How many intervals the window keeps, at most the window capacity `W`
    /// (larger values are capped to `W`). At least 1.
    pub max_sample_size: usize,
    /// Floor of the standard deviation, so a very regular node is not judged
    /// dead on its first slightly late heartbeat. Greater than zero.
    pub min_std_deviation: Duration,
    /// Extra time added to the mean interval, tolerating GC pauses and the like.
    pub acceptable_heartbeat_pause: Duration,
    /// The interval assumed before any has been observed; the first heartbeat
    /// seeds the window with `estimate ± estimate/4`. Greater than zero.
    pub first_heartbeat_estimate: Duration,
}

impl Default for PhiConfig {
    fn default() -> Self {
        PhiConfig {
            threshold: 8.0,
            max_sample_size: usize::MAX,
            min_std_deviation: Duration::from_millis(100),
            acceptable_heartbeat_pause: Duration::ZERO,
            first_heartbeat_estimate: Duration::from_secs(1),
        }
    }
}

impl PhiConfig {
    /// Akka's cluster failure-detector settings: the defaults plus a 3 s
    /// acceptable heartbeat pause, so one or two lost heartbeats (or a GC
    /// pause) are not taken for a crash. The crash-recovery manager uses these.
    pub fn cluster() -> Self {
        PhiConfig { acceptable_heartbeat_pause: Duration::from_secs(3), ..PhiConfig::default() }
    }
}

/// The largest accepted threshold: beyond about 300 the normal tail underflows `f64`.
pub const MAX_PHI_THRESHOLD: f64 = 300.0;

const LN_10: f64 = core::f64::consts::LN_10;
const LOGISTIC_A: f64 = 1.5976;
const LOGISTIC_B: f64 = 0.070566;

/// A phi level turned into the standardized distance `y` at which phi reaches it,
/// so deadlines can be computed without inverting phi per node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhiLevel {
    phi: f64,
    y: f64,
}

impl PhiLevel {
    /// The level for `phi` (finite, in `(0, MAX_PHI_THRESHOLD]`).
    pub fn new(phi: f64) -> Result<Self, ConfigError> {
        if !(phi > 0.0 && phi <= MAX_PHI_THRESHOLD) {
            return Err(ConfigError::new("phi level", "a number in (0, 300]"));
        }
        Ok(PhiLevel { phi, y: solve_logistic_tail(phi) })
    }

    /// The phi value of this level.
    pub const fn phi(&self) -> f64 {
        self.phi
    }
}

/// Solves `phi(y) = target` for `y`, where `phi(y) = -log10(e / (1 + e))` and
/// `e = exp(-y (A + B y²))`; both of Akka's branches reduce to this equation.
///
/// With `p = 10^-target`, `e = p / (1 - p)`, so `A y + B y³ = ln((1 - p) / p)`:
/// a monotone cubic with one real root (Cardano), polished by Newton steps.
fn solve_logistic_tail(target: f64) -> f64 {
    let p = libm::pow(10.0, -target);
    let c = target * LN_10 + libm::log1p(-p);
    // y³ + P y + Q = 0 with P = A/B, Q = -c/B.
    let big_p = LOGISTIC_A / LOGISTIC_B;
    let big_q = -c / LOGISTIC_B;
    let disc = libm::sqrt(big_q * big_q / 4.0 + big_p * big_p * big_p / 27.0);
    let u = libm::cbrt(-big_q / 2.0 + disc);
    let mut y = if u == 0.0 { 0.0 } else { u - big_p / (3.0 * u) };
    for _ in 0..3 {
        let f = LOGISTIC_B * y * y * y + LOGISTIC_A * y - c;
        let df = 3.0 * LOGISTIC_B * y * y + LOGISTIC_A;
        y -= f / df;
    }
    y
}

/// Akka's phi for a time since the last heartbeat, given the mean (including the
/// acceptable pause) and standard deviation of intervals, all in the same unit.
///
/// Never NaN and never negative; it reaches `+∞` once the logistic tail underflows.
pub fn phi(elapsed: f64, mean: f64, std_deviation: f64) -> f64 {
    let y = (elapsed - mean) / std_deviation;
    let e = libm::exp(-y * (LOGISTIC_A + LOGISTIC_B * y * y));
    let value = if elapsed > mean { -libm::log10(e / (1.0 + e)) } else { -libm::log10(1.0 - 1.0 / (1.0 + e)) };
    // Maps -0.0 and any NaN (not expected: std_deviation > 0) to 0.
    if value > 0.0 { value } else { 0.0 }
}

/// Validated detector parameters with their derived constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhiParams {
    config: PhiConfig,
    threshold: PhiLevel,
    /// The longest silence, in microseconds, before any level is crossed
    /// (infinite but for [`PhiParams::spaced`]).
    patience: f64,
}

impl PhiParams {
    /// Validates `config`.
    pub fn new(config: PhiConfig) -> Result<Self, ConfigError> {
        let threshold =
            PhiLevel::new(config.threshold).map_err(|_| ConfigError::new("threshold", "a number in (0, 300]"))?;
        if config.max_sample_size == 0 {
            return Err(ConfigError::new("max_sample_size", "at least 1"));
        }
        if config.min_std_deviation == Duration::ZERO {
            return Err(ConfigError::new("min_std_deviation", "greater than zero"));
        }
        if config.first_heartbeat_estimate == Duration::ZERO {
            return Err(ConfigError::new("first_heartbeat_estimate", "greater than zero"));
        }
        Ok(PhiParams { config, threshold, patience: f64::INFINITY })
    }

    /// The configuration these parameters were built from.
    pub const fn config(&self) -> &PhiConfig {
        &self.config
    }

    /// The failure threshold as a level.
    pub const fn threshold(&self) -> PhiLevel {
        self.threshold
    }

    /// These parameters for a node that heartbeats only every `every`-th
    /// interval (`every` of 0 or 1 changes nothing). The first-heartbeat
    /// estimate and the acceptable pause are `every` times as long, so the
    /// window starts near the longer interval and as many heartbeats in a
    /// row may be lost as at the full rate. One loss among sparse heartbeats
    /// widens the deviation `every` times as much as at the full rate, though,
    /// so no level is crossed later than `every` times the crossing of a
    /// lossless window at the full rate (first estimate + pause + the
    /// threshold's distance times the deviation floor): the wait for a
    /// crashed node grows `every` times, no more. Where that cap decides,
    /// the phi at the crossing is below the level's.
    pub fn spaced(&self, every: u8) -> PhiParams {
        if every <= 1 {
            return *self;
        }
        let k = u64::from(every);
        let c = &self.config;
        let lossless = c.first_heartbeat_estimate.total_micros() as f64
            + c.acceptable_heartbeat_pause.total_micros() as f64
            + self.threshold.y * c.min_std_deviation.total_micros() as f64;
        let config = PhiConfig {
            acceptable_heartbeat_pause: c.acceptable_heartbeat_pause.saturating_mul(k),
            first_heartbeat_estimate: c.first_heartbeat_estimate.saturating_mul(k),
            ..*c
        };
        PhiParams { config, threshold: self.threshold, patience: lossless * f64::from(every) }
    }
}

/// The heartbeat history of one monitored node: bounded intervals with running
/// sums, the last arrival, cached statistics and the availability deadline.
#[derive(Clone, Debug)]
pub struct HeartbeatWindow<const W: usize> {
    intervals: Deque<u32, W>,
    sum: u64,
    squared_sum: u128,
    last: Option<Instant>,
    mean: f64,
    std_deviation: f64,
    available_until: Instant,
}

impl<const W: usize> Default for HeartbeatWindow<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize> HeartbeatWindow<W> {
    /// A window that has seen no heartbeat.
    pub const fn new() -> Self {
        HeartbeatWindow {
            intervals: Deque::new(),
            sum: 0,
            squared_sum: 0,
            last: None,
            mean: 0.0,
            std_deviation: 0.0,
            available_until: Instant::MAX,
        }
    }

    /// Records a heartbeat at `now`. The first one seeds the window from the
    /// estimate; later ones record their interval unless the node had already
    /// been judged unavailable (the outage is not a sample). An arrival earlier
    /// than the last one is clamped to it. Returns whether an interval was added.
    pub fn record(&mut self, now: Instant, params: &PhiParams) -> bool {
        let cap = params.config.max_sample_size.min(W);
        let added = match self.last {
            None => {
                self.seed(params, cap);
                true
            }
            Some(last) => {
                let now = now.max(last);
                if now < self.available_until {
                    self.push(now.saturating_duration_since(last).total_micros(), cap);
                    true
                } else {
                    false
                }
            }
        };
        self.last = Some(match self.last {
            Some(last) => now.max(last),
            None => now,
        });
        self.refresh(params);
        added
    }

    fn push(&mut self, interval_micros: u64, cap: usize) {
        // Intervals beyond ~71 minutes saturate; the node is long judged dead by then.
        let interval = u32::try_from(interval_micros).unwrap_or(u32::MAX);
        while self.intervals.len() >= cap {
            match self.intervals.pop_front() {
                Some(old) => self.forget(old),
                None => break,
            }
        }
        if self.intervals.push_back(interval).is_ok() {
            self.sum = self.sum.saturating_add(u64::from(interval));
            self.squared_sum = self.squared_sum.saturating_add(u128::from(interval) * u128::from(interval));
        }
    }

    fn forget(&mut self, interval: u32) {
        self.sum = self.sum.saturating_sub(u64::from(interval));
        self.squared_sum = self.squared_sum.saturating_sub(u128::from(interval) * u128::from(interval));
    }

    /// Forgets the intervals and starts again from `params`' first-heartbeat
    /// estimate, as at a first heartbeat, keeping the last heartbeat's time:
    /// for a node whose heartbeat rate changed on purpose. A window that has
    /// seen no heartbeat is left as it is.
    pub(crate) fn reseed(&mut self, params: &PhiParams) {
        if self.last.is_none() {
            return;
        }
        while let Some(old) = self.intervals.pop_front() {
            self.forget(old);
        }
        self.seed(params, params.config.max_sample_size.min(W));
        self.refresh(params);
    }

    /// The two intervals a window starts from: the estimate ± a quarter.
    fn seed(&mut self, params: &PhiParams, cap: usize) {
        let estimate = params.config.first_heartbeat_estimate.total_micros();
        let spread = estimate / 4;
        self.push(estimate.saturating_sub(spread), cap);
        self.push(estimate.saturating_add(spread), cap);
    }

    /// Recomputes the availability deadline under new `params` (after a
    /// configuration change; O(1)). The window keeps its intervals.
    pub(crate) fn retune(&mut self, params: &PhiParams) {
        self.refresh(params);
    }

    /// Recomputes mean, deviation and the availability deadline (O(1)).
    fn refresh(&mut self, params: &PhiParams) {
        let n = self.intervals.len() as u64;
        if n == 0 {
            self.mean = params.config.first_heartbeat_estimate.total_micros() as f64;
            self.std_deviation = 0.0;
        } else {
            self.mean = self.sum as f64 / n as f64;
            // Population variance, exact in integers: (n·Σx² − (Σx)²) / n².
            let n = u128::from(n);
            let spread = n.saturating_mul(self.squared_sum).saturating_sub(u128::from(self.sum) * u128::from(self.sum));
            // Converting a u128 to f64 is a library call; most spreads fit a u64.
            let spread = match u64::try_from(spread) {
                Ok(small) => small as f64,
                Err(_) => spread as f64,
            };
            self.std_deviation = libm::sqrt(spread) / n as f64;
        }
        self.available_until = self.crossing(params, params.threshold);
    }

    fn effective_mean(&self, params: &PhiParams) -> f64 {
        self.mean + params.config.acceptable_heartbeat_pause.total_micros() as f64
    }

    fn effective_std(&self, params: &PhiParams) -> f64 {
        self.std_deviation.max(params.config.min_std_deviation.total_micros() as f64)
    }

    /// The first instant at which phi reaches `level` (`Instant::MAX` before any
    /// heartbeat). Valid until the next heartbeat.
    pub fn crossing(&self, params: &PhiParams, level: PhiLevel) -> Instant {
        let Some(last) = self.last else {
            return Instant::MAX;
        };
        let elapsed = self.effective_mean(params) + level.y * self.effective_std(params);
        // Not `f64::min`: a library call on targets without double-precision hardware.
        let elapsed = if elapsed > params.patience { params.patience } else { elapsed };
        if elapsed.is_nan() || elapsed <= 0.0 {
            return last;
        }
        // For whole microseconds e: e < elapsed ⇔ e < ceil(elapsed). `as` truncates
        // and saturates; the comparison rounds up without a libm call.
        let whole = elapsed as u64;
        let micros = if (whole as f64) < elapsed { whole.saturating_add(1) } else { whole };
        last + Duration::from_micros(micros)
    }

    /// Phi at `now`: 0 before any heartbeat.
    pub fn phi(&self, now: Instant, params: &PhiParams) -> f64 {
        let Some(last) = self.last else { return 0.0 };
        let elapsed = now.saturating_duration_since(last).total_micros() as f64;
        phi(elapsed, self.effective_mean(params), self.effective_std(params))
    }

    /// Whether the node is available at `now` (phi below the threshold). A node
    /// never heard from is available.
    pub fn is_available(&self, now: Instant) -> bool {
        now < self.available_until
    }

    /// The instant phi reaches the threshold.
    pub const fn available_until(&self) -> Instant {
        self.available_until
    }

    /// When the last heartbeat arrived.
    pub const fn last_heartbeat(&self) -> Option<Instant> {
        self.last
    }

    /// Intervals in the window.
    pub fn sample_count(&self) -> usize {
        self.intervals.len()
    }

    /// Mean interval in microseconds (without the acceptable pause).
    pub const fn mean_micros(&self) -> f64 {
        self.mean
    }

    /// Population standard deviation of intervals in microseconds (before the floor).
    pub const fn std_deviation_micros(&self) -> f64 {
        self.std_deviation
    }
}

/// A standalone phi-accrual detector for one monitored process, with a window of
/// up to `W` intervals.
#[derive(Clone, Debug)]
pub struct PhiAccrualDetector<const W: usize> {
    params: PhiParams,
    window: HeartbeatWindow<W>,
}

impl<const W: usize> PhiAccrualDetector<W> {
    /// A detector with `config`, or why the config is invalid.
    pub fn new(config: PhiConfig) -> Result<Self, ConfigError> {
        Ok(PhiAccrualDetector { params: PhiParams::new(config)?, window: HeartbeatWindow::new() })
    }

    /// Records a heartbeat arriving at `now`.
    pub fn heartbeat(&mut self, now: Instant) {
        self.window.record(now, &self.params);
    }

    /// Phi at `now`.
    pub fn phi(&self, now: Instant) -> f64 {
        self.window.phi(now, &self.params)
    }

    /// Whether the process is available at `now` (phi below the threshold).
    pub fn is_available(&self, now: Instant) -> bool {
        self.window.is_available(now)
    }

    /// The detector's configuration.
    pub const fn config(&self) -> &PhiConfig {
        &self.params.config
    }

    /// The heartbeat history.
    pub const fn window(&self) -> &HeartbeatWindow<W> {
        &self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    /// Akka's formula, written out independently in milliseconds as in Akka's source.
    fn akka_phi(time_diff: f64, mean: f64, std: f64) -> f64 {
        let y = (time_diff - mean) / std;
        let e = (-y * (1.5976 + 0.070566 * y * y)).exp();
        if time_diff > mean { -(e / (1.0 + e)).log10() } else { -(1.0 - 1.0 / (1.0 + e)).log10() }
    }

    fn detector(cfg: PhiConfig) -> PhiAccrualDetector<1000> {
        PhiAccrualDetector::new(cfg).unwrap()
    }

    #[test]
    fn phi_matches_akka_reference_values() {
        // Values from Akka's AccrualFailureDetectorSpec: phi(0, 0, 10) ≈ 0.3, phi(-1000, 0, 10) small.
        assert!((phi(0.0, 0.0, 10.0) - core::f64::consts::LOG10_2).abs() < 1e-12);
        assert!(phi(-1000.0, 0.0, 10.0) < 1e-10);
        for (t, m, s) in
            [(1100.0, 1000.0, 100.0), (1500.0, 1000.0, 120.0), (800.0, 1000.0, 50.0), (2200.0, 1000.0, 300.0)]
        {
            let expected = akka_phi(t, m, s);
            assert!((phi(t, m, s) - expected).abs() <= 1e-12 * expected.max(1.0), "{t} {m} {s}");
        }
    }

    #[test]
    fn phi_before_any_heartbeat_is_zero_and_node_available() {
        let d = detector(PhiConfig::default());
        assert_eq!(d.phi(ms(100_000)), 0.0);
        assert!(d.is_available(ms(100_000)));
    }

    #[test]
    fn first_heartbeat_bootstraps_from_estimate() {
        let mut d = detector(PhiConfig::default());
        d.heartbeat(ms(0));
        let w = d.window();
        assert_eq!(w.sample_count(), 2);
        assert_eq!(w.mean_micros(), 1_000_000.0);
        assert_eq!(w.std_deviation_micros(), 250_000.0);
        // One estimate later, phi is Akka's phi at the mean: -log10(0.5).
        assert!((d.phi(ms(1000)) - core::f64::consts::LOG10_2).abs() < 1e-12);
    }

    #[test]
    fn phi_grows_with_elapsed_time_and_crosses_threshold() {
        let mut d = detector(PhiConfig::default());
        for i in 0..10 {
            d.heartbeat(ms(i * 1000));
        }
        let last = 9000;
        let mut previous = 0.0;
        for t in (last..last + 10_000).step_by(50) {
            let p = d.phi(ms(t));
            assert!(p >= previous);
            previous = p;
        }
        assert!(d.is_available(ms(last + 1000)));
        assert!(!d.is_available(ms(last + 10_000)));
        let until = d.window().available_until();
        assert!(d.phi(until) >= 8.0);
        assert!(d.phi(until - Duration::from_micros(1)) < 8.0);
    }

    #[test]
    fn does_not_record_the_outage_interval() {
        let mut d = detector(PhiConfig::default());
        for i in 0..5 {
            d.heartbeat(ms(i * 1000));
        }
        let before = d.window().sample_count();
        assert!(!d.is_available(ms(4000 + 60_000)));
        d.heartbeat(ms(4000 + 60_000));
        assert_eq!(d.window().sample_count(), before);
        assert_eq!(d.window().mean_micros(), 1_000_000.0);
        // The next regular interval is recorded again.
        d.heartbeat(ms(4000 + 61_000));
        assert_eq!(d.window().sample_count(), before + 1);
    }

    #[test]
    fn full_window_drops_oldest() {
        let cfg = PhiConfig { max_sample_size: 3, ..PhiConfig::default() };
        let mut d = detector(cfg);
        d.heartbeat(ms(0)); // seeds 750 and 1250
        d.heartbeat(ms(100)); // 100
        d.heartbeat(ms(300)); // 200: drops 750
        let w = d.window();
        assert_eq!(w.sample_count(), 3);
        assert_eq!(w.mean_micros(), (1_250_000.0 + 100_000.0 + 200_000.0) / 3.0);
        // Capped by the const window too.
        let mut small: PhiAccrualDetector<2> = PhiAccrualDetector::new(PhiConfig::default()).unwrap();
        for i in 0..10 {
            small.heartbeat(ms(i * 500));
        }
        assert_eq!(small.window().sample_count(), 2);
        assert_eq!(small.window().mean_micros(), 500_000.0);
    }

    #[test]
    fn acceptable_pause_and_min_std_apply() {
        let regular = PhiConfig { first_heartbeat_estimate: Duration::from_millis(1000), ..PhiConfig::default() };
        let paused = PhiConfig { acceptable_heartbeat_pause: Duration::from_secs(3), ..regular };
        let mut a = detector(regular);
        let mut b = detector(paused);
        for i in 0..20 {
            a.heartbeat(ms(i * 1000));
            b.heartbeat(ms(i * 1000));
        }
        // Perfectly regular: std is 0 before the floor; the floor keeps phi finite and moderate.
        let t = ms(19_000 + 1_200);
        assert!(a.phi(t).is_finite());
        assert!(b.phi(t) < a.phi(t));
        assert!(b.is_available(ms(19_000 + 3_500)));
        assert!(!a.is_available(ms(19_000 + 3_500)));
    }

    #[test]
    fn backwards_clock_is_clamped() {
        let mut d = detector(PhiConfig::default());
        d.heartbeat(ms(5000));
        d.heartbeat(ms(4000));
        assert_eq!(d.window().last_heartbeat(), Some(ms(5000)));
        assert_eq!(d.window().sample_count(), 3);
        assert_eq!(d.phi(ms(1000)), d.phi(ms(5000)));
    }

    #[test]
    fn phi_saturates_without_nan() {
        let mut d = detector(PhiConfig::default());
        d.heartbeat(ms(0));
        d.heartbeat(ms(1000));
        let p = d.phi(Instant::MAX);
        assert!(p.is_infinite() && p > 0.0);
        assert!(!phi(f64::MAX, 0.0, 1.0).is_nan());
        assert_eq!(phi(0.0, f64::MAX, 1.0), 0.0);
    }

    #[test]
    fn config_is_validated() {
        assert!(PhiParams::new(PhiConfig { threshold: 0.0, ..PhiConfig::default() }).is_err());
        assert!(PhiParams::new(PhiConfig { threshold: f64::NAN, ..PhiConfig::default() }).is_err());
        assert!(PhiParams::new(PhiConfig { threshold: 301.0, ..PhiConfig::default() }).is_err());
        assert!(PhiParams::new(PhiConfig { max_sample_size: 0, ..PhiConfig::default() }).is_err());
        assert!(PhiParams::new(PhiConfig { min_std_deviation: Duration::ZERO, ..PhiConfig::default() }).is_err());
        assert!(
            PhiParams::new(PhiConfig { first_heartbeat_estimate: Duration::ZERO, ..PhiConfig::default() }).is_err()
        );
    }

    #[test]
    fn solved_level_matches_phi() {
        for target in [0.1, core::f64::consts::LOG10_2, 1.0, 4.0, 8.0, 16.0, 50.0, 120.0] {
            let level = PhiLevel::new(target).unwrap();
            let at = phi(level.y, 0.0, 1.0);
            assert!((at - target).abs() < 1e-9 * target.max(1.0), "{target}: {at}");
        }
    }

    /// Heartbeats every `every` seconds from 0 to `until` s into a window under `params`.
    fn spaced_window(params: &PhiParams, every: u64, until: u64, lost: &[u64]) -> HeartbeatWindow<32> {
        let mut w = HeartbeatWindow::new();
        for t in (0..=until).step_by(every as usize).filter(|t| !lost.contains(t)) {
            w.record(Instant::from_secs(t), params);
        }
        w
    }

    #[test]
    fn spacing_one_changes_nothing() {
        let p = PhiParams::new(PhiConfig::cluster()).unwrap();
        assert_eq!(p.spaced(1), p);
        assert_eq!(p.spaced(0), p);
    }

    #[test]
    fn a_spaced_detector_tolerates_as_many_lost_heartbeats_as_the_full_rate_one() {
        let full = PhiParams::new(PhiConfig::cluster()).unwrap();
        let spaced = full.spaced(3);
        assert_eq!(spaced.config().acceptable_heartbeat_pause, Duration::from_secs(9));
        assert_eq!(spaced.config().first_heartbeat_estimate, Duration::from_secs(3));
        // Two heartbeats lost in a row: 3 s of silence at the full rate, 9 s
        // at every third interval. Both detectors still hold the node up; the
        // full-rate parameters applied to the sparse heartbeats would not.
        let last = Instant::from_secs(90);
        assert!(spaced_window(&full, 1, 90, &[]).is_available(last + Duration::from_secs(3)));
        assert!(spaced_window(&spaced, 3, 90, &[]).is_available(last + Duration::from_secs(9)));
        assert!(!spaced_window(&full, 3, 90, &[]).is_available(last + Duration::from_secs(9)));
    }

    #[test]
    fn a_spaced_detector_waits_at_most_every_times_a_lossless_full_rate_one() {
        let full = PhiParams::new(PhiConfig::cluster()).unwrap();
        // Full rate, no loss: the mean is 1 s and the deviation at its floor.
        let lossless = spaced_window(&full, 1, 60, &[]).available_until() - Instant::from_secs(60);
        for every in [2u8, 3, 5] {
            let spaced = full.spaced(every);
            let e = u64::from(every);
            // Losses widen the deviation: uncapped, the crossing would be later than every × lossless.
            let lost: std::vec::Vec<u64> = (1..6).map(|i| i * 10 * e).collect();
            let w = spaced_window(&spaced, e, 60 * e, &lost);
            let last = w.last_heartbeat().unwrap();
            let waits = w.available_until() - last;
            let bound = lossless.saturating_mul(e) + Duration::from_micros(1);
            assert!(waits <= bound, "every {every}: waits {waits:?}, bound {bound:?}");
            assert!(w.crossing(&spaced, PhiLevel::new(1.0).unwrap()) <= w.available_until());
        }
    }

    #[test]
    fn a_reseeded_window_keeps_its_last_heartbeat_and_starts_from_the_estimate() {
        let full = PhiParams::new(PhiConfig::cluster()).unwrap();
        let mut w = spaced_window(&full, 1, 40, &[]);
        assert_eq!(w.sample_count(), 32);
        let spaced = full.spaced(3);
        w.reseed(&spaced);
        assert_eq!(w.sample_count(), 2);
        assert_eq!(w.last_heartbeat(), Some(Instant::from_secs(40)));
        assert!((w.mean_micros() - 3_000_000.0).abs() < 1.0);
        // A window that never heard a heartbeat stays empty.
        let mut empty = HeartbeatWindow::<32>::new();
        empty.reseed(&spaced);
        assert_eq!(empty.sample_count(), 0);
        assert_eq!(empty.available_until(), Instant::MAX);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn phi_is_monotone_and_never_nan(
                intervals in proptest::collection::vec(1u64..5_000_000, 1..50),
                probe in proptest::collection::vec(0u64..100_000_000, 2..20),
            ) {
                let mut d = detector(PhiConfig::default());
                let mut t = 0u64;
                d.heartbeat(Instant::from_micros(t));
                for i in intervals { t += i; d.heartbeat(Instant::from_micros(t)); }
                let mut probe = probe;
                probe.sort_unstable();
                let mut previous = 0.0f64;
                for p in probe {
                    let now = Instant::from_micros(t + p);
                    let value = d.phi(now);
                    prop_assert!(!value.is_nan());
                    prop_assert!(value >= previous * (1.0 - 1e-12));
                    previous = value;
                    // Availability agrees with phi < threshold away from float rounding at the boundary.
                    if (value - 8.0).abs() > 1e-9 {
                        prop_assert_eq!(d.is_available(now), value < 8.0);
                    }
                }
            }
        }
    }
}
