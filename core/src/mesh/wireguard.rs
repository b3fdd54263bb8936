//! WireGuard configuration output: a `wg-quick` file (or the `wg setconf`
//! file) for the local node, whose `AllowedIPs` follow the next-hop table.
//!
//! Routes and config come from one computation, the next-hop table of the last
//! recompute ([`VPNMeshTopologyManager::config_peer`]):
//! - the peers are the local node's tunnel neighbours (any state) and every
//!   next hop of a route (a next hop reached over a link without a tunnel
//!   record gets a `[Peer]` too: applying the config is what sets it up);
//! - each peer's `AllowedIPs` are the host prefixes (/32 or /128) of every
//!   destination whose next hop it is, plus its own address while no route
//!   reaches it (a tunnel still connecting, stale or down), since that entry
//!   is what lets the first handshake carry traffic;
//! - so every prefix is under at most one peer, and a destination is under
//!   peer `P` exactly when the routing table says "next hop `P`" (or when it
//!   is `P` itself and unreachable).
//!
//! Peers are sorted by node id and prefixes by address, so equal input gives
//! byte-identical output.
//!
//! The two formats follow their reference grammars: `wg-quick(8)` adds
//! `Address` to the `[Interface]` section; `wg(8)` `setconf` accepts only
//! `PrivateKey`, `ListenPort`, `FwMark` in `[Interface]` and `PublicKey`,
//! `PresharedKey`, `AllowedIPs`, `Endpoint`, `PersistentKeepalive` in `[Peer]`
//! (wireguard-tools `config.c`), so the setconf output has nothing else.
//! Comments (`#`) are valid in both.

use super::{NodeRecord, VPNMeshTopologyManager, WgKey};
use crate::id::NodeId;
use crate::mesh::routing::NONE;
use core::fmt::{self, Write};
use core::net::IpAddr;

/// Which tool the output is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WireGuardFormat {
    /// `wg-quick up`: includes `Address`.
    #[default]
    WgQuick,
    /// `wg setconf`: only keys `wg` itself understands (no `Address`).
    SetConf,
}

/// What the host adds to the rendered configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireGuardOptions<'a> {
    /// Output flavour (default `wg-quick`).
    pub format: WireGuardFormat,
    /// `ListenPort`; `None` uses the port of the local node's endpoint.
    pub listen_port: Option<u16>,
    /// `PrivateKey`, written only if given. The host passes it for each render
    /// call; the core only borrows it while writing and never stores it.
    /// Without it no `PrivateKey` line is written (the host sets the key
    /// itself, e.g. `wg set <if> private-key <file>`).
    pub private_key: Option<&'a WgKey>,
    /// `PersistentKeepalive` in seconds for every peer (default 25; `None` omits it).
    pub persistent_keepalive: Option<u16>,
    /// Whether a peer whose public key is a stand-in ([`WgKey::placeholder`] of
    /// its id, or all zeros: it announced none) is written anyway, under a
    /// `# WARNING` comment (default `false`: [`RenderError::PlaceholderKey`]).
    pub placeholder_keys: bool,
}

impl Default for WireGuardOptions<'_> {
    fn default() -> Self {
        WireGuardOptions {
            format: WireGuardFormat::WgQuick,
            listen_port: None,
            private_key: None,
            persistent_keepalive: Some(25),
            placeholder_keys: false,
        }
    }
}

/// Why a configuration could not be rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// The local node has not joined the mesh.
    NotJoined,
    /// The buffer is too small; `needed` bytes would fit the whole configuration.
    BufferTooSmall {
        /// The full length.
        needed: usize,
    },
    /// The caller's writer reported an error.
    Write,
    /// A peer's public key is a stand-in (it announced none) and
    /// [`WireGuardOptions::placeholder_keys`] is off; nothing useful was written.
    PlaceholderKey,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::NotJoined => f.write_str("the local node has not joined the mesh"),
            RenderError::BufferTooSmall { needed } => {
                write!(f, "buffer too small: the configuration needs {needed} bytes")
            }
            RenderError::Write => f.write_str("the writer failed"),
            RenderError::PlaceholderKey => {
                f.write_str("a peer has no real public key (a placeholder stands in for it); refusing to render it")
            }
        }
    }
}

impl core::error::Error for RenderError {}

impl crate::error::Classify for RenderError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            RenderError::NotJoined | RenderError::Write | RenderError::PlaceholderKey => ErrorKind::InvalidState,
            RenderError::BufferTooSmall { .. } => ErrorKind::BufferTooSmall,
        }
    }
}

/// Writes into a byte slice as far as it fits and counts everything.
pub(super) struct SliceWriter<'a> {
    pub(super) buf: &'a mut [u8],
    pub(super) len: usize,
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.saturating_add(s.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(s.as_bytes());
        }
        self.len = end;
        Ok(())
    }
}

fn host_prefix(a: IpAddr) -> u8 {
    if a.is_ipv6() { 128 } else { 32 }
}

