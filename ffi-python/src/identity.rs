//! Identity keys, certificates and revocation lists (`pouw_netops.identity`).
//!
//! Conversions only: keys come from 32 bytes the caller drew (the core never
//! draws randomness), certificates and revocation lists are built, signed,
//! encoded, decoded and verified by the core's `auth` module. A certificate
//! goes to Python as a tuple that `pouw_netops.identity.CertificateInfo` wraps.

use crate::errors::{core_error, error, field_error, id_error, invalid};
use pouw_netops::ErrorKind;
use pouw_netops::auth::{
    Certificate, IdentityKey, PublicIdentity, RevocationList, Revoked, Role, SignedCertificate, SignedRevocationList,
};
use pouw_netops::mesh::{Endpoint, WgKey};
use pouw_netops::{NodeId, NodeRole, TaskType};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A certificate's fields as Python sees them: `(node_id, role, identity,
/// wg_key, endpoints, slots, pools, serial, not_before, not_after)`.
pub type CertTuple = (String, &'static str, Vec<u8>, Vec<u8>, Vec<String>, u16, Vec<String>, u64, u64, u64);

/// 32 bytes from `value`, or an `InvalidArgumentError` naming `what`.
pub fn bytes32(value: &[u8], what: &str) -> PyResult<[u8; 32]> {
    value.try_into().map_err(|_| invalid(format!("`{what}` must be 32 bytes, not {}", value.len())))
}

/// The identity key of a 32-byte seed.
pub fn identity_key(seed: &[u8], what: &str) -> PyResult<IdentityKey> {
    Ok(IdentityKey::from_seed(&bytes32(seed, what)?))
}

/// A public identity key from 32 bytes (refused if not a usable Ed25519 key).
pub fn public_identity(bytes: &[u8], what: &str) -> PyResult<PublicIdentity> {
    PublicIdentity::from_bytes(&bytes32(bytes, what)?).map_err(|e| field_error(what, e))
}

/// A certificate role from `"supervisor"` / `"worker"` (the core's node-role names).
pub fn role(name: &str) -> PyResult<Role> {
    let role: NodeRole = name.parse().map_err(|e| invalid(format!("{e}, not {name:?}")))?;
    Ok(match role {
        NodeRole::Supervisor => Role::Supervisor,
        NodeRole::Worker => Role::Worker,
    })
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Supervisor => NodeRole::Supervisor.as_str(),
        Role::Worker => NodeRole::Worker.as_str(),
    }
}

/// A certificate's fields as a tuple.
pub fn cert_tuple(c: &Certificate) -> CertTuple {
    (
        c.node.as_str().to_owned(),
        role_name(c.role),
        c.identity.to_bytes().to_vec(),
        c.wg_key.as_bytes().to_vec(),
        c.endpoints.iter().map(|e| e.to_string()).collect(),
        c.slots,
        c.pools.iter().map(|p| p.as_str().to_owned()).collect(),
        c.serial,
        c.not_before,
        c.not_after,
    )
}

/// Decodes one encoded certificate (nothing verified).
pub fn decode_certificate(data: &[u8]) -> PyResult<SignedCertificate> {
    SignedCertificate::decode(data).map_err(|e| field_error("certificate", e))
}

fn encode_certificate<'py>(py: Python<'py>, cert: &SignedCertificate) -> PyResult<Bound<'py, PyBytes>> {
    let mut buf = vec![0u8; cert.encoded_len()];
    let n = cert.encode(&mut buf).map_err(core_error)?;
    Ok(PyBytes::new(py, buf.get(..n).unwrap_or_default()))
}

/// The public key (32 bytes) of the identity key with 32-byte `seed`.
#[pyfunction]
fn identity_public_key<'py>(py: Python<'py>, seed: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &identity_key(seed, "seed")?.public().to_bytes()))
}

/// The WireGuard public key (32 bytes) of the 32-byte WireGuard `private_key`
/// (what `wg pubkey` prints, raw).
#[pyfunction]
fn wireguard_public_key<'py>(py: Python<'py>, private_key: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let private = bytes32(private_key, "private_key")?;
    Ok(PyBytes::new(py, &pouw_netops::auth::wireguard_public_key(&private)))
}

