//! Records a node signs about itself for others to pass on: its link-state
//! adverts and its tunnel endpoint.
//!
//! A link-state advert is signed over `"pouw-netops/link-state/v1" || 0x00 ||
//! cluster || len(origin) || origin || state`, where `state` is the advert's
//! [`LinkState`] in its wire encoding (postcard: the sequence, then each link);
//! an endpoint record over `"pouw-netops/endpoint/v1" || 0x00 || cluster ||
//! len(node) || node || sequence (u64 LE) || len(endpoint) || endpoint`. Both
//! under the node's identity key ([`Domain::LinkState`], [`Domain::Endpoint`]);
//! lengths are one byte (ids are at most 64 bytes, endpoints at most 255).

use super::keys::{Domain, IdentityError, IdentityKey, PublicIdentity, Signature};
use crate::id::NodeId;
use crate::wire::{LinkState, MAX_ADVERT_LINKS};
use sha2::{Digest, Sha256};

/// What [`link_state_digest`] hashes first (domain separation).
const DIGEST_LABEL: &[u8] = b"pouw-netops/link-state-digest/v1";

/// The one-byte length of an id or endpoint (saturates past 255).
fn len_byte(bytes: &[u8]) -> [u8; 1] {
    [u8::try_from(bytes.len()).unwrap_or(u8::MAX)]
}

/// The largest encoded [`LinkState`]: a sequence varint, a count, and each
/// link (an id of at most 64 bytes with its length, a latency varint, a flag).
const MAX_STATE_LEN: usize = 10 + 1 + MAX_ADVERT_LINKS * (1 + crate::id::MAX_ID_LEN + 10 + 1);

/// `state` in its wire encoding, into `buf`; `None` if it does not fit
/// (it always does: the advert is bounded).
fn encode_state<'a>(state: &LinkState, buf: &'a mut [u8; MAX_STATE_LEN]) -> Option<&'a [u8]> {
    postcard::to_slice(state, buf).ok().map(|s| &*s)
}

/// `origin`'s signature (with `key`, its identity key) on its advert `state`
/// in the cluster of authority `cluster`; `None` only if `state` could not
/// be encoded.
pub fn sign_link_state(
    key: &IdentityKey,
    cluster: &PublicIdentity,
    origin: &NodeId,
    state: &LinkState,
) -> Option<Signature> {
    let mut buf = [0u8; MAX_STATE_LEN];
    let encoded = encode_state(state, &mut buf)?;
    let o = origin.as_str().as_bytes();
    Some(key.sign_parts(&[Domain::LinkState.label().as_bytes(), &[0], cluster.as_bytes(), &len_byte(o), o, encoded]))
}

/// Whether `signature` is `origin`'s (whose identity key is `public`) on its
/// advert `state` in the cluster of authority `cluster`.
pub fn verify_link_state(
    public: &PublicIdentity,
    cluster: &PublicIdentity,
    origin: &NodeId,
    state: &LinkState,
    signature: &Signature,
) -> Result<(), IdentityError> {
    let mut buf = [0u8; MAX_STATE_LEN];
    let encoded = encode_state(state, &mut buf).ok_or(IdentityError::BadSignature)?;
    let o = origin.as_str().as_bytes();
    public.verify_parts(
        &[Domain::LinkState.label().as_bytes(), &[0], cluster.as_bytes(), &len_byte(o), o, encoded],
        signature,
    )
}

/// A SHA-256 digest of everything [`verify_link_state`] reads: the origin's
/// key `public`, the cluster, the origin, the advert's encoded `state` and
/// the `signature` (each fixed-size or length-prefixed, after a label).
/// Verification is a function of these inputs alone, so an advert whose
/// digest equals that of one that verified verifies too (short of a SHA-256
/// collision): a node may skip checking the same advert again when a flood
/// brings it a second time, and the verdict is the same. `None` only if
/// `state` could not be encoded (it always can: the advert is bounded).
pub fn link_state_digest(
    public: &PublicIdentity,
    cluster: &PublicIdentity,
    origin: &NodeId,
    state: &LinkState,
    signature: &Signature,
) -> Option<[u8; 32]> {
    let mut buf = [0u8; MAX_STATE_LEN];
    let encoded = encode_state(state, &mut buf)?;
    let o = origin.as_str().as_bytes();
    let len = u32::try_from(encoded.len()).ok()?.to_le_bytes();
    let mut h = Sha256::new();
    for part in [DIGEST_LABEL, public.as_bytes(), cluster.as_bytes(), &len_byte(o), o, &len, encoded, &signature.0] {
        h.update(part);
    }
    Some(h.finalize().into())
}

/// `node`'s signature (with `key`, its identity key) on its endpoint record
/// (`sequence`, `endpoint`) in the cluster of authority `cluster`.
pub fn sign_endpoint(
    key: &IdentityKey,
    cluster: &PublicIdentity,
    node: &NodeId,
    sequence: u64,
    endpoint: &str,
) -> Signature {
    let (n, e) = (node.as_str().as_bytes(), endpoint.as_bytes());
    let seq = sequence.to_le_bytes();
    key.sign_parts(&[
        Domain::Endpoint.label().as_bytes(),
        &[0],
        cluster.as_bytes(),
        &len_byte(n),
        n,
        &seq,
        &len_byte(e),
        e,
    ])
}

