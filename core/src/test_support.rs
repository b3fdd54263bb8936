//! Fixtures the crate's tests, property tests and benchmarks share (always in
//! `cfg(test)`; feature `test-support` for the integration tests and benches,
//! never on in a product build): one fixed cluster authority, identity keys
//! derived from node names, certificates, and signed datagrams. Deterministic:
//! a name always gives the same key, so the same bytes.

use crate::auth::seal::{self, SealError};
use crate::auth::{CertError, Certificate, IdentityKey, Role, SignedCertificate};
use crate::coordinator::NodeRole;
use crate::id::{NodeId, TaskType};
use crate::mesh::WgKey;
use alloc::vec::Vec;

/// The node id `s`, a test's literal (known to be valid).
#[cfg(test)]
pub(crate) fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// UNIX seconds at `Instant::ZERO` in the fixtures.
pub const UNIX0: u64 = 1_800_000_000;

/// The fixtures' cluster authority.
pub fn authority() -> IdentityKey {
    IdentityKey::from_seed(&[0xA0; 32])
}

/// `name`'s identity key: the seed is the name's bytes (at most 32), zero-padded.
pub fn identity_of(name: &str) -> IdentityKey {
    let mut seed = [0u8; 32];
    for (s, b) in seed.iter_mut().zip(name.bytes()) {
        *s = b;
    }
    IdentityKey::from_seed(&seed)
}

/// The certificate of `node` in `role`, for [`identity_of`] its name: a worker
/// works in `pools` with `slots`, a supervisor has neither; serial 1, no mesh
/// endpoints, valid from a minute before [`UNIX0`] for a year. Tests that need
/// other values change the fields.
pub fn certificate(node: &NodeId, role: NodeRole, pools: &[TaskType], slots: u16) -> Certificate {
    let mut p = heapless::Vec::new();
    if role == NodeRole::Worker {
        for t in pools {
            // More pools than a certificate holds: the rest are left out.
            let _ = p.push(t.clone());
        }
    }
    Certificate {
        node: node.clone(),
        role: match role {
            NodeRole::Supervisor => Role::Supervisor,
            NodeRole::Worker => Role::Worker,
        },
        identity: identity_of(node.as_str()).public(),
        wg_key: WgKey::placeholder(node),
        endpoints: heapless::Vec::new(),
        slots: if role == NodeRole::Worker { slots } else { 0 },
        pools: p,
        serial: 1,
        not_before: UNIX0 - 60,
        not_after: UNIX0 + 365 * 86_400,
    }
}

/// `cert` signed by [`authority`] and encoded: what a join carries.
pub fn signed(cert: Certificate) -> Result<Vec<u8>, CertError> {
    let signed = SignedCertificate::issue(&authority(), cert)?;
    let mut bytes = alloc::vec![0u8; signed.encoded_len()];
    let n = signed.encode(&mut bytes)?;
    bytes.truncate(n);
    Ok(bytes)
}

/// The encoded `body` as a datagram from `from` (boot epoch 1, message counter
/// `counter`), signed with [`identity_of`] `from` for the [`authority`]'s cluster.
pub fn signed_datagram(from: &NodeId, counter: u64, body: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut buf = alloc::vec![0u8; seal::sealed_len(from, body.len(), seal::AuthKind::Signed)];
    let n = seal::seal_signed(&mut buf, from, 1, counter, body, &identity_of(from.as_str()), &authority().public())?;
    buf.truncate(n);
    Ok(buf)
}