/// A certificate for `node_id` in `role` carrying `identity` (a public key),
/// signed by the authority key with 32-byte seed `authority`. `wg_key`
/// `None` takes the core's placeholder key for the node.
#[pyfunction]
#[pyo3(signature = (
    authority, node_id, role, identity, *, wg_key, slots, pools, endpoints, serial, not_before, not_after,
))]
#[allow(clippy::too_many_arguments)]
fn issue_certificate<'py>(
    py: Python<'py>,
    authority: &[u8],
    node_id: &str,
    role: &str,
    identity: &[u8],
    wg_key: Option<&[u8]>,
    #[pyo3(from_py_with = crate::args::u16_arg)] slots: u16,
    pools: Vec<String>,
    endpoints: Vec<String>,
    #[pyo3(from_py_with = crate::args::u64_arg)] serial: u64,
    #[pyo3(from_py_with = crate::args::u64_arg)] not_before: u64,
    #[pyo3(from_py_with = crate::args::u64_arg)] not_after: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let authority = identity_key(authority, "authority")?;
    let node = NodeId::new(node_id).map_err(|e| id_error("node_id", e))?;
    let wg_key = match wg_key {
        Some(k) => WgKey::from_bytes(bytes32(k, "wg_key")?),
        None => WgKey::placeholder(&node),
    };
    let mut cert = Certificate {
        node,
        role: self::role(role)?,
        identity: public_identity(identity, "identity_public")?,
        wg_key,
        endpoints: Default::default(),
        slots,
        pools: Default::default(),
        serial,
        not_before,
        not_after,
    };
    for p in &pools {
        let t = TaskType::new(p).map_err(|e| id_error("pools", e))?;
        cert.pools.push(t).map_err(|t| error(ErrorKind::CapacityExceeded, format!("too many pools (at {t})")))?;
    }
    for e in &endpoints {
        let ep = Endpoint::parse(e).map_err(|err| field_error("endpoints", err))?;
        cert.endpoints
            .push(ep)
            .map_err(|_| error(ErrorKind::CapacityExceeded, format!("too many endpoints (at {e})")))?;
    }
    let signed = SignedCertificate::issue(&authority, cert).map_err(core_error)?;
    encode_certificate(py, &signed)
}

/// A revocation list `sequence` revoking `(node_id, serial or None for every
/// certificate of the node)`, signed by the authority key with seed `authority`.
#[pyfunction]
fn issue_revocations<'py>(
    py: Python<'py>,
    authority: &[u8],
    #[pyo3(from_py_with = crate::args::u64_arg)] sequence: u64,
    entries: Vec<(String, Option<u64>)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let authority = identity_key(authority, "authority")?;
    let mut list = RevocationList { sequence, ..RevocationList::empty() };
    for (node, serial) in &entries {
        let node = NodeId::new(node).map_err(|e| id_error("node_id", e))?;
        list.entries
            .push(Revoked { node, serial: *serial })
            .map_err(|r| error(ErrorKind::CapacityExceeded, format!("too many revocations (at {})", r.node)))?;
    }
    let signed = SignedRevocationList::issue(&authority, list).map_err(core_error)?;
    let mut buf = vec![0u8; signed.encoded_len()];
    let n = signed.encode(&mut buf).map_err(core_error)?;
    Ok(PyBytes::new(py, buf.get(..n).unwrap_or_default()))
}

/// A certificate's fields, decoded but not verified.
#[pyfunction]
fn inspect_certificate(data: &[u8]) -> PyResult<CertTuple> {
    Ok(cert_tuple(decode_certificate(data)?.certificate_unverified()))
}

/// The certificate's fields if it is signed by `authority` (a public key),
/// valid at `unix_now`, and for `role` and `node_id` when given (no
/// revocations are checked: a node applies its own list).
#[pyfunction]
#[pyo3(signature = (data, authority, unix_now, role = None, node_id = None))]
fn verify_certificate(
    data: &[u8],
    authority: &[u8],
    #[pyo3(from_py_with = crate::args::u64_arg)] unix_now: u64,
    role: Option<&str>,
    node_id: Option<&str>,
) -> PyResult<CertTuple> {
    let cert = decode_certificate(data)?;
    let authority = public_identity(authority, "authority")?;
    let role = role.map(self::role).transpose()?;
    let id = node_id.map(|n| NodeId::new(n).map_err(|e| id_error("node_id", e))).transpose()?;
    let verified = cert
        .verify(&authority, unix_now, role, id.as_ref(), &RevocationList::empty())
        .map_err(|e| field_error("certificate", e))?;
    Ok(cert_tuple(verified))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(identity_public_key, m)?)?;
    m.add_function(wrap_pyfunction!(wireguard_public_key, m)?)?;
    m.add_function(wrap_pyfunction!(issue_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(issue_revocations, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(verify_certificate, m)?)
}
