//! The node's view of the mesh: the mesh manager, peers' announced WireGuard
//! keys, and the tunnels this node keeps.
//!
//! A peer joins the view when this node hears a heartbeat from it while the
//! crash detector has it online; each heartbeat counts as a handshake on its
//! tunnel (one per tunnel-check interval is recorded: WireGuard itself
//! handshakes every two minutes). A peer that crashes or leaves is removed, so
//! no route goes through it. Each peer's WireGuard key and endpoint come from
//! its certificate; a peer whose certificate names no endpoint gets the
//! unspecified address as a placeholder, until a signed endpoint record
//! from the peer names one (any endpoint, as long as the peer's identity key
//! signed it: WireGuard authenticates the tunnel itself, the endpoint is
//! where to send its packets).
//!
//! Each tunnel's latency is the RFC 6298 smoothed round trip of the echoed
//! heartbeat timestamps (`rtt.rs`). Routes run over this node's tunnels and
//! the links other nodes advertise: each node signs an advert of its tunnels
//! ([`SignedLinkState`]), sends it when its tunnels change (or their latency
//! moves beyond its jitter: [`significant`]) and every [`ADVERT_REFRESH`]
//! tunnel checks otherwise; a supervisor floods the adverts it takes on
//! (not to the nodes the advert shows an up tunnel with: the origin sent it
//! there itself). The flood table keeps the
//! newest advert per origin (at most `N`; one that does not fit is counted in
//! `table_full` and not applied); one not refreshed for [`ADVERT_MAX_AGE`]
//! tunnel checks ages out, and its links leave the mesh.
//!
//! # Control plane and data plane
//!
//! A tunnel's health is the data plane's: handshakes between its two ends.
//! Until the host reports WireGuard's real handshake times
//! ([`MeshView::record_latest_handshakes`]), a heartbeat from the peer is the
//! only sign of one, and the tunnel falls with the peer's heartbeats (its
//! crash detected, the peer leaves the view). Once the host reports them,
//! heartbeats no longer count as handshakes, and the control plane's verdicts
//! stop touching the data plane: a peer the crash detector declares crashed
//! keeps its tunnel (and the routes through it) while that tunnel is up or
//! stale by its reported handshakes; it goes down only by them (stale past
//! WireGuard's 180 s reject time without one, down after its further
//! timeouts; WireGuard rekeys every 120 s). Adverts age on control-plane time
//! only: a tunnel check at which this node heard no heartbeat from the nodes
//! that flood to it (a worker: the supervisors; a supervisor: any node) ages
//! nothing, and an origin whose own tunnel with this node is up or stale by
//! reported handshakes keeps its advert. So a control plane lost for any time
//! leaves every tunnel and route as they were, and the next adverts after it
//! heals replace the held ones by their sequence.

use super::outbox::{Bump, Outbox};
use super::output::OpsEventKind;
use super::rtt::Rtt;
use crate::health::NodeStatus;
use crate::id::NodeId;
use crate::mesh::{
    Endpoint, EndpointHost, HandshakeReport, MeshNode, TunnelProtocol, TunnelState, VPNMeshTopologyManager, WgKey,
};
use crate::table::IdTable;
use crate::time::{Duration, Instant};
use crate::wire::{Echo, LinkAdvert, LinkState, SignedLinkState};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

/// The endpoint used for a node whose certificate names none (the unspecified
/// address, WireGuard's default port): it marks "not reachable directly".
pub(crate) const PLACEHOLDER_ENDPOINT: Endpoint =
    Endpoint { host: EndpointHost::Ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), port: 51820 };

/// The mesh as one node sees it: `N` peers, `L` links, `Q`-entry queues.
pub(crate) struct MeshView<const N: usize, const L: usize, const Q: usize> {
    me: NodeId,
    /// This node's endpoint, also the placeholder for peers'.
    endpoint: Endpoint,
    /// At most one handshake per tunnel is recorded per this interval.
    handshake_interval: Duration,
    pub(crate) mesh: Box<VPNMeshTopologyManager<N, L, Q>>,
    /// What this node keeps about each peer, one entry per peer (one table:
    /// each `IdTable` reserves all `N` entries and repeats the ids).
    peers: IdTable<NodeId, Peer, N>,
    /// This node's last advert (when, its sequence and its links, as many
    /// as it has), signed again when it is sent.
    advertised: Option<(Instant, u64, Vec<LinkAdvert>)>,
}

