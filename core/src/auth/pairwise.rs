//! Pairwise MAC keys: static X25519 Diffie-Hellman of two identity keys, then HKDF-SHA256.
//!
//! Each Ed25519 identity key doubles as an X25519 key through the standard
//! birational map (the Ed25519 secret scalar, and the Montgomery form of the
//! public point). Both ends of a pair compute the same shared secret; HKDF
//! turns it into a 32-byte HMAC-SHA256 key:
//!
//! - salt = `"pouw-netops/pairwise/v1" || 0x00 || cluster`
//! - ikm  = the X25519 shared secret
//! - info = the two identity public keys, lower first (byte order)
//!
//! A key is derived once per peer (when its certificate is admitted) and kept;
//! every MAC'd message between the two then costs one HMAC. The key keeps the
//! SHA-256 states after its inner and outer pads (the first block of each
//! HMAC pass), so a tag costs two compressions fewer than HMAC from the raw key.

use super::keys::{Domain, IdentityKey, PublicIdentity};
use core::fmt;
use curve25519_dalek::montgomery::MontgomeryPoint;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

const SALT_LEN: usize = Domain::Pairwise.label().len() + 1 + 32;

/// Why no pairwise key could be derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairwiseError {
    /// The Diffie-Hellman result is all zeros (a low-order peer point).
    LowOrderPoint,
    /// The peer is this node itself.
    SelfPeer,
}

crate::error::error_impls! {
    PairwiseError, f;
    PairwiseError::LowOrderPoint => ErrorKind::Unauthenticated, f.write_str("peer key gives a low-order shared secret");
    PairwiseError::SelfPeer => ErrorKind::InvalidArgument, f.write_str("no pairwise key with oneself");
}

/// A 32-byte HMAC-SHA256 key shared by exactly two nodes, with its HMAC pad
/// states precomputed. Wiped on drop.
#[derive(Clone)]
pub struct PairwiseKey {
    key: [u8; 32],
    /// SHA-256 state after `key ^ ipad`, and after `key ^ opad`.
    pads: HmacPads,
}

impl Drop for PairwiseKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl ZeroizeOnDrop for PairwiseKey {}

impl PairwiseKey {
    /// Derives the key `me` shares with `peer` in the cluster of authority `cluster`.
    /// `derive(a, B) == derive(b, A)`.
    pub fn derive(me: &IdentityKey, peer: &PublicIdentity, cluster: &PublicIdentity) -> Result<Self, PairwiseError> {
        let mine = me.public();
        if mine == *peer {
            return Err(PairwiseError::SelfPeer);
        }
        let mut scalar = me.x25519_scalar();
        let key = Self::from_dh(&scalar, peer.verifying_key().to_montgomery(), &mine, peer, cluster);
        scalar.zeroize();
        key
    }

    /// The key from X25519 of `scalar` and `peer_point`, bound to both identities and the cluster.
    fn from_dh(
        scalar: &[u8; 32],
        peer_point: MontgomeryPoint,
        mine: &PublicIdentity,
        peer: &PublicIdentity,
        cluster: &PublicIdentity,
    ) -> Result<Self, PairwiseError> {
        let mut shared = peer_point.mul_clamped(*scalar).to_bytes();
        if bool::from(shared.ct_eq(&[0u8; 32])) {
            return Err(PairwiseError::LowOrderPoint);
        }
        let (low, high) = if mine.as_bytes() < peer.as_bytes() { (mine, peer) } else { (peer, mine) };
        let mut salt = [0u8; SALT_LEN];
        let label = Domain::Pairwise.label().as_bytes();
        for (dst, src) in salt.iter_mut().zip(label.iter().chain(&[0u8]).chain(cluster.as_bytes())) {
            *dst = *src;
        }
        let mut info = [0u8; 64];
        let (a, b) = info.split_at_mut(32);
        a.copy_from_slice(low.as_bytes());
        b.copy_from_slice(high.as_bytes());
        let mut key = [0u8; 32];
        hkdf_sha256(&salt, &shared, &info, &mut key);
        shared.zeroize();
        let k = PairwiseKey::from_bytes(key);
        key.zeroize();
        Ok(k)
    }

