//! Round-trip time from echoed heartbeat timestamps, smoothed as RFC 6298
//! does for TCP (section 2): the first sample `R` sets `SRTT = R` and
//! `RTTVAR = R/2`; each later `R'` sets `RTTVAR = (1 - β)·RTTVAR + β·|SRTT - R'|`
//! then `SRTT = (1 - α)·SRTT + α·R'`, with `α = 1/8` and `β = 1/4`.
//!
//! Kept in nanoseconds (samples are whole microseconds), so the integer
//! arithmetic stays within a nanosecond per step of the real-valued formulas;
//! [`Rtt::srtt`] rounds to the nearest microsecond.

use crate::time::{Duration, Instant};

/// The largest sample taken: a longer "round trip" is a stale echo (or a
/// clock the peer echoed wrongly), not a measurement.
pub(crate) const MAX_SAMPLE: Duration = Duration::from_secs(60);

/// One peer's round-trip estimate and the heartbeat timestamps exchanged with it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rtt {
    /// Smoothed RTT, ns (`None` before the first sample).
    srtt: Option<u64>,
    /// RTT variation, ns.
    rttvar: u64,
    /// The peer's `sent_at` of its last heartbeat and this node's time when it arrived.
    pub(crate) heard: Option<(Instant, Instant)>,
    /// The newest echo of this node's timestamp taken as a sample (each once).
    last_echo: Instant,
}

impl Rtt {
    /// The smoothed RTT, to the nearest microsecond.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt.map(|ns| Duration::from_micros(ns.saturating_add(500) / 1000))
    }

    /// The RTT variation, to the nearest microsecond.
    pub(crate) fn rttvar(&self) -> Duration {
        Duration::from_micros(self.rttvar.saturating_add(500) / 1000)
    }

    /// Takes one sample `r` (RFC 6298 (2.2) for the first, (2.3) after).
    pub(crate) fn sample(&mut self, r: Duration) {
        let r = r.total_micros().saturating_mul(1000);
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                // (1 - 1/4)·RTTVAR + 1/4·|SRTT - R'|, rounded to nearest.
                let dev = u128::from(srtt.abs_diff(r));
                let rttvar = (3 * u128::from(self.rttvar) + dev + 2) / 4;
                // (1 - 1/8)·SRTT + 1/8·R', rounded to nearest.
                let srtt = (7 * u128::from(srtt) + u128::from(r) + 4) / 8;
                self.rttvar = u64::try_from(rttvar).unwrap_or(u64::MAX);
                self.srtt = Some(u64::try_from(srtt).unwrap_or(u64::MAX));
            }
        }
    }

    /// An echo of this node's heartbeat `sent_at`, held `held` by the peer,
    /// arriving at `now`: a sample if it is newer than the last one taken and
    /// gives a round trip of at most [`MAX_SAMPLE`]. Returns whether it did.
    pub(crate) fn echo(&mut self, now: Instant, sent_at: Instant, held: Duration) -> bool {
        if sent_at <= self.last_echo || sent_at > now {
            return false;
        }
        let r = now.saturating_duration_since(sent_at).total_micros();
        let Some(r) = r.checked_sub(held.total_micros()) else { return false };
        let r = Duration::from_micros(r);
        if r > MAX_SAMPLE {
            return false;
        }
        self.last_echo = sent_at;
        self.sample(r);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6298 in real numbers.
    struct Reference {
        srtt: f64,
        rttvar: f64,
    }

    impl Reference {
        fn new(r: f64) -> Self {
            Reference { srtt: r, rttvar: r / 2.0 }
        }
        fn sample(&mut self, r: f64) {
            let (alpha, beta) = (1.0 / 8.0, 1.0 / 4.0);
            self.rttvar = (1.0 - beta) * self.rttvar + beta * (self.srtt - r).abs();
            self.srtt = (1.0 - alpha) * self.srtt + alpha * r;
        }
    }

    #[test]
    fn smoothing_follows_rfc_6298() {
        // A fixed pseudo-random walk of samples, 100 µs to 500 ms.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut samples = std::vec::Vec::new();
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(100 + x % 500_000);
        }
        // Then a step change (the estimate must follow it).
        samples.extend(core::iter::repeat_n(20_000, 200));
        let mut rtt = Rtt::default();
        let mut reference: Option<Reference> = None;
        for &us in &samples {
            rtt.sample(Duration::from_micros(us));
            match reference.as_mut() {
                None => reference = Some(Reference::new(us as f64)),
                Some(r) => r.sample(us as f64),
            }
            let r = reference.as_ref().unwrap();
            let srtt = rtt.srtt().unwrap().total_micros() as f64;
            let rttvar = rtt.rttvar().total_micros() as f64;
            // Rounded to the microsecond, within a nanosecond of drift per step.
            assert!((srtt - r.srtt).abs() <= 1.0, "srtt {srtt} vs {}", r.srtt);
            assert!((rttvar - r.rttvar).abs() <= 1.0, "rttvar {rttvar} vs {}", r.rttvar);
        }
        assert_eq!(rtt.srtt(), Some(Duration::from_micros(20_000)));
    }

    #[test]
    fn the_first_sample_sets_srtt_and_half_of_it_as_variation() {
        let mut rtt = Rtt::default();
        assert_eq!(rtt.srtt(), None);
        rtt.sample(Duration::from_millis(10));
        assert_eq!(rtt.srtt(), Some(Duration::from_millis(10)));
        assert_eq!(rtt.rttvar(), Duration::from_millis(5));
        rtt.sample(Duration::from_millis(18));
        // RTTVAR = 3/4·5 + 1/4·8 = 5.75; SRTT = 7/8·10 + 1/8·18 = 11.
        assert_eq!(rtt.rttvar(), Duration::from_micros(5750));
        assert_eq!(rtt.srtt(), Some(Duration::from_millis(11)));
    }

    #[test]
    fn echoes_give_one_sample_each_and_refuse_nonsense() {
        let mut rtt = Rtt::default();
        let t = Instant::from_secs(100);
        // Sent at t, held 3 ms by the peer, back at t + 10 ms: 7 ms.
        assert!(rtt.echo(t + Duration::from_millis(10), t, Duration::from_millis(3)));
        assert_eq!(rtt.srtt(), Some(Duration::from_millis(7)));
        // The same echo again (the peer heard nothing newer): no second sample.
        assert!(!rtt.echo(t + Duration::from_millis(20), t, Duration::from_millis(3)));
        // An older one, one from the future, one held longer than the round trip.
        assert!(!rtt.echo(t + Duration::from_secs(1), t - Duration::from_millis(1), Duration::ZERO));
        let later = t + Duration::from_secs(1);
        assert!(!rtt.echo(later, later + Duration::from_millis(1), Duration::ZERO));
        assert!(!rtt.echo(later, t + Duration::from_millis(500), Duration::from_millis(600)));
        // A "round trip" of minutes is a stale echo, not a sample.
        let t2 = t + Duration::from_secs(2);
        assert!(!rtt.echo(t2 + MAX_SAMPLE + Duration::from_millis(1), t2, Duration::ZERO));
        assert_eq!(rtt.srtt(), Some(Duration::from_millis(7)));
    }
}
