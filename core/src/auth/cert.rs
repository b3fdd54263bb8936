//! Node certificates: the cluster authority's signed statement of who a node
//! is and what it may claim.
//!
//! Layout: `0x01 (version) || postcard(certificate fields) || signature (64)`,
//! the signature by the authority for [`Domain::Certificate`] over everything
//! before it. The fields, in order: node id (length-prefixed UTF-8), role
//! (0 supervisor, 1 worker), identity public key (32), WireGuard public key
//! (32), endpoints (count, then each: 0 IPv4 (4 bytes) | 1 IPv6 (16) | 2 host
//! name (length-prefixed), followed by the port as a varint), slots (varint),
//! pools (count, then task types), serial, not_before, not_after (varints,
//! UNIX seconds). Validity is `not_before <= now < not_after`.
//!
//! A worker's slots, pools, WireGuard key and endpoints come from its
//! certificate alone: a node cannot claim more than the operator granted.

use super::format::{self, FormatError};
use super::keys::{Domain, IdentityError, IdentityKey, PublicIdentity, Signature};
use super::revocation::RevocationList;
use crate::id::{NodeId, TaskType};
use crate::mesh::{Endpoint, EndpointHost, MAX_HOSTNAME_LEN, WgKey};
use crate::table::IdTable;
use crate::wire::MAX_TASK_TYPES;
use core::fmt::Write as _;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use serde::{Deserialize, Serialize};

/// The certificate format version.
pub const CERT_VERSION: u8 = 1;

/// The most mesh endpoints a certificate lists.
pub const MAX_CERT_ENDPOINTS: usize = 4;

/// The largest signed part of an encoded certificate.
pub const MAX_CERT_SIGNED_LEN: usize = 1 // version
    + 1 + crate::id::MAX_ID_LEN // node id
    + 1 + 32 + 32 // role, keys
    + 1 + MAX_CERT_ENDPOINTS * (1 + 2 + MAX_HOSTNAME_LEN + 3) // endpoints
    + 3 // slots
    + 1 + MAX_TASK_TYPES * (1 + crate::id::MAX_ID_LEN) // pools
    + 3 * 10; // serial, validity

/// The largest encoded certificate, signature included.
pub const MAX_CERT_LEN: usize = MAX_CERT_SIGNED_LEN + format::SIGNATURE_LEN;

/// What a node is in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Runs leader election and assigns work.
    Supervisor,
    /// Runs tasks in its pools.
    Worker,
}

/// What the authority certifies about a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// The node's id, which every envelope it sends names.
    pub node: NodeId,
    /// Supervisor or worker.
    pub role: Role,
    /// The node's Ed25519 identity key (signatures, pairwise MAC keys).
    pub identity: PublicIdentity,
    /// The node's WireGuard public key for the mesh.
    pub wg_key: WgKey,
    /// Where its tunnel listens, at most [`MAX_CERT_ENDPOINTS`], each once.
    pub endpoints: heapless::Vec<Endpoint, MAX_CERT_ENDPOINTS>,
    /// Task slots the node may offer (0 for supervisors).
    pub slots: u16,
    /// The pools it may work in, at most [`MAX_TASK_TYPES`], each once.
    pub pools: heapless::Vec<TaskType, MAX_TASK_TYPES>,
    /// Increases with every certificate the authority issues for this node;
    /// a higher serial replaces (rotates) a lower one.
    pub serial: u64,
    /// First valid second (UNIX time).
    pub not_before: u64,
    /// First second no longer valid (UNIX time).
    pub not_after: u64,
}

