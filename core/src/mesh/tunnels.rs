//! Tunnels: their records, handshakes, health with WireGuard's timers, and `poll_timeout`.

use super::*;

/// Health of one tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelState {
    /// No handshake yet.
    Connecting,
    /// A recent handshake: traffic flows; the only state routes use.
    Up,
    /// The last handshake is older than `stale_after`.
    Stale,
    /// `failures_to_down` failures in a row; waiting for `successes_to_up` handshakes.
    Down,
}

impl TunnelState {
    /// The lowercase name (`"connecting"`, `"up"`, `"stale"`, `"down"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TunnelState::Connecting => "connecting",
            TunnelState::Up => "up",
            TunnelState::Stale => "stale",
            TunnelState::Down => "down",
        }
    }
}

crate::error::names!(TunnelState, "tunnel state", "connecting, up, stale, down", [Connecting, Up, Stale, Down]);

/// A request to the host to set up a down tunnel again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReestablishRequest {
    /// One end (the lower node id).
    pub a: NodeId,
    /// The other end.
    pub b: NodeId,
    /// The tunnel's protocol.
    pub protocol: TunnelProtocol,
    /// 1 for the first request after going down, then 2, 3, ...
    pub attempt: u32,
    /// When it was issued.
    pub at: Instant,
}

/// What one [`VPNMeshTopologyManager::monitor_tunnel_health`] call found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunnelHealthReport {
    /// Tunnels recorded.
    pub tunnels: usize,
    /// Tunnels never handshaked.
    pub connecting: usize,
    /// Tunnels up.
    pub up: usize,
    /// Tunnels stale.
    pub stale: usize,
    /// Tunnels down.
    pub down: usize,
    /// Tunnels whose state changed in this call.
    pub changed: usize,
    /// Up tunnels due for a rekey (handshake older than `rekey_after`).
    pub rekey_due: usize,
    /// Re-establish requests issued in this call (queued or dropped).
    pub reestablish_requests: usize,
    /// Whether the routes were recomputed.
    pub routes_recomputed: bool,
}
/// A read-only view of one tunnel.
#[derive(Clone, Copy, Debug)]
pub struct TunnelView<'a> {
    /// One end (lower node id).
    pub a: &'a NodeId,
    /// The other end.
    pub b: &'a NodeId,
    /// Protocol.
    pub protocol: TunnelProtocol,
    /// Health.
    pub state: TunnelState,
    /// Last handshake.
    pub last_handshake: Option<Instant>,
    /// Smoothed round-trip time.
    pub latency: Option<Duration>,
    /// Bytes received, as last reported.
    pub rx_bytes: u64,
    /// Bytes sent, as last reported.
    pub tx_bytes: u64,
    /// Throughput between the last two traffic reports, bytes per second.
    pub bandwidth: u64,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Tunnel {
    protocol: TunnelProtocol,
    established: Instant,
    last_handshake: Option<Instant>,
    pub(super) state: TunnelState,
    explicit_failures: u32,
    successes: u32,
    /// The smoothed RTT in nanoseconds (`None` before the first sample):
    /// smoothing at this precision keeps repeated `7/8` steps from drifting by
    /// their truncations. Routing and views read it to the nearest microsecond
    /// ([`Tunnel::srtt`]); only this one field is kept, for the small presets' RAM.
    srtt_ns: Option<u64>,
    rx: u64,
    tx: u64,
    traffic_at: Option<Instant>,
    pub(super) bandwidth: u64,
    retry_attempt: u32,
    next_retry: Instant,
    /// UNIX seconds of the last handshake WireGuard reported (0: none), so a
    /// report repeating it is not taken for a new one.
    reported_handshake: u64,
}

impl Tunnel {
    /// The smoothed RTT to the nearest microsecond, what routing and views use.
    pub(super) fn srtt(&self) -> Option<Duration> {
        self.srtt_ns.map(|ns| Duration::from_micros(ns.saturating_add(500) / 1000))
    }
}

