//! Parsing and validation of the mesh's textual inputs, without allocation:
//! overlay CIDRs, WireGuard keys (base64 of 32 bytes) and `host:port` endpoints.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// Why a CIDR string or prefix is not a valid overlay network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CidrError {
    /// The string has no `/prefix` part.
    MissingPrefix,
    /// The address part is not an IPv4 or IPv6 address.
    BadAddress,
    /// The prefix is not a decimal number within the address family's width.
    BadPrefix,
    /// Bits are set after the prefix (e.g. `10.0.0.1/16`); give the network address.
    HostBitsSet,
}

// All `InvalidConfig`: the overlay network is part of the mesh configuration.
crate::error::error_impls! {
    CidrError, f;
    CidrError::MissingPrefix => ErrorKind::InvalidConfig, f.write_str("CIDR has no /prefix");
    CidrError::BadAddress => ErrorKind::InvalidConfig, f.write_str("CIDR address is not an IPv4 or IPv6 address");
    CidrError::BadPrefix => ErrorKind::InvalidConfig, f.write_str("CIDR prefix is not a number within the address width");
    CidrError::HostBitsSet => ErrorKind::InvalidConfig, f.write_str("CIDR address has bits set after the prefix");
}

/// An overlay network: a base address and a prefix length, IPv4 or IPv6.
///
/// Addresses inside it are handled as offsets from the network address (`u128`),
/// so IPv4 and IPv6 share one allocator and large IPv6 prefixes never need to be
/// enumerated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The default overlay, `10.0.0.0/16`.
    pub const DEFAULT: Cidr = Cidr { network: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), prefix: 16 };

    /// A CIDR from a network address and prefix; host bits must be zero.
    pub fn new(network: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let width = family_width(&network);
        if u32::from(prefix) > width {
            return Err(CidrError::BadPrefix);
        }
        let cidr = Cidr { network, prefix };
        if to_u128(network) & cidr.host_mask() != 0 {
            return Err(CidrError::HostBitsSet);
        }
        Ok(cidr)
    }

    /// Parses `a.b.c.d/p` or `x:y::z/p`.
    pub fn parse(s: &str) -> Result<Self, CidrError> {
        let (addr, prefix) = s.split_once('/').ok_or(CidrError::MissingPrefix)?;
        let network = IpAddr::from_str(addr).map_err(|_| CidrError::BadAddress)?;
        let prefix = parse_decimal(prefix, 128).ok_or(CidrError::BadPrefix)?;
        Cidr::new(network, u8::try_from(prefix).map_err(|_| CidrError::BadPrefix)?)
    }

    /// The network address.
    pub const fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub const fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether this is an IPv6 network.
    pub const fn is_ipv6(&self) -> bool {
        matches!(self.network, IpAddr::V6(_))
    }

    /// Address bits of the family (32 or 128).
    pub fn width(&self) -> u32 {
        family_width(&self.network)
    }

    /// Bits after the prefix.
    pub fn host_bits(&self) -> u32 {
        self.width().saturating_sub(u32::from(self.prefix))
    }

    fn host_mask(&self) -> u128 {
        match self.host_bits() {
            0 => 0,
            128.. => u128::MAX,
            b => (1u128 << b) - 1,
        }
    }

    /// The largest offset inside the network (`2^host_bits - 1`).
    pub fn last_offset(&self) -> u128 {
        self.host_mask()
    }

    /// Whether `addr` is inside the network (same family, same prefix bits).
    pub fn contains(&self, addr: IpAddr) -> bool {
        family_width(&addr) == self.width() && (to_u128(addr) & !self.host_mask()) == to_u128(self.network)
    }

    /// `addr`'s offset from the network address, if inside.
    pub fn offset_of(&self, addr: IpAddr) -> Option<u128> {
        self.contains(addr).then(|| to_u128(addr) & self.host_mask())
    }

    /// The address at `offset` from the network address, if inside.
    pub fn addr_at(&self, offset: u128) -> Option<IpAddr> {
        if offset > self.host_mask() {
            return None;
        }
        let v = to_u128(self.network) | offset;
        Some(match self.network {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(u32::try_from(v).ok()?)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(v)),
        })
    }

    /// The assignable offsets `[first, last]`, as WireGuard tools treat them:
    /// IPv4 prefixes up to /30 skip the network and broadcast addresses, IPv6
    /// prefixes up to /126 skip the subnet-router anycast (offset 0); /31 and
    /// /127 are point-to-point links whose two addresses are both usable, /32
    /// and /128 hold one host.
    pub fn assignable(&self) -> (u128, u128) {
        let last = self.last_offset();
        match (self.is_ipv6(), self.host_bits()) {
            (_, 0 | 1) => (0, last),
            (false, _) => (1, last - 1),
            (true, _) => (1, last),
        }
    }
}