/// What this node keeps about one peer.
#[derive(Default)]
pub(crate) struct Peer {
    /// Its WireGuard key, from its certificate (`None`: not admitted yet; a
    /// placeholder key is used).
    key: Option<[u8; 32]>,
    /// Its tunnel endpoint, from its certificate or its newest signed
    /// endpoint record (boxed: an endpoint's host name is inline, 280 bytes).
    endpoint: Option<Box<Endpoint>>,
    /// The sequence of its newest endpoint record taken on.
    endpoint_seq: Option<u64>,
    /// Its tunnel in the view (`Some` exactly for the peers with one): last
    /// known state and last handshake recorded.
    tunnel: Option<(TunnelState, Instant)>,
    /// Its tunnel was `Up` by reported handshakes when the crash detector
    /// declared it crashed, and has not left `Up` since: the data plane
    /// vouches that only the control plane lost it (cleared when it
    /// recovers, or its tunnel goes stale, down or away).
    vouched: bool,
    /// Round-trip variation and the heartbeat timestamps to echo (the
    /// smoothed RTT is its mesh tunnel's).
    rtt: Rtt,
    /// Its newest advert taken on: when it arrived, its sequence (for replay
    /// checks) and, only where it is flooded on (supervisors), the advert itself.
    advert: Option<Flooded>,
}

/// One origin's newest advert taken on.
pub(crate) struct Flooded {
    /// When it arrived.
    at: Instant,
    /// Its sequence.
    sequence: u64,
    /// The digest of what verifying it read ([`crate::auth::link_state_digest`]):
    /// a copy with the same digest needs no second verification.
    digest: [u8; 32],
    /// The advert, kept only by a node that floods it on.
    body: Option<Box<SignedLinkState>>,
}

/// Tunnel checks between two adverts of an unchanged node.
pub(crate) const ADVERT_REFRESH: u64 = 6;
/// Tunnel checks after which an advert not refreshed ages out.
pub(crate) const ADVERT_MAX_AGE: u64 = 4 * ADVERT_REFRESH;

impl<const N: usize, const L: usize, const Q: usize> MeshView<N, L, Q> {
    /// An empty view for `me`.
    pub(crate) fn new(
        me: NodeId,
        endpoint: Endpoint,
        handshake_interval: Duration,
        mesh: Box<VPNMeshTopologyManager<N, L, Q>>,
    ) -> Self {
        MeshView { me, endpoint, handshake_interval, mesh, peers: IdTable::new(), advertised: None }
    }

    /// `peer`'s entry, made if new (`None` if the table is full: counted).
    fn peer_mut(&mut self, peer: &NodeId, out: &mut Outbox<Q>) -> Option<&mut Peer> {
        if !self.peers.contains_key(peer) && self.peers.insert(peer.clone(), Peer::default()).is_err() {
            out.counters.table_full.bump();
            return None;
        }
        self.peers.get_mut(peer)
    }

    /// This node joins its own mesh with `key` (once).
    pub(crate) fn join_self(&mut self, now: Instant, key: [u8; 32], out: &mut Outbox<Q>) {
        let me = self.me.clone();
        if self.mesh.node(&me).is_none() {
            let node = MeshNode::new(me, WgKey::from_bytes(key), self.endpoint.clone());
            if self.mesh.join_mesh(now, node).is_err() {
                out.counters.table_full.bump();
            }
        }
    }

    /// This node leaves its mesh: its tunnels go down, and after a restart
    /// heartbeats build them again.
    pub(crate) fn leave_self(&mut self, now: Instant, out: &mut Outbox<Q>) {
        let me = self.me.clone();
        let _ = self.mesh.leave_mesh(now, &me);
        for (_, p) in self.peers.iter_mut() {
            p.tunnel = None;
            p.rtt = Rtt::default();
        }
        self.advertised = None;
        self.drain(now, out);
    }

    /// `node`'s WireGuard key and tunnel endpoint (from its certificate).
    pub(crate) fn set_peer(&mut self, node: &NodeId, key: [u8; 32], endpoint: Option<&Endpoint>, out: &mut Outbox<Q>) {
        let Some(p) = self.peer_mut(node, out) else { return };
        p.key = Some(key);
        // An endpoint the peer roamed to (a signed record) outlives its
        // certificate's, announced again.
        if p.endpoint_seq.is_none() {
            p.endpoint = endpoint.map(|e| Box::new(e.clone()));
        }
    }