/// What one [`VPNMeshTopologyManager::record_latest_handshakes`] call found,
/// line by line (blank lines are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandshakeReport {
    /// Lines that named a tunnel of the local node with a handshake newer than
    /// the last one reported: recorded as handshakes at their time.
    pub recorded: usize,
    /// Lines repeating the handshake already recorded.
    pub unchanged: usize,
    /// Lines saying "never" (0) for a tunnel of the local node.
    pub never: usize,
    /// Lines whose key is not a node of the mesh with a tunnel to the local node.
    pub unknown_peers: usize,
    /// Lines not of the form `<base64 key> <seconds>`.
    pub malformed: usize,
    /// Tunnels whose state changed.
    pub changed: usize,
}
impl<const N: usize, const E: usize, const Q: usize> VPNMeshTopologyManager<N, E, Q> {
    pub(super) fn pair_of(&self, a: &NodeId, b: &NodeId) -> Result<(u32, u32), TunnelError> {
        let sa = self.slot(a).ok_or_else(|| TunnelError::UnknownNode(a.clone()))?;
        let sb = self.slot(b).ok_or_else(|| TunnelError::UnknownNode(b.clone()))?;
        if sa == sb {
            return Err(TunnelError::SelfLink);
        }
        Ok(pair(sa, sb))
    }

    /// Records a tunnel between `a` and `b` (one record per unordered pair). An
    /// existing record keeps its history; only a change of protocol resets it.
    pub fn establish_tunnel(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
        protocol: TunnelProtocol,
    ) -> Result<TunnelState, TunnelError> {
        let now = self.clock.observe(now);
        let key = self.pair_of(a, b)?;
        let before = self.weight_of(key);
        let fresh = Tunnel {
            protocol,
            established: now,
            last_handshake: None,
            state: TunnelState::Connecting,
            explicit_failures: 0,
            successes: 0,
            srtt_ns: None,
            rx: 0,
            tx: 0,
            traffic_at: None,
            bandwidth: 0,
            retry_attempt: 0,
            next_retry: now,
            reported_handshake: 0,
        };
        match self.edges.get_mut(&key) {
            Some(e) => match &mut e.tunnel {
                Some(t) if t.protocol == protocol => Ok(t.state),
                t => {
                    *t = Some(fresh);
                    self.routes_dirty = true;
                    self.link_changed(key, before);
                    Ok(TunnelState::Connecting)
                }
            },
            None => {
                let record = EdgeRecord { tunnel: Some(fresh), link: None };
                self.edges.insert(key, record).map_err(|_| TunnelError::TableFull { capacity: E })?;
                self.link_changed(key, before);
                Ok(TunnelState::Connecting)
            }
        }
    }

    /// Removes the tunnel record between `a` and `b` (a link known from adverts stays).
    pub fn remove_tunnel(&mut self, now: Instant, a: &NodeId, b: &NodeId) -> Result<(), TunnelError> {
        self.clock.observe(now);
        let key = self.pair_of(a, b)?;
        let before = self.weight_of(key);
        let e = self.edges.get_mut(&key).ok_or(TunnelError::UnknownTunnel)?;
        e.tunnel.take().ok_or(TunnelError::UnknownTunnel)?;
        if e.link.is_none() {
            self.edges.remove(&key);
            // The table moves its last record into the gap, so the order a
            // rebuild takes the links in changes: rebuild, to stay identical.
            self.csr_stale = true;
        }
        self.link_changed(key, before);
        self.routes_dirty = true;
        Ok(())
    }

    fn tunnel_mut(&mut self, a: &NodeId, b: &NodeId) -> Result<&mut Tunnel, TunnelError> {
        let key = self.pair_of(a, b)?;
        self.edges.get_mut(&key).and_then(|e| e.tunnel.as_mut()).ok_or(TunnelError::UnknownTunnel)
    }