impl Default for Cidr {
    fn default() -> Self {
        Cidr::DEFAULT
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        Cidr::parse(s)
    }
}

fn family_width(addr: &IpAddr) -> u32 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// A decimal number of 1 to 5 ASCII digits, at most `max`.
fn parse_decimal(s: &str, max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = s.bytes().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    (v <= max).then_some(v)
}

/// Why a string is not a WireGuard key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Not 44 characters long.
    BadLength,
    /// A character outside the standard base64 alphabet, or padding other than one final `=`.
    BadCharacter,
    /// The last character carries bits beyond the 32 bytes (not a canonical encoding).
    NonCanonical,
}

crate::error::error_impls! {
    KeyError, f;
    KeyError::BadLength => ErrorKind::InvalidArgument, f.write_str("key is not 44 base64 characters");
    KeyError::BadCharacter => ErrorKind::InvalidArgument, f.write_str("key has a character outside base64");
    KeyError::NonCanonical => ErrorKind::InvalidArgument, f.write_str("key is not canonical base64 of 32 bytes");
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// A 32-byte WireGuard key (Curve25519), written as 44 characters of standard base64.
///
/// Used for public keys in the mesh and for the private key a host may pass to
/// the renderer; the bytes are only stored and printed, never used for crypto.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WgKey([u8; 32]);

impl WgKey {
    /// A key from its raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        WgKey(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Overwrites the key with zeros in a way the compiler cannot elide: for a
    /// private key a binding copied from the host for one render call.
    pub fn wipe(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }

    /// A stand-in public key for a node that announced none: 32 bytes from the
    /// crate's seeded generator ([`crate::rng::Rng`]) with the id's 64-bit
    /// FNV-1a as seed, so the same id always gets the same key, on every node
    /// and in every binding. It is not a usable WireGuard key.
    pub fn placeholder(id: &crate::id::NodeId) -> Self {
        let mut rng = crate::rng::Rng::new(crate::hash::fnv1a_64(id.as_bytes()));
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        WgKey(key)
    }

    /// Decodes 44 characters of canonical standard base64 (43 data characters and one `=`).
    pub fn from_base64(s: &str) -> Result<Self, KeyError> {
        let s = s.as_bytes();
        if s.len() != 44 {
            return Err(KeyError::BadLength);
        }
        let (data, pad) = s.split_at(43);
        if pad != b"=" {
            return Err(KeyError::BadCharacter);
        }
        let mut out = [0u8; 32];
        let mut acc: u32 = 0;
        let mut bits = 0u32;
        let mut n = 0usize;
        for &c in data {
            acc = (acc << 6) | u32::from(b64_value(c).ok_or(KeyError::BadCharacter)?);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                if let Some(slot) = out.get_mut(n) {
                    *slot = (acc >> bits) as u8;
                }
                n += 1;
                acc &= (1 << bits) - 1;
            }
        }
        // 43 characters carry 258 bits: 32 bytes and 2 left-over bits that must be zero.
        if acc != 0 {
            return Err(KeyError::NonCanonical);
        }
        Ok(WgKey(out))
    }

    /// Writes the 44-character base64 form.
    pub fn write_base64<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        let mut acc: u32 = 0;
        let mut bits = 0u32;
        for &b in &self.0 {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 6 {
                bits -= 6;
                w.write_char(char::from(*B64.get(((acc >> bits) & 63) as usize).unwrap_or(&b'A')))?;
            }
            acc &= (1 << bits) - 1;
        }
        // 256 bits = 42 sextets and 4 bits left: one more character, then one `=`.
        w.write_char(char::from(*B64.get(((acc << (6 - bits)) & 63) as usize).unwrap_or(&b'A')))?;
        w.write_char('=')
    }
}

