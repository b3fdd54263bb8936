//! Caller-supplied time: the core never reads a clock.
//!
//! [`Instant`] and [`Duration`] are plain `u64` microsecond counts, in the style of
//! smoltcp. All arithmetic saturates, so no input can make the core panic or wrap.
//! [`MonotonicClock`] clamps a clock that goes backwards to the latest time seen.

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};
use serde::{Deserialize, Serialize};

/// A point in time, in microseconds since an epoch the caller chooses.
///
/// The core only compares instants and subtracts them, so any monotonic origin
/// works (process start, Unix epoch, a simulator's zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant {
    micros: u64,
}

/// A span of time in microseconds. Never negative: subtraction saturates at zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration {
    micros: u64,
}

const MICROS_PER_MILLI: u64 = 1_000;
const MICROS_PER_SEC: u64 = 1_000_000;

/// The constructors and accessors [`Instant`] and [`Duration`] share: both are
/// a count of microseconds, `$from` (after the epoch, or long), that saturates at
/// `MAX`, and a negative or NaN float becomes `$zero`.
macro_rules! micros_count {
    ($ty:ident, $from:literal, $zero:literal) => {
        impl $ty {
            #[doc = concat!("`micros` microseconds ", $from, ".")]
            pub const fn from_micros(micros: u64) -> Self {
                $ty { micros }
            }

            #[doc = concat!("`millis` milliseconds ", $from, " (saturating).")]
            pub const fn from_millis(millis: u64) -> Self {
                $ty { micros: millis.saturating_mul(MICROS_PER_MILLI) }
            }

            #[doc = concat!("`secs` seconds ", $from, " (saturating).")]
            pub const fn from_secs(secs: u64) -> Self {
                $ty { micros: secs.saturating_mul(MICROS_PER_SEC) }
            }

            #[doc = concat!("Fractional seconds ", $from, "; negative and NaN become ", $zero, ", values past")]
            #[doc = concat!("[`", stringify!($ty), "::MAX`] saturate.")]
            pub fn from_secs_f64(secs: f64) -> Self {
                $ty { micros: secs_f64_to_micros(secs) }
            }

            #[doc = concat!("Microseconds ", $from, ".")]
            pub const fn total_micros(self) -> u64 {
                self.micros
            }

            #[doc = concat!("Whole milliseconds ", $from, ".")]
            pub const fn total_millis(self) -> u64 {
                self.micros / MICROS_PER_MILLI
            }

            #[doc = concat!("Seconds ", $from, " as a float.")]
            pub fn as_secs_f64(self) -> f64 {
                self.micros as f64 / MICROS_PER_SEC as f64
            }
        }
    };
}

micros_count!(Instant, "after the epoch", "the epoch");
micros_count!(Duration, "long", "zero");

impl Instant {
    /// The epoch.
    pub const ZERO: Instant = Instant { micros: 0 };
    /// The latest representable instant; arithmetic saturates here.
    pub const MAX: Instant = Instant { micros: u64::MAX };

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration { micros: self.micros.saturating_sub(earlier.micros) }
    }

    /// `self + d`, or `None` past [`Instant::MAX`].
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.micros.checked_add(d.micros) {
            Some(micros) => Some(Instant { micros }),
            None => None,
        }
    }

    /// `self - d`, or `None` before the epoch.
    pub const fn checked_sub(self, d: Duration) -> Option<Instant> {
        match self.micros.checked_sub(d.micros) {
            Some(micros) => Some(Instant { micros }),
            None => None,
        }
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { micros: 0 };
    /// The longest representable span; arithmetic saturates here.
    pub const MAX: Duration = Duration { micros: u64::MAX };

    /// Whole seconds.
    pub const fn total_secs(self) -> u64 {
        self.micros / MICROS_PER_SEC
    }

    /// `self * k`, saturating.
    pub const fn saturating_mul(self, k: u64) -> Duration {
        Duration { micros: self.micros.saturating_mul(k) }
    }

    /// `self / k`; division by zero gives [`Duration::MAX`] for a non-zero span
    /// and zero for a zero span, never a panic.
    pub const fn saturating_div(self, k: u64) -> Duration {
        match self.micros.checked_div(k) {
            Some(micros) => Duration { micros },
            None if self.micros == 0 => Duration::ZERO,
            None => Duration::MAX,
        }
    }

    /// `self + other`, saturating.
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration { micros: self.micros.saturating_add(other.micros) }
    }

    /// `self - other`, zero if `other` is longer.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration { micros: self.micros.saturating_sub(other.micros) }
    }
}