    /// A handshake completed on the local node's tunnel to `peer`.
    pub fn record_handshake(&mut self, now: Instant, peer: &NodeId) -> Result<TunnelState, TunnelError> {
        let local = self.config.local.clone();
        self.record_tunnel_handshake(now, &local, peer)
    }

    /// A handshake completed on the tunnel between `a` and `b`.
    pub fn record_tunnel_handshake(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
    ) -> Result<TunnelState, TunnelError> {
        self.update_tunnel(now, a, b, |t, now| {
            t.last_handshake = Some(now);
            t.explicit_failures = 0;
            if t.state == TunnelState::Down {
                t.successes = t.successes.saturating_add(1);
            }
        })
    }

    /// Applies what `wg show <interface> latest-handshakes` printed: one line
    /// per peer, its public key and the UNIX time in seconds of its latest
    /// handshake, `0` if none yet, separated by a tab (or spaces).
    /// `unix_now` is the host's UNIX time in seconds at `now`. A handshake
    /// newer than the last one reported for that tunnel is recorded as having
    /// happened `unix_now - seconds` before `now` (health then follows it:
    /// rekey due at `rekey_after`, stale past `stale_after`); anything else
    /// changes nothing and is counted. Total: any text is accepted, line by
    /// line, in O(lines × nodes).
    pub fn record_latest_handshakes(&mut self, now: Instant, unix_now: u64, text: &str) -> HandshakeReport {
        let now = self.clock.observe(now);
        let mut report = HandshakeReport::default();
        let Some(local) = self.local_slot() else {
            report.unknown_peers = text.lines().filter(|l| !l.trim().is_empty()).count();
            return report;
        };
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let (key, secs) = match (fields.next(), fields.next(), fields.next()) {
                (None, ..) => continue,
                (Some(k), Some(s), None) => (k, s),
                _ => {
                    report.malformed += 1;
                    continue;
                }
            };
            let (Ok(key), Ok(secs)) = (WgKey::from_base64(key), secs.parse::<u64>()) else {
                report.malformed += 1;
                continue;
            };
            let peer = (0..self.slots.len() as u32)
                .find(|&s| s != local && self.record(s).is_some_and(|r| r.public_key == key));
            let Some(peer) = peer else {
                report.unknown_peers += 1;
                continue;
            };
            let timers = match self.edges.get(&pair(local, peer)).and_then(|e| e.tunnel.as_ref()) {
                Some(t) => *self.config.timers(t.protocol),
                None => {
                    report.unknown_peers += 1;
                    continue;
                }
            };
            let Some(t) = self.edges.get_mut(&pair(local, peer)).and_then(|e| e.tunnel.as_mut()) else { continue };
            if secs == 0 {
                report.never += 1;
                continue;
            }
            if secs <= t.reported_handshake {
                report.unchanged += 1;
                continue;
            }
            t.reported_handshake = secs;
            let age = Duration::from_secs(unix_now.saturating_sub(secs));
            let at = now.checked_sub(age).unwrap_or(Instant::ZERO).max(t.established);
            let before = t.state;
            if t.last_handshake.is_none_or(|h| h < at) {
                t.last_handshake = Some(at);
            }
            t.explicit_failures = 0;
            if t.state == TunnelState::Down {
                t.successes = t.successes.saturating_add(1);
            }
            let after = evaluate(t, now, &timers);
            report.recorded += 1;
            if before != after {
                report.changed += 1;
                self.routes_dirty = true;
                // A tunnel's weight is set exactly when it is up.
                self.csr_stale |= (before == TunnelState::Up) != (after == TunnelState::Up);
            }
        }
        report
    }

    /// A handshake attempt on the tunnel between `a` and `b` failed (counts toward going down).
    pub fn record_handshake_failure(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
    ) -> Result<TunnelState, TunnelError> {
        self.update_tunnel(now, a, b, |t, _| {
            t.explicit_failures = t.explicit_failures.saturating_add(1);
            t.successes = 0;
        })
    }

    /// Applies `change` to the tunnel between `a` and `b` at `now` (clamped),
    /// re-evaluates its state and marks the routes dirty if the state changed.
    fn update_tunnel(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
        change: impl FnOnce(&mut Tunnel, Instant),
    ) -> Result<TunnelState, TunnelError> {
        let now = self.clock.observe(now);
        let timers = self.timers_of(a, b)?;
        let t = self.tunnel_mut(a, b)?;
        let before = t.state;
        change(t, now);
        let after = evaluate(t, now, &timers);
        self.routes_dirty |= before != after;
        // A tunnel's weight is set exactly when it is up.
        self.csr_stale |= (before == TunnelState::Up) != (after == TunnelState::Up);
        Ok(after)
    }

    fn timers_of(&self, a: &NodeId, b: &NodeId) -> Result<TunnelTimers, TunnelError> {
        let key = self.pair_of(a, b)?;
        let t = self.edges.get(&key).and_then(|e| e.tunnel.as_ref()).ok_or(TunnelError::UnknownTunnel)?;
        Ok(*self.config.timers(t.protocol))
    }

    /// A round-trip time measured on the tunnel between `a` and `b`, smoothed as
    /// TCP does (`srtt = 7/8 srtt + 1/8 rtt`, RFC 6298, the first sample taken as
    /// is). Smoothing runs in nanoseconds, so the result is within 0.5 µs (the
    /// rounding) + 8 ns (truncations, which the 7/8 decay bounds) of the exact
    /// average of the microsecond samples, however many there are; saturating.
    pub fn record_latency(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
        rtt: Duration,
    ) -> Result<Duration, TunnelError> {
        self.clock.observe(now);
        let key = self.pair_of(a, b)?;
        let before = self.weight_of(key);
        let t = self.tunnel_mut(a, b)?;
        let sample = u128::from(rtt.total_micros()) * 1000;
        let ns = match t.srtt_ns {
            None => sample,
            Some(old) => (u128::from(old) * 7 + sample) / 8,
        };
        t.srtt_ns = Some(u64::try_from(ns).unwrap_or(u64::MAX));
        let srtt = t.srtt().unwrap_or(Duration::ZERO);
        self.link_changed(key, before);
        self.routes_dirty = true;
        Ok(srtt)
    }

    /// The smoothed RTT of the tunnel between `a` and `b` in nanoseconds, as
    /// [`Self::record_latency`] keeps it (`None` before the first sample): the
    /// node's RFC 6298 variation is computed against it before each sample.
    #[cfg(feature = "alloc")]
    pub(crate) fn srtt_ns(&self, a: &NodeId, b: &NodeId) -> Result<Option<u64>, TunnelError> {
        let key = self.pair_of(a, b)?;
        let t = self.edges.get(&key).and_then(|e| e.tunnel.as_ref()).ok_or(TunnelError::UnknownTunnel)?;
        Ok(t.srtt_ns)
    }

    /// Cumulative byte counters of the tunnel between `a` and `b` (as `wg show
    /// transfer` prints them); the throughput is the change since the last report.
    /// Counters that went down (a restarted interface) start a new baseline.
    pub fn record_traffic(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
        rx_bytes: u64,
        tx_bytes: u64,
    ) -> Result<u64, TunnelError> {
        let now = self.clock.observe(now);
        let t = self.tunnel_mut(a, b)?;
        if let Some(prev) = t.traffic_at
            && rx_bytes >= t.rx
            && tx_bytes >= t.tx
        {
            let bytes = u128::from(rx_bytes - t.rx) + u128::from(tx_bytes - t.tx);
            let micros = u128::from(now.saturating_duration_since(prev).total_micros());
            if let Some(rate) = (bytes * 1_000_000).checked_div(micros) {
                t.bandwidth = u64::try_from(rate).unwrap_or(u64::MAX);
            }
        } else {
            t.bandwidth = 0;
        }
        t.rx = rx_bytes;
        t.tx = tx_bytes;
        t.traffic_at = Some(now);
        Ok(t.bandwidth)
    }

    /// Re-evaluates every tunnel's health at `now`, queues re-establish requests
    /// for down tunnels that are due, and recomputes routes if anything that
    /// routing depends on changed.
    pub fn monitor_tunnel_health(&mut self, now: Instant) -> TunnelHealthReport {
        let now = self.clock.observe(now);
        let mut report = TunnelHealthReport::default();
        let VPNMeshTopologyManager {
            config,
            edges,
            slots,
            reestablish,
            dropped_reestablish,
            routes_dirty,
            csr_stale,
            ..
        } = self;
        for (&(a, b), e) in edges.iter_mut() {
            let Some(t) = e.tunnel.as_mut() else { continue };
            let timers = config.timers(t.protocol);
            let before = t.state;
            let after = evaluate(t, now, timers);
            if before != after {
                report.changed += 1;
                *routes_dirty = true;
                // A tunnel's weight is set exactly when it is up.
                *csr_stale |= (before == TunnelState::Up) != (after == TunnelState::Up);
            }
            report.tunnels += 1;
            match after {
                TunnelState::Connecting => report.connecting += 1,
                TunnelState::Up => {
                    report.up += 1;
                    let age = t.last_handshake.map_or(Duration::ZERO, |h| now - h);
                    if age >= timers.rekey_after {
                        report.rekey_due += 1;
                    }
                }
                TunnelState::Stale => report.stale += 1,
                TunnelState::Down => report.down += 1,
            }
            if after == TunnelState::Down && t.next_retry <= now {
                t.retry_attempt = t.retry_attempt.saturating_add(1);
                let shift = t.retry_attempt.saturating_sub(1).min(63);
                let wait = config.reestablish_backoff.saturating_mul(1u64 << shift).min(config.reestablish_backoff_max);
                t.next_retry = now + wait;
                report.reestablish_requests += 1;
                let id = |s: u32| slots.get(s as usize).and_then(Option::as_ref).map(|r| &r.id);
                let (Some(x), Some(y)) = (id(a), id(b)) else { continue };
                let (a, b) = if x <= y { (x.clone(), y.clone()) } else { (y.clone(), x.clone()) };
                let request = ReestablishRequest { a, b, protocol: t.protocol, attempt: t.retry_attempt, at: now };
                if reestablish.push_back(request).is_err() {
                    *dropped_reestablish = dropped_reestablish.saturating_add(1);
                }
            }
        }
        if self.routes_dirty {
            self.recompute_routes(now);
            report.routes_recomputed = true;
        }
        report
    }

    /// The next re-establish request for the host, oldest first.
    pub fn poll_reestablish(&mut self) -> Option<ReestablishRequest> {
        self.reestablish.pop_front()
    }

    /// The next change of the local node's next hops, oldest first.
    pub fn poll_route_change(&mut self) -> Option<RouteChange> {
        self.route_changes.pop_front()
    }

    /// The next output of either queue: re-establish requests first, then
    /// route changes (the sans-IO contract's single event drain; the two
    /// typed `poll_*` methods drain the same queues one at a time).
    pub fn poll_event(&mut self) -> Option<MeshEvent> {
        self.poll_reestablish()
            .map(MeshEvent::Reestablish)
            .or_else(|| self.poll_route_change().map(MeshEvent::RouteChanged))
    }

    /// The earliest instant at which [`VPNMeshTopologyManager::monitor_tunnel_health`]
    /// could find something new without any other input: a tunnel going stale
    /// or counting one more failure, or a down tunnel's re-establish request
    /// coming due. Never later than that instant (it may be earlier when a
    /// failure counts without changing the state); [`Instant::MAX`] when no
    /// tunnel is recorded. O(tunnels).
    pub fn poll_timeout(&self) -> Instant {
        let now = self.clock.latest();
        let mut next = Instant::MAX;
        for e in self.edges.values() {
            let Some(t) = e.tunnel.as_ref() else { continue };
            next = next.min(next_tunnel_deadline(t, now, self.config.timers(t.protocol)));
        }
        next
    }

    /// The tunnel between `a` and `b`.
    pub fn tunnel(&self, a: &NodeId, b: &NodeId) -> Option<TunnelView<'_>> {
        let key = self.pair_of(a, b).ok()?;
        let e = self.edges.get(&key)?;
        self.tunnel_view(key, e)
    }

    /// All tunnels, in record order (deterministic).
    pub fn tunnels(&self) -> impl Iterator<Item = TunnelView<'_>> {
        self.edges.iter().filter_map(|(&k, e)| self.tunnel_view(k, e))
    }

    fn tunnel_view(&self, (a, b): (u32, u32), e: &EdgeRecord) -> Option<TunnelView<'_>> {
        let t = e.tunnel.as_ref()?;
        let (x, y) = (self.id_of(a)?, self.id_of(b)?);
        let (a, b) = if x <= y { (x, y) } else { (y, x) };
        Some(TunnelView {
            a,
            b,
            protocol: t.protocol,
            state: t.state,
            last_handshake: t.last_handshake,
            latency: t.srtt(),
            rx_bytes: t.rx,
            tx_bytes: t.tx,
            bandwidth: t.bandwidth,
        })
    }
}

