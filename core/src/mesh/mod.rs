//! `VPNMeshTopologyManager`: overlay address allocation, tunnel records and their
//! health, latency-weighted routing and WireGuard configuration for one node's
//! view of the encrypted worker mesh.
//!
//! It follows the crate's [sans-IO contract](crate#the-sans-io-contract): time,
//! method kinds, drain order, errors and capacity.
//!
//! The core moves no packets. It decides who gets which overlay address
//! (`addr`: lowest free inside the CIDR, O(log n)), which tunnels exist and
//! whether they are healthy (from caller-reported handshakes, latencies and
//! traffic), which way traffic goes (`routing`: Dijkstra over up links with a
//! loop-free, hysteretic next-hop table) and renders the `wg-quick` / `wg setconf`
//! file the host applies (`wireguard`).
//!
//! Tunnel states, per tunnel, with thresholds from its protocol's [`TunnelTimers`]:
//!
//! ```text
//!  Connecting ──handshake──▶ Up ──no handshake for stale_after──▶ Stale
//!      │                      ▲ ◀────────────handshake──────────────┘
//!      └──── failures ≥ k ────┼──────────▶ Down ──m handshakes──▶ Up
//! ```
//!
//! A failure is an explicit [`VPNMeshTopologyManager::record_handshake_failure`]
//! or one `failure_interval` spent past `stale_after` without a handshake
//! (derived from time, so it does not depend on how often the host checks).
//! Down tunnels ask the host to re-establish them, with exponential backoff,
//! through [`VPNMeshTopologyManager::poll_reestablish`]; next-hop changes go out
//! through [`VPNMeshTopologyManager::poll_route_change`]. Both queues are bounded
//! and count what they drop.

mod addr;
mod dot;
mod error;
mod links;
mod nodes;
mod parse;
mod routes;
mod routing;
mod tunnels;
mod wireguard;

#[cfg(test)]
mod tests;

pub use error::{JoinError, LinkStateError, TunnelError};
pub use links::LinkStateOutcome;
pub use nodes::NodeView;
pub use parse::{Cidr, CidrError, Endpoint, EndpointError, EndpointHost, KeyError, MAX_HOSTNAME_LEN, WgKey};
pub use routes::{RouteChange, RouteView, TopologyReport};
pub use tunnels::{HandshakeReport, ReestablishRequest, TunnelHealthReport, TunnelState, TunnelView};
pub use wireguard::{RenderError, WireGuardFormat, WireGuardOptions};

use links::{EdgeRecord, Link, LinkSource, edge_weight};
use nodes::{NodeRecord, lower_id_in};
use routes::{Route, UNREACHABLE};
use tunnels::Tunnel;

use crate::error::{CapacityError, ConfigError};
use crate::id::NodeId;
use crate::storage::{self, Deque};
use crate::table::IdTable;
use crate::time::{Duration, Instant, MonotonicClock};
use crate::wire::{LinkAdvert, LinkState};
use addr::{AddressPool, Refusal};
use core::fmt;
use core::net::IpAddr;
use heapless::Vec;
use routing::{Bound, Csr, NONE, ShortestPaths};

/// The most reserved addresses a mesh configuration may list.
pub const MAX_RESERVED: usize = 8;
/// The most capabilities a node may announce.
pub const MAX_CAPABILITIES: usize = 8;
/// The longest capability name, in bytes.
pub const MAX_CAPABILITY_LEN: usize = 32;

/// A capability a node announces (e.g. `"gpu"`), at most [`MAX_CAPABILITY_LEN`] bytes.
pub type Capability = heapless::String<MAX_CAPABILITY_LEN>;

/// The tunnel technology of one tunnel record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TunnelProtocol {
    /// WireGuard (the default).
    #[default]
    WireGuard,
    /// OpenVPN.
    OpenVpn,
    /// IPsec (IKEv2).
    Ipsec,
}

impl TunnelProtocol {
    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TunnelProtocol::WireGuard => "wireguard",
            TunnelProtocol::OpenVpn => "openvpn",
            TunnelProtocol::Ipsec => "ipsec",
        }
    }
}