/// Why a certificate is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertError {
    /// The bytes are not a well-formed certificate.
    Format(FormatError),
    /// The identity key is not a usable Ed25519 key.
    InvalidIdentityKey(IdentityError),
    /// An endpoint is invalid (port 0, bad host name).
    InvalidEndpoint,
    /// An endpoint is listed twice.
    DuplicateEndpoint,
    /// A pool is listed twice.
    DuplicatePool,
    /// `not_before` is after `not_after`.
    InvalidValidity,
    /// The signature does not verify under this cluster's authority.
    WrongAuthority,
    /// `now` is before `not_before`.
    NotYetValid {
        /// The certificate's first valid second.
        not_before: u64,
        /// The time checked.
        now: u64,
    },
    /// `now` is at or after `not_after`.
    Expired {
        /// The certificate's first invalid second.
        not_after: u64,
        /// The time checked.
        now: u64,
    },
    /// The certificate is for another role than required.
    WrongRole {
        /// The role required.
        expected: Role,
        /// The certificate's role.
        found: Role,
    },
    /// The certificate is for another node than the one claimed.
    IdMismatch,
    /// The authority revoked this certificate.
    Revoked {
        /// Its serial.
        serial: u64,
    },
    /// A rotation must raise the serial.
    StaleSerial {
        /// The serial held.
        current: u64,
        /// The serial offered.
        offered: u64,
    },
    /// The roster is full.
    RosterFull {
        /// Its capacity.
        capacity: usize,
    },
}

crate::error::error_impls! {
    CertError, f;
    CertError::Format(e) => e.kind(), write!(f, "certificate: {e}");
    CertError::InvalidIdentityKey(e) => e.kind(), write!(f, "certificate identity key: {e}");
    CertError::InvalidEndpoint => ErrorKind::InvalidArgument, f.write_str("certificate endpoint is invalid");
    CertError::DuplicateEndpoint => ErrorKind::InvalidArgument, f.write_str("certificate lists an endpoint twice");
    CertError::DuplicatePool => ErrorKind::InvalidArgument, f.write_str("certificate lists a pool twice");
    CertError::InvalidValidity => ErrorKind::InvalidArgument, f.write_str("certificate validity ends before it begins");
    CertError::WrongAuthority => ErrorKind::Unauthenticated, f.write_str("certificate is not signed by the cluster authority");
    CertError::NotYetValid { not_before, now } => ErrorKind::CredentialRejected, write!(f, "certificate is valid from {not_before}, now is {now}");
    CertError::Expired { not_after, now } => ErrorKind::CredentialRejected, write!(f, "certificate expired at {not_after}, now is {now}");
    CertError::WrongRole { expected, found } => ErrorKind::CredentialRejected, write!(f, "certificate is for a {found:?}, a {expected:?} is required");
    CertError::IdMismatch => ErrorKind::CredentialRejected, f.write_str("certificate is for another node");
    CertError::Revoked { serial } => ErrorKind::CredentialRejected, write!(f, "certificate {serial} is revoked");
    CertError::StaleSerial { current, offered } => ErrorKind::CredentialRejected, write!(f, "certificate serial {offered} does not rotate the held serial {current}");
    CertError::RosterFull { capacity } => ErrorKind::CapacityExceeded, write!(f, "roster is full ({capacity} nodes)");
}

impl From<FormatError> for CertError {
    fn from(e: FormatError) -> Self {
        CertError::Format(e)
    }
}

/// An endpoint as encoded in a certificate.
// Inline like `EndpointHost`: the core has no allocator to box a host name into.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize)]
enum EndpointWire {
    V4([u8; 4], u16),
    V6([u8; 16], u16),
    Name(heapless::String<MAX_HOSTNAME_LEN>, u16),
}

/// The certificate fields as encoded.
#[derive(Serialize, Deserialize)]
struct CertWire {
    node: NodeId,
    role: Role,
    identity: [u8; 32],
    wg_key: [u8; 32],
    endpoints: heapless::Vec<EndpointWire, MAX_CERT_ENDPOINTS>,
    slots: u16,
    pools: heapless::Vec<TaskType, MAX_TASK_TYPES>,
    serial: u64,
    not_before: u64,
    not_after: u64,
}

fn endpoint_to_wire(e: &Endpoint) -> EndpointWire {
    match &e.host {
        EndpointHost::Ip(IpAddr::V4(a)) => EndpointWire::V4(a.octets(), e.port),
        EndpointHost::Ip(IpAddr::V6(a)) => EndpointWire::V6(a.octets(), e.port),
        EndpointHost::Name(n) => EndpointWire::Name(n.clone(), e.port),
    }
}

