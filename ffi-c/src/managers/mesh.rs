//! `pn_mesh`: one node's view of the encrypted worker mesh (overlay addresses,
//! tunnels and their health, latency-weighted routes, link-state adverts,
//! WireGuard configuration), over [`pouw_netops::VPNMeshTopologyManager`] with the
//! large preset (4096 nodes, 32768 links).
//!
//! Link-state adverts travel as wire envelopes: `pn_mesh_local_link_state`
//! encodes this node's advert into a caller buffer, `pn_mesh_handle_link_state`
//! applies a received one. Re-establish requests and next-hop changes are drained
//! one at a time as structs.

use crate::boundary::{Handle, Out, bytes, guard, optional_out, set_opt, set_polled, slots};
use crate::convert::{node_id, pn_node_id, pn_str, text, us};
use crate::mesh::{pn_route, pn_tunnel_state, pn_wireguard_options};
use crate::result::pn_result;
use crate::boundary::encode_into;
use core::ffi::c_char;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use pouw_netops::mesh::{
    Capability, LinkStateOutcome, MAX_CAPABILITIES, MAX_RESERVED, TunnelTimers,
};
use pouw_netops::preset::large;
use pouw_netops::{
    Body, Cidr, Endpoint, Envelope, Instant, MeshConfig, MeshNode, TunnelProtocol, WgKey,
};

/// Nodes a mesh handle can hold (`large::MESH_NODES`).
pub const PN_MESH_NODES: usize = 4096;
/// Links (tunnel records and advertised links) a mesh handle can hold (`large::MESH_LINKS`).
pub const PN_MESH_LINKS: usize = 32768;
/// Addresses a mesh configuration may reserve.
pub const PN_MESH_MAX_RESERVED: usize = 8;
/// Capabilities a joining node may announce.
pub const PN_MESH_MAX_CAPABILITIES: usize = 8;
const _: () = assert!(
    PN_MESH_NODES == large::MESH_NODES
        && PN_MESH_LINKS == large::MESH_LINKS
        && PN_MESH_MAX_RESERVED == MAX_RESERVED
        && PN_MESH_MAX_CAPABILITIES == MAX_CAPABILITIES
);

/// An IPv4 or IPv6 address: IPv4 in the first 4 bytes of `bytes`, network order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_ip_addr {
    /// Whether the address is IPv6.
    pub is_v6: bool,
    /// The address bytes (4 used for IPv4, the rest zero).
    pub bytes: [u8; 16],
}

impl From<IpAddr> for pn_ip_addr {
    fn from(a: IpAddr) -> Self {
        let mut bytes = [0u8; 16];
        match a {
            IpAddr::V4(v4) => {
                for (d, s) in bytes.iter_mut().zip(v4.octets()) {
                    *d = s;
                }
                pn_ip_addr { is_v6: false, bytes }
            }
            IpAddr::V6(v6) => pn_ip_addr { is_v6: true, bytes: v6.octets() },
        }
    }
}

impl From<&pn_ip_addr> for IpAddr {
    fn from(a: &pn_ip_addr) -> Self {
        if a.is_v6 {
            IpAddr::V6(Ipv6Addr::from(a.bytes))
        } else {
            let [b0, b1, b2, b3, ..] = a.bytes;
            IpAddr::V4(Ipv4Addr::new(b0, b1, b2, b3))
        }
    }
}

/// Health thresholds of one tunnel protocol.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_tunnel_timers {
    /// Session age at which a rekey is due, microseconds.
    pub rekey_after_us: u64,
    /// Handshake age past which the tunnel is stale, microseconds.
    pub stale_after_us: u64,
    /// Time past `stale_after_us` that counts as one more failure, microseconds.
    pub failure_interval_us: u64,
    /// Consecutive failures that take a tunnel down.
    pub failures_to_down: u32,
    /// Consecutive handshakes that bring a down tunnel back up.
    pub successes_to_up: u32,
}

impl From<&TunnelTimers> for pn_tunnel_timers {
    fn from(t: &TunnelTimers) -> Self {
        pn_tunnel_timers {
            rekey_after_us: t.rekey_after.total_micros(),
            stale_after_us: t.stale_after.total_micros(),
            failure_interval_us: t.failure_interval.total_micros(),
            failures_to_down: t.failures_to_down,
            successes_to_up: t.successes_to_up,
        }
    }
}

impl From<&pn_tunnel_timers> for TunnelTimers {
    fn from(t: &pn_tunnel_timers) -> Self {
        TunnelTimers {
            rekey_after: us(t.rekey_after_us),
            stale_after: us(t.stale_after_us),
            failure_interval: us(t.failure_interval_us),
            failures_to_down: t.failures_to_down,
            successes_to_up: t.successes_to_up,
        }
    }
}