    /// A heartbeat from `peer`, whose status in the crash detector is `status`:
    /// it joins the view if it is online and new, and the message counts as a
    /// handshake on its tunnel unless the host reports handshakes (`host`).
    pub(crate) fn heard(
        &mut self,
        now: Instant,
        peer: &NodeId,
        status: Option<NodeStatus>,
        host: bool,
        out: &mut Outbox<Q>,
    ) {
        let known = self.peers.get(peer).and_then(|p| p.tunnel);
        if let Some((TunnelState::Up, last)) = known
            && now.saturating_duration_since(last) < self.handshake_interval
        {
            return;
        }
        let before = known.map(|(s, _)| s);
        // With host-reported handshakes a heartbeat only creates the tunnel;
        // its health is left to the handshakes.
        if host && self.mesh.tunnel(&self.me, peer).is_some() {
            return;
        }
        if before.is_none() {
            if status != Some(NodeStatus::Online) {
                return;
            }
            if self.mesh.node(peer).is_none() {
                self.join_peer(now, peer, out);
            } else if self.mesh.tunnel(&self.me, peer).is_none() {
                let me = self.me.clone();
                if self.mesh.establish_tunnel(now, &me, peer, TunnelProtocol::WireGuard).is_err() {
                    out.counters.table_full.bump();
                }
            }
        }
        if host {
            return;
        }
        if let Ok(after) = self.mesh.record_handshake(now, peer) {
            self.tunnel_state(now, peer, before, after, out);
        }
    }

    /// What `wg show <if> latest-handshakes` printed at `now` (`unix_now` in
    /// UNIX seconds): tunnel health follows it from now on (the caller passes
    /// `host` to the other calls; see *Control plane and data plane*).
    pub(crate) fn record_latest_handshakes(
        &mut self,
        now: Instant,
        unix_now: u64,
        text: &str,
        out: &mut Outbox<Q>,
    ) -> HandshakeReport {
        let report = self.mesh.record_latest_handshakes(now, unix_now, text);
        if report.recorded > 0 {
            self.refresh_tunnel_states(now, out);
        }
        if self.mesh.routes_outdated() {
            self.mesh.recompute_routes(now);
        }
        report
    }