fn endpoint_from_wire(e: &EndpointWire) -> Result<Endpoint, CertError> {
    let endpoint = match e {
        EndpointWire::V4(a, port) => Endpoint { host: EndpointHost::Ip(IpAddr::V4(Ipv4Addr::from(*a))), port: *port },
        EndpointWire::V6(a, port) => Endpoint { host: EndpointHost::Ip(IpAddr::V6(Ipv6Addr::from(*a))), port: *port },
        EndpointWire::Name(n, port) => {
            // Host names are validated by the mesh's own parser.
            let mut s = heapless::String::<{ MAX_HOSTNAME_LEN + 6 }>::new();
            write!(s, "{n}:{port}").map_err(|_| CertError::InvalidEndpoint)?;
            let parsed = Endpoint::parse(&s).map_err(|_| CertError::InvalidEndpoint)?;
            if !matches!(&parsed.host, EndpointHost::Name(p) if p == n) {
                return Err(CertError::InvalidEndpoint);
            }
            parsed
        }
    };
    if endpoint.port == 0 {
        return Err(CertError::InvalidEndpoint);
    }
    Ok(endpoint)
}

fn no_duplicates<T: PartialEq>(items: &[T]) -> bool {
    let mut rest = items;
    while let Some((first, tail)) = rest.split_first() {
        if tail.contains(first) {
            return false;
        }
        rest = tail;
    }
    true
}

impl Certificate {
    fn validate(&self) -> Result<(), CertError> {
        if !no_duplicates(&self.endpoints) {
            return Err(CertError::DuplicateEndpoint);
        }
        if !no_duplicates(&self.pools) {
            return Err(CertError::DuplicatePool);
        }
        if self.not_before > self.not_after {
            return Err(CertError::InvalidValidity);
        }
        if self.endpoints.iter().any(|e| e.port == 0) {
            return Err(CertError::InvalidEndpoint);
        }
        Ok(())
    }

    fn to_wire(&self) -> CertWire {
        let mut endpoints = heapless::Vec::new();
        for e in &self.endpoints {
            // Same capacity on both sides: never full.
            let _ = endpoints.push(endpoint_to_wire(e));
        }
        CertWire {
            node: self.node.clone(),
            role: self.role,
            identity: self.identity.to_bytes(),
            wg_key: *self.wg_key.as_bytes(),
            endpoints,
            slots: self.slots,
            pools: self.pools.clone(),
            serial: self.serial,
            not_before: self.not_before,
            not_after: self.not_after,
        }
    }

    fn from_wire(w: CertWire) -> Result<Self, CertError> {
        let identity = PublicIdentity::from_bytes(&w.identity).map_err(CertError::InvalidIdentityKey)?;
        let mut endpoints = heapless::Vec::new();
        for e in &w.endpoints {
            endpoints.push(endpoint_from_wire(e)?).map_err(|_| CertError::Format(FormatError::Malformed))?;
        }
        let cert = Certificate {
            node: w.node,
            role: w.role,
            identity,
            wg_key: WgKey::from_bytes(w.wg_key),
            endpoints,
            slots: w.slots,
            pools: w.pools,
            serial: w.serial,
            not_before: w.not_before,
            not_after: w.not_after,
        };
        cert.validate()?;
        Ok(cert)
    }

    /// Whether `unix_now` is inside the validity period.
    pub const fn is_valid_at(&self, unix_now: u64) -> bool {
        self.not_before <= unix_now && unix_now < self.not_after
    }
}

/// A certificate with the authority's signature, as decoded or issued. Its
/// fields are untrusted until [`SignedCertificate::verify`] succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCertificate {
    cert: Certificate,
    signed: heapless::Vec<u8, MAX_CERT_SIGNED_LEN>,
    signature: Signature,
}

impl SignedCertificate {
    /// Signs `cert` with the authority key; the cluster is the authority's public key.
    pub fn issue(authority: &IdentityKey, cert: Certificate) -> Result<Self, CertError> {
        cert.validate()?;
        let (signed, signature) =
            format::encode_signed(CERT_VERSION, &cert.to_wire(), authority, Domain::Certificate, &authority.public())?;
        Ok(SignedCertificate { cert, signed, signature })
    }