/// Mesh parameters (the local node's id is passed to `pn_mesh_new`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_mesh_config {
    /// Network address of the overlay CIDR (default 10.0.0.0).
    pub cidr_network: pn_ip_addr,
    /// Prefix length of the overlay CIDR (default 16).
    pub cidr_prefix: u8,
    /// Reserve the first host address for a gateway (default true).
    pub reserve_gateway: bool,
    /// Further addresses never handed out: the first `reserved_count` of `reserved`.
    pub reserved_count: usize,
    /// The reserved addresses.
    pub reserved: [pn_ip_addr; PN_MESH_MAX_RESERVED],
    /// Timers of WireGuard tunnels.
    pub wireguard: pn_tunnel_timers,
    /// Timers of OpenVPN tunnels.
    pub openvpn: pn_tunnel_timers,
    /// Timers of IPsec tunnels.
    pub ipsec: pn_tunnel_timers,
    /// First wait before asking again to re-establish a down tunnel, microseconds (default 5 s).
    pub reestablish_backoff_us: u64,
    /// Longest wait between re-establish requests, microseconds (default 300 s).
    pub reestablish_backoff_max_us: u64,
    /// Latency assumed for an up tunnel without a measurement, microseconds (default 100 ms).
    pub default_latency_us: u64,
    /// A new route replaces the next hop only if faster by this much, microseconds (default 5 ms) ...
    pub switch_margin_us: u64,
    /// ... and by this fraction, per mille (default 100).
    pub switch_margin_permille: u32,
}

/// The tunnel technology. Passed in as an integer and validated.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_tunnel_protocol {
    /// WireGuard.
    PN_TUNNEL_WIREGUARD = 0,
    /// OpenVPN.
    PN_TUNNEL_OPENVPN = 1,
    /// IPsec (IKEv2).
    PN_TUNNEL_IPSEC = 2,
}

impl From<TunnelProtocol> for pn_tunnel_protocol {
    fn from(p: TunnelProtocol) -> Self {
        match p {
            TunnelProtocol::WireGuard => pn_tunnel_protocol::PN_TUNNEL_WIREGUARD,
            TunnelProtocol::OpenVpn => pn_tunnel_protocol::PN_TUNNEL_OPENVPN,
            TunnelProtocol::Ipsec => pn_tunnel_protocol::PN_TUNNEL_IPSEC,
        }
    }
}

fn protocol_from_c(p: u32) -> Result<TunnelProtocol, pn_result> {
    match p {
        0 => Ok(TunnelProtocol::WireGuard),
        1 => Ok(TunnelProtocol::OpenVpn),
        2 => Ok(TunnelProtocol::Ipsec),
        _ => Err(pn_result::PN_ERR_INVALID_ARGUMENT),
    }
}

/// What is known about one tunnel.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_tunnel_info {
    /// One end (the lower node id).
    pub a: pn_node_id,
    /// The other end.
    pub b: pn_node_id,
    /// Protocol.
    pub protocol: pn_tunnel_protocol,
    /// Health.
    pub state: pn_tunnel_state,
    /// Whether a handshake was ever recorded.
    pub has_handshake: bool,
    /// The last handshake, microseconds (0 if none).
    pub last_handshake_us: u64,
    /// Whether a latency was measured.
    pub has_latency: bool,
    /// Smoothed round-trip time, microseconds (0 if none).
    pub latency_us: u64,
    /// Bytes received, as last reported.
    pub rx_bytes: u64,
    /// Bytes sent, as last reported.
    pub tx_bytes: u64,
    /// Throughput between the last two traffic reports, bytes per second.
    pub bandwidth: u64,
}

/// What is known about one mesh node.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_mesh_node_info {
    /// The node.
    pub id: pn_node_id,
    /// Its overlay address.
    pub address: pn_ip_addr,
    /// Its WireGuard public key.
    pub public_key: [u8; 32],
    /// Its endpoint's port.
    pub endpoint_port: u16,
    /// Capabilities it announced.
    pub capability_count: usize,
    /// When it joined, microseconds.
    pub joined_at_us: u64,
}

/// A request to the host to set up a down tunnel again.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_reestablish_request {
    /// One end (the lower node id).
    pub a: pn_node_id,
    /// The other end.
    pub b: pn_node_id,
    /// The tunnel's protocol.
    pub protocol: pn_tunnel_protocol,
    /// 1 for the first request after going down, then 2, 3, ...
    pub attempt: u32,
    /// When it was issued, microseconds.
    pub at_us: u64,
}

/// The local node's next hop towards `destination` changed.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_route_change {
    /// The destination.
    pub destination: pn_node_id,
    /// Whether there was a next hop before.
    pub had_next_hop: bool,
    /// The previous next hop (length 0 if none).
    pub old_next_hop: pn_node_id,
    /// Whether there is one now.
    pub has_next_hop: bool,
    /// The new next hop (length 0: now unreachable).
    pub new_next_hop: pn_node_id,
}

/// What one `pn_mesh_monitor_tunnel_health` call found.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_tunnel_health_report {
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
    /// Up tunnels due for a rekey.
    pub rekey_due: usize,
    /// Re-establish requests issued in this call.
    pub reestablish_requests: usize,
    /// Whether the routes were recomputed.
    pub routes_recomputed: bool,
}