/// Converts float seconds to microseconds, rounded half away from zero (as
/// `libm::round`): NaN and negatives give 0, huge values saturate.
fn secs_f64_to_micros(secs: f64) -> u64 {
    round_to_u64(secs * MICROS_PER_SEC as f64)
}

/// `x` rounded half away from zero, as `libm::round(x) as u64` (NaN, -0.0
/// and negatives 0, saturating at 2^64) without the `round` call, a software
/// routine in `no_std` that each timestamped Python call made twice. Below
/// 2^64 the whole part is the truncation and `x − whole` is exact (below 2^52
/// both lie on the grid of `x`'s ulp; above, `x` is an integer), so
/// comparing it with one half rounds exactly.
fn round_to_u64(x: f64) -> u64 {
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    if x >= TWO_64 {
        return u64::MAX;
    }
    let whole = x as u64;
    if x - whole as f64 >= 0.5 { whole + 1 } else { whole }
}

/// `$t $op Duration` by `u64::$saturating` on the microseconds (so it
/// saturates at both ends), and its assigning form.
macro_rules! saturating_op {
    ($t:ident, $op:ident::$f:ident, $assign:ident::$af:ident, $saturating:ident) => {
        impl $op<Duration> for $t {
            type Output = $t;
            fn $f(self, rhs: Duration) -> $t {
                $t { micros: self.micros.$saturating(rhs.micros) }
            }
        }

        impl $assign<Duration> for $t {
            fn $af(&mut self, rhs: Duration) {
                *self = $op::$f(*self, rhs);
            }
        }
    };
}

saturating_op!(Instant, Add::add, AddAssign::add_assign, saturating_add);
saturating_op!(Instant, Sub::sub, SubAssign::sub_assign, saturating_sub);
saturating_op!(Duration, Add::add, AddAssign::add_assign, saturating_add);
saturating_op!(Duration, Sub::sub, SubAssign::sub_assign, saturating_sub);

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating: an `rhs` later than `self` gives zero.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// Writes `micros` as seconds with six decimals, e.g. `12.000345s`.
fn write_secs(f: &mut fmt::Formatter<'_>, micros: u64) -> fmt::Result {
    write!(f, "{}.{:06}s", micros / MICROS_PER_SEC, micros % MICROS_PER_SEC)
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_secs(f, self.micros)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_secs(f, self.micros)
    }
}

#[cfg(feature = "std")]
impl From<std::time::Duration> for Duration {
    /// Saturates at [`Duration::MAX`]; sub-microsecond parts are truncated.
    fn from(d: std::time::Duration) -> Self {
        Duration { micros: u64::try_from(d.as_micros()).unwrap_or(u64::MAX) }
    }
}

#[cfg(feature = "std")]
impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        std::time::Duration::from_micros(d.micros)
    }
}

/// Clamps caller time so that it never goes backwards.
///
/// Every manager keeps one: an input stamped earlier than one already seen is
/// treated as happening at the latest time seen, never as a panic or a negative span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonotonicClock {
    latest: Instant,
}

impl MonotonicClock {
    /// A clock that has seen nothing yet (its latest time is the epoch).
    pub const fn new() -> Self {
        MonotonicClock { latest: Instant::ZERO }
    }

    /// Records `now` and returns it, or the latest time seen if `now` is earlier.
    pub fn observe(&mut self, now: Instant) -> Instant {
        if now > self.latest {
            self.latest = now;
        }
        self.latest
    }

    /// The latest time observed.
    pub const fn latest(&self) -> Instant {
        self.latest
    }
}

/// A [`MonotonicClock`] that re-anchors after a jump: the clock of a node that
/// must never go silent (the coordinator).
///
/// Host time is clamped to [`AnchoredClock::INPUT_MAX`] (so deadlines computed
/// from it never saturate at [`Instant::MAX`], which reads as "nothing to wait
/// for"), then shifted by an offset into the node's own time, which never goes
/// backwards. A host time that goes backwards by at most
/// [`AnchoredClock::REANCHOR_AFTER`] is clamped (jitter). One that goes
/// further back, typically real time after a single far-future `now`, moves
/// the anchor: the node's time stays where it is and from then on advances
/// with the host's, so its timers keep their cadence instead of waiting for
/// real time to catch up. [`AnchoredClock::to_host`] turns the node's
/// deadlines back into host time for `poll_timeout`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnchoredClock {
    latest: Instant,
    /// Node time minus host time.
    offset: Duration,
}