    /// A key from raw bytes (tests, or a host that keeps derived keys itself).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PairwiseKey { pads: HmacPads::new(&bytes), key: bytes }
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.pads.mac(parts)
    }
}

/// SHA-256 initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// SHA-256 compression of one 64-byte block into `state`.
fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    sha2::compress256(state, core::slice::from_ref(block.into()));
}

/// The SHA-256 states of HMAC (RFC 2104) after the key's inner and outer
/// pad blocks, for keys of at most one block. Wiped on drop.
#[derive(Clone)]
struct HmacPads {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Drop for HmacPads {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl HmacPads {
    fn new(key: &[u8; 32]) -> Self {
        let mut block = [0x36u8; 64];
        for (b, k) in block.iter_mut().zip(key) {
            *b ^= k;
        }
        let mut inner = SHA256_IV;
        compress(&mut inner, &block);
        for b in block.iter_mut() {
            // 0x36 ^ 0x5c: the inner pad becomes the outer one.
            *b ^= 0x36 ^ 0x5c;
        }
        let mut outer = SHA256_IV;
        compress(&mut outer, &block);
        block.zeroize();
        HmacPads { inner, outer }
    }

    /// HMAC-SHA256 of the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut state = self.inner;
        let mut block = [0u8; 64];
        let mut fill = 0usize;
        // Bytes hashed after the pad block.
        let mut len = 0u64;
        for part in parts {
            len = len.wrapping_add(part.len() as u64);
            let mut rest: &[u8] = part;
            while !rest.is_empty() {
                let take = (64 - fill).min(rest.len());
                let (now, later) = rest.split_at(take);
                if let Some(dst) = block.get_mut(fill..fill + take) {
                    dst.copy_from_slice(now);
                }
                fill += take;
                rest = later;
                if fill == 64 {
                    compress(&mut state, &block);
                    fill = 0;
                }
            }
        }
        let inner = finish(&mut state, &mut block, fill, 64 + len);
        let mut state = self.outer;
        let mut block = [0u8; 64];
        if let Some(dst) = block.get_mut(..32) {
            dst.copy_from_slice(&inner);
        }
        let tag = finish(&mut state, &mut block, 32, 64 + 32);
        state.zeroize();
        tag
    }
}

/// Pads the `fill` bytes in `block` for a message of `total` bytes (all
/// blocks included), compresses, and returns the digest.
fn finish(state: &mut [u32; 8], block: &mut [u8; 64], fill: usize, total: u64) -> [u8; 32] {
    if let Some(b) = block.get_mut(fill) {
        *b = 0x80;
    }
    if let Some(tail) = block.get_mut(fill + 1..) {
        tail.fill(0);
    }
    if fill >= 56 {
        compress(state, block);
        block.fill(0);
    }
    if let Some(dst) = block.get_mut(56..) {
        dst.copy_from_slice(&total.wrapping_mul(8).to_be_bytes());
    }
    compress(state, block);
    let mut out = [0u8; 32];
    for (dst, word) in out.chunks_exact_mut(4).zip(state.iter()) {
        dst.copy_from_slice(&word.to_be_bytes());
    }
    out
}

impl fmt::Debug for PairwiseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairwiseKey(…)")
    }
}

impl PartialEq for PairwiseKey {
    fn eq(&self, other: &Self) -> bool {
        self.key.ct_eq(&other.key).into()
    }
}