/// A summary of the mesh as the local node sees it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_topology_report {
    /// Nodes in the mesh.
    pub nodes: usize,
    /// Tunnel records.
    pub tunnels: usize,
    /// Tunnels up.
    pub tunnels_up: usize,
    /// Links known from adverts or set directly.
    pub links: usize,
    /// Destinations with a route.
    pub reachable: usize,
    /// Destinations without one.
    pub unreachable: usize,
    /// reachable / (nodes - 1); 1 when alone, 0 before joining.
    pub connectivity_ratio: f64,
    /// Mean cost of the routes in use, microseconds (0 if none).
    pub average_route_latency_us: u64,
    /// Mean smoothed RTT of measured tunnels, microseconds (0 if none).
    pub average_tunnel_latency_us: u64,
    /// Sum of tunnel throughputs, bytes per second.
    pub total_bandwidth: u64,
    /// Route changes dropped because the queue was full (ever).
    pub dropped_route_changes: u64,
    /// Re-establish requests dropped because the queue was full (ever).
    pub dropped_reestablish: u64,
}

/// An opaque mesh handle; create with `pn_mesh_new`, release with `pn_mesh_free`.
pub struct pn_mesh {
    _opaque: [u8; 0],
}

impl Handle for pn_mesh {
    type Inner = large::VPNMeshTopologyManager;
}

/// Writes the default mesh parameters into `*out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `pn_mesh_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_config_default(out: *mut pn_mesh_config) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `out`.
        let out = unsafe { Out::new(out) }?;
        let local = pouw_netops::NodeId::new("local")?;
        let d = MeshConfig::new(local);
        let zero = pn_ip_addr { is_v6: false, bytes: [0; 16] };
        out.set(pn_mesh_config {
            cidr_network: d.cidr.network().into(),
            cidr_prefix: d.cidr.prefix(),
            reserve_gateway: d.reserve_gateway,
            reserved_count: 0,
            reserved: [zero; PN_MESH_MAX_RESERVED],
            wireguard: (&d.wireguard).into(),
            openvpn: (&d.openvpn).into(),
            ipsec: (&d.ipsec).into(),
            reestablish_backoff_us: d.reestablish_backoff.total_micros(),
            reestablish_backoff_max_us: d.reestablish_backoff_max.total_micros(),
            default_latency_us: d.default_latency.total_micros(),
            switch_margin_us: d.switch_margin.total_micros(),
            switch_margin_permille: d.switch_margin_permille,
        });
        Ok(())
    })
}

/// Creates the mesh view of local node `local` (UTF-8, `local_len` bytes; it
/// still has to join) with `*config`, built in place on the heap.
/// `PN_ERR_INVALID_CONFIG` for a bad CIDR, reserved list or timers.
///
/// # Safety
/// `config` NULL or readable; `local` NULL or readable for `local_len` bytes; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_new(
    config: *const pn_mesh_config,
    local: *const c_char,
    local_len: usize,
    out: *mut *mut pn_mesh,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (c, local, out) = unsafe {
            (config.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?, node_id(local, local_len)?, Out::new(out)?)
        };
        let reserved = c.reserved.get(..c.reserved_count).ok_or(pn_result::PN_ERR_INVALID_CONFIG)?;
        let mut config = MeshConfig::new(local);
        config.cidr = Cidr::new(IpAddr::from(&c.cidr_network), c.cidr_prefix)?;
        config.reserve_gateway = c.reserve_gateway;
        for a in reserved {
            config.reserved.push(a.into()).map_err(|_| pn_result::PN_ERR_INVALID_CONFIG)?;
        }
        config.wireguard = (&c.wireguard).into();
        config.openvpn = (&c.openvpn).into();
        config.ipsec = (&c.ipsec).into();
        config.reestablish_backoff = us(c.reestablish_backoff_us);
        config.reestablish_backoff_max = us(c.reestablish_backoff_max_us);
        config.default_latency = us(c.default_latency_us);
        config.switch_margin = us(c.switch_margin_us);
        config.switch_margin_permille = c.switch_margin_permille;
        let m = large::VPNMeshTopologyManager::new_boxed(config)?;
        out.set(pn_mesh::into_raw(m));
        Ok(())
    })
}

/// Releases a mesh handle; NULL is ignored. The handle is invalid afterwards.
///
/// # Safety
/// `mesh` must be NULL or a live handle from `pn_mesh_new`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_free(mesh: *mut pn_mesh) {
    // SAFETY: the caller's promise for `mesh`.
    crate::boundary::catch_or((), || unsafe { pn_mesh::free(mesh) })
}

