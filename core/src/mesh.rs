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
mod parse;
mod routing;
mod wireguard;

#[cfg(test)]
mod tests;

pub use parse::{Cidr, CidrError, Endpoint, EndpointError, EndpointHost, KeyError, MAX_HOSTNAME_LEN, WgKey};
pub use wireguard::{RenderError, WireGuardFormat, WireGuardOptions};

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
use routing::{Csr, NONE, ShortestPaths};

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

impl fmt::Display for TunnelProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// Why a node could not join. Nothing was allocated or stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// The node is already in the mesh.
    AlreadyJoined(NodeId),
    /// The node table is full.
    TableFull(CapacityError<NodeId>),
    /// The requested address is outside the overlay CIDR.
    OutsideCidr(IpAddr),
    /// The requested address is a network, broadcast, anycast or reserved address.
    NotAssignable(IpAddr),
    /// The requested address belongs to another node.
    AddressTaken(IpAddr),
    /// Every assignable address is in use.
    AddressesExhausted,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::AlreadyJoined(n) => write!(f, "node {n} is already in the mesh"),
            JoinError::TableFull(e) => write!(f, "cannot add node {}: {e}", e.rejected),
            JoinError::OutsideCidr(a) => write!(f, "address {a} is outside the overlay network"),
            JoinError::NotAssignable(a) => write!(f, "address {a} is not assignable (network, broadcast or reserved)"),
            JoinError::AddressTaken(a) => write!(f, "address {a} is already assigned"),
            JoinError::AddressesExhausted => f.write_str("no free overlay address left"),
        }
    }
}

impl core::error::Error for JoinError {}

impl crate::error::Classify for JoinError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            JoinError::AlreadyJoined(_) | JoinError::AddressTaken(_) => ErrorKind::InvalidState,
            JoinError::TableFull(_) | JoinError::AddressesExhausted => ErrorKind::CapacityExceeded,
            JoinError::OutsideCidr(_) | JoinError::NotAssignable(_) => ErrorKind::InvalidArgument,
        }
    }
}

/// Why a tunnel or link operation failed. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelError {
    /// The node is not in the mesh.
    UnknownNode(NodeId),
    /// Both ends are the same node.
    SelfLink,
    /// No tunnel exists between the two nodes.
    UnknownTunnel,
    /// The link table (tunnels and known links) is full.
    TableFull {
        /// Its capacity.
        capacity: usize,
    },
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelError::UnknownNode(n) => write!(f, "node {n} is not in the mesh"),
            TunnelError::SelfLink => f.write_str("a link needs two different nodes"),
            TunnelError::UnknownTunnel => f.write_str("no tunnel between these nodes"),
            TunnelError::TableFull { capacity } => write!(f, "link table is full ({capacity} entries)"),
        }
    }
}

impl core::error::Error for TunnelError {}

impl crate::error::Classify for TunnelError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            TunnelError::UnknownNode(_) | TunnelError::UnknownTunnel => ErrorKind::NotFound,
            TunnelError::SelfLink => ErrorKind::InvalidArgument,
            TunnelError::TableFull { .. } => ErrorKind::CapacityExceeded,
        }
    }
}

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

impl fmt::Display for TunnelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// An output of the mesh manager, from [`VPNMeshTopologyManager::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeshEvent {
    /// A down tunnel should be set up again.
    Reestablish(ReestablishRequest),
    /// The local node's next hop towards a destination changed.
    RouteChanged(RouteChange),
}

/// The local node's next hop towards `destination` changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteChange {
    /// The destination.
    pub destination: NodeId,
    /// The previous next hop (`None`: was unreachable or new).
    pub old_next_hop: Option<NodeId>,
    /// The new next hop (`None`: now unreachable).
    pub new_next_hop: Option<NodeId>,
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