    /// Decodes exactly one certificate (total, bounded, canonical; nothing verified).
    pub fn decode(bytes: &[u8]) -> Result<Self, CertError> {
        let (wire, signed, signature) = format::decode_signed::<CertWire, MAX_CERT_SIGNED_LEN>(CERT_VERSION, bytes)?;
        let cert = Certificate::from_wire(wire)?;
        Ok(SignedCertificate { cert, signed, signature })
    }

    /// The certificate, if it is signed by `authority`, not revoked, for
    /// `expected_id` and `expected_role` (when given), and valid at `unix_now`.
    pub fn verify(
        &self,
        authority: &PublicIdentity,
        unix_now: u64,
        expected_role: Option<Role>,
        expected_id: Option<&NodeId>,
        revocations: &RevocationList,
    ) -> Result<&Certificate, CertError> {
        self.verify_with(authority, unix_now, expected_role, expected_id, &revocations.entries)
    }

    /// [`SignedCertificate::verify`] against the revoked `entries` of a list.
    pub(crate) fn verify_with(
        &self,
        authority: &PublicIdentity,
        unix_now: u64,
        expected_role: Option<Role>,
        expected_id: Option<&NodeId>,
        revoked: &[super::Revoked],
    ) -> Result<&Certificate, CertError> {
        authority
            .verify(Domain::Certificate, authority, &self.signed, &self.signature)
            .map_err(|_| CertError::WrongAuthority)?;
        let c = &self.cert;
        if expected_id.is_some_and(|id| *id != c.node) {
            return Err(CertError::IdMismatch);
        }
        if let Some(expected) = expected_role.filter(|r| *r != c.role) {
            return Err(CertError::WrongRole { expected, found: c.role });
        }
        if super::revocation::is_revoked(revoked, &c.node, c.serial) {
            return Err(CertError::Revoked { serial: c.serial });
        }
        if unix_now < c.not_before {
            return Err(CertError::NotYetValid { not_before: c.not_before, now: unix_now });
        }
        if unix_now >= c.not_after {
            return Err(CertError::Expired { not_after: c.not_after, now: unix_now });
        }
        Ok(c)
    }

    /// The certificate's fields, unverified: for inspection and for looking up
    /// the claimed node, never for trusting.
    pub const fn certificate_unverified(&self) -> &Certificate {
        &self.cert
    }

    /// The authority's signature.
    pub const fn signature(&self) -> &Signature {
        &self.signature
    }

    format::signed_encoding!();
}

/// How a certificate entered a [`Roster`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The node was not known.
    Joined,
    /// It replaced the node's certificate of a lower serial (key rotation).
    Rotated {
        /// The serial replaced.
        previous_serial: u64,
    },
}

/// The verified certificates of up to `N` nodes, one per node id, each with
/// data `X` the holder keeps about the member (keys, replay state). `X` starts
/// as its default when a node joins and stays when its certificate rotates.
#[derive(Clone, Debug)]
pub struct Roster<const N: usize, X = ()> {
    members: IdTable<NodeId, (Certificate, X), N>,
}

/// The roster rule, for [`Roster`] and the coordinator's member table (which
/// keeps `C`, its own copy of a certificate, whose serial `serial` reads):
/// admits the verified `cert` into `table` as `keep(cert)`, a new node with
/// `X`'s default, a known one only with a higher serial (its `X` stays). On
/// error nothing changes.
pub(crate) fn admit_into<const N: usize, C, X: Default>(
    table: &mut IdTable<NodeId, (C, X), N>,
    cert: &Certificate,
    serial: impl Fn(&C) -> u64,
    keep: impl Fn(&Certificate) -> C,
) -> Result<Admission, CertError> {
    match table.get_mut(&cert.node) {
        Some((held, _)) if cert.serial <= serial(held) => {
            Err(CertError::StaleSerial { current: serial(held), offered: cert.serial })
        }
        Some((held, _)) => {
            let previous_serial = serial(held);
            *held = keep(cert);
            Ok(Admission::Rotated { previous_serial })
        }
        None => match table.insert(cert.node.clone(), (keep(cert), X::default())) {
            Ok(_) => Ok(Admission::Joined),
            Err(_) => Err(CertError::RosterFull { capacity: N }),
        },
    }
}