impl Eq for PairwiseKey {}

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts` under `key`, by
/// the `hmac` crate: the reference the precomputed pads are tested against.
#[cfg(test)]
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // Any key length is valid for HMAC: `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return [0; 32] };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// HKDF-SHA256 (RFC 5869): `out` filled with OKM from `salt`, `ikm`, `info`.
/// `out` must be at most 255 × 32 bytes (ours are 32).
pub(crate) fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(salt), ikm);
    if hk.expand(info, out).is_err() {
        out.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> std::vec::Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn rfc7748_x25519() {
        // RFC 7748 §6.1.
        let a: [u8; 32] = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a").try_into().unwrap();
        let b: [u8; 32] = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb").try_into().unwrap();
        let a_pub = MontgomeryPoint(
            hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a").try_into().unwrap(),
        );
        let b_pub = MontgomeryPoint(
            hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f").try_into().unwrap(),
        );
        let k = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(MontgomeryPoint::mul_base_clamped(a), a_pub);
        assert_eq!(b_pub.mul_clamped(a).to_bytes().to_vec(), k);
        assert_eq!(a_pub.mul_clamped(b).to_bytes().to_vec(), k);
    }

    #[test]
    fn rfc4231_hmac_sha256() {
        assert_eq!(
            hmac_sha256(&[0x0b; 20], &[b"Hi There"]).to_vec(),
            hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
        assert_eq!(
            hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"]).to_vec(),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn precomputed_pads_give_the_hmac_of_the_reference_crate() {
        // Every split of messages from 0 to 200 bytes, across block and padding boundaries.
        let mut rng = 0x1234_5678_9abc_def0u64;
        let mut byte = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        };
        for len in 0..200usize {
            let key: [u8; 32] = core::array::from_fn(|_| byte());
            let msg: std::vec::Vec<u8> = (0..len).map(|_| byte()).collect();
            let cut = len / 3;
            let (a, rest) = msg.split_at(cut);
            let (b, c) = rest.split_at(rest.len() / 2);
            let want = hmac_sha256(&key, &[&msg]);
            assert_eq!(PairwiseKey::from_bytes(key).tag(&[a, b, c]), want, "length {len}");
            assert_eq!(PairwiseKey::from_bytes(key).tag(&[&msg]), want, "length {len}");
        }
        // RFC 4231 test case 2 has a short key: zero-padded to 32 bytes it is the same HMAC key.
        let mut jefe = [0u8; 32];
        jefe[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            PairwiseKey::from_bytes(jefe).tag(&[b"what do ya ", b"want for nothing?"]).to_vec(),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn rfc5869_hkdf_sha256() {
        let mut okm = [0u8; 42];
        hkdf_sha256(&hex("000102030405060708090a0b0c"), &[0x0b; 22], &hex("f0f1f2f3f4f5f6f7f8f9"), &mut okm);
        assert_eq!(
            okm.to_vec(),
            hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        );
    }

    #[test]
    fn both_ends_derive_the_same_key_and_a_third_differs() {
        let cluster = IdentityKey::from_seed(&[100; 32]).public();
        let other_cluster = IdentityKey::from_seed(&[101; 32]).public();
        let a = IdentityKey::from_seed(&[1; 32]);
        let b = IdentityKey::from_seed(&[2; 32]);
        let c = IdentityKey::from_seed(&[3; 32]);
        let ab = PairwiseKey::derive(&a, &b.public(), &cluster).unwrap();
        let ba = PairwiseKey::derive(&b, &a.public(), &cluster).unwrap();
        assert_eq!(ab, ba);
        assert_ne!(ab, PairwiseKey::derive(&a, &c.public(), &cluster).unwrap());
        assert_ne!(ab, PairwiseKey::derive(&c, &b.public(), &cluster).unwrap());
        assert_ne!(ab, PairwiseKey::derive(&a, &b.public(), &other_cluster).unwrap());
        assert_eq!(PairwiseKey::derive(&a, &a.public(), &cluster), Err(PairwiseError::SelfPeer));
    }

    #[test]
    fn refuses_low_order_points() {
        // Weak identity keys never become a `PublicIdentity`; the DH check is the
        // second line. u = 0 and u = 1 have small order: X25519 gives all zeros.
        let cluster = IdentityKey::from_seed(&[100; 32]).public();
        let (a, b) = (IdentityKey::from_seed(&[1; 32]), IdentityKey::from_seed(&[2; 32]));
        let scalar = a.x25519_scalar();
        let (pa, pb) = (a.public(), b.public());
        for u in [0u8, 1] {
            let mut point = [0u8; 32];
            point[0] = u;
            let got = PairwiseKey::from_dh(&scalar, MontgomeryPoint(point), &pa, &pb, &cluster);
            assert_eq!(got, Err(PairwiseError::LowOrderPoint));
        }
        let honest = PairwiseKey::from_dh(&scalar, pb.verifying_key().to_montgomery(), &pa, &pb, &cluster);
        assert_eq!(honest, PairwiseKey::derive(&b, &pa, &cluster));
    }
}