/// What happened to a link-state advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStateOutcome {
    /// Applied; `ignored` entries named nodes not in the mesh or the sender itself.
    Applied {
        /// Entries skipped.
        ignored: usize,
    },
    /// Its sequence number was not newer than the last one applied; nothing changed.
    Stale,
}

/// Why a link-state advert was rejected. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkStateError {
    /// The sender is not in the mesh.
    UnknownSender(NodeId),
    /// Applying it would overflow the link table.
    TableFull {
        /// Its capacity.
        capacity: usize,
    },
}

impl fmt::Display for LinkStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkStateError::UnknownSender(n) => write!(f, "link-state advert from {n}, which is not in the mesh"),
            LinkStateError::TableFull { capacity } => write!(f, "link table is full ({capacity} entries)"),
        }
    }
}

impl core::error::Error for LinkStateError {}

impl crate::error::Classify for LinkStateError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            LinkStateError::UnknownSender(_) => ErrorKind::NotFound,
            LinkStateError::TableFull { .. } => ErrorKind::CapacityExceeded,
        }
    }
}

/// A read-only view of one node.
#[derive(Clone, Copy, Debug)]
pub struct NodeView<'a> {
    /// The node.
    pub id: &'a NodeId,
    /// Its overlay address.
    pub address: IpAddr,
    /// Its public key.
    pub public_key: &'a WgKey,
    /// Its endpoint.
    pub endpoint: &'a Endpoint,
    /// Its capabilities.
    pub capabilities: &'a [Capability],
    /// When it joined.
    pub joined_at: Instant,
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

/// The local node's route to one destination.
#[derive(Clone, Copy, Debug)]
pub struct RouteView<'a> {
    /// The destination.
    pub destination: &'a NodeId,
    /// The direct neighbour traffic goes to, `None` if unreachable.
    pub next_hop: Option<&'a NodeId>,
    /// Total latency of the route in use (`Duration::MAX` if unreachable).
    pub cost: Duration,
    /// Links on the route in use.
    pub hops: u32,
    /// Whether hysteresis kept this next hop although a slightly faster one exists.
    pub held: bool,
}

/// A summary of the mesh as the local node sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TopologyReport {
    /// Nodes in the mesh.
    pub nodes: usize,
    /// Tunnel records.
    pub tunnels: usize,
    /// Tunnels up.
    pub tunnels_up: usize,
    /// Links known from adverts or set directly (without a tunnel record).
    pub links: usize,
    /// Destinations with a route.
    pub reachable: usize,
    /// Destinations without one.
    pub unreachable: usize,
    /// `reachable / (nodes - 1)`; 1 when the local node is alone, 0 if it has not joined.
    pub connectivity_ratio: f64,
    /// Mean cost of the routes in use, if any.
    pub average_route_latency: Option<Duration>,
    /// Mean smoothed RTT of tunnels with measurements, if any.
    pub average_tunnel_latency: Option<Duration>,
    /// Sum of tunnel throughputs, bytes per second.
    pub total_bandwidth: u64,
    /// Route changes dropped because the queue was full (ever).
    pub dropped_route_changes: u64,
    /// Re-establish requests dropped because the queue was full (ever).
    pub dropped_reestablish: u64,
    /// Tunnels left out of local adverts beyond [`MAX_ADVERT_LINKS`](crate::wire::MAX_ADVERT_LINKS) (ever).
    pub dropped_advert_links: u64,
}

#[derive(Clone, Debug)]
struct NodeRecord {
    id: NodeId,
    offset: u128,
    address: IpAddr,
    public_key: WgKey,
    endpoint: Endpoint,
    capabilities: Vec<Capability, MAX_CAPABILITIES>,
    joined_at: Instant,
    advert_seq: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct Tunnel {
    protocol: TunnelProtocol,
    established: Instant,
    last_handshake: Option<Instant>,
    state: TunnelState,
    explicit_failures: u32,
    successes: u32,
    srtt: Option<Duration>,
    rx: u64,
    tx: u64,
    traffic_at: Option<Instant>,
    bandwidth: u64,
    retry_attempt: u32,
    next_retry: Instant,
}

/// Who last described a link without a tunnel record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkSource {
    Direct,
    Advert(u32),
}