/// When `evaluate` could next see `t` differently, without a new handshake or
/// failure: a down tunnel at its re-establish time; any other once its last
/// handshake (or its start) is older than `stale_after`, then at each further
/// `failure_interval`, each counting one failure.
fn next_tunnel_deadline(t: &Tunnel, now: Instant, timers: &TunnelTimers) -> Instant {
    if t.state == TunnelState::Down {
        return t.next_retry.max(now);
    }
    let stale_at = t.last_handshake.unwrap_or(t.established) + timers.stale_after;
    if now <= stale_at {
        // `since > stale_after` first holds one microsecond later.
        return stale_at + Duration::from_micros(1);
    }
    let interval = timers.failure_interval.total_micros().max(1);
    let past = (now - stale_at).total_micros();
    let timeouts = (past / interval).saturating_add(1);
    stale_at + Duration::from_micros(timeouts.saturating_mul(interval))
}

/// The state a tunnel is in at `now`; updates it (and its counters) in place.
fn evaluate(t: &mut Tunnel, now: Instant, timers: &TunnelTimers) -> TunnelState {
    let since = now.saturating_duration_since(t.last_handshake.unwrap_or(t.established));
    let fresh = t.last_handshake.is_some() && since <= timers.stale_after;
    let timeouts = if since > timers.stale_after {
        // Saturating: `elapsed / 1 µs` is u64::MAX at the end of time.
        ((since - timers.stale_after).total_micros() / timers.failure_interval.total_micros().max(1)).saturating_add(1)
    } else {
        0
    };
    let failures = u64::from(t.explicit_failures).saturating_add(timeouts);
    let next = match t.state {
        TunnelState::Down if fresh && t.successes >= timers.successes_to_up => TunnelState::Up,
        TunnelState::Down => TunnelState::Down,
        _ if failures >= u64::from(timers.failures_to_down) => TunnelState::Down,
        _ if t.last_handshake.is_none() => TunnelState::Connecting,
        _ if fresh => TunnelState::Up,
        _ => TunnelState::Stale,
    };
    if next != t.state {
        t.successes = 0;
        match next {
            TunnelState::Up => t.explicit_failures = 0,
            // Ask the host to re-establish at the next health check, backoff from the start.
            TunnelState::Down => {
                t.retry_attempt = 0;
                t.next_retry = now;
            }
            TunnelState::Connecting | TunnelState::Stale => {}
        }
    }
    t.state = next;
    next
}
