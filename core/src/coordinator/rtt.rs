//! Round-trip time from echoed heartbeat timestamps, smoothed as RFC 6298
//! does for TCP (section 2): the first sample `R` sets `SRTT = R` and
//! `RTTVAR = R/2`; each later `R'` sets `RTTVAR = (1 - β)·RTTVAR + β·|SRTT - R'|`
//! then `SRTT = (1 - α)·SRTT + α·R'`, with `α = 1/8` and `β = 1/4`.
//!
//! `SRTT` has one store: the peer's mesh tunnel, which smooths each sample
//! itself ([`crate::mesh::VPNMeshTopologyManager::record_latency`], `α = 1/8`
//! in nanoseconds) and routes with it. This module keeps the rest per peer:
//! `RTTVAR` (computed against the tunnel's `SRTT` before the sample), the
//! peer's last heartbeat timestamp to echo, and the newest echo taken.
//! Kept in nanoseconds (samples are whole microseconds), so the integer
//! arithmetic stays within a nanosecond per step of the real-valued formulas;
//! [`Rtt::rttvar`] rounds to the nearest microsecond.

use crate::time::{Duration, Instant};

/// The largest sample taken: a longer "round trip" is a stale echo (or a
/// clock the peer echoed wrongly), not a measurement.
pub(crate) const MAX_SAMPLE: Duration = Duration::from_secs(60);

/// One peer's round-trip variation and the heartbeat timestamps exchanged with it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rtt {
    /// RTT variation, ns.
    rttvar: u64,
    /// The peer's `sent_at` of its last heartbeat and this node's time when it arrived.
    pub(crate) heard: Option<(Instant, Instant)>,
    /// The newest echo of this node's timestamp taken as a sample (each once).
    last_echo: Instant,
    /// Samples taken, up to [`SETTLED_SAMPLES`].
    samples: u8,
}

/// Samples after which the smoothed round trip has mostly forgotten its
/// first (`(7/8)⁸ ≈ 0.34` of it left): until then the tunnel's latency is a
/// few noisy samples, and a spaced peer still gets every heartbeat
/// ([`crate::coordinator::OpsConfig::follower_heartbeat_every`]).
pub(crate) const SETTLED_SAMPLES: u8 = 8;

impl Rtt {
    /// Whether [`SETTLED_SAMPLES`] samples were taken since the first.
    pub(crate) fn settled(&self) -> bool {
        self.samples >= SETTLED_SAMPLES
    }

    /// The tunnel's latency is unmeasured again: the count starts over.
    pub(crate) fn unsettle(&mut self) {
        self.samples = 0;
    }

    /// The RTT variation, to the nearest microsecond.
    pub(crate) fn rttvar(&self) -> Duration {
        Duration::from_micros(self.rttvar.saturating_add(500) / 1000)
    }

    /// Takes sample `r` into the variation, given the smoothed RTT before it
    /// (`None`: `r` is the first sample), RFC 6298 (2.2) and (2.3).
    pub(crate) fn vary(&mut self, srtt_ns: Option<u64>, r: Duration) {
        self.samples = if srtt_ns.is_none() { 1 } else { self.samples.saturating_add(1).min(SETTLED_SAMPLES) };
        let r = r.total_micros().saturating_mul(1000);
        self.rttvar = match srtt_ns {
            None => r / 2,
            // (1 - 1/4)·RTTVAR + 1/4·|SRTT - R'|, rounded to nearest.
            Some(srtt) => {
                let dev = u128::from(srtt.abs_diff(r));
                u64::try_from((3 * u128::from(self.rttvar) + dev + 2) / 4).unwrap_or(u64::MAX)
            }
        };
    }