crate::error::names!(TunnelProtocol, "tunnel protocol", "wireguard, openvpn, ipsec", [WireGuard, OpenVpn, Ipsec]);

/// Health thresholds of one tunnel protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelTimers {
    /// Age at which a session is renegotiated (WireGuard `REKEY_AFTER_TIME`, 120 s);
    /// reported so the host can expect a handshake by then.
    pub rekey_after: Duration,
    /// Handshake age past which the tunnel is stale (WireGuard `REJECT_AFTER_TIME`, 180 s).
    pub stale_after: Duration,
    /// Time past `stale_after` that counts as one more failure (WireGuard `REKEY_TIMEOUT`, 5 s).
    pub failure_interval: Duration,
    /// Consecutive failures that take a tunnel down (k, default 3).
    pub failures_to_down: u32,
    /// Consecutive handshakes that bring a down tunnel back up (m, default 2).
    pub successes_to_up: u32,
}

impl TunnelTimers {
    /// WireGuard's timers.
    pub const WIREGUARD: TunnelTimers = TunnelTimers {
        rekey_after: Duration::from_secs(120),
        stale_after: Duration::from_secs(180),
        failure_interval: Duration::from_secs(5),
        failures_to_down: 3,
        successes_to_up: 2,
    };
    /// OpenVPN: `ping 10` / `ping-restart 60`, `reneg-sec 3600`.
    pub const OPENVPN: TunnelTimers = TunnelTimers {
        rekey_after: Duration::from_secs(3600),
        stale_after: Duration::from_secs(60),
        failure_interval: Duration::from_secs(10),
        failures_to_down: 3,
        successes_to_up: 2,
    };
    /// IPsec: dead-peer detection every 30 s, IKE SA rekey after an hour.
    pub const IPSEC: TunnelTimers = TunnelTimers {
        rekey_after: Duration::from_secs(3600),
        stale_after: Duration::from_secs(90),
        failure_interval: Duration::from_secs(30),
        failures_to_down: 3,
        successes_to_up: 2,
    };

    fn validate(&self, field: &'static str) -> Result<(), ConfigError> {
        if self.failures_to_down == 0 || self.successes_to_up == 0 || self.failure_interval == Duration::ZERO {
            return Err(ConfigError::new(field, "non-zero failures_to_down, successes_to_up and failure_interval"));
        }
        Ok(())
    }
}

/// Mesh parameters. See each field for its default.
#[derive(Clone, Debug, PartialEq)]
pub struct MeshConfig {
    /// This node: routes and rendered configs are from its point of view.
    pub local: NodeId,
    /// The overlay network (default `10.0.0.0/16`).
    pub cidr: Cidr,
    /// Reserve the first host address for a gateway (default `true`; ignored for
    /// /31, /32, /127 and /128, which have no gateway).
    pub reserve_gateway: bool,
    /// Further addresses never handed out automatically nor on request.
    pub reserved: Vec<IpAddr, MAX_RESERVED>,
    /// Timers of WireGuard tunnels.
    pub wireguard: TunnelTimers,
    /// Timers of OpenVPN tunnels.
    pub openvpn: TunnelTimers,
    /// Timers of IPsec tunnels.
    pub ipsec: TunnelTimers,
    /// First wait before asking again to re-establish a down tunnel (default 5 s).
    pub reestablish_backoff: Duration,
    /// Longest wait between re-establish requests (default 300 s).
    pub reestablish_backoff_max: Duration,
    /// Latency assumed for an up tunnel with no measurement yet (default 100 ms).
    pub default_latency: Duration,
    /// A new route replaces the current next hop only if it is at least this much
    /// faster (default 5 ms) ...
    pub switch_margin: Duration,
    /// ... and at least this fraction faster, in per mille (default 100 = 10 %).
    pub switch_margin_permille: u32,
}

