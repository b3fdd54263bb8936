//! The node's view of the mesh: the mesh manager, peers' announced WireGuard
//! keys, and the tunnels this node keeps.
//!
//! A peer joins the view when this node hears a heartbeat from it while the
//! crash detector has it online; each heartbeat counts as a handshake on its
//! tunnel (one per tunnel-check interval is recorded: WireGuard itself
//! handshakes every two minutes). A peer that crashes or leaves is removed, so
//! no route goes through it. Each peer's WireGuard key and endpoint come from
//! its certificate; a peer whose certificate names no endpoint gets the
//! unspecified address as a placeholder. Routes are direct tunnels (no
//! link-state adverts are sent yet).

use super::outbox::{Bump, Outbox};
use super::output::OpsEventKind;
use crate::health::NodeStatus;
use crate::id::NodeId;
use crate::mesh::{Endpoint, EndpointHost, MeshNode, TunnelProtocol, TunnelState, VPNMeshTopologyManager, WgKey};
use crate::table::IdTable;
use crate::time::{Duration, Instant};
use alloc::boxed::Box;
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
    /// Each peer's WireGuard key and tunnel endpoint, from its certificate.
    keys: IdTable<NodeId, ([u8; 32], Option<Endpoint>), N>,
    /// Exactly the peers with a tunnel in the view: last known state and last handshake recorded.
    tunnels: IdTable<NodeId, (TunnelState, Instant), N>,
}

impl<const N: usize, const L: usize, const Q: usize> MeshView<N, L, Q> {
    /// An empty view for `me`.
    pub(crate) fn new(
        me: NodeId,
        endpoint: Endpoint,
        handshake_interval: Duration,
        mesh: Box<VPNMeshTopologyManager<N, L, Q>>,
    ) -> Self {
        MeshView { me, endpoint, handshake_interval, mesh, keys: IdTable::new(), tunnels: IdTable::new() }
    }

    /// This node joins its own mesh with `key` (once).
    pub(crate) fn join_self(&mut self, now: Instant, key: [u8; 32], out: &mut Outbox<Q>) {
        let me = self.me.clone();
        self.set_peer(&me, key, Some(self.endpoint.clone()), out);
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
        self.tunnels.clear();
        self.drain(now, out);
    }

    /// `node`'s WireGuard key and tunnel endpoint (from its certificate).
    pub(crate) fn set_peer(&mut self, node: &NodeId, key: [u8; 32], endpoint: Option<Endpoint>, out: &mut Outbox<Q>) {
        if let Some(k) = self.keys.get_mut(node) {
            *k = (key, endpoint);
        } else if self.keys.insert(node.clone(), (key, endpoint)).is_err() {
            out.counters.table_full.bump();
        }
    }

    /// A heartbeat from `peer`, whose status in the crash detector is `status`:
    /// it joins the view if it is online and new, and the message counts as a
    /// handshake on its tunnel.
    pub(crate) fn heard(&mut self, now: Instant, peer: &NodeId, status: Option<NodeStatus>, out: &mut Outbox<Q>) {
        let known = self.tunnels.get(peer).copied();
        if let Some((TunnelState::Up, last)) = known
            && now.saturating_duration_since(last) < self.handshake_interval
        {
            return;
        }
        let before = known.map(|(s, _)| s);
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
        if let Ok(after) = self.mesh.record_handshake(now, peer) {
            self.tunnel_state(now, peer, before, after, out);
        }
    }

    /// `peer` recovered: it joins the view again (its tunnel comes up with its heartbeats).
    pub(crate) fn rejoin(&mut self, now: Instant, peer: &NodeId, out: &mut Outbox<Q>) {
        if self.mesh.node(peer).is_none() {
            self.join_peer(now, peer, out);
        }
    }

    /// `peer` crashed or left: out of the view, no route goes through it.
    pub(crate) fn forget(&mut self, now: Instant, peer: &NodeId) {
        let _ = self.mesh.leave_mesh(now, peer);
        self.tunnels.remove(peer);
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

    fn join_peer(&mut self, now: Instant, peer: &NodeId, out: &mut Outbox<Q>) {
        let (key, endpoint) = match self.keys.get(peer) {
            Some((key, endpoint)) => (*key, endpoint.clone()),
            None => (*WgKey::placeholder(peer).as_bytes(), None),
        };
        let endpoint = endpoint.unwrap_or(PLACEHOLDER_ENDPOINT);
        let node = MeshNode::new(peer.clone(), WgKey::from_bytes(key), endpoint);
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
        if let Some(s) = self.tunnels.get_mut(peer) {
            *s = (after, now);
        } else if self.tunnels.insert(peer.clone(), (after, now)).is_err() {
            out.counters.table_full.bump();
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
            if self.tunnels.get(peer).map(|x| x.0) != Some(t.state) && changed.push((peer.clone(), t.state)).is_err() {
                break;
            }
        }
        for (peer, state) in changed {
            let before = self.tunnels.get(&peer).map(|x| x.0);
            self.tunnel_state(now, &peer, before, state, out);
        }
    }
}