    /// An echo of this node's heartbeat `sent_at`, held `held` by the peer,
    /// arriving at `now`: the round-trip sample, if it is newer than the last
    /// one taken and at most [`MAX_SAMPLE`] (then it is not taken again).
    pub(crate) fn echo(&mut self, now: Instant, sent_at: Instant, held: Duration) -> Option<Duration> {
        if sent_at <= self.last_echo || sent_at > now {
            return None;
        }
        let r = now.saturating_duration_since(sent_at).total_micros();
        let r = Duration::from_micros(r.checked_sub(held.total_micros())?);
        if r > MAX_SAMPLE {
            return None;
        }
        self.last_echo = sent_at;
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::{Endpoint, MeshConfig, MeshNode, TunnelProtocol, WgKey};
    use crate::preset::small::VPNMeshTopologyManager as Mesh;

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

    use crate::test_support::id;

    /// The pair the coordinator keeps for one peer: the mesh tunnel (`SRTT`)
    /// and the [`Rtt`] (`RTTVAR`), sampled as the coordinator samples them.
    struct Pair {
        mesh: Mesh,
        rtt: Rtt,
    }

    impl Pair {
        fn new() -> Self {
            let mut mesh = Mesh::new(MeshConfig::new(id("a"))).unwrap();
            for (i, n) in ["a", "b"].into_iter().enumerate() {
                let endpoint = Endpoint::parse(&std::format!("192.0.2.{}:51820", i + 1)).unwrap();
                mesh.join_mesh(Instant::ZERO, MeshNode::new(id(n), WgKey::from_bytes([i as u8 + 1; 32]), endpoint))
                    .unwrap();
            }
            mesh.establish_tunnel(Instant::ZERO, &id("a"), &id("b"), TunnelProtocol::WireGuard).unwrap();
            Pair { mesh, rtt: Rtt::default() }
        }
        fn sample(&mut self, r: Duration) {
            let before = self.mesh.srtt_ns(&id("a"), &id("b")).unwrap();
            self.rtt.vary(before, r);
            self.mesh.record_latency(Instant::ZERO, &id("a"), &id("b"), r).unwrap();
        }
        fn srtt(&self) -> Option<Duration> {
            self.mesh.tunnel(&id("a"), &id("b")).unwrap().latency
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
        let mut pair = Pair::new();
        let mut reference: Option<Reference> = None;
        for &us in &samples {
            pair.sample(Duration::from_micros(us));
            match reference.as_mut() {
                None => reference = Some(Reference::new(us as f64)),
                Some(r) => r.sample(us as f64),
            }
            let r = reference.as_ref().unwrap();
            let srtt = pair.srtt().unwrap().total_micros() as f64;
            let rttvar = pair.rtt.rttvar().total_micros() as f64;
            // Rounded to the microsecond, within a few nanoseconds of drift.
            assert!((srtt - r.srtt).abs() <= 0.5 + 0.008 + 1e-6, "srtt {srtt} vs {}", r.srtt);
            assert!((rttvar - r.rttvar).abs() <= 0.5 + 0.008 + 1e-6, "rttvar {rttvar} vs {}", r.rttvar);
        }
        assert_eq!(pair.srtt(), Some(Duration::from_micros(20_000)));
    }

    #[test]
    fn the_first_sample_sets_srtt_and_half_of_it_as_variation() {
        let mut pair = Pair::new();
        assert_eq!(pair.srtt(), None);
        pair.sample(Duration::from_millis(10));
        assert_eq!(pair.srtt(), Some(Duration::from_millis(10)));
        assert_eq!(pair.rtt.rttvar(), Duration::from_millis(5));
        pair.sample(Duration::from_millis(18));
        // RTTVAR = 3/4·5 + 1/4·8 = 5.75; SRTT = 7/8·10 + 1/8·18 = 11.
        assert_eq!(pair.rtt.rttvar(), Duration::from_micros(5750));
        assert_eq!(pair.srtt(), Some(Duration::from_millis(11)));
    }

    #[test]
    fn echoes_give_one_sample_each_and_refuse_nonsense() {
        let mut rtt = Rtt::default();
        let t = Instant::from_secs(100);
        // Sent at t, held 3 ms by the peer, back at t + 10 ms: 7 ms.
        assert_eq!(
            rtt.echo(t + Duration::from_millis(10), t, Duration::from_millis(3)),
            Some(Duration::from_millis(7))
        );
        // The same echo again (the peer heard nothing newer): no second sample.
        assert_eq!(rtt.echo(t + Duration::from_millis(20), t, Duration::from_millis(3)), None);
        // An older one, one from the future, one held longer than the round trip.
        assert_eq!(rtt.echo(t + Duration::from_secs(1), t - Duration::from_millis(1), Duration::ZERO), None);
        let later = t + Duration::from_secs(1);
        assert_eq!(rtt.echo(later, later + Duration::from_millis(1), Duration::ZERO), None);
        assert_eq!(rtt.echo(later, t + Duration::from_millis(500), Duration::from_millis(600)), None);
        // A "round trip" of minutes is a stale echo, not a sample.
        let t2 = t + Duration::from_secs(2);
        assert_eq!(rtt.echo(t2 + MAX_SAMPLE + Duration::from_millis(1), t2, Duration::ZERO), None);
        // A newer, sensible one is taken.
        assert_eq!(rtt.echo(t2 + Duration::from_millis(4), t2, Duration::ZERO), Some(Duration::from_millis(4)));
    }
}