impl MeshConfig {
    /// The defaults for local node `local`.
    pub fn new(local: NodeId) -> Self {
        MeshConfig {
            local,
            cidr: Cidr::DEFAULT,
            reserve_gateway: true,
            reserved: Vec::new(),
            wireguard: TunnelTimers::WIREGUARD,
            openvpn: TunnelTimers::OPENVPN,
            ipsec: TunnelTimers::IPSEC,
            reestablish_backoff: Duration::from_secs(5),
            reestablish_backoff_max: Duration::from_secs(300),
            default_latency: Duration::from_millis(100),
            switch_margin: Duration::from_millis(5),
            switch_margin_permille: 100,
        }
    }

    fn timers(&self, p: TunnelProtocol) -> &TunnelTimers {
        match p {
            TunnelProtocol::WireGuard => &self.wireguard,
            TunnelProtocol::OpenVpn => &self.openvpn,
            TunnelProtocol::Ipsec => &self.ipsec,
        }
    }

    fn reserved_offsets(&self) -> Result<Vec<u128, MAX_RESERVED>, ConfigError> {
        let (first, last) = self.cidr.assignable();
        let mut out: Vec<u128, MAX_RESERVED> = Vec::new();
        let gateway = self.reserve_gateway && self.cidr.host_bits() >= 2;
        for addr in self.reserved.iter() {
            let o = self.cidr.offset_of(*addr).filter(|o| (first..=last).contains(o));
            let o = o.ok_or(ConfigError::new("reserved", "assignable addresses inside the CIDR"))?;
            if !(out.contains(&o) || gateway && o == first) {
                out.push(o).map_err(|_| ConfigError::new("reserved", "at most MAX_RESERVED addresses"))?;
            }
        }
        if gateway && !out.contains(&first) {
            out.push(first)
                .map_err(|_| ConfigError::new("reserved", "at most MAX_RESERVED - 1 addresses with a gateway"))?;
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// A node asking to join the mesh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshNode {
    /// The node.
    pub id: NodeId,
    /// A specific overlay address, or `None` for the lowest free one.
    pub requested_address: Option<IpAddr>,
    /// Its WireGuard public key.
    pub public_key: WgKey,
    /// Where its tunnel endpoint listens.
    pub endpoint: Endpoint,
    /// What it offers (bounded list).
    pub capabilities: Vec<Capability, MAX_CAPABILITIES>,
}

impl MeshNode {
    /// A node with no address request and no capabilities.
    pub const fn new(id: NodeId, public_key: WgKey, endpoint: Endpoint) -> Self {
        MeshNode { id, requested_address: None, public_key, endpoint, capabilities: Vec::new() }
    }
}

/// An output of the mesh manager, from [`VPNMeshTopologyManager::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeshEvent {
    /// A down tunnel should be set up again.
    Reestablish(ReestablishRequest),
    /// The local node's next hop towards a destination changed.
    RouteChanged(RouteChange),
}

/// One node's view of the VPN mesh: up to `N` nodes, `E` links (tunnel records
/// plus links known from adverts), and `Q` entries in each outgoing queue.
#[allow(clippy::upper_case_acronyms)]
pub struct VPNMeshTopologyManager<const N: usize, const E: usize, const Q: usize> {
    config: MeshConfig,
    clock: MonotonicClock,
    ids: IdTable<NodeId, u32, N>,
    slots: storage::Vec<Option<NodeRecord>, N>,
    free_slots: storage::Vec<u32, N>,
    pool: AddressPool<N>,
    edges: IdTable<(u32, u32), EdgeRecord, E>,
    local_seq: u64,
    routes: storage::Vec<Route, N>,
    routes_dirty: bool,
    /// The up links as adjacency lists, kept between recomputes: a latency
    /// change of an up link is patched into it at once, anything else (a link
    /// or tunnel going up or down, appearing or going away, a node joining or
    /// leaving, an advert) sets `csr_stale` and the next recompute rebuilds it.
    csr: Csr<N, E>,
    csr_stale: bool,
    main: ShortestPaths<N>,
    alt: ShortestPaths<N>,
    /// Scratch of the hysteresis pass: destinations contested for one neighbour.
    contested: storage::Vec<bool, N>,
    /// Tests only: hysteresis with unbounded searches, the reference the
    /// bounded ones are checked against.
    #[cfg(test)]
    reference_hysteresis: bool,
    reestablish: Deque<ReestablishRequest, Q>,
    route_changes: Deque<RouteChange, Q>,
    dropped_reestablish: u64,
    dropped_route_changes: u64,
    dropped_advert_links: u64,
    /// A node that is leaving, still named in the route changes its departure causes.
    departed: Option<(u32, NodeId)>,
}

fn pair(a: u32, b: u32) -> (u32, u32) {
    if a <= b { (a, b) } else { (b, a) }
}

impl<const N: usize, const E: usize, const Q: usize> VPNMeshTopologyManager<N, E, Q> {
    /// A manager with `config`, or why the config is invalid.
    ///
    /// With `alloc` the tables are allocated here, once, at full capacity;
    /// without it they are inline.
    pub fn new(config: MeshConfig) -> Result<Self, ConfigError> {
        let reserved = Self::validate(&config)?;
        let cidr = config.cidr;
        Ok(VPNMeshTopologyManager {
            config,
            clock: MonotonicClock::new(),
            ids: IdTable::new(),
            slots: storage::Vec::new(),
            free_slots: storage::Vec::new(),
            pool: AddressPool::new(cidr, reserved),
            edges: IdTable::new(),
            local_seq: 0,
            routes: storage::Vec::new(),
            routes_dirty: false,
            csr: Csr::new(),
            csr_stale: true,
            main: ShortestPaths::new(),
            alt: ShortestPaths::new(),
            contested: storage::Vec::new(),
            #[cfg(test)]
            reference_hysteresis: false,
            reestablish: Deque::new(),
            route_changes: Deque::new(),
            dropped_reestablish: 0,
            dropped_route_changes: 0,
            dropped_advert_links: 0,
            departed: None,
        })
    }