/// Whether `signature` is `node`'s (whose identity key is `public`) on its
/// endpoint record (`sequence`, `endpoint`) in the cluster of authority `cluster`.
pub fn verify_endpoint(
    public: &PublicIdentity,
    cluster: &PublicIdentity,
    node: &NodeId,
    sequence: u64,
    endpoint: &str,
    signature: &Signature,
) -> Result<(), IdentityError> {
    let (n, e) = (node.as_str().as_bytes(), endpoint.as_bytes());
    let seq = sequence.to_le_bytes();
    public.verify_parts(
        &[Domain::Endpoint.label().as_bytes(), &[0], cluster.as_bytes(), &len_byte(n), n, &seq, &len_byte(e), e],
        signature,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::time::Duration;
    use crate::wire::LinkAdvert;

    fn key(b: u8) -> IdentityKey {
        IdentityKey::from_seed(&[b; 32])
    }

    fn state(sequence: u64, latency_ms: u64) -> LinkState {
        let mut links = heapless::Vec::new();
        let neighbor = NodeId::new("b").unwrap();
        links.push(LinkAdvert { neighbor, latency: Duration::from_millis(latency_ms), up: true }).unwrap();
        LinkState { sequence, links }
    }

    #[test]
    fn a_signed_advert_verifies_only_as_signed() {
        let (cluster, other_cluster) = (key(1).public(), key(2).public());
        let origin_key = key(3);
        let a = NodeId::new("a").unwrap();
        let sig = sign_link_state(&origin_key, &cluster, &a, &state(5, 3)).unwrap();
        let public = origin_key.public();
        assert_eq!(verify_link_state(&public, &cluster, &a, &state(5, 3), &sig), Ok(()));
        let bad = Err(IdentityError::BadSignature);
        assert_eq!(verify_link_state(&public, &other_cluster, &a, &state(5, 3), &sig), bad);
        assert_eq!(verify_link_state(&key(4).public(), &cluster, &a, &state(5, 3), &sig), bad);
        assert_eq!(verify_link_state(&public, &cluster, &NodeId::new("c").unwrap(), &state(5, 3), &sig), bad);
        assert_eq!(verify_link_state(&public, &cluster, &a, &state(6, 3), &sig), bad);
        assert_eq!(verify_link_state(&public, &cluster, &a, &state(5, 4), &sig), bad);
        // Not interchangeable with an endpoint record's signature (another domain).
        let e = sign_endpoint(&origin_key, &cluster, &a, 5, "10.0.0.1:51820");
        assert_eq!(verify_link_state(&public, &cluster, &a, &state(5, 3), &e), bad);
    }

    #[test]
    fn the_digest_covers_every_input_of_the_verification() {
        let (cluster, origin_key) = (key(1).public(), key(3));
        let a = NodeId::new("a").unwrap();
        let sig = sign_link_state(&origin_key, &cluster, &a, &state(5, 3)).unwrap();
        let public = origin_key.public();
        let d = |p: &PublicIdentity, c: &PublicIdentity, o: &NodeId, st: &LinkState, s: &Signature| {
            link_state_digest(p, c, o, st, s).unwrap()
        };
        let base = d(&public, &cluster, &a, &state(5, 3), &sig);
        assert_eq!(base, d(&public, &cluster, &a, &state(5, 3), &sig), "deterministic");
        let mut other_sig = sig;
        other_sig.0[63] ^= 1;
        let others = [
            d(&key(4).public(), &cluster, &a, &state(5, 3), &sig),
            d(&public, &key(2).public(), &a, &state(5, 3), &sig),
            d(&public, &cluster, &NodeId::new("c").unwrap(), &state(5, 3), &sig),
            d(&public, &cluster, &a, &state(6, 3), &sig),
            d(&public, &cluster, &a, &state(5, 4), &sig),
            d(&public, &cluster, &a, &state(5, 3), &other_sig),
        ];
        for (i, o) in others.iter().enumerate() {
            assert_ne!(*o, base, "input {i} is not covered");
        }
    }

    #[test]
    fn a_full_advert_signs() {
        let mut links = heapless::Vec::new();
        for i in 0..MAX_ADVERT_LINKS {
            let neighbor = NodeId::new(&std::format!("{i:0>64}")).unwrap();
            links.push(LinkAdvert { neighbor, latency: Duration::from_micros(u64::MAX), up: true }).unwrap();
        }
        let full = LinkState { sequence: u64::MAX, links };
        let (cluster, k, a) = (key(1).public(), key(3), NodeId::new("a").unwrap());
        let sig = sign_link_state(&k, &cluster, &a, &full).unwrap();
        assert_eq!(verify_link_state(&k.public(), &cluster, &a, &full, &sig), Ok(()));
    }

    #[test]
    fn a_signed_endpoint_verifies_only_as_signed() {
        let cluster = key(1).public();
        let k = key(3);
        let a = NodeId::new("a").unwrap();
        let sig = sign_endpoint(&k, &cluster, &a, 7, "198.51.100.4:51820");
        let public = k.public();
        assert_eq!(verify_endpoint(&public, &cluster, &a, 7, "198.51.100.4:51820", &sig), Ok(()));
        let bad = Err(IdentityError::BadSignature);
        assert_eq!(verify_endpoint(&public, &cluster, &a, 8, "198.51.100.4:51820", &sig), bad);
        assert_eq!(verify_endpoint(&public, &cluster, &a, 7, "198.51.100.5:51820", &sig), bad);
        assert_eq!(verify_endpoint(&public, &cluster, &NodeId::new("b").unwrap(), 7, "198.51.100.4:51820", &sig), bad);
        assert_eq!(verify_endpoint(&key(4).public(), &cluster, &a, 7, "198.51.100.4:51820", &sig), bad);
    }
}
