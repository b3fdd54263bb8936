//! Ed25519 identities and domain-separated signatures.
//!
//! Every signature the cluster makes is over
//! `"pouw-netops/<kind>/v1" || 0x00 || cluster || payload`, where `cluster` is
//! the authority's public key: a signature made for one purpose (a certificate)
//! never verifies as another (a revocation list, an envelope), and one
//! cluster's signatures never verify in another.
//!
//! Signing and verifying stream the message through SHA-512 in pieces, so
//! nothing is concatenated and no allocator is needed. Verification is strict:
//! weak (small-order) public keys are refused when a [`PublicIdentity`] is
//! built, signatures with a small-order `R` or a non-canonical `s` are refused.

use core::fmt;
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign_byupdate};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::Digest;

/// What a signature or tag is for. Each purpose has its own label, so no
/// signature made for one verifies for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// A node certificate, signed by the cluster authority.
    Certificate,
    /// A revocation list, signed by the cluster authority.
    Revocation,
    /// A signed wire envelope (v2, kind `sig`), signed by its sender.
    EnvelopeSig,
    /// A MAC'd wire envelope (v2, kind `mac`): the HMAC's domain prefix.
    EnvelopeMac,
    /// Pairwise key derivation: the HKDF salt's domain prefix.
    Pairwise,
    /// A primary's checkpoint of a task, signed by the primary.
    Checkpoint,
    /// A node's link-state advert, signed by the node (its origin).
    LinkState,
    /// A node's tunnel endpoint record, signed by the node.
    Endpoint,
    /// A pre-vote grant of the election, signed by the voter ([`super::quorum`]).
    PreVote,
    /// A vote of the election, signed by the voter ([`super::quorum`]).
    Vote,
}

impl Domain {
    /// The label, `"pouw-netops/<kind>/v1"`.
    pub const fn label(self) -> &'static str {
        match self {
            Domain::Certificate => "pouw-netops/certificate/v1",
            Domain::Revocation => "pouw-netops/revocation/v1",
            Domain::EnvelopeSig => "pouw-netops/envelope-sig/v1",
            Domain::EnvelopeMac => "pouw-netops/envelope-mac/v1",
            Domain::Pairwise => "pouw-netops/pairwise/v1",
            Domain::Checkpoint => "pouw-netops/checkpoint/v1",
            Domain::LinkState => "pouw-netops/link-state/v1",
            Domain::Endpoint => "pouw-netops/endpoint/v1",
            Domain::PreVote => "pouw-netops/pre-vote/v1",
            Domain::Vote => "pouw-netops/vote/v1",
        }
    }
}

/// The WireGuard (X25519) public key of the 32-byte private key `private`,
/// as `wg pubkey` derives it (the scalar clamped first).
pub fn wireguard_public_key(private: &[u8; 32]) -> [u8; 32] {
    curve25519_dalek::montgomery::MontgomeryPoint::mul_base_clamped(*private).0
}

/// The canonical encodings of the eight points of small order (the
/// 8-torsion subgroup of edwards25519): the identity, `(0, -1)`, the two
/// points of order 4 (`y = 0`) and the four of order 8 (tested against
/// curve25519-dalek's `EIGHT_TORSION`).
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 8] = {
    let mut e = [[0u8; 32]; 8];
    // The identity, y = 1.
    e[0][0] = 1;
    // (0, -1): y = p - 1.
    e[1] = [0xff; 32];
    e[1][0] = 0xec;
    e[1][31] = 0x7f;
    // Order 4: y = 0, x = ±sqrt(-1).
    e[3][31] = 0x80;
    // Order 8.
    let a = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ];
    let b = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
        0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ];
    e[4] = a;
    e[5] = a;
    e[5][31] |= 0x80;
    e[6] = b;
    e[7] = b;
    e[7][31] |= 0x80;
    e
};

/// A public key that is not a usable Ed25519 identity, or a signature that does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityError {
    /// The 32 bytes are not a point on the curve.
    InvalidPublicKey,
    /// The point has small order: signatures under it would prove nothing.
    WeakPublicKey,
    /// The signature does not verify under the key for this domain and cluster.
    BadSignature,
}