/// Adds node `id` with WireGuard `public_key` (32 raw bytes) listening at
/// `endpoint` (`"host:port"`, `"[v6]:port"`), announcing `capability_count`
/// capabilities, and writes its overlay address into `*out_address`:
/// `*requested` (NULL: none) if inside the CIDR, assignable and free, otherwise
/// the lowest free one. An already joined node or a taken requested address
/// gives `PN_ERR_INVALID_STATE`; a requested address outside the CIDR or not
/// assignable, a bad endpoint or capability `PN_ERR_INVALID_ARGUMENT`; a full
/// table or address space `PN_ERR_CAPACITY_EXCEEDED`. Nothing changes on error.
///
/// # Safety
/// `mesh` NULL or a live handle not used by another thread; `id` and `endpoint`
/// NULL or readable for their lengths; `public_key` NULL or readable for 32
/// bytes; `requested` NULL or readable; `capabilities` NULL or readable for
/// `capability_count` elements; `out_address` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_join(
    mesh: *mut pn_mesh,
    now_us: u64,
    id: *const c_char,
    id_len: usize,
    public_key: *const u8,
    endpoint: *const c_char,
    endpoint_len: usize,
    requested: *const pn_ip_addr,
    capabilities: *const pn_str,
    capability_count: usize,
    out_address: *mut pn_ip_addr,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, id, key, endpoint, requested, out) = unsafe {
            (
                pn_mesh::borrow_mut(mesh)?,
                node_id(id, id_len)?,
                bytes(public_key, 32)?,
                text(endpoint, endpoint_len)?,
                requested.as_ref(),
                Out::new(out_address)?,
            )
        };
        let caps: &[pn_str] = if capability_count == 0 {
            &[]
        } else if capabilities.is_null() {
            return Err(pn_result::PN_ERR_NULL_POINTER.into());
        } else {
            // SAFETY: non-NULL and, by the caller's promise, readable for `capability_count` elements.
            unsafe { core::slice::from_raw_parts(capabilities, capability_count) }
        };
        let key: [u8; 32] = key.try_into().map_err(|_| pn_result::PN_ERR_INVALID_ARGUMENT)?;
        let mut node = MeshNode::new(id, WgKey::from_bytes(key), Endpoint::parse(endpoint)?);
        node.requested_address = requested.map(IpAddr::from);
        for c in caps {
            // SAFETY: the caller's promise for each element.
            let s = unsafe { text(c.ptr, c.len) }?;
            let cap = Capability::try_from(s).map_err(|_| pn_result::PN_ERR_INVALID_ARGUMENT)?;
            node.capabilities.push(cap).map_err(|_| pn_result::PN_ERR_INVALID_ARGUMENT)?;
        }
        let address = m.join_mesh(Instant::from_micros(now_us), node)?;
        out.set(address.into());
        Ok(())
    })
}

/// Removes node `id`, its tunnels, links and routes, and frees its address
/// (written to `*out_address` if not NULL). `PN_ERR_NOT_FOUND` if not in the mesh.
///
/// # Safety
/// As `pn_mesh_join` for `mesh` and `id`; `out_address` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_leave(
    mesh: *mut pn_mesh,
    now_us: u64,
    id: *const c_char,
    id_len: usize,
    out_address: *mut pn_ip_addr,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, id, out) = unsafe { (pn_mesh::borrow_mut(mesh)?, node_id(id, id_len)?, optional_out(out_address)) };
        set_opt(out, m.leave_mesh(Instant::from_micros(now_us), &id)?.into());
        Ok(())
    })
}

/// The two tunnel ends of a call, read from pointer + length pairs.
///
/// # Safety
/// Both pointers NULL or readable for their lengths.
unsafe fn ends(
    a: *const c_char,
    a_len: usize,
    b: *const c_char,
    b_len: usize,
) -> Result<(pouw_netops::NodeId, pouw_netops::NodeId), pn_result> {
    // SAFETY: forwarded caller promises.
    unsafe { Ok((node_id(a, a_len)?, node_id(b, b_len)?)) }
}

/// Records a tunnel between `a` and `b` with `protocol` (a `pn_tunnel_protocol`
/// value); an existing record keeps its history unless the protocol changes.
/// `*out_state` (if not NULL) gets its state.
///
/// # Safety
/// `mesh` as `pn_mesh_join`; `a` and `b` NULL or readable for their lengths; `out_state` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_establish_tunnel(
    mesh: *mut pn_mesh,
    now_us: u64,
    a: *const c_char,
    a_len: usize,
    b: *const c_char,
    b_len: usize,
    protocol: u32,
    out_state: *mut pn_tunnel_state,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, (a, b), out) =
            unsafe { (pn_mesh::borrow_mut(mesh)?, ends(a, a_len, b, b_len)?, optional_out(out_state)) };
        let state = m.establish_tunnel(Instant::from_micros(now_us), &a, &b, protocol_from_c(protocol)?)?;
        set_opt(out, state.into());
        Ok(())
    })
}

/// Removes the tunnel record between `a` and `b`. `PN_ERR_NOT_FOUND` if there is none.
///
/// # Safety
/// As `pn_mesh_establish_tunnel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_remove_tunnel(
    mesh: *mut pn_mesh,
    now_us: u64,
    a: *const c_char,
    a_len: usize,
    b: *const c_char,
    b_len: usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, (a, b)) = unsafe { (pn_mesh::borrow_mut(mesh)?, ends(a, a_len, b, b_len)?) };
        Ok(m.remove_tunnel(Instant::from_micros(now_us), &a, &b)?)
    })
}