impl fmt::Display for WgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_base64(f)
    }
}

impl fmt::Debug for WgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WgKey({self})")
    }
}

impl FromStr for WgKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        WgKey::from_base64(s)
    }
}

/// The longest host name accepted in an endpoint (DNS limit).
pub const MAX_HOSTNAME_LEN: usize = 253;

/// Why a string is not a `host:port` endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointError {
    /// No `:port` part.
    MissingPort,
    /// The port is not a number in 1..=65535.
    BadPort,
    /// An IPv6 address not in brackets, an unclosed bracket, or a bracketed non-IPv6 host.
    BadBrackets,
    /// The host name is empty, too long, or has a character or label DNS does not allow.
    BadHost,
}

crate::error::error_impls! {
    EndpointError, f;
    EndpointError::MissingPort => ErrorKind::InvalidArgument, f.write_str("endpoint has no :port");
    EndpointError::BadPort => ErrorKind::InvalidArgument, f.write_str("endpoint port is not in 1..=65535");
    EndpointError::BadBrackets => ErrorKind::InvalidArgument, f.write_str("IPv6 endpoint hosts must be written in [brackets]");
    EndpointError::BadHost => ErrorKind::InvalidArgument, f.write_str("endpoint host is not an IP address or a valid host name");
}

/// The host part of an endpoint.
// Stored inline by design: the core has no allocator to box a host name into.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EndpointHost {
    /// An IP literal.
    Ip(IpAddr),
    /// A DNS name (letters, digits, `-` and `.`, labels of 1 to 63 characters).
    Name(heapless::String<MAX_HOSTNAME_LEN>),
}

/// Where a node's tunnel endpoint listens: `host:port`, IPv6 hosts in brackets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The host.
    pub host: EndpointHost,
    /// The UDP port (never 0).
    pub port: u16,
}

impl Endpoint {
    /// Parses `1.2.3.4:51820`, `[2001:db8::1]:51820` or `node.example:51820`.
    pub fn parse(s: &str) -> Result<Self, EndpointError> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (inner, after) = rest.split_once(']').ok_or(EndpointError::BadBrackets)?;
            let port = after.strip_prefix(':').ok_or(EndpointError::MissingPort)?;
            let v6 = Ipv6Addr::from_str(inner).map_err(|_| EndpointError::BadBrackets)?;
            (EndpointHost::Ip(IpAddr::V6(v6)), port)
        } else {
            let (host, port) = s.rsplit_once(':').ok_or(EndpointError::MissingPort)?;
            if host.contains(':') || host.contains('[') || host.contains(']') {
                return Err(EndpointError::BadBrackets);
            }
            let host = match Ipv4Addr::from_str(host) {
                Ok(v4) => EndpointHost::Ip(IpAddr::V4(v4)),
                Err(_) => EndpointHost::Name(valid_hostname(host).ok_or(EndpointError::BadHost)?),
            };
            (host, port)
        };
        let port = parse_decimal(port, 65_535).filter(|p| *p != 0).ok_or(EndpointError::BadPort)?;
        Ok(Endpoint { host, port: u16::try_from(port).map_err(|_| EndpointError::BadPort)? })
    }
}