crate::error::error_impls! {
    IdentityError, f;
    IdentityError::InvalidPublicKey => ErrorKind::Unauthenticated, f.write_str("public key is not a valid Ed25519 point");
    IdentityError::WeakPublicKey => ErrorKind::Unauthenticated, f.write_str("public key has small order");
    IdentityError::BadSignature => ErrorKind::Unauthenticated, f.write_str("signature does not verify");
}

/// An Ed25519 signature (64 bytes: `R || s`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(")?;
        for b in self.0.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…)")
    }
}

/// A node's (or the authority's) Ed25519 public key, checked to be a valid,
/// non-weak curve point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicIdentity {
    key: VerifyingKey,
}

impl PublicIdentity {
    /// The identity with public key `bytes`, or why those bytes are not one.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, IdentityError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| IdentityError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(IdentityError::WeakPublicKey);
        }
        Ok(PublicIdentity { key })
    }

    /// The 32 public-key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The 32 public-key bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Verifies `signature` over `payload` for `domain` in the cluster of authority `cluster`.
    pub fn verify(
        &self,
        domain: Domain,
        cluster: &PublicIdentity,
        payload: &[u8],
        signature: &Signature,
    ) -> Result<(), IdentityError> {
        self.verify_parts(&[domain.label().as_bytes(), &[0], cluster.as_bytes(), payload], signature)
    }

    /// Strict Ed25519 verification of `signature` over the concatenation of `parts`.
    ///
    /// A small-order `R` is refused by its encoding, without decompressing it
    /// (a square root, about a sixth of a verification): a signature verifies
    /// only if `R`'s bytes equal the canonical encoding of the point the check
    /// computes, so an `R` that is no point, or a non-canonical encoding of
    /// one, never verifies, and a canonical small-order `R` is one of the eight
    /// encodings of [`SMALL_ORDER_ENCODINGS`]. The same signatures are refused
    /// as by decompressing `R` and testing its order.
    pub(crate) fn verify_parts(&self, parts: &[&[u8]], signature: &Signature) -> Result<(), IdentityError> {
        let (r, _) = signature.0.split_first_chunk::<32>().ok_or(IdentityError::BadSignature)?;
        if SMALL_ORDER_ENCODINGS.contains(r) {
            return Err(IdentityError::BadSignature);
        }
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        // Refuses a non-canonical `s` (`s >= l`).
        let mut verifier = self.key.verify_stream(&sig).map_err(|_| IdentityError::BadSignature)?;
        for part in parts {
            verifier.update(part);
        }
        verifier.finalize_and_verify().map_err(|_| IdentityError::BadSignature)
    }
}