impl<const N: usize, X: Default> Default for Roster<N, X> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, X: Default> Roster<N, X> {
    /// An empty roster.
    pub fn new() -> Self {
        Roster { members: IdTable::new() }
    }

    /// Admits `signed` if it verifies (see [`SignedCertificate::verify`]) and,
    /// for a node already known, only with a higher serial. On error nothing changes.
    pub fn admit(
        &mut self,
        signed: &SignedCertificate,
        authority: &PublicIdentity,
        unix_now: u64,
        expected_role: Option<Role>,
        revocations: &RevocationList,
    ) -> Result<Admission, CertError> {
        let cert = signed.verify(authority, unix_now, expected_role, None, revocations)?;
        self.admit_verified(cert)
    }

    /// Admits `cert`, which the caller has just verified (see
    /// [`SignedCertificate::verify`]): for a node already known only with a
    /// higher serial. On error nothing changes.
    pub fn admit_verified(&mut self, cert: &Certificate) -> Result<Admission, CertError> {
        admit_into(&mut self.members, cert, |c| c.serial, Certificate::clone)
    }

    /// The certificate held for `node`.
    pub fn get(&self, node: &NodeId) -> Option<&Certificate> {
        self.members.get(node).map(|(c, _)| c)
    }

    /// The certificate held for `node` and the holder's data about it, read-only.
    pub fn get_with(&self, node: &NodeId) -> Option<(&Certificate, &X)> {
        self.members.get(node).map(|(c, x)| (c, x))
    }

    /// The certificate held for `node` and the holder's data about it.
    pub fn get_mut(&mut self, node: &NodeId) -> Option<(&Certificate, &mut X)> {
        self.members.get_mut(node).map(|(c, x)| (&*c, x))
    }

    /// Removes `node`; returns its certificate and data.
    pub fn remove(&mut self, node: &NodeId) -> Option<(Certificate, X)> {
        self.members.remove(node)
    }

    /// Removes every member whose certificate `revocations` revokes; returns how many.
    pub fn apply_revocations(&mut self, revocations: &RevocationList) -> usize {
        let before = self.members.len();
        self.members.retain(|node, (cert, _)| !revocations.is_revoked(node, cert.serial));
        before - self.members.len()
    }

    /// Removes every member whose certificate is not valid at `unix_now`; returns how many.
    pub fn remove_expired(&mut self, unix_now: u64) -> usize {
        let before = self.members.len();
        self.members.retain(|_, (cert, _)| cert.is_valid_at(unix_now));
        before - self.members.len()
    }

    /// The members, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Certificate> + '_ {
        self.members.values().map(|(c, _)| c)
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::revocation::{Revoked, SignedRevocationList};

    pub(crate) fn worker_cert(identity: &IdentityKey, serial: u64) -> Certificate {
        let mut endpoints = heapless::Vec::new();
        endpoints.push(Endpoint::parse("203.0.113.7:51820").unwrap()).unwrap();
        let mut pools = heapless::Vec::new();
        pools.push(TaskType::new("train").unwrap()).unwrap();
        Certificate {
            node: NodeId::new("worker-7").unwrap(),
            role: Role::Worker,
            identity: identity.public(),
            wg_key: WgKey::from_bytes([0x42; 32]),
            endpoints,
            slots: 4,
            pools,
            serial,
            not_before: 1_700_000_000,
            not_after: 1_800_000_000,
        }
    }

    const NOW: u64 = 1_750_000_000;

    /// The authority's key and the node's.
    fn keys() -> (IdentityKey, IdentityKey) {
        (IdentityKey::from_seed(&[1; 32]), IdentityKey::from_seed(&[2; 32]))
    }