/// A handshake completed on the tunnel between `a` and `b` (`success` true), or
/// an attempt failed (`success` false, counts toward going down). `*out_state`
/// (if not NULL) gets the tunnel's state after it.
///
/// # Safety
/// As `pn_mesh_establish_tunnel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_record_handshake(
    mesh: *mut pn_mesh,
    now_us: u64,
    a: *const c_char,
    a_len: usize,
    b: *const c_char,
    b_len: usize,
    success: bool,
    out_state: *mut pn_tunnel_state,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, (a, b), out) =
            unsafe { (pn_mesh::borrow_mut(mesh)?, ends(a, a_len, b, b_len)?, optional_out(out_state)) };
        let now = Instant::from_micros(now_us);
        let state =
            if success { m.record_tunnel_handshake(now, &a, &b)? } else { m.record_handshake_failure(now, &a, &b)? };
        set_opt(out, state.into());
        Ok(())
    })
}

/// A round-trip time `rtt_us` measured on the tunnel between `a` and `b`;
/// `*out_srtt_us` (if not NULL) gets the smoothed value.
///
/// # Safety
/// As `pn_mesh_establish_tunnel`; `out_srtt_us` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_record_latency(
    mesh: *mut pn_mesh,
    now_us: u64,
    a: *const c_char,
    a_len: usize,
    b: *const c_char,
    b_len: usize,
    rtt_us: u64,
    out_srtt_us: *mut u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, (a, b), out) =
            unsafe { (pn_mesh::borrow_mut(mesh)?, ends(a, a_len, b, b_len)?, optional_out(out_srtt_us)) };
        let srtt = m.record_latency(Instant::from_micros(now_us), &a, &b, us(rtt_us))?;
        set_opt(out, srtt.total_micros());
        Ok(())
    })
}

/// Cumulative byte counters of the tunnel between `a` and `b`; `*out_bandwidth`
/// (if not NULL) gets the throughput since the last report, bytes per second.
///
/// # Safety
/// As `pn_mesh_establish_tunnel`; `out_bandwidth` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_record_traffic(
    mesh: *mut pn_mesh,
    now_us: u64,
    a: *const c_char,
    a_len: usize,
    b: *const c_char,
    b_len: usize,
    rx_bytes: u64,
    tx_bytes: u64,
    out_bandwidth: *mut u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, (a, b), out) =
            unsafe { (pn_mesh::borrow_mut(mesh)?, ends(a, a_len, b, b_len)?, optional_out(out_bandwidth)) };
        set_opt(out, m.record_traffic(Instant::from_micros(now_us), &a, &b, rx_bytes, tx_bytes)?);
        Ok(())
    })
}

/// Sets the link between `a` and `b` directly (a measurement made outside any
/// tunnel): `latency_us` and whether it is `up`.
///
/// # Safety
/// As `pn_mesh_establish_tunnel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_record_link(
    mesh: *mut pn_mesh,
    now_us: u64,
    a: *const c_char,
    a_len: usize,
    b: *const c_char,
    b_len: usize,
    latency_us: u64,
    up: bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, (a, b)) = unsafe { (pn_mesh::borrow_mut(mesh)?, ends(a, a_len, b, b_len)?) };
        Ok(m.record_link(Instant::from_micros(now_us), &a, &b, us(latency_us), up)?)
    })
}

/// Applies a received link-state advert (`len` bytes, a wire envelope whose
/// sender is the advertising node). `*out_applied` (if not NULL) is false when
/// its sequence number was not newer than the last applied (nothing changed);
/// `*out_ignored` (if not NULL) counts entries naming unknown nodes.
/// A message of another kind gives `PN_ERR_INVALID_ARGUMENT`, an unknown sender
/// `PN_ERR_NOT_FOUND`.
///
/// # Safety
/// `mesh` as `pn_mesh_join`; `msg` NULL or readable for `len` bytes; the out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_handle_link_state(
    mesh: *mut pn_mesh,
    now_us: u64,
    msg: *const u8,
    len: usize,
    out_applied: *mut bool,
    out_ignored: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, input, applied, ignored) = unsafe {
            (pn_mesh::borrow_mut(mesh)?, bytes(msg, len)?, optional_out(out_applied), optional_out(out_ignored))
        };
        let envelope = Envelope::decode(input)?;
        let Body::LinkState(advert) = &envelope.body else {
            return Err(pn_result::PN_ERR_INVALID_ARGUMENT.into());
        };
        let (was_applied, skipped) =
            match m.handle_link_state(Instant::from_micros(now_us), &envelope.sender, advert)? {
                LinkStateOutcome::Applied { ignored } => (true, ignored),
                LinkStateOutcome::Stale => (false, 0),
            };
        set_opt(applied, was_applied);
        set_opt(ignored, skipped);
        Ok(())
    })
}

/// Encodes the local node's link-state advert (its tunnels, a fresh sequence
/// number) as a wire envelope into `buf`, its length into `*out_len`.
/// `PN_ERR_INVALID_STATE` before the local node joins. A short buffer gives
/// `PN_ERR_BUFFER_TOO_SMALL` with the needed length and writes nothing; the
/// sequence number drawn for it is skipped, which receivers accept (they only
/// need increasing numbers).
///
/// # Safety
/// `mesh` as `pn_mesh_join`; `buf` NULL or writable for `buf_len` bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_local_link_state(
    mesh: *mut pn_mesh,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, buf, len) = unsafe { (pn_mesh::borrow_mut(mesh)?, slots(buf, buf_len)?, Out::new(out_len)?) };
        let advert = m.local_link_state().ok_or(pn_result::PN_ERR_INVALID_STATE)?;
        let envelope = Envelope::new(m.config().local.clone(), Body::LinkState(advert));
        encode_into(&envelope, buf, len)
    })
}