impl AnchoredClock {
    /// The latest host time taken as is; later ones are clamped to it (about
    /// 146 000 years after the epoch).
    pub const INPUT_MAX: Instant = Instant { micros: u64::MAX / 4 };
    /// The latest node time: twice [`AnchoredClock::INPUT_MAX`], so after one
    /// jump to the input limit and back the node still has as long to run.
    pub const NODE_MAX: Instant = Instant { micros: u64::MAX / 2 };
    /// How far host time may go backwards and be clamped before the clock re-anchors.
    pub const REANCHOR_AFTER: Duration = Duration { micros: MICROS_PER_SEC };

    /// A clock that has seen nothing yet.
    pub const fn new() -> Self {
        AnchoredClock { latest: Instant::ZERO, offset: Duration::ZERO }
    }

    /// Records host time `now` and returns the node's time for it.
    pub fn observe(&mut self, now: Instant) -> Instant {
        let t = self.peek(now);
        if t > self.latest {
            self.latest = t;
        } else if self.latest - t > Self::REANCHOR_AFTER {
            self.offset = self.latest - now.min(Self::INPUT_MAX);
        }
        self.latest
    }

    /// The node's time for host time `now`, without recording it (for views).
    /// It never passes [`AnchoredClock::NODE_MAX`] (only repeated jumps adding
    /// up to about 146 000 years get there; the node's time then stands still),
    /// so a deadline a period after it never saturates into [`Instant::MAX`].
    pub fn peek(&self, now: Instant) -> Instant {
        (now.min(Self::INPUT_MAX) + self.offset).min(Self::NODE_MAX)
    }

    /// The latest node time.
    pub const fn latest(&self) -> Instant {
        self.latest
    }

    /// A node-time deadline in host time ([`Instant::MAX`] stays as it is).
    pub fn to_host(&self, at: Instant) -> Instant {
        if at == Instant::MAX { at } else { at - self.offset }
    }
}

/// Counts events over a sliding hour (or any span) in fixed buckets.
///
/// Used for "crashes in the last hour" and "replacements in the last hour": the
/// count is exact to one bucket width, memory is constant, and recording is O(1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowCounter<const BUCKETS: usize> {
    bucket_width: Duration,
    /// `(bucket index since epoch, count)`; a slot holds the latest bucket mapped to it.
    slots: [(u64, u32); BUCKETS],
    total: u64,
}

impl<const BUCKETS: usize> WindowCounter<BUCKETS> {
    /// A counter over `BUCKETS` buckets of `bucket_width` each (a zero width is
    /// treated as one microsecond).
    pub const fn new(bucket_width: Duration) -> Self {
        let bucket_width = if bucket_width.micros == 0 { Duration::from_micros(1) } else { bucket_width };
        WindowCounter { bucket_width, slots: [(u64::MAX, 0); BUCKETS], total: 0 }
    }

    fn bucket(&self, at: Instant) -> u64 {
        at.micros / self.bucket_width.micros.max(1)
    }

    /// Records one event at `at`.
    pub fn record(&mut self, at: Instant) {
        self.total = self.total.saturating_add(1);
        let bucket = self.bucket(at);
        let Some(slot) = usize::try_from(bucket % BUCKETS.max(1) as u64).ok().and_then(|i| self.slots.get_mut(i))
        else {
            return;
        };
        if slot.0 == bucket {
            slot.1 = slot.1.saturating_add(1);
        } else if slot.0 == u64::MAX || slot.0 < bucket {
            *slot = (bucket, 1);
        }
        // An event older than the bucket already in its slot is outside the window: only `total` counts it.
    }

    /// Events recorded in the `BUCKETS` buckets ending with the one holding `now`.
    pub fn count(&self, now: Instant) -> u64 {
        let newest = self.bucket(now);
        let oldest = newest.saturating_sub(BUCKETS.saturating_sub(1) as u64);
        self.slots
            .iter()
            .filter(|(b, _)| *b != u64::MAX && *b >= oldest && *b <= newest)
            .map(|(_, c)| u64::from(*c))
            .sum()
    }

