//! WireGuard configuration output: a `wg-quick` file (or the `wg setconf`
//! subset) for the local node, whose `AllowedIPs` follow the next-hop table.
//!
//! Peers are the local node's tunnel neighbours sorted by node id; each lists
//! the host prefix (/32 or /128) of every destination whose next hop it is,
//! lowest address first, so equal input gives byte-identical output and no
//! prefix appears under two peers.

use super::{VPNMeshTopologyManager, WgKey};
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
    /// `PrivateKey`, written only if given (the core never needs it).
    pub private_key: Option<&'a WgKey>,
    /// `PersistentKeepalive` in seconds for every peer (default 25; `None` omits it).
    pub persistent_keepalive: Option<u16>,
}

impl Default for WireGuardOptions<'_> {
    fn default() -> Self {
        WireGuardOptions {
            format: WireGuardFormat::WgQuick,
            listen_port: None,
            private_key: None,
            persistent_keepalive: Some(25),
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
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::NotJoined => f.write_str("the local node has not joined the mesh"),
            RenderError::BufferTooSmall { needed } => {
                write!(f, "buffer too small: the configuration needs {needed} bytes")
            }
            RenderError::Write => f.write_str("the writer failed"),
        }
    }
}

impl core::error::Error for RenderError {}

impl crate::error::Classify for RenderError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            RenderError::NotJoined | RenderError::Write => ErrorKind::InvalidState,
            RenderError::BufferTooSmall { .. } => ErrorKind::BufferTooSmall,
        }
    }
}

/// Writes into a byte slice as far as it fits and counts everything.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
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
        self.write_all(options, local, me, w).map_err(|_| RenderError::Write)
    }

    fn write_all<W: Write>(
        &self,
        options: &WireGuardOptions<'_>,
        local: u32,
        me: &super::NodeRecord,
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
        let mut last: Option<&crate::id::NodeId> = None;
        loop {
            let mut next: Option<(u32, &super::NodeRecord)> = None;
            for (&(a, b), e) in self.edges.iter() {
                if e.tunnel.is_none() {
                    continue;
                }
                let other = if a == local {
                    b
                } else if b == local {
                    a
                } else {
                    continue;
                };
                let Some(r) = self.record(other) else { continue };
                if last.is_some_and(|l| r.id <= *l) || next.is_some_and(|(_, n)| n.id <= r.id) {
                    continue;
                }
                next = Some((other, r));
            }
            let Some((slot, peer)) = next else { break };
            last = Some(&peer.id);
            w.write_str("\n[Peer]\n")?;
            writeln!(w, "PublicKey = {}", peer.public_key)?;
            writeln!(w, "Endpoint = {}", peer.endpoint)?;
            let mut first = true;
            for (_, dest) in self.pool.iter() {
                if self.routes.get(dest as usize).is_none_or(|r| r.next_hop != slot) {
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