/// Recomputes the local node's routes now (Dijkstra with hysteresis); changed
/// next hops are queued for `pn_mesh_poll_route_change`.
///
/// # Safety
/// `mesh` NULL or a live handle not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_recompute_routes(mesh: *mut pn_mesh, now_us: u64) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `mesh`.
        let m = unsafe { pn_mesh::borrow_mut(mesh) }?;
        m.recompute_routes(Instant::from_micros(now_us));
        Ok(())
    })
}

/// Re-evaluates every tunnel's health at `now_us`, issues re-establish requests
/// for down tunnels, recomputes routes if anything changed, and writes what it
/// found into `*out_report` (if not NULL).
///
/// # Safety
/// `mesh` as `pn_mesh_recompute_routes`; `out_report` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_monitor_tunnel_health(
    mesh: *mut pn_mesh,
    now_us: u64,
    out_report: *mut pn_tunnel_health_report,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_mesh::borrow_mut(mesh)?, optional_out(out_report)) };
        let r = m.monitor_tunnel_health(Instant::from_micros(now_us));
        set_opt(
            out,
            pn_tunnel_health_report {
                tunnels: r.tunnels,
                connecting: r.connecting,
                up: r.up,
                stale: r.stale,
                down: r.down,
                changed: r.changed,
                rekey_due: r.rekey_due,
                reestablish_requests: r.reestablish_requests,
                routes_recomputed: r.routes_recomputed,
            },
        );
        Ok(())
    })
}

/// Takes the oldest re-establish request: `*out_available` says whether `*out_request` was written.
///
/// # Safety
/// `mesh` as `pn_mesh_recompute_routes`; both out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_poll_reestablish(
    mesh: *mut pn_mesh,
    out_request: *mut pn_reestablish_request,
    out_available: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, out, available) =
            unsafe { (pn_mesh::borrow_mut(mesh)?, Out::new(out_request)?, Out::new(out_available)?) };
        let reestablish = m.poll_reestablish().map(|r| pn_reestablish_request {
            a: pn_node_id::from(&r.a),
            b: pn_node_id::from(&r.b),
            protocol: r.protocol.into(),
            attempt: r.attempt,
            at_us: r.at.total_micros(),
        });
        set_polled(out, available, reestablish);
        Ok(())
    })
}

/// Takes the oldest next-hop change: `*out_available` says whether `*out_change` was written.
///
/// # Safety
/// `mesh` as `pn_mesh_recompute_routes`; both out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_poll_route_change(
    mesh: *mut pn_mesh,
    out_change: *mut pn_route_change,
    out_available: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, out, available) =
            unsafe { (pn_mesh::borrow_mut(mesh)?, Out::new(out_change)?, Out::new(out_available)?) };
        let route_change = m.poll_route_change().map(|c| pn_route_change {
            destination: pn_node_id::from(&c.destination),
            had_next_hop: c.old_next_hop.is_some(),
            old_next_hop: pn_node_id::from_opt(c.old_next_hop.as_ref()),
            has_next_hop: c.new_next_hop.is_some(),
            new_next_hop: pn_node_id::from_opt(c.new_next_hop.as_ref()),
        });
        set_polled(out, available, route_change);
        Ok(())
    })
}

/// Writes the local node's route to `destination` (as of the last recompute)
/// into `*out_route`; `out_route->reachable` is false without one.
/// `PN_ERR_NOT_FOUND` if the destination is not in the mesh.
///
/// # Safety
/// `mesh` NULL or a live handle; `destination` NULL or readable for its length; `out_route` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_route(
    mesh: *const pn_mesh,
    destination: *const c_char,
    destination_len: usize,
    out_route: *mut pn_route,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        unsafe { crate::mesh::route(pn_mesh::borrow(mesh)?, destination, destination_len, out_route) }
    })
}

/// Writes the next hop towards `destination` into `*out_next_hop` and whether
/// there is one into `*out_reachable`. `PN_ERR_NOT_FOUND` if not in the mesh.
///
/// # Safety
/// As `pn_mesh_route`; `out_next_hop` and `out_reachable` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_next_hop(
    mesh: *const pn_mesh,
    destination: *const c_char,
    destination_len: usize,
    out_next_hop: *mut pn_node_id,
    out_reachable: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, d, hop, reachable) = unsafe {
            (
                pn_mesh::borrow(mesh)?,
                node_id(destination, destination_len)?,
                Out::new(out_next_hop)?,
                Out::new(out_reachable)?,
            )
        };
        let r = m.route(&d).ok_or(pn_result::PN_ERR_NOT_FOUND)?;
        hop.set(pn_node_id::from_opt(r.next_hop));
        reachable.set(r.next_hop.is_some());
        Ok(())
    })
}