    /// [`VPNMeshTopologyManager::new`] in a box. With `alloc` every table is a
    /// heap block already, so the struct moved into the box is small whatever
    /// the capacities.
    #[cfg(feature = "alloc")]
    pub fn new_boxed(config: MeshConfig) -> Result<alloc::boxed::Box<Self>, ConfigError> {
        Self::new(config).map(alloc::boxed::Box::new)
    }

    fn validate(config: &MeshConfig) -> Result<Vec<u128, MAX_RESERVED>, ConfigError> {
        config.wireguard.validate("wireguard")?;
        config.openvpn.validate("openvpn")?;
        config.ipsec.validate("ipsec")?;
        if config.reestablish_backoff == Duration::ZERO || config.reestablish_backoff_max < config.reestablish_backoff {
            return Err(ConfigError::new("reestablish_backoff", "non-zero and at most reestablish_backoff_max"));
        }
        if N > u32::MAX as usize / 2 || E > u32::MAX as usize / 4 {
            return Err(ConfigError::new("capacity", "small enough for 32-bit slot indices"));
        }
        config.reserved_offsets()
    }

    /// The configuration.
    pub const fn config(&self) -> &MeshConfig {
        &self.config
    }

    /// The overlay network.
    pub const fn cidr(&self) -> &Cidr {
        self.pool.cidr()
    }

    /// Nodes in the mesh.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the mesh has no nodes.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many addresses the CIDR offers to nodes (assignable minus reserved), saturating.
    pub fn address_capacity(&self) -> u128 {
        self.pool.assignable_count()
    }

    fn slot(&self, id: &NodeId) -> Option<u32> {
        self.ids.get(id).copied()
    }

    fn record(&self, slot: u32) -> Option<&NodeRecord> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    fn id_of(&self, slot: u32) -> Option<&NodeId> {
        self.record(slot).map(|r| &r.id)
    }

    fn local_slot(&self) -> Option<u32> {
        self.slot(&self.config.local)
    }
}