#[derive(Clone, Copy, Debug)]
struct Link {
    latency: Duration,
    up: bool,
    source: LinkSource,
}

#[derive(Clone, Copy, Debug, Default)]
struct EdgeRecord {
    tunnel: Option<Tunnel>,
    link: Option<Link>,
}

#[derive(Clone, Copy, Debug)]
struct Route {
    next_hop: u32,
    cost: u64,
    hops: u32,
    held: bool,
}

const UNREACHABLE: Route = Route { next_hop: NONE, cost: routing::INF, hops: 0, held: false };

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
    csr: Csr<N, E>,
    main: ShortestPaths<N>,
    alt: ShortestPaths<N>,
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
            main: ShortestPaths::new(),
            alt: ShortestPaths::new(),
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

    /// Adds `node` to the mesh and returns its overlay address: the requested one
    /// if it is inside the CIDR, assignable and free, otherwise the lowest free one.
    /// A rejected join allocates nothing.
    pub fn join_mesh(&mut self, now: Instant, node: MeshNode) -> Result<IpAddr, JoinError> {
        let now = self.clock.observe(now);
        if self.ids.contains_key(&node.id) {
            return Err(JoinError::AlreadyJoined(node.id));
        }
        if self.ids.len() >= N {
            return Err(JoinError::TableFull(CapacityError::new(node.id, N)));
        }
        let offset = match node.requested_address {
            Some(a) => self.pool.check_request(a).map_err(|r| match r {
                Refusal::Outside => JoinError::OutsideCidr(a),
                Refusal::NotAssignable => JoinError::NotAssignable(a),
                Refusal::Taken => JoinError::AddressTaken(a),
            })?,
            None => self.pool.lowest_free().ok_or(JoinError::AddressesExhausted)?,
        };
        let address = self.pool.cidr().addr_at(offset).ok_or(JoinError::AddressesExhausted)?;
        let slot = match self.free_slots.last() {
            Some(&s) => s,
            None => self.slots.len() as u32,
        };
        // Every table below has room for N entries and holds fewer than N now.
        if self.pool.insert(offset, slot).is_err() {
            return Err(JoinError::AddressTaken(address));
        }
        if self.ids.insert(node.id.clone(), slot).is_err() {
            self.pool.remove(offset);
            return Err(JoinError::TableFull(CapacityError::new(node.id, N)));
        }
        let record = NodeRecord {
            id: node.id,
            offset,
            address,
            public_key: node.public_key,
            endpoint: node.endpoint,
            capabilities: node.capabilities,
            joined_at: now,
            advert_seq: None,
        };
        if self.free_slots.pop().is_some() {
            if let Some(s) = self.slots.get_mut(slot as usize) {
                *s = Some(record);
            }
            if let Some(r) = self.routes.get_mut(slot as usize) {
                *r = UNREACHABLE;
            }
        } else {
            let _ = self.slots.push(Some(record));
            let _ = self.routes.push(UNREACHABLE);
        }
        self.routes_dirty = true;
        Ok(address)
    }

    /// Removes `node`, its tunnels, its links and its routes, and frees its address.
    /// Routes are recomputed at once so that none goes through the departed node.
    pub fn leave_mesh(&mut self, now: Instant, node: &NodeId) -> Result<IpAddr, TunnelError> {
        let now = self.clock.observe(now);
        let slot = self.slot(node).ok_or_else(|| TunnelError::UnknownNode(node.clone()))?;
        let Some(record) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return Err(TunnelError::UnknownNode(node.clone()));
        };
        self.ids.remove(node);
        self.pool.remove(record.offset);
        self.edges.retain(|&(a, b), e| {
            if let Some(Link { source: LinkSource::Advert(s), .. }) = e.link
                && s == slot
                && e.tunnel.is_none()
            {
                return false;
            }
            a != slot && b != slot
        });
        if let Some(r) = self.routes.get_mut(slot as usize) {
            *r = UNREACHABLE;
        }
        let _ = self.free_slots.push(slot);
        if record.id == self.config.local {
            for r in self.routes.iter_mut() {
                *r = UNREACHABLE;
            }
        } else {
            self.departed = Some((slot, record.id));
            self.recompute_routes(now);
            self.departed = None;
        }
        Ok(record.address)
    }

    /// The node `id`, if in the mesh.
    pub fn node(&self, id: &NodeId) -> Option<NodeView<'_>> {
        self.slot(id).and_then(|s| self.record(s)).map(node_view)
    }

    /// All nodes, in join order of their table slots (deterministic).
    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'_>> {
        self.slots.iter().flatten().map(node_view)
    }

    /// The node holding overlay address `addr`.
    pub fn node_by_address(&self, addr: IpAddr) -> Option<&NodeId> {
        let offset = self.pool.cidr().offset_of(addr)?;
        self.pool.slot_of(offset).and_then(|s| self.id_of(s))
    }

    fn pair_of(&self, a: &NodeId, b: &NodeId) -> Result<(u32, u32), TunnelError> {
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
        let fresh = Tunnel {
            protocol,
            established: now,
            last_handshake: None,
            state: TunnelState::Connecting,
            explicit_failures: 0,
            successes: 0,
            srtt: None,
            rx: 0,
            tx: 0,
            traffic_at: None,
            bandwidth: 0,
            retry_attempt: 0,
            next_retry: now,
        };
        match self.edges.get_mut(&key) {
            Some(e) => match &mut e.tunnel {
                Some(t) if t.protocol == protocol => Ok(t.state),
                t => {
                    *t = Some(fresh);
                    self.routes_dirty = true;
                    Ok(TunnelState::Connecting)
                }
            },
            None => {
                let record = EdgeRecord { tunnel: Some(fresh), link: None };
                self.edges.insert(key, record).map_err(|_| TunnelError::TableFull { capacity: E })?;
                Ok(TunnelState::Connecting)
            }
        }
    }

    /// Removes the tunnel record between `a` and `b` (a link known from adverts stays).
    pub fn remove_tunnel(&mut self, now: Instant, a: &NodeId, b: &NodeId) -> Result<(), TunnelError> {
        self.clock.observe(now);
        let key = self.pair_of(a, b)?;
        let e = self.edges.get_mut(&key).ok_or(TunnelError::UnknownTunnel)?;
        e.tunnel.take().ok_or(TunnelError::UnknownTunnel)?;
        if e.link.is_none() {
            self.edges.remove(&key);
        }
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
        let now = self.clock.observe(now);
        let timers = self.timers_of(a, b)?;
        let t = self.tunnel_mut(a, b)?;
        let before = t.state;
        t.last_handshake = Some(now);
        t.explicit_failures = 0;
        if t.state == TunnelState::Down {
            t.successes = t.successes.saturating_add(1);
        }
        let after = evaluate(t, now, &timers);
        self.routes_dirty |= before != after;
        Ok(after)
    }

    /// A handshake attempt on the tunnel between `a` and `b` failed (counts toward going down).
    pub fn record_handshake_failure(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
    ) -> Result<TunnelState, TunnelError> {
        let now = self.clock.observe(now);
        let timers = self.timers_of(a, b)?;
        let t = self.tunnel_mut(a, b)?;
        let before = t.state;
        t.explicit_failures = t.explicit_failures.saturating_add(1);
        t.successes = 0;
        let after = evaluate(t, now, &timers);
        self.routes_dirty |= before != after;
        Ok(after)
    }

    fn timers_of(&self, a: &NodeId, b: &NodeId) -> Result<TunnelTimers, TunnelError> {
        let key = self.pair_of(a, b)?;
        let t = self.edges.get(&key).and_then(|e| e.tunnel.as_ref()).ok_or(TunnelError::UnknownTunnel)?;
        Ok(*self.config.timers(t.protocol))
    }

    /// A round-trip time measured on the tunnel between `a` and `b`, smoothed as
    /// TCP does (`srtt = 7/8 srtt + 1/8 rtt`, the first sample taken as is).
    pub fn record_latency(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
        rtt: Duration,
    ) -> Result<Duration, TunnelError> {
        self.clock.observe(now);
        let t = self.tunnel_mut(a, b)?;
        let srtt = match t.srtt {
            None => rtt,
            Some(s) => {
                Duration::from_micros(((u128::from(s.total_micros()) * 7 + u128::from(rtt.total_micros())) / 8) as u64)
            }
        };
        t.srtt = Some(srtt);
        self.routes_dirty = true;
        Ok(srtt)
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

    /// Sets the link between `a` and `b` directly (e.g. from a measurement the
    /// host made outside any tunnel). A tunnel record for the pair, if any, takes
    /// precedence for routing; its latency defaults to this one.
    pub fn record_link(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
        latency: Duration,
        up: bool,
    ) -> Result<(), TunnelError> {
        self.clock.observe(now);
        let key = self.pair_of(a, b)?;
        let link = Link { latency, up, source: LinkSource::Direct };
        match self.edges.get_mut(&key) {
            Some(e) => e.link = Some(link),
            None => {
                let record = EdgeRecord { tunnel: None, link: Some(link) };
                self.edges.insert(key, record).map_err(|_| TunnelError::TableFull { capacity: E })?;
            }
        }
        self.routes_dirty = true;
        Ok(())
    }

    /// Applies a link-state advert from `sender`: its links replace the ones it
    /// advertised before. Adverts whose sequence number is not newer than the last
    /// one applied from that sender are ignored.
    pub fn handle_link_state(
        &mut self,
        now: Instant,
        sender: &NodeId,
        advert: &LinkState,
    ) -> Result<LinkStateOutcome, LinkStateError> {
        self.clock.observe(now);
        let s = self.slot(sender).ok_or_else(|| LinkStateError::UnknownSender(sender.clone()))?;
        if self.record(s).and_then(|r| r.advert_seq).is_some_and(|seq| advert.sequence <= seq) {
            return Ok(LinkStateOutcome::Stale);
        }
        let valid = |m: &Self, l: &LinkAdvert| m.slot(&l.neighbor).filter(|&o| o != s);
        // Room check first, so a rejected advert changes nothing.
        let new_pairs = advert
            .links
            .iter()
            .filter_map(|l| valid(self, l))
            .filter(|&o| !self.edges.contains_key(&pair(s, o)))
            .count();
        if self.edges.len() + new_pairs > E {
            let freed = self
                .edges
                .iter()
                .filter(|&(&(a, b), e)| {
                    e.tunnel.is_none()
                        && e.link.is_some_and(|l| l.source == LinkSource::Advert(s))
                        && !advert.links.iter().any(|l| valid(self, l).is_some_and(|o| pair(s, o) == (a, b)))
                })
                .count();
            if self.edges.len() + new_pairs > E + freed {
                return Err(LinkStateError::TableFull { capacity: E });
            }
        }
        // Drop the sender's previous advert (links other sources set are kept).
        self.edges.retain(|_, e| {
            if e.link.is_some_and(|l| l.source == LinkSource::Advert(s)) {
                e.link = None;
            }
            e.tunnel.is_some() || e.link.is_some()
        });
        let mut ignored = 0;
        for l in advert.links.iter() {
            let Some(o) = valid(self, l) else {
                ignored += 1;
                continue;
            };
            let link = Link { latency: l.latency, up: l.up, source: LinkSource::Advert(s) };
            match self.edges.get_mut(&pair(s, o)) {
                Some(e) => e.link = Some(link),
                None => {
                    // Room was checked above.
                    let _ = self.edges.insert(pair(s, o), EdgeRecord { tunnel: None, link: Some(link) });
                }
            }
        }
        if let Some(Some(r)) = self.slots.get_mut(s as usize) {
            r.advert_seq = Some(advert.sequence);
        }
        self.routes_dirty = true;
        Ok(LinkStateOutcome::Applied { ignored })
    }

    /// The local node's advert of its tunnels (up to [`MAX_ADVERT_LINKS`](crate::wire::MAX_ADVERT_LINKS), in
    /// tunnel-record order), with a fresh sequence number; `None` before it joins.
    /// Tunnels beyond the limit are left out and counted in
    /// [`TopologyReport::dropped_advert_links`].
    pub fn local_link_state(&mut self) -> Option<LinkState> {
        let local = self.local_slot()?;
        self.local_seq = self.local_seq.saturating_add(1);
        let mut links = Vec::new();
        for (&(a, b), e) in self.edges.iter() {
            let Some(t) = e.tunnel.as_ref() else { continue };
            let other = if a == local {
                b
            } else if b == local {
                a
            } else {
                continue;
            };
            let Some(neighbor) = self.id_of(other).cloned() else { continue };
            let latency = t.srtt.or(e.link.map(|l| l.latency)).unwrap_or(self.config.default_latency);
            if links.push(LinkAdvert { neighbor, latency, up: t.state == TunnelState::Up }).is_err() {
                self.dropped_advert_links = self.dropped_advert_links.saturating_add(1);
            }
        }
        Some(LinkState { sequence: self.local_seq, links })
    }

    /// Re-evaluates every tunnel's health at `now`, queues re-establish requests
    /// for down tunnels that are due, and recomputes routes if anything that
    /// routing depends on changed.
    pub fn monitor_tunnel_health(&mut self, now: Instant) -> TunnelHealthReport {
        let now = self.clock.observe(now);
        let mut report = TunnelHealthReport::default();
        let VPNMeshTopologyManager { config, edges, slots, reestablish, dropped_reestablish, routes_dirty, .. } = self;
        for (&(a, b), e) in edges.iter_mut() {
            let Some(t) = e.tunnel.as_mut() else { continue };
            let timers = config.timers(t.protocol);
            let before = t.state;
            let after = evaluate(t, now, timers);
            if before != after {
                report.changed += 1;
                *routes_dirty = true;
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
            latency: t.srtt,
            rx_bytes: t.rx,
            tx_bytes: t.tx,
            bandwidth: t.bandwidth,
        })
    }

    /// Recomputes the local node's routes: Dijkstra over up links, then
    /// hysteresis. A current next hop is kept if its link is still up, it is
    /// strictly closer to the destination than the local node (by `(latency,
    /// hops)`, which keeps next hops loop-free), and the new best route is not
    /// faster by both `switch_margin` and `switch_margin_permille`. Changed next
    /// hops are queued for [`VPNMeshTopologyManager::poll_route_change`].
    pub fn recompute_routes(&mut self, now: Instant) {
        self.clock.observe(now);
        self.routes_dirty = false;
        let Some(src) = self.local_slot() else {
            for r in self.routes.iter_mut() {
                *r = UNREACHABLE;
            }
            return;
        };
        let n = self.slots.len();
        {
            let (csr, edges) = (&mut self.csr, &self.edges);
            let config = &self.config;
            csr.rebuild(n, || edges.iter().filter_map(|(&(a, b), e)| edge_weight(config, e).map(|w| (a, b, w))));
        }
        let slots = &self.slots;
        self.main.run(&self.csr, src, |a, b| lower_id_in(slots, a, b));
        // Hysteresis needs each contested neighbour's own distances: one more
        // Dijkstra per up neighbour that carries a route the best paths no longer
        // use. In a stable mesh there is none.
        for r in self.routes.iter_mut() {
            r.held = false;
        }
        let (margin, permille) = (self.config.switch_margin.total_micros(), self.config.switch_margin_permille);
        for h in self.csr.neighbours(src) {
            let nb = h.to;
            let first_hop = &self.main.first_hop;
            let contested = |v: usize, r: &Route| r.next_hop == nb && first_hop.get(v).copied().unwrap_or(NONE) != nb;
            if !self.routes.iter().enumerate().any(|(v, r)| contested(v, r)) {
                continue;
            }
            let slots = &self.slots;
            self.alt.run(&self.csr, nb, |a, b| lower_id_in(slots, a, b));
            for (v, r) in self.routes.iter_mut().enumerate() {
                if !contested(v, r) {
                    continue;
                }
                let (d_best, h_best) = self.main.key(v as u32);
                let (d_nb, h_nb) = self.alt.key(v as u32);
                let closer = d_nb != routing::INF && (d_nb, h_nb) < (d_best, h_best);
                let via = d_nb.saturating_add(h.weight).min(routing::MAX_COST);
                let abs_better = d_best.saturating_add(margin) <= via;
                let rel_better = u128::from(d_best) * (1000 + u128::from(permille)) <= u128::from(via) * 1000;
                if closer && !(abs_better && rel_better) {
                    *r = Route { next_hop: nb, cost: via, hops: h_nb.saturating_add(1), held: true };
                }
            }
        }
        for v in 0..n as u32 {
            let Some(old) = self.routes.get(v as usize).copied() else { continue };
            let occupied = self.record(v).is_some();
            let best = self.main.first_hop.get(v as usize).copied().unwrap_or(NONE);
            let new = if !occupied || v == src {
                UNREACHABLE
            } else if old.held {
                old
            } else if best == NONE {
                UNREACHABLE
            } else {
                let (cost, hops) = self.main.key(v);
                Route { next_hop: best, cost, hops, held: false }
            };
            if let Some(slot) = self.routes.get_mut(v as usize) {
                *slot = new;
            }
            if occupied && v != src && new.next_hop != old.next_hop {
                self.queue_route_change(v, old.next_hop, new.next_hop);
            }
        }
    }

    fn queue_route_change(&mut self, dest: u32, old: u32, new: u32) {
        if self.route_changes.is_full() {
            self.dropped_route_changes = self.dropped_route_changes.saturating_add(1);
            return;
        }
        let Some(destination) = self.id_of(dest).cloned() else { return };
        let departed = self.departed.as_ref().filter(|(s, _)| *s == old).map(|(_, id)| id);
        let old_next_hop = self.id_of(old).or(departed).cloned();
        let change = RouteChange { destination, old_next_hop, new_next_hop: self.id_of(new).cloned() };
        let _ = self.route_changes.push_back(change);
    }

    /// Whether something routing depends on changed since the last recompute.
    pub const fn routes_outdated(&self) -> bool {
        self.routes_dirty
    }

    /// The local node's route to `destination` (as of the last recompute).
    pub fn route(&self, destination: &NodeId) -> Option<RouteView<'_>> {
        let v = self.slot(destination)?;
        self.route_view(v)
    }

    fn route_view(&self, v: u32) -> Option<RouteView<'_>> {
        let r = self.routes.get(v as usize)?;
        let destination = self.id_of(v)?;
        let next_hop = self.id_of(r.next_hop);
        Some(RouteView {
            destination,
            next_hop,
            cost: if next_hop.is_some() { Duration::from_micros(r.cost) } else { Duration::MAX },
            hops: if next_hop.is_some() { r.hops } else { 0 },
            held: r.held && next_hop.is_some(),
        })
    }

    /// The routing table: every other node, in table-slot order (deterministic).
    pub fn routes(&self) -> impl Iterator<Item = RouteView<'_>> {
        let local = self.local_slot();
        (0..self.slots.len() as u32).filter(move |&v| Some(v) != local).filter_map(|v| self.route_view(v))
    }

    /// The shortest path from the local node to `destination` as of the last
    /// recompute, destination first and the local node last; `None` if
    /// unreachable. When hysteresis holds an older next hop ([`RouteView::held`])
    /// traffic goes that way instead.
    pub fn shortest_path(&self, destination: &NodeId) -> Option<impl Iterator<Item = &NodeId> + '_> {
        let v = self.slot(destination)?;
        let src = self.local_slot()?;
        if self.main.dist.get(v as usize).is_none_or(|d| *d == routing::INF) {
            return None;
        }
        let mut cur = Some(v);
        let mut steps = 0usize;
        Some(core::iter::from_fn(move || {
            let c = cur?;
            steps += 1;
            cur = if c == src || steps > N {
                None
            } else {
                self.main.pred.get(c as usize).copied().filter(|p| *p != NONE)
            };
            self.id_of(c)
        }))
    }

    /// A summary of the mesh.
    pub fn topology_report(&self) -> TopologyReport {
        let mut r = TopologyReport {
            nodes: self.ids.len(),
            dropped_route_changes: self.dropped_route_changes,
            dropped_reestablish: self.dropped_reestablish,
            dropped_advert_links: self.dropped_advert_links,
            ..TopologyReport::default()
        };
        let (mut rtt_sum, mut rtt_n) = (0u128, 0u128);
        for e in self.edges.values() {
            match &e.tunnel {
                Some(t) => {
                    r.tunnels += 1;
                    r.tunnels_up += usize::from(t.state == TunnelState::Up);
                    r.total_bandwidth = r.total_bandwidth.saturating_add(t.bandwidth);
                    if let Some(s) = t.srtt {
                        rtt_sum += u128::from(s.total_micros());
                        rtt_n += 1;
                    }
                }
                None => r.links += usize::from(e.link.is_some()),
            }
        }
        r.average_tunnel_latency = rtt_sum.checked_div(rtt_n).map(|m| Duration::from_micros(m as u64));
        let (mut cost_sum, mut cost_n) = (0u128, 0u128);
        for route in self.routes() {
            if route.next_hop.is_some() {
                r.reachable += 1;
                cost_sum += u128::from(route.cost.total_micros());
                cost_n += 1;
            } else {
                r.unreachable += 1;
            }
        }
        r.average_route_latency = cost_sum.checked_div(cost_n).map(|m| Duration::from_micros(m as u64));
        r.connectivity_ratio = match (self.local_slot(), r.nodes) {
            (None, _) => 0.0,
            (Some(_), 0 | 1) => 1.0,
            (Some(_), n) => r.reachable as f64 / (n - 1) as f64,
        };
        r
    }
}

fn lower_id_in(slots: &[Option<NodeRecord>], a: u32, b: u32) -> bool {
    let id = |s: u32| slots.get(s as usize).and_then(Option::as_ref).map(|r| &r.id);
    match (id(a), id(b)) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        _ => false,
    }
}

fn edge_weight(config: &MeshConfig, e: &EdgeRecord) -> Option<u64> {
    match (&e.tunnel, &e.link) {
        (Some(t), link) => (t.state == TunnelState::Up)
            .then(|| t.srtt.or(link.map(|l| l.latency)).unwrap_or(config.default_latency).total_micros()),
        (None, Some(l)) => l.up.then_some(l.latency.total_micros()),
        (None, None) => None,
    }
}

fn node_view(r: &NodeRecord) -> NodeView<'_> {
    NodeView {
        id: &r.id,
        address: r.address,
        public_key: &r.public_key,
        endpoint: &r.endpoint,
        capabilities: r.capabilities.as_slice(),
        joined_at: r.joined_at,
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
