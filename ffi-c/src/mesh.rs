//! Mesh types and read-only views the coordinator host needs: tunnel states,
//! routes and WireGuard rendering of the node's mesh (`pn_ops_routes`,
//! `pn_ops_render_wireguard`, ...).

use crate::boundary::{Handle, Out, guard, optional_out, set_opt, slots};
use crate::convert::{node_id, pn_node_id};
use crate::ops::pn_ops;
use crate::result::pn_result;
use core::ffi::c_char;
use core::fmt;
use pouw_netops::mesh::HandshakeReport;
use pouw_netops::mesh::{WireGuardFormat, WireGuardOptions};
use pouw_netops::{Duration, Instant, TunnelState, WgKey};

/// Health of one tunnel.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_tunnel_state {
    /// No handshake yet.
    PN_TUNNEL_CONNECTING = 0,
    /// A recent handshake; the only state routes use.
    PN_TUNNEL_UP = 1,
    /// The last handshake is too old.
    PN_TUNNEL_STALE = 2,
    /// Too many failures in a row; waiting for handshakes.
    PN_TUNNEL_DOWN = 3,
}

crate::convert::mirror_enum!(TunnelState => pn_tunnel_state {
    Connecting => PN_TUNNEL_CONNECTING,
    Up => PN_TUNNEL_UP,
    Stale => PN_TUNNEL_STALE,
    Down => PN_TUNNEL_DOWN,
});

/// The local node's route to one destination.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_route {
    /// The destination.
    pub destination: pn_node_id,
    /// Whether it is reachable.
    pub reachable: bool,
    /// The neighbour traffic goes to (length 0 if unreachable).
    pub next_hop: pn_node_id,
    /// Total latency of the route in use, microseconds (`UINT64_MAX` if unreachable).
    pub cost_us: u64,
    /// Links on the route in use.
    pub hops: u32,
    /// Whether hysteresis kept this next hop although a slightly faster one exists.
    pub held: bool,
}

/// The flavour of a rendered WireGuard configuration.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_wireguard_format {
    /// For `wg-quick up` (includes `Address`).
    PN_WG_QUICK = 0,
    /// For `wg setconf` (no `Address`).
    PN_WG_SETCONF = 1,
}

crate::convert::mirror_enum!(in WireGuardFormat => pn_wireguard_format {
    WgQuick => PN_WG_QUICK,
    SetConf => PN_WG_SETCONF,
});

/// What the host adds to a rendered WireGuard configuration.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_wireguard_options {
    /// Output flavour, a `pn_wireguard_format` value.
    pub format: u32,
    /// `ListenPort`; 0 uses the port of the local node's endpoint.
    pub listen_port: u16,
    /// Whether to write `PrivateKey` from `private_key`.
    pub has_private_key: bool,
    /// The private key (raw 32 bytes), written only if `has_private_key`.
    pub private_key: [u8; 32],
    /// `PersistentKeepalive` in seconds for every peer; 0 omits it (default 25).
    pub persistent_keepalive: u16,
    /// Write peers that announced no public key under a `# WARNING` (false: `PN_ERR_INVALID_STATE`).
    pub placeholder_keys: bool,
}

fn route_to_c(r: &pouw_netops::mesh::RouteView<'_>) -> pn_route {
    pn_route {
        destination: pn_node_id::from(r.destination),
        reachable: r.next_hop.is_some(),
        next_hop: pn_node_id::from_opt(r.next_hop),
        cost_us: if r.cost == Duration::MAX { u64::MAX } else { r.cost.total_micros() },
        hops: r.hops,
        held: r.held,
    }
}

/// Counts what a rendering would write, without storing it.
struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// A key wiped when dropped.
struct WipedKey(WgKey);

impl Drop for WipedKey {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

/// What `pn_ops_record_latest_handshakes` made of the text, counted by line.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct pn_handshake_report {
    /// Handshakes newer than the last one reported for a tunnel of this node: recorded.
    pub recorded: usize,
    /// Repeats of the handshake already recorded.
    pub unchanged: usize,
    /// "never" (0) for a tunnel of this node.
    pub never: usize,
    /// Keys of no node with a tunnel to this one.
    pub unknown_peers: usize,
    /// Lines not of the form `<base64 key> <seconds>`.
    pub malformed: usize,
    /// Tunnels whose state changed.
    pub changed: usize,
}

impl From<&HandshakeReport> for pn_handshake_report {
    fn from(r: &HandshakeReport) -> Self {
        let HandshakeReport { recorded, unchanged, never, unknown_peers, malformed, changed } = *r;
        pn_handshake_report { recorded, unchanged, never, unknown_peers, malformed, changed }
    }
}