    /// Events recorded since creation.
    pub const fn total(&self) -> u64 {
        self.total
    }
}

/// A sliding one-hour counter in one-minute buckets.
pub type HourCounter = WindowCounter<60>;

impl HourCounter {
    /// A counter over the last hour, exact to one minute.
    pub const fn hourly() -> Self {
        WindowCounter::new(Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: `libm::round`, then `as` (saturating, NaN to 0).
    fn by_libm(x: f64) -> u64 {
        let r = libm::round(x);
        if r > 0.0 { r as u64 } else { 0 }
    }

    #[test]
    fn rounding_matches_libm_at_the_edges() {
        let below = |x: f64| f64::from_bits(x.to_bits() - 1);
        let two52 = 4_503_599_627_370_496.0;
        let xs = [
            0.5,
            below(0.5),
            1.5,
            2.5,
            below(2.5),
            two52 - 0.5,
            two52 - 1.5,
            two52 + 1.0,
            2.0 * two52 + 2.0,
            below(18_446_744_073_709_551_616.0),
            18_446_744_073_709_551_616.0,
            0.0,
            -0.0,
            -0.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
        ];
        for x in xs {
            assert_eq!(round_to_u64(x), by_libm(x), "{x:e}");
        }
    }

    proptest! {
        #[test]
        fn float_seconds_round_as_libm_does(bits in any::<u64>(), secs in 0.0f64..4e9, micros in any::<u64>()) {
            let whole = (micros >> 11) as f64;
            for x in [f64::from_bits(bits), secs * 1e6, whole + 0.5, whole - 0.5, micros as f64] {
                prop_assert_eq!(round_to_u64(x), by_libm(x), "{:e}", x);
            }
            prop_assert_eq!(secs_f64_to_micros(secs), by_libm(secs * 1e6));
        }
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(Instant::from_secs(1) - Instant::from_secs(2), Duration::ZERO);
        assert_eq!(Duration::MAX + Duration::from_micros(1), Duration::MAX);
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX);
        assert_eq!(Duration::from_secs(3).saturating_div(0), Duration::MAX);
        assert_eq!(Duration::ZERO.saturating_div(0), Duration::ZERO);
    }

    #[test]
    fn float_conversion_clamps() {
        assert_eq!(Duration::from_secs_f64(-1.0), Duration::ZERO);
        assert_eq!(Duration::from_secs_f64(f64::NAN), Duration::ZERO);
        assert_eq!(Duration::from_secs_f64(f64::INFINITY), Duration::MAX);
        assert_eq!(Duration::from_secs_f64(1.5).total_micros(), 1_500_000);
        assert_eq!(Instant::from_secs_f64(0.000_000_4), Instant::ZERO);
        assert_eq!(Instant::from_secs_f64(0.000_000_6), Instant::from_micros(1));
    }

    #[test]
    fn display_has_six_decimals() {
        extern crate alloc;
        use alloc::format;
        assert_eq!(format!("{}", Instant::from_micros(12_000_345)), "12.000345s");
        assert_eq!(format!("{}", Duration::from_millis(1500)), "1.500000s");
    }

    #[test]
    fn clock_clamps_backwards_time() {
        let mut clock = MonotonicClock::new();
        assert_eq!(clock.observe(Instant::from_secs(10)), Instant::from_secs(10));
        assert_eq!(clock.observe(Instant::from_secs(4)), Instant::from_secs(10));
        assert_eq!(clock.observe(Instant::from_secs(11)), Instant::from_secs(11));
    }

    #[test]
    fn hour_counter_forgets_after_an_hour() {
        let mut c = HourCounter::hourly();
        c.record(Instant::from_secs(10));
        c.record(Instant::from_secs(70));
        c.record(Instant::from_secs(3000));
        assert_eq!(c.count(Instant::from_secs(3000)), 3);
        // 10 s and 70 s fall in minutes 0 and 1; at minute 60 the window is minutes 1..=60.
        assert_eq!(c.count(Instant::from_secs(3600)), 2);
        assert_eq!(c.count(Instant::from_secs(3660)), 1);
        assert_eq!(c.count(Instant::from_secs(3000 + 3600)), 0);
        assert_eq!(c.total(), 3);
        // Recording far later reuses slots without counting stale buckets.
        c.record(Instant::from_secs(10 + 3600 * 5));
        assert_eq!(c.count(Instant::from_secs(10 + 3600 * 5)), 1);
    }
}