    #[test]
    fn issue_decode_verify() {
        let (authority, node) = keys();
        let mut cert = worker_cert(&node, 1);
        cert.endpoints.push(Endpoint::parse("[2001:db8::1]:51820").unwrap()).unwrap();
        cert.endpoints.push(Endpoint::parse("w7.example.org:4000").unwrap()).unwrap();
        let signed = SignedCertificate::issue(&authority, cert.clone()).unwrap();
        let mut buf = [0u8; MAX_CERT_LEN];
        let n = signed.encode(&mut buf).unwrap();
        let decoded = SignedCertificate::decode(&buf[..n]).unwrap();
        assert_eq!(decoded, signed);
        let none = RevocationList::empty();
        let id = NodeId::new("worker-7").unwrap();
        assert_eq!(decoded.verify(&authority.public(), NOW, Some(Role::Worker), Some(&id), &none), Ok(&cert));
        let other = IdentityKey::from_seed(&[3; 32]).public();
        assert_eq!(decoded.verify(&other, NOW, None, None, &none), Err(CertError::WrongAuthority));
        assert_eq!(
            decoded.verify(&authority.public(), NOW, Some(Role::Supervisor), None, &none),
            Err(CertError::WrongRole { expected: Role::Supervisor, found: Role::Worker })
        );
        let wrong = NodeId::new("worker-8").unwrap();
        assert_eq!(decoded.verify(&authority.public(), NOW, None, Some(&wrong), &none), Err(CertError::IdMismatch));
        assert_eq!(
            decoded.verify(&authority.public(), 1_800_000_000, None, None, &none),
            Err(CertError::Expired { not_after: 1_800_000_000, now: 1_800_000_000 })
        );
        decoded.verify(&authority.public(), 1_799_999_999, None, None, &none).unwrap();
        decoded.verify(&authority.public(), 1_700_000_000, None, None, &none).unwrap();
        assert_eq!(
            decoded.verify(&authority.public(), 5, None, None, &none),
            Err(CertError::NotYetValid { not_before: 1_700_000_000, now: 5 })
        );
        let mut entries = heapless::Vec::new();
        entries.push(Revoked { node: id.clone(), serial: Some(1) }).unwrap();
        let revoked = SignedRevocationList::issue(&authority, RevocationList { sequence: 1, entries }).unwrap();
        let mut list = RevocationList::empty();
        list.update(&revoked, &authority.public()).unwrap();
        assert_eq!(decoded.verify(&authority.public(), NOW, None, None, &list), Err(CertError::Revoked { serial: 1 }));
        // Any flipped bit in the signed part or signature: refused at decode or at verify.
        for i in 0..n {
            let mut v = buf[..n].to_vec();
            v[i] ^= 0x10;
            if let Ok(c) = SignedCertificate::decode(&v) {
                assert_eq!(
                    c.verify(&authority.public(), NOW, None, None, &none),
                    Err(CertError::WrongAuthority),
                    "byte {i}"
                );
            }
        }
    }

    #[test]
    fn typical_worker_size() {
        let (authority, node) = keys();
        let signed = SignedCertificate::issue(&authority, worker_cert(&node, 1)).unwrap();
        // 1 version + 9 id + 1 role + 64 keys + 9 endpoints (count, kind, IPv4,
        // port) + 1 slots + 7 pools + 1 serial + 10 validity, + 64 signature.
        assert_eq!(signed.encoded_len(), 167);
    }