    /// `peer` recovered: it joins the view again (its tunnel comes up with its heartbeats).
    pub(crate) fn rejoin(&mut self, now: Instant, peer: &NodeId, out: &mut Outbox<Q>) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.vouched = false;
        }
        if self.mesh.node(peer).is_none() {
            self.join_peer(now, peer, out);
        }
    }

    /// `peer` crashed or left: out of the view, no route goes through it;
    /// unless `vouch` (its crash was the control plane's verdict and the host
    /// reports handshakes) and its tunnel is up or stale by them: then tunnel
    /// and routes stay, and only handshakes take them down. A tunnel kept
    /// `Up` here starts vouching for the peer ([`MeshView::vouches`]).
    pub(crate) fn forget(&mut self, now: Instant, peer: &NodeId, vouch: bool) {
        if vouch && let Some(p) = self.peers.get_mut(peer) {
            let state = p.tunnel.map(|(s, _)| s);
            if matches!(state, Some(TunnelState::Up | TunnelState::Stale)) {
                p.vouched = state == Some(TunnelState::Up);
                return;
            }
        }
        let _ = self.mesh.leave_mesh(now, peer);
        if let Some(p) = self.peers.get_mut(peer) {
            p.tunnel = None;
            p.vouched = false;
            p.rtt = Rtt::default();
        }
    }

    /// Whether the data plane vouches for `peer` through its control-plane
    /// crash: its tunnel was `Up` by the host's reported handshakes when its
    /// crash was declared and has stayed `Up` since (see *Control plane and
    /// data plane*). Such a peer's first healthy heartbeat ends its recovery.
    pub(crate) fn vouches(&self, peer: &NodeId) -> bool {
        self.peers.get(peer).is_some_and(|p| p.vouched && matches!(p.tunnel, Some((TunnelState::Up, _))))
    }

    /// `peer`'s heartbeat, sent at `sent_at` (its clock) with `echo` of this
    /// node's: remembered to echo back, and a round-trip sample that sets
    /// its tunnel's latency.
    pub(crate) fn timestamps(
        &mut self,
        now: Instant,
        peer: &NodeId,
        sent_at: Instant,
        echo: Option<Echo>,
        out: &mut Outbox<Q>,
    ) {
        let me = self.me.clone();
        // The smoothed RTT before this sample (`Err`: no tunnel, no sample).
        let before = self.mesh.srtt_ns(&me, peer);
        let Some(p) = self.peer_mut(peer, out) else { return };
        p.rtt.heard = Some((sent_at, now));
        let Ok(before) = before else { return };
        if before.is_none() {
            // A tunnel not measured yet (new, or back after it went).
            p.rtt.unsettle();
        }
        let Some(r) = echo.and_then(|e| p.rtt.echo(now, e.sent_at, e.held)) else { return };
        p.rtt.vary(before, r);
        let _ = self.mesh.record_latency(now, &me, peer, r);
    }

    /// The echo of `peer`'s last heartbeat for a heartbeat leaving at `now`.
    pub(crate) fn echo_for(&self, now: Instant, peer: &NodeId) -> Option<Echo> {
        let (sent_at, at) = self.peers.get(peer)?.rtt.heard?;
        Some(Echo { sent_at, held: now.saturating_duration_since(at) })
    }

    /// Whether `peer`'s tunnel latency has settled ([`super::rtt::SETTLED_SAMPLES`]
    /// samples since its tunnel's first; a heartbeat heard while the tunnel
    /// has none starts the count again).
    pub(crate) fn latency_settled(&self, peer: &NodeId) -> bool {
        self.peers.get(peer).is_some_and(|p| p.rtt.settled())
    }

    /// `peer`'s smoothed round-trip time and its variation (RFC 6298), once measured.
    pub(crate) fn rtt(&self, peer: &NodeId) -> Option<(Duration, Duration)> {
        let srtt = self.mesh.tunnel(&self.me, peer)?.latency?;
        Some((srtt, self.peers.get(peer)?.rtt.rttvar()))
    }

    /// The sequence of the advert of `origin` taken on last.
    pub(crate) fn advert_sequence(&self, origin: &NodeId) -> Option<u64> {
        self.peers.get(origin)?.advert.as_ref().map(|f| f.sequence)
    }

    /// The digest of the advert of `origin` taken on last, if its sequence is `sequence`.
    pub(crate) fn advert_digest(&self, origin: &NodeId, sequence: u64) -> Option<&[u8; 32]> {
        self.peers.get(origin)?.advert.as_ref().filter(|f| f.sequence == sequence).map(|f| &f.digest)
    }

    /// The advert of `origin` taken on last.
    pub(crate) fn advert(&self, origin: &NodeId) -> Option<&SignedLinkState> {
        self.peers.get(origin)?.advert.as_ref()?.body.as_deref()
    }

    /// An authenticated advert newer than the one held for its origin (the
    /// caller checked both), with the `digest` of its verification: its
    /// sequence and digest kept in the flood table (the advert too if `keep`:
    /// this node floods it on) and applied to the mesh. `false` if the table
    /// is full (counted; nothing changes).
    pub(crate) fn take_advert(
        &mut self,
        now: Instant,
        advert: &SignedLinkState,
        digest: [u8; 32],
        keep: bool,
        out: &mut Outbox<Q>,
    ) -> bool {
        let origin = &advert.origin;
        let Some(p) = self.peer_mut(origin, out) else { return false };
        let body = keep.then(|| Box::new(advert.clone()));
        p.advert = Some(Flooded { at: now, sequence: advert.state.sequence, digest, body });
        if self.mesh.node(origin).is_some() {
            // The flood table checked the sequence; the mesh's own check
            // agrees (it only ever sees what the table took).
            if self.mesh.handle_link_state(now, origin, &advert.state).is_err() {
                out.counters.table_full.bump();
            }
        }
        true
    }

    /// Adverts not refreshed for `max_age` of control-plane time leave the
    /// flood table and their links the mesh: at a tunnel check (every
    /// `every`) that `heard` no heartbeat from the flood since the last one,
    /// or for an origin whose tunnel is up or stale by the handshakes the
    /// host reports (`host`), the advert's age stands still.
    pub(crate) fn age_adverts(&mut self, now: Instant, every: Duration, max_age: Duration, heard: bool, host: bool) {
        let mut old: heapless::Vec<NodeId, 16> = heapless::Vec::new();
        for (origin, p) in self.peers.iter_mut() {
            let Some(f) = p.advert.as_mut() else { continue };
            let vouched = host && p.tunnel.is_some_and(|(s, _)| matches!(s, TunnelState::Up | TunnelState::Stale));
            if !heard || vouched {
                f.at = f.at.checked_add(every).unwrap_or(now).min(now);
                continue;
            }
            if now.saturating_duration_since(f.at) > max_age && old.push(origin.clone()).is_err() {
                break;
            }
        }
        for origin in old {
            if let Some(p) = self.peers.get_mut(&origin) {
                p.advert = None;
            }
            self.mesh.clear_link_state(now, &origin);
        }
    }

    /// Whether this node's links are to be advertised anew at `now`, numbered
    /// `sequence`: they changed since the last advert (a tunnel came or went,
    /// changed state, or its latency moved significantly: see [`moved`]) or
    /// `refresh` passed. If so they are kept as [`MeshView::own_advert`].
    pub(crate) fn advertise(&mut self, now: Instant, refresh: Duration, sequence: u64) -> bool {
        let Some(state) = self.mesh.local_link_state() else { return false };
        let peers = &self.peers;
        let rttvar = |n: &NodeId| peers.get(n).map_or(0, |p| p.rtt.rttvar().total_micros());
        let due = match &self.advertised {
            None => true,
            Some((at, _, last)) => now.saturating_duration_since(*at) >= refresh || moved(last, &state.links, rttvar),
        };
        if due {
            self.advertised = Some((now, sequence, state.links.iter().cloned().collect()));
        }
        due
    }

    /// This node's last advert's links and sequence (to sign when sent).
    pub(crate) fn own_advert(&self) -> Option<LinkState> {
        let (_, sequence, links) = self.advertised.as_ref()?;
        Some(LinkState { sequence: *sequence, links: links.iter().cloned().collect() })
    }

    /// Tunnel health and routes, on the tunnel-check timer.
    pub(crate) fn check(&mut self, now: Instant, out: &mut Outbox<Q>) {
        let report = self.mesh.monitor_tunnel_health(now);
        if report.changed > 0 {
            self.refresh_tunnel_states(now, out);
        }
        if self.mesh.routes_outdated() {
            self.mesh.recompute_routes(now);
        }
    }

    /// Route changes become events; re-establish requests are counted (tunnels
    /// are re-created from heartbeats).
    pub(crate) fn drain(&mut self, now: Instant, out: &mut Outbox<Q>) {
        while let Some(c) = self.mesh.poll_route_change() {
            out.emit(now, c.destination, OpsEventKind::RouteChanged { next_hop: c.new_next_hop });
        }
        while self.mesh.poll_reestablish().is_some() {
            out.counters.reestablish_requests.bump();
        }
    }

    /// The sequence of `peer`'s newest endpoint record taken on.
    pub(crate) fn endpoint_sequence(&self, peer: &NodeId) -> Option<u64> {
        self.peers.get(peer)?.endpoint_seq
    }

    /// `peer`'s tunnel endpoint from its signed endpoint record numbered
    /// `sequence` (newer than any taken on: the caller checked): the mesh
    /// node takes it (a peer not yet in the view takes it when it joins).
    /// `false` if the table of peers is full (counted; nothing changes).
    pub(crate) fn roam(&mut self, peer: &NodeId, sequence: u64, endpoint: Endpoint, out: &mut Outbox<Q>) -> bool {
        let Some(p) = self.peer_mut(peer, out) else { return false };
        p.endpoint_seq = Some(sequence);
        p.endpoint = Some(Box::new(endpoint.clone()));
        if self.mesh.node(peer).is_some() {
            let _ = self.mesh.set_endpoint(peer, endpoint);
        }
        true
    }

    /// This node's own endpoint moved.
    pub(crate) fn set_own_endpoint(&mut self, endpoint: Endpoint) {
        self.endpoint = endpoint.clone();
        let _ = self.mesh.set_endpoint(&self.me, endpoint);
    }

    fn join_peer(&mut self, now: Instant, peer: &NodeId, out: &mut Outbox<Q>) {
        let known = self.peers.get(peer);
        let key = known.and_then(|p| p.key).map_or_else(|| WgKey::placeholder(peer), WgKey::from_bytes);
        let endpoint = known.and_then(|p| p.endpoint.as_deref().cloned()).unwrap_or(PLACEHOLDER_ENDPOINT);
        let node = MeshNode::new(peer.clone(), key, endpoint);
        let me = self.me.clone();
        if self.mesh.join_mesh(now, node).is_err()
            || self.mesh.establish_tunnel(now, &me, peer, TunnelProtocol::WireGuard).is_err()
        {
            out.counters.table_full.bump();
        }
    }

    fn tunnel_state(
        &mut self,
        now: Instant,
        peer: &NodeId,
        before: Option<TunnelState>,
        after: TunnelState,
        out: &mut Outbox<Q>,
    ) {
        if let Some(p) = self.peer_mut(peer, out) {
            p.tunnel = Some((after, now));
            // A tunnel that leaves `Up` vouches for nothing any more.
            p.vouched &= after == TunnelState::Up;
        }
        if before == Some(after) {
            return;
        }
        match after {
            TunnelState::Up => out.emit(now, peer.clone(), OpsEventKind::TunnelUp),
            TunnelState::Stale | TunnelState::Down if before == Some(TunnelState::Up) => {
                out.emit(now, peer.clone(), OpsEventKind::TunnelDown { state: after })
            }
            _ => {}
        }
    }

    /// The last known state of `peer`'s tunnel in the view.
    fn tunnel_of(&self, peer: &NodeId) -> Option<TunnelState> {
        self.peers.get(peer)?.tunnel.map(|t| t.0)
    }

    fn refresh_tunnel_states(&mut self, now: Instant, out: &mut Outbox<Q>) {
        let mut changed: heapless::Vec<(NodeId, TunnelState), 64> = heapless::Vec::new();
        for t in self.mesh.tunnels() {
            let peer = if *t.a == self.me {
                t.b
            } else if *t.b == self.me {
                t.a
            } else {
                continue;
            };
            if self.tunnel_of(peer) != Some(t.state) && changed.push((peer.clone(), t.state)).is_err() {
                break;
            }
        }
        for (peer, state) in changed {
            let before = self.tunnel_of(&peer);
            self.tunnel_state(now, &peer, before, state, out);
        }
    }
}