impl<const N: usize, const E: usize, const Q: usize> VPNMeshTopologyManager<N, E, Q> {
    /// Renders the local node's configuration into `buf` and returns its length;
    /// if `buf` is too small nothing useful is in it and the error says how many
    /// bytes are needed. Uses the routes of the last recompute.
    pub fn render_wireguard(&self, options: &WireGuardOptions<'_>, buf: &mut [u8]) -> Result<usize, RenderError> {
        let mut w = SliceWriter { buf, len: 0 };
        self.write_wireguard(options, &mut w)?;
        if w.len > w.buf.len() {
            return Err(RenderError::BufferTooSmall { needed: w.len });
        }
        Ok(w.len)
    }

    /// Renders the local node's configuration into any [`fmt::Write`].
    pub fn write_wireguard<W: Write>(&self, options: &WireGuardOptions<'_>, w: &mut W) -> Result<(), RenderError> {
        let local = self.local_slot().ok_or(RenderError::NotJoined)?;
        let me = self.record(local).ok_or(RenderError::NotJoined)?;
        if !options.placeholder_keys && self.config_peers(local).any(|(_, r)| is_placeholder(r)) {
            return Err(RenderError::PlaceholderKey);
        }
        self.write_all(options, local, me, w).map_err(|_| RenderError::Write)
    }

    /// The peer of the rendered configuration whose `AllowedIPs` hold
    /// `destination`'s address: its next hop, or `destination` itself if it is
    /// a tunnel neighbour no route reaches; `None` if neither. The same rule
    /// the renderer uses, so the routing table and the config cannot disagree.
    pub fn config_peer(&self, destination: &NodeId) -> Option<&NodeId> {
        let local = self.local_slot()?;
        let v = self.slot(destination)?;
        self.id_of(self.allowed_via(local, v))
    }

    /// The slot whose `[Peer]` carries `dest`'s prefix, `NONE` if none.
    fn allowed_via(&self, local: u32, dest: u32) -> u32 {
        match self.routes.get(dest as usize) {
            Some(r) if r.next_hop != NONE => r.next_hop,
            _ if dest != local && self.has_tunnel(local, dest) => dest,
            _ => NONE,
        }
    }

    fn has_tunnel(&self, a: u32, b: u32) -> bool {
        self.edges.get(&super::pair(a, b)).is_some_and(|e| e.tunnel.is_some())
    }

    /// Every peer of the configuration, unordered, possibly repeated: tunnel
    /// neighbours and next hops.
    fn config_peers(&self, local: u32) -> impl Iterator<Item = (u32, &NodeRecord)> + '_ {
        let tunnels = self.edges.iter().filter(|(_, e)| e.tunnel.is_some()).filter_map(move |(&(a, b), _)| {
            if a == local {
                Some(b)
            } else if b == local {
                Some(a)
            } else {
                None
            }
        });
        let hops = self.routes.iter().map(|r| r.next_hop).filter(|&h| h != NONE);
        tunnels.chain(hops).filter_map(|s| self.record(s).map(|r| (s, r)))
    }

    fn write_all<W: Write>(
        &self,
        options: &WireGuardOptions<'_>,
        local: u32,
        me: &NodeRecord,
        w: &mut W,
    ) -> fmt::Result {
        w.write_str("[Interface]\n")?;
        if options.format == WireGuardFormat::WgQuick {
            writeln!(w, "Address = {}/{}", me.address, self.cidr().prefix())?;
        }
        writeln!(w, "ListenPort = {}", options.listen_port.unwrap_or(me.endpoint.port))?;
        if let Some(k) = options.private_key {
            writeln!(w, "PrivateKey = {k}")?;
        }
        // Peers in node-id order: each round finds the smallest id above the last one.
        let mut last: Option<&NodeId> = None;
        loop {
            let mut next: Option<(u32, &NodeRecord)> = None;
            for (s, r) in self.config_peers(local) {
                if last.is_some_and(|l| r.id <= *l) || next.is_some_and(|(_, n)| n.id <= r.id) {
                    continue;
                }
                next = Some((s, r));
            }
            let Some((slot, peer)) = next else { break };
            last = Some(&peer.id);
            w.write_str("\n[Peer]\n")?;
            if is_placeholder(peer) {
                writeln!(
                    w,
                    "# WARNING: {} announced no public key; this PublicKey is a placeholder, not a usable key",
                    peer.id
                )?;
            }
            writeln!(w, "PublicKey = {}", peer.public_key)?;
            writeln!(w, "Endpoint = {}", peer.endpoint)?;
            let mut first = true;
            for (_, dest) in self.pool.iter() {
                if self.allowed_via(local, dest) != slot {
                    continue;
                }
                let Some(d) = self.record(dest) else { continue };
                w.write_str(if first { "AllowedIPs = " } else { ", " })?;
                write!(w, "{}/{}", d.address, host_prefix(d.address))?;
                first = false;
            }
            if !first {
                w.write_str("\n")?;
            }
            if let Some(k) = options.persistent_keepalive {
                writeln!(w, "PersistentKeepalive = {k}")?;
            }
        }
        Ok(())
    }
}

/// Whether `r`'s public key is a stand-in: its id's placeholder or all zeros.
fn is_placeholder(r: &NodeRecord) -> bool {
    r.public_key.as_bytes() == &[0u8; 32] || r.public_key == WgKey::placeholder(&r.id)
}