/// Lists the routing table (every other node, table order): writes the routes
/// from position `offset` on, at most `capacity`, to `out_routes`, their number
/// to `*out_written`, and the number of routes to `*out_total` (if not NULL).
///
/// # Safety
/// `mesh` NULL or a live handle; `out_routes` NULL or writable for `capacity`
/// routes; `out_written` writable; `out_total` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_routes(
    mesh: *const pn_mesh,
    offset: usize,
    out_routes: *mut pn_route,
    capacity: usize,
    out_written: *mut usize,
    out_total: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        unsafe { crate::mesh::routes(pn_mesh::borrow(mesh)?, offset, out_routes, capacity, out_written, out_total) }
    })
}

/// Writes what is known about the tunnel between `a` and `b` into `*out_tunnel`.
/// `PN_ERR_NOT_FOUND` if there is no such tunnel.
///
/// # Safety
/// `mesh` NULL or a live handle; `a` and `b` NULL or readable for their lengths; `out_tunnel` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_tunnel(
    mesh: *const pn_mesh,
    a: *const c_char,
    a_len: usize,
    b: *const c_char,
    b_len: usize,
    out_tunnel: *mut pn_tunnel_info,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, (a, b), out) = unsafe { (pn_mesh::borrow(mesh)?, ends(a, a_len, b, b_len)?, Out::new(out_tunnel)?) };
        let t = m.tunnel(&a, &b).ok_or(pn_result::PN_ERR_NOT_FOUND)?;
        out.set(pn_tunnel_info {
            a: pn_node_id::from(t.a),
            b: pn_node_id::from(t.b),
            protocol: t.protocol.into(),
            state: t.state.into(),
            has_handshake: t.last_handshake.is_some(),
            last_handshake_us: t.last_handshake.map_or(0, |i| i.total_micros()),
            has_latency: t.latency.is_some(),
            latency_us: t.latency.map_or(0, |d| d.total_micros()),
            rx_bytes: t.rx_bytes,
            tx_bytes: t.tx_bytes,
            bandwidth: t.bandwidth,
        });
        Ok(())
    })
}

/// Writes what is known about node `id` into `*out_node`. `PN_ERR_NOT_FOUND` if not in the mesh.
///
/// # Safety
/// `mesh` NULL or a live handle; `id` NULL or readable for `id_len` bytes; `out_node` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_node(
    mesh: *const pn_mesh,
    id: *const c_char,
    id_len: usize,
    out_node: *mut pn_mesh_node_info,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, id, out) = unsafe { (pn_mesh::borrow(mesh)?, node_id(id, id_len)?, Out::new(out_node)?) };
        let n = m.node(&id).ok_or(pn_result::PN_ERR_NOT_FOUND)?;
        out.set(pn_mesh_node_info {
            id: pn_node_id::from(n.id),
            address: n.address.into(),
            public_key: *n.public_key.as_bytes(),
            endpoint_port: n.endpoint.port,
            capability_count: n.capabilities.len(),
            joined_at_us: n.joined_at.total_micros(),
        });
        Ok(())
    })
}

/// Renders the local node's WireGuard configuration (peers and allowed IPs from
/// the last route recompute) as text into `buf`, its length into `*out_len`
/// (not NUL-terminated). A short buffer gives `PN_ERR_BUFFER_TOO_SMALL` with the
/// needed length and is left untouched; `PN_ERR_INVALID_STATE` before the local
/// node joins; an unknown `format` `PN_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `mesh` NULL or a live handle; `options` NULL or readable; `buf` NULL or
/// writable for `buf_len` bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_render_wireguard(
    mesh: *const pn_mesh,
    options: *const pn_wireguard_options,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        unsafe { crate::mesh::render_wireguard(pn_mesh::borrow(mesh)?, options, buf, buf_len, out_len) }
    })
}