/// No latency change smaller than this is significant: below it, a LAN
/// link's scheduling jitter, which re-ranks no route worth an advert (Babel's
/// RTT extension ignores round trips below 10 ms altogether).
pub(crate) const LATENCY_FLOOR: Duration = Duration::from_millis(2);

/// Whether `new` differs from `last` (the links last advertised) enough to
/// advertise: another set of links, a link up or down, or a latency that
/// moved significantly ([`significant`], given each neighbour's RTT
/// variation in microseconds, `rttvar`).
fn moved(last: &[LinkAdvert], new: &[LinkAdvert], rttvar: impl Fn(&NodeId) -> u64) -> bool {
    if last.len() != new.len() {
        return true;
    }
    new.iter().any(|n| {
        last.iter().find(|l| l.neighbor == n.neighbor).is_none_or(|l| {
            l.up != n.up || significant(l.latency.total_micros(), n.latency.total_micros(), rttvar(&n.neighbor))
        })
    })
}

/// Whether a link's smoothed round trip moved significantly from `advertised`
/// to `now` (µs), given its RTT variation `rttvar` (RFC 6298's RTTVAR, µs):
/// by more than a quarter of the advertised value, more than `rttvar`, and
/// more than [`LATENCY_FLOOR`].
///
/// Why these: with `α = 1/8`, the smoothed RTT of samples with standard
/// deviation `σ` wanders with `σ·√(α/(2−α)) ≈ 0.26σ`, and RTTVAR (a smoothed
/// mean deviation) settles near `0.8σ`; so two readings of an unchanged link
/// some seconds apart differ with a standard deviation of about
/// `√2 · 0.26σ ≈ 0.45 · RTTVAR`. Beyond RTTVAR is over two of those: rare
/// for jitter alone, at every tunnel check and link. A tenth, the old test,
/// was inside that noise whenever the jitter was a good part of the round
/// trip (1–50 ms one way: `σ ≈ 20` ms on a ~51 ms round trip, a tenth 5 ms),
/// and re-advertised at nearly every check. A quarter keeps a change too
/// small to re-rank routes between similar paths from counting; the refresh
/// ([`ADVERT_REFRESH`]) carries any drift within it.
fn significant(advertised: u64, now: u64, rttvar: u64) -> bool {
    let d = advertised.abs_diff(now);
    d.saturating_mul(4) > advertised && d > rttvar && d > LATENCY_FLOOR.total_micros()
}