/// Applies what `wg show <interface> latest-handshakes` printed (UTF-8 `text`,
/// `<base64 key> <UNIX seconds>` lines) at `now_us`, the host's UNIX time being
/// `unix_now`; counts to `*out_report` if not NULL (a stopped node records nothing).
/// From then on tunnel health follows the handshakes, not heartbeats. Drain the
/// outputs after. `PN_ERR_INVALID_ARGUMENT` for text that is not UTF-8.
///
/// # Safety
/// As `pn_ops_start`; `text` NULL or readable for `text_len` bytes; `out_report` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_record_latest_handshakes(
    ops: *mut pn_ops,
    now_us: u64,
    unix_now: u64,
    text: *const c_char,
    text_len: usize,
    out_report: *mut pn_handshake_report,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, t, out) =
            unsafe { (pn_ops::borrow_mut(ops)?, crate::convert::text(text, text_len)?, optional_out(out_report)) };
        let report = m.record_latest_handshakes(Instant::from_micros(now_us), unix_now, t);
        set_opt(out, pn_handshake_report::from(&report));
        Ok(())
    })
}

/// Writes the node's route to `destination` as of the last route recompute (every
/// `tunnel_check_interval_us`) into `*out_route`; `PN_ERR_NOT_FOUND` if the
/// destination is not in the node's mesh.
///
/// # Safety
/// `ops` NULL or a live handle; `destination` NULL or readable; `out_route` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_route(
    ops: *const pn_ops,
    destination: *const c_char,
    destination_len: usize,
    out_route: *mut pn_route,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, d, out) =
            unsafe { (pn_ops::borrow(ops)?.mesh(), node_id(destination, destination_len)?, Out::new(out_route)?) };
        out.set(route_to_c(&m.route(&d).ok_or(pn_result::PN_ERR_NOT_FOUND)?));
        Ok(())
    })
}

/// Writes the node's routes (to every other node of its mesh, table order) from
/// position `offset` on, at most `capacity`, to `out_routes`, their number to
/// `*out_written`, and the number of routes to `*out_total` (if not NULL).
///
/// # Safety
/// `ops` NULL or a live handle; `out_routes` NULL or writable for `capacity`; the others writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_routes(
    ops: *const pn_ops,
    offset: usize,
    out_routes: *mut pn_route,
    capacity: usize,
    out_written: *mut usize,
    out_total: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, slots, written, total) = unsafe {
            (pn_ops::borrow(ops)?.mesh(), slots(out_routes, capacity)?, Out::new(out_written)?, optional_out(out_total))
        };
        let mut n = 0;
        for (slot, r) in slots.iter_mut().zip(m.routes().skip(offset)) {
            slot.write(route_to_c(&r));
            n += 1;
        }
        written.set(n);
        set_opt(total, m.routes().count());
        Ok(())
    })
}

/// Renders the node's WireGuard configuration (its mesh peers and allowed IPs from the
/// last route recompute) as text into `buf` (not NUL-terminated), its length into
/// `*out_len`, or `PN_ERR_BUFFER_TOO_SMALL` with the needed length. `PN_ERR_INVALID_STATE`
/// before `pn_ops_start`; `PN_ERR_INVALID_ARGUMENT` for an unknown `format` or a private
/// key that is not the certificate's WireGuard key's.
///
/// # Safety
/// `ops` NULL or a live handle; `options` NULL or readable; the others NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_render_wireguard(
    ops: *const pn_ops,
    options: *const pn_wireguard_options,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (ops, o, buf, len) = unsafe {
            (
                pn_ops::borrow(ops)?,
                options.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
                slots(buf, buf_len)?,
                Out::new(out_len)?,
            )
        };
        // The host's private key, copied for this call only and wiped on every path.
        let key = WipedKey(WgKey::from_bytes(o.private_key));
        let key = &key.0;
        if o.has_private_key && !ops.owns_wireguard_key(key) {
            // Not the private half of the certificate's WireGuard key.
            return Err(pn_result::PN_ERR_INVALID_ARGUMENT.into());
        }
        let m = ops.mesh();
        let options = WireGuardOptions {
            format: pn_wireguard_format::core_of(o.format).ok_or(pn_result::PN_ERR_INVALID_ARGUMENT)?,
            listen_port: (o.listen_port != 0).then_some(o.listen_port),
            private_key: o.has_private_key.then_some(key),
            persistent_keepalive: (o.persistent_keepalive != 0).then_some(o.persistent_keepalive),
            placeholder_keys: o.placeholder_keys,
        };
        let mut counter = Counter(0);
        m.write_wireguard(&options, &mut counter)?;
        let Some(buf) = buf.get_mut(..counter.0) else {
            len.set(counter.0);
            return Err(pn_result::PN_ERR_BUFFER_TOO_SMALL.into());
        };
        for b in buf.iter_mut() {
            b.write(0);
        }
        // SAFETY: every element was initialised just above; MaybeUninit<u8> and u8 share a layout.
        let buf = unsafe { &mut *(core::ptr::from_mut(buf) as *mut [u8]) };
        len.set(m.render_wireguard(&options, buf)?);
        Ok(())
    })
}