    #[test]
    fn refuses_duplicates_and_bad_fields() {
        let (authority, node) = keys();
        let mut dup_pool = worker_cert(&node, 1);
        dup_pool.pools.push(TaskType::new("train").unwrap()).unwrap();
        assert_eq!(SignedCertificate::issue(&authority, dup_pool), Err(CertError::DuplicatePool));
        let mut dup_ep = worker_cert(&node, 1);
        dup_ep.endpoints.push(dup_ep.endpoints[0].clone()).unwrap();
        assert_eq!(SignedCertificate::issue(&authority, dup_ep), Err(CertError::DuplicateEndpoint));
        let mut bad_validity = worker_cert(&node, 1);
        bad_validity.not_before = bad_validity.not_after + 1;
        assert_eq!(SignedCertificate::issue(&authority, bad_validity), Err(CertError::InvalidValidity));
        // A duplicate pool smuggled into the bytes (pools "train","train") is refused at decode.
        let good = SignedCertificate::issue(&authority, worker_cert(&node, 1)).unwrap();
        let mut buf = [0u8; MAX_CERT_LEN];
        let n = good.encode(&mut buf).unwrap();
        let signed = &buf[..n - 64];
        let pools_at = signed.windows(7).position(|w| w == b"\x01\x05train").unwrap();
        let mut v = signed[..pools_at].to_vec();
        v.extend_from_slice(b"\x02\x05train\x05train");
        v.extend_from_slice(&signed[pools_at + 7..]);
        v.extend_from_slice(&buf[n - 64..n]);
        assert_eq!(SignedCertificate::decode(&v), Err(CertError::DuplicatePool));
        // Trailing bytes after the signature are part of the "signature" slot, so
        // one extra byte shifts it: the body then has a trailing byte.
        let mut long = buf[..n].to_vec();
        long.push(0);
        assert_eq!(SignedCertificate::decode(&long), Err(CertError::Format(FormatError::TrailingBytes { count: 1 })));
        assert_eq!(SignedCertificate::decode(&buf[..10]), Err(CertError::Format(FormatError::Truncated)));
        let huge = std::vec![1u8; MAX_CERT_LEN + 1];
        assert_eq!(
            SignedCertificate::decode(&huge),
            Err(CertError::Format(FormatError::TooLarge { len: MAX_CERT_LEN + 1 }))
        );
    }

    #[test]
    fn roster_rotates_only_upwards() {
        let authority = IdentityKey::from_seed(&[1; 32]);
        let a = authority.public();
        let k1 = IdentityKey::from_seed(&[2; 32]);
        let k2 = IdentityKey::from_seed(&[3; 32]);
        let none = RevocationList::empty();
        let mut roster = Roster::<2>::new();
        let c5 = SignedCertificate::issue(&authority, worker_cert(&k1, 5)).unwrap();
        assert_eq!(roster.admit(&c5, &a, NOW, Some(Role::Worker), &none), Ok(Admission::Joined));
        let c4 = SignedCertificate::issue(&authority, worker_cert(&k2, 4)).unwrap();
        assert_eq!(roster.admit(&c4, &a, NOW, None, &none), Err(CertError::StaleSerial { current: 5, offered: 4 }));
        assert_eq!(roster.admit(&c5, &a, NOW, None, &none), Err(CertError::StaleSerial { current: 5, offered: 5 }));
        let id = NodeId::new("worker-7").unwrap();
        assert_eq!(roster.get(&id).unwrap().identity, k1.public());
        let c6 = SignedCertificate::issue(&authority, worker_cert(&k2, 6)).unwrap();
        assert_eq!(roster.admit(&c6, &a, NOW, None, &none), Ok(Admission::Rotated { previous_serial: 5 }));
        assert_eq!(roster.get(&id).unwrap().identity, k2.public());
        // A forged certificate changes nothing.
        let rogue = IdentityKey::from_seed(&[9; 32]);
        let forged = SignedCertificate::issue(&rogue, worker_cert(&k1, 99)).unwrap();
        assert_eq!(roster.admit(&forged, &a, NOW, None, &none), Err(CertError::WrongAuthority));
        assert_eq!(roster.get(&id).unwrap().serial, 6);
        let mut other = worker_cert(&k1, 1);
        other.node = NodeId::new("w-2").unwrap();
        roster.admit(&SignedCertificate::issue(&authority, other.clone()).unwrap(), &a, NOW, None, &none).unwrap();
        other.node = NodeId::new("w-3").unwrap();
        let third = SignedCertificate::issue(&authority, other).unwrap();
        assert_eq!(roster.admit(&third, &a, NOW, None, &none), Err(CertError::RosterFull { capacity: 2 }));
        let mut entries = heapless::Vec::new();
        entries.push(Revoked { node: id.clone(), serial: None }).unwrap();
        let list = RevocationList { sequence: 1, entries };
        assert_eq!(roster.apply_revocations(&list), 1);
        assert!(roster.get(&id).is_none());
        assert_eq!(roster.remove_expired(1_800_000_000), 1);
        assert!(roster.is_empty());
    }
}