/// Writes a summary of the mesh as the local node sees it into `*out_report`.
///
/// # Safety
/// `mesh` NULL or a live handle; `out_report` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_topology_report(
    mesh: *const pn_mesh,
    out_report: *mut pn_topology_report,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_mesh::borrow(mesh)?, Out::new(out_report)?) };
        let r = m.topology_report();
        out.set(pn_topology_report {
            nodes: r.nodes,
            tunnels: r.tunnels,
            tunnels_up: r.tunnels_up,
            links: r.links,
            reachable: r.reachable,
            unreachable: r.unreachable,
            connectivity_ratio: r.connectivity_ratio,
            average_route_latency_us: r.average_route_latency.map_or(0, |d| d.total_micros()),
            average_tunnel_latency_us: r.average_tunnel_latency.map_or(0, |d| d.total_micros()),
            total_bandwidth: r.total_bandwidth,
            dropped_route_changes: r.dropped_route_changes,
            dropped_reestablish: r.dropped_reestablish,
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_the_c_struct() {
        for a in ["10.0.0.2", "255.255.255.255", "::1", "2001:db8::42"] {
            let ip: IpAddr = a.parse().unwrap();
            let c = pn_ip_addr::from(ip);
            assert_eq!(c.is_v6, ip.is_ipv6());
            assert_eq!(IpAddr::from(&c), ip);
        }
        // IPv4 uses the first four bytes only.
        let c = pn_ip_addr::from("1.2.3.4".parse::<IpAddr>().unwrap());
        assert_eq!(c.bytes, [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn protocols_are_validated() {
        assert_eq!(protocol_from_c(0), Ok(TunnelProtocol::WireGuard));
        assert_eq!(protocol_from_c(2), Ok(TunnelProtocol::Ipsec));
        assert_eq!(protocol_from_c(3), Err(pn_result::PN_ERR_INVALID_ARGUMENT));
        for p in [TunnelProtocol::WireGuard, TunnelProtocol::OpenVpn, TunnelProtocol::Ipsec] {
            assert_eq!(protocol_from_c(pn_tunnel_protocol::from(p) as u32), Ok(p));
        }
    }

    #[test]
    fn default_config_builds_and_matches_the_core() {
        let mut c = core::mem::MaybeUninit::<pn_mesh_config>::uninit();
        let mut m = core::ptr::null_mut();
        // SAFETY: pointers to live locals.
        unsafe {
            assert_eq!(pn_mesh_config_default(c.as_mut_ptr()), pn_result::PN_OK);
            let c = c.assume_init();
            let d = MeshConfig::new(pouw_netops::NodeId::new("x").unwrap());
            assert_eq!(IpAddr::from(&c.cidr_network), d.cidr.network());
            assert_eq!(TunnelTimers::from(&c.wireguard), d.wireguard);
            assert_eq!(pn_mesh_new(&c, c"x".as_ptr(), 1, &mut m), pn_result::PN_OK);
            let mut len = 0;
            assert_eq!(
                pn_mesh_local_link_state(m, core::ptr::null_mut(), 0, &mut len),
                pn_result::PN_ERR_INVALID_STATE
            );
            pn_mesh_free(m);
        }
    }
}

/// What `pn_mesh_record_latest_handshakes` found, line by line (blank lines
/// are not counted).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct pn_handshake_report {
    /// Handshakes newer than the last one reported, recorded at their time.
    pub recorded: usize,
    /// Lines repeating the handshake already recorded.
    pub unchanged: usize,
    /// Lines saying "never" (0) for a tunnel of the local node.
    pub never: usize,
    /// Keys of no node with a tunnel to the local node.
    pub unknown_peers: usize,
    /// Lines not of the form `<base64 key> <seconds>`.
    pub malformed: usize,
    /// Tunnels whose state changed.
    pub changed: usize,
}

/// Applies what `wg show <interface> latest-handshakes` printed (`text`,
/// `text_len` bytes of UTF-8: per line a peer's public key and the UNIX
/// seconds of its latest handshake, 0 if none) at `now_us`, when the host's
/// UNIX time was `unix_now_s`. Newer handshakes are recorded at their real
/// time and tunnel health follows them; every other line changes nothing and
/// is counted in `*out_report` (if not NULL). `PN_ERR_INVALID_ARGUMENT` if the
/// text is not UTF-8.
///
/// # Safety
/// `mesh` NULL or a live handle; `text` NULL (with length 0) or readable for
/// `text_len` bytes; `out_report` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_record_latest_handshakes(
    mesh: *mut pn_mesh,
    now_us: u64,
    unix_now_s: u64,
    text: *const c_char,
    text_len: usize,
    out_report: *mut pn_handshake_report,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, text, out) =
            unsafe { (pn_mesh::borrow_mut(mesh)?, self::text(text, text_len)?, optional_out(out_report)) };
        let r = m.record_latest_handshakes(Instant::from_micros(now_us), unix_now_s, text);
        set_opt(
            out,
            pn_handshake_report {
                recorded: r.recorded,
                unchanged: r.unchanged,
                never: r.never,
                unknown_peers: r.unknown_peers,
                malformed: r.malformed,
                changed: r.changed,
            },
        );
        Ok(())
    })
}

/// Renders the topology as a Graphviz DOT graph (nodes, links with latencies
/// and tunnel states, the local node's next hops highlighted; routes of the
/// last recompute) into `buf`, its length into `*out_len` (not
/// NUL-terminated). A short buffer gives `PN_ERR_BUFFER_TOO_SMALL` with the
/// needed length and is left untouched.
///
/// # Safety
/// `mesh` NULL or a live handle; `buf` NULL or writable for `buf_len` bytes;
/// `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_mesh_render_dot(
    mesh: *const pn_mesh,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, buf, len) = unsafe { (pn_mesh::borrow(mesh)?, slots(buf, buf_len)?, Out::new(out_len)?) };
        let mut counter = crate::mesh::Counter(0);
        m.write_dot(&mut counter).map_err(|_| pn_result::PN_ERR_INVALID_STATE)?;
        let Some(buf) = buf.get_mut(..counter.0) else {
            len.set(counter.0);
            return Err(pn_result::PN_ERR_BUFFER_TOO_SMALL.into());
        };
        for b in buf.iter_mut() {
            b.write(0);
        }
        // SAFETY: every element was initialised just above; MaybeUninit<u8> and u8 share a layout.
        let buf = unsafe { &mut *(core::ptr::from_mut(buf) as *mut [u8]) };
        len.set(m.render_dot(buf)?);
        Ok(())
    })
}