impl fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicIdentity(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// A node's (or the authority's) Ed25519 secret key. Built from 32 bytes the
/// host draws from its own randomness (the core never does); wiped from memory
/// when dropped (`SigningKey` and `ExpandedSecretKey` zeroize themselves on
/// drop through ed25519-dalek's `zeroize` feature).
pub struct IdentityKey {
    signing: SigningKey,
    expanded: ExpandedSecretKey,
    public: PublicIdentity,
}

impl IdentityKey {
    /// The key whose RFC 8032 secret (seed) is `seed`. The caller should wipe
    /// its copy of `seed` afterwards.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let expanded = ExpandedSecretKey::from(seed);
        // A key derived from a seed is a valid point and never weak (its scalar is
        // clamped to a multiple of the cofactor times a non-zero value).
        let public = PublicIdentity { key: signing.verifying_key() };
        IdentityKey { signing, expanded, public }
    }

    /// A second copy of this key (for a component that signs on its own:
    /// the certified election). Wiped like the first when dropped.
    #[cfg(feature = "alloc")]
    pub(crate) fn duplicate(&self) -> Self {
        IdentityKey::from_seed(self.signing.as_bytes())
    }

    /// The public half.
    pub fn public(&self) -> PublicIdentity {
        self.public
    }

    /// Signs `payload` for `domain` in the cluster of authority `cluster`.
    pub fn sign(&self, domain: Domain, cluster: &PublicIdentity, payload: &[u8]) -> Signature {
        self.sign_parts(&[domain.label().as_bytes(), &[0], cluster.as_bytes(), payload])
    }

    /// An Ed25519 signature (RFC 8032, pure) over the concatenation of `parts`.
    pub(crate) fn sign_parts(&self, parts: &[&[u8]]) -> Signature {
        let update = |h: &mut sha2::Sha512| {
            for part in parts {
                h.update(part);
            }
            Ok(())
        };
        match raw_sign_byupdate::<sha2::Sha512, _>(&self.expanded, update, &self.public.key) {
            Ok(sig) => Signature(sig.to_bytes()),
            // `raw_sign_byupdate` fails only when the update closure does, and ours
            // never does. Should that change, an all-zero signature has a
            // small-order `R` and fails every verification.
            Err(_) => Signature([0; 64]),
        }
    }

    /// The X25519 secret scalar of this key (RFC 7748 form of the Ed25519
    /// secret scalar, for [`super::pairwise`]). Wipe it after use.
    pub(crate) fn x25519_scalar(&self) -> [u8; 32] {
        self.signing.to_scalar_bytes()
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKey").field("public", &self.public).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wireguard_public_key_is_x25519_of_the_base_point() {
        // RFC 7748 section 6.1, Alice's key pair.
        let private = hex::<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let public = hex::<32>("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        assert_eq!(wireguard_public_key(&private), public);
    }

    pub(crate) fn hex<const N: usize>(s: &str) -> [u8; N] {
        let v: std::vec::Vec<u8> =
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
        v.try_into().unwrap()
    }

    fn hexv(s: &str) -> std::vec::Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 8032 §7.1, tests 1–3: the raw primitive (no domain prefix) matches.
    #[test]
    fn rfc8032_vectors() {
        let cases = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
            (
                "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
        ];
        for (secret, public, msg, sig) in cases {
            let key = IdentityKey::from_seed(&hex(secret));
            assert_eq!(key.public().to_bytes(), hex::<32>(public));
            let msg = hexv(msg);
            let signature = key.sign_parts(&[&msg]);
            assert_eq!(signature.0, hex::<64>(sig));
            key.public().verify_parts(&[&msg], &signature).unwrap();
            // Split into pieces, the message is the same message.
            if let Some((a, b)) = msg.split_first() {
                key.public().verify_parts(&[&[*a], b], &signature).unwrap();
            }
            let mut bad = signature;
            bad.0[63] ^= 1;
            assert_eq!(key.public().verify_parts(&[&msg], &bad), Err(IdentityError::BadSignature));
        }
    }

    #[test]
    fn signatures_are_bound_to_domain_and_cluster() {
        let authority = IdentityKey::from_seed(&[1; 32]).public();
        let other = IdentityKey::from_seed(&[2; 32]).public();
        let key = IdentityKey::from_seed(&[3; 32]);
        let sig = key.sign(Domain::Certificate, &authority, b"payload");
        let public = key.public();
        public.verify(Domain::Certificate, &authority, b"payload", &sig).unwrap();
        assert_eq!(public.verify(Domain::Revocation, &authority, b"payload", &sig), Err(IdentityError::BadSignature));
        assert_eq!(public.verify(Domain::Certificate, &other, b"payload", &sig), Err(IdentityError::BadSignature));
        assert_eq!(public.verify(Domain::Certificate, &authority, b"payloaD", &sig), Err(IdentityError::BadSignature));
        assert_eq!(other.verify(Domain::Certificate, &authority, b"payload", &sig), Err(IdentityError::BadSignature));
    }

    /// Every domain has its own label, and a signature made for one verifies for no other.
    #[test]
    fn every_domain_is_separate() {
        let all = [
            Domain::Certificate,
            Domain::Revocation,
            Domain::EnvelopeSig,
            Domain::EnvelopeMac,
            Domain::Pairwise,
            Domain::Checkpoint,
            Domain::LinkState,
            Domain::Endpoint,
            Domain::PreVote,
            Domain::Vote,
        ];
        let authority = IdentityKey::from_seed(&[1; 32]).public();
        let key = IdentityKey::from_seed(&[3; 32]);
        for (i, a) in all.iter().enumerate() {
            assert!(a.label().starts_with("pouw-netops/") && a.label().ends_with("/v1"));
            let sig = key.sign(*a, &authority, b"payload");
            for (j, b) in all.iter().enumerate() {
                let verified = key.public().verify(*b, &authority, b"payload", &sig);
                assert_eq!(verified.is_ok(), i == j, "{a:?} / {b:?}");
                if i != j {
                    assert_ne!(a.label(), b.label());
                }
            }
        }
    }

    #[test]
    fn refuses_weak_keys_and_small_order_r() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicIdentity::from_bytes(&identity), Err(IdentityError::WeakPublicKey));
        // y = 2 is not on the curve.
        let mut off = [0u8; 32];
        off[0] = 2;
        assert_eq!(PublicIdentity::from_bytes(&off), Err(IdentityError::InvalidPublicKey));
        let key = IdentityKey::from_seed(&[9; 32]);
        let mut sig = [0u8; 64];
        sig[0] = 1; // R = identity, s = 0
        assert_eq!(key.public().verify_parts(&[b""], &Signature(sig)), Err(IdentityError::BadSignature));
        // The list refused by encoding is exactly the 8-torsion, canonically encoded.
        let mut torsion: std::vec::Vec<[u8; 32]> =
            curve25519_dalek::constants::EIGHT_TORSION.iter().map(|p| p.compress().to_bytes()).collect();
        let mut listed = SMALL_ORDER_ENCODINGS.to_vec();
        torsion.sort();
        listed.sort();
        assert_eq!(listed, torsion);
        // A signature that verifies except for a small-order R: with the secret
        // scalar a, s = r + k a (mod l) for R = T + rB holds for T torsion only
        // up to T, so instead check the plain equation on R = T with r = 0:
        // s = k a, where k = H(R || A || M). Strictness must refuse it (a
        // cofactorless check alone would accept T = identity).
        use curve25519_dalek::scalar::Scalar;
        use sha2::Sha512;
        let expanded = ExpandedSecretKey::from(&[9u8; 32]);
        for t in curve25519_dalek::constants::EIGHT_TORSION {
            let r_bytes = t.compress().to_bytes();
            let mut h = Sha512::new();
            h.update(r_bytes);
            h.update(key.public().as_bytes());
            h.update(b"m");
            let k = Scalar::from_hash(h);
            let s = k * expanded.scalar;
            let mut forged = [0u8; 64];
            forged[..32].copy_from_slice(&r_bytes);
            forged[32..].copy_from_slice(s.as_bytes());
            assert_eq!(key.public().verify_parts(&[b"m"], &Signature(forged)), Err(IdentityError::BadSignature));
            // The same check without the refusal of R accepts it when T is the
            // identity (sB - kA = 0): the encoding test is what refuses it.
            if t == curve25519_dalek::edwards::EdwardsPoint::default() {
                let sig = ed25519_dalek::Signature::from_bytes(&forged);
                let mut v = key.public().verifying_key().verify_stream(&sig).unwrap();
                v.update(b"m");
                assert!(v.finalize_and_verify().is_ok());
            }
        }
        // A non-canonical s (s + l) is refused even though the equation would hold.
        let good = key.sign_parts(&[b"m"]);
        let mut s = [0u8; 32];
        s.copy_from_slice(&good.0[32..]);
        let l = hex::<32>("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
        let mut carry = 0u16;
        for i in 0..32 {
            let v = u16::from(s[i]) + u16::from(l[i]) + carry;
            s[i] = v as u8;
            carry = v >> 8;
        }
        let mut malleated = good;
        malleated.0[32..].copy_from_slice(&s);
        assert_eq!(key.public().verify_parts(&[b"m"], &malleated), Err(IdentityError::BadSignature));
    }
}