fn valid_hostname(s: &str) -> Option<heapless::String<MAX_HOSTNAME_LEN>> {
    let ok_label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let name = s.strip_suffix('.').unwrap_or(s);
    // An all-numeric dotted name would be a malformed IPv4 address, not a host name.
    let numeric = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if name.is_empty() || numeric || !name.split('.').all(ok_label) {
        return None;
    }
    heapless::String::try_from(s).ok()
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            EndpointHost::Ip(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
            EndpointHost::Ip(IpAddr::V4(a)) => write!(f, "{a}:{}", self.port),
            EndpointHost::Name(n) => write!(f, "{n}:{}", self.port),
        }
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;
    fn from_str(s: &str) -> Result<Self, EndpointError> {
        Endpoint::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn placeholder_keys_are_stable_per_id() {
        let key = |id: &str| WgKey::placeholder(&crate::id::NodeId::new(id).unwrap()).to_string();
        // The keys the coordinator and the Python binding derived before they shared this function.
        assert_eq!(key("me"), "YWh7m9uE67g+jtxOnNewfb0z0IKb/zH+hvIZMx2nNK0=");
        assert_eq!(key("node-1"), "PRLahgnUqZRBDJeVlcXNH4i95lh/5Gh/o1IGVvOCoHs=");
        assert_eq!(key("worker-7"), "1AsT0wNKJKxY07sZdyjDqslgOKULs5OEMeJVpaPAlB0=");
        assert_eq!(key("node-1"), key("node-1"));
        assert_ne!(key("node-1"), key("node-2"));
    }

    #[test]
    fn cidr_parses_and_rejects() {
        let c = Cidr::parse("10.0.0.0/16").unwrap();
        assert_eq!(c, Cidr::DEFAULT);
        assert_eq!(c.to_string(), "10.0.0.0/16");
        assert_eq!(c.assignable(), (1, 65_534));
        assert_eq!(Cidr::parse("10.0.0.1/16"), Err(CidrError::HostBitsSet));
        assert_eq!(Cidr::parse("10.0.0.0"), Err(CidrError::MissingPrefix));
        assert_eq!(Cidr::parse("10.0.0.0/33"), Err(CidrError::BadPrefix));
        assert_eq!(Cidr::parse("10.0.0.0/-1"), Err(CidrError::BadPrefix));
        assert_eq!(Cidr::parse("10.0.0.0/"), Err(CidrError::BadPrefix));
        assert_eq!(Cidr::parse("10.0.0/8"), Err(CidrError::BadAddress));
        let v6 = Cidr::parse("fd00::/64").unwrap();
        assert_eq!(v6.assignable(), (1, u128::from(u64::MAX)));
        assert_eq!(Cidr::parse("fd00::/129"), Err(CidrError::BadPrefix));
        assert_eq!(Cidr::parse("fd00::1/64"), Err(CidrError::HostBitsSet));
        assert_eq!(Cidr::parse("10.0.0.0/31").unwrap().assignable(), (0, 1));
        assert_eq!(Cidr::parse("10.0.0.7/32").unwrap().assignable(), (0, 0));
        assert_eq!(Cidr::parse("fd00::/127").unwrap().assignable(), (0, 1));
        assert_eq!(Cidr::parse("fd00::5/128").unwrap().assignable(), (0, 0));
        assert_eq!(Cidr::parse("::/0").unwrap().assignable(), (1, u128::MAX));
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().assignable(), (1, u128::from(u32::MAX) - 1));
        assert!(c.contains("10.0.255.255".parse().unwrap()));
        assert!(!c.contains("10.1.0.0".parse().unwrap()));
        assert!(!c.contains("::a00:1".parse().unwrap()));
        assert_eq!(c.addr_at(258), Some("10.0.1.2".parse().unwrap()));
        assert_eq!(c.addr_at(65_536), None);
    }

    #[test]
    fn keys_round_trip_and_reject() {
        // A key from `wg genkey | wg pubkey`-style output (any 32 bytes encode to 43 chars + '=').
        let s = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
        let k = WgKey::from_base64(s).unwrap();
        assert_eq!(k.to_string(), s);
        assert_eq!(WgKey::from_bytes([0; 32]).to_string(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(WgKey::from_bytes([0xff; 32]).to_string(), "//////////////////////////////////////////8=");
        assert_eq!(WgKey::from_base64("abc="), Err(KeyError::BadLength));
        assert_eq!(WgKey::from_base64("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg"), Err(KeyError::BadLength));
        assert_eq!(WgKey::from_base64("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D=="), Err(KeyError::BadCharacter));
        assert_eq!(WgKey::from_base64("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D*="), Err(KeyError::BadCharacter));
        // 'h' sets one of the two bits past the 32nd byte.
        assert_eq!(WgKey::from_base64("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh="), Err(KeyError::NonCanonical));
    }

    #[test]
    fn endpoints_parse_and_reject() {
        let e = Endpoint::parse("192.0.2.1:51820").unwrap();
        assert_eq!(e.port, 51_820);
        assert_eq!(e.to_string(), "192.0.2.1:51820");
        let e = Endpoint::parse("[2001:db8::1]:443").unwrap();
        assert_eq!(e.host, EndpointHost::Ip("2001:db8::1".parse().unwrap()));
        assert_eq!(e.to_string(), "[2001:db8::1]:443");
        assert_eq!(Endpoint::parse("node-1.example.org:1").unwrap().to_string(), "node-1.example.org:1");
        assert_eq!(Endpoint::parse("2001:db8::1:443"), Err(EndpointError::BadBrackets));
        assert_eq!(Endpoint::parse("[10.0.0.1]:443"), Err(EndpointError::BadBrackets));
        assert_eq!(Endpoint::parse("[2001:db8::1:443"), Err(EndpointError::BadBrackets));
        assert_eq!(Endpoint::parse("[2001:db8::1]443"), Err(EndpointError::MissingPort));
        assert_eq!(Endpoint::parse("host"), Err(EndpointError::MissingPort));
        assert_eq!(Endpoint::parse("host:0"), Err(EndpointError::BadPort));
        assert_eq!(Endpoint::parse("host:65536"), Err(EndpointError::BadPort));
        assert_eq!(Endpoint::parse("host:"), Err(EndpointError::BadPort));
        assert_eq!(Endpoint::parse(":80"), Err(EndpointError::BadHost));
        assert_eq!(Endpoint::parse("bad_host:80"), Err(EndpointError::BadHost));
        assert_eq!(Endpoint::parse("-x.org:80"), Err(EndpointError::BadHost));
        assert_eq!(Endpoint::parse("1.2.3:80"), Err(EndpointError::BadHost));
        let long = "a".repeat(64);
        assert_eq!(Endpoint::parse(&std::format!("{long}.org:80")), Err(EndpointError::BadHost));
    }

    #[test]
    fn errors_say_what_is_wrong_and_classify() {
        use crate::error::{Classify, ErrorKind};
        let cidr = Cidr::parse("10.0.0.1").unwrap_err();
        assert_eq!((cidr.to_string().as_str(), cidr.kind()), ("CIDR has no /prefix", ErrorKind::InvalidConfig));
        let cidr = Cidr::parse("10.0.0.1/16").unwrap_err();
        assert_eq!(cidr.to_string(), "CIDR address has bits set after the prefix");
        assert_eq!(cidr.kind(), ErrorKind::InvalidConfig);
        let key = WgKey::from_base64("short").unwrap_err();
        assert_eq!(
            (key.to_string().as_str(), key.kind()),
            ("key is not 44 base64 characters", ErrorKind::InvalidArgument)
        );
        let endpoint = Endpoint::parse("host").unwrap_err();
        assert_eq!(
            (endpoint.to_string().as_str(), endpoint.kind()),
            ("endpoint has no :port", ErrorKind::InvalidArgument)
        );
    }
}
