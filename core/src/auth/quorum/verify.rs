//! How vote signatures are verified: a single vote's one by one, a
//! certificate's as one half-aggregated signature.
//!
//! # The rule
//!
//! A vote signature `(R, s)` by the voter's key `A` over the statement's
//! signed message `M` (the parent module's docs) is valid when `s < ℓ`
//! (canonical), `R` is the canonical encoding of a point not of small order,
//! `A` is a valid, non-weak key ([`PublicIdentity`] refuses the others), and
//!
//! ```text
//! [8](R + [k]A − [s]B) = 0,   k = SHA-512(R || A || M) mod ℓ
//! ```
//!
//! RFC 8032's cofactored group equation (§5.1.7; the cofactorless
//! `R = [s]B − [k]A` is the stricter shortcut it also allows, which the other
//! signatures of the crate use). Every honestly made signature satisfies
//! both; they differ only on a signature whose `R` (or key) carries a
//! small-order component, which only the key's holder can make: forgery is
//! as hard under either rule.
//!
//! # Half-aggregation: a certificate's signatures as one
//!
//! A certificate does not carry its `q` signatures `(Rᵢ, sᵢ)` but every
//! `Rᵢ` and one scalar `s = Σ zᵢsᵢ mod ℓ`: `32·(q + 1)` bytes instead of
//! `64·q`. This is the non-interactive half-aggregation of Schnorr / EdDSA
//! signatures of Chalkias, Garillot, Kondi and Nikolaenko ("Non-interactive
//! half-aggregation of EdDSA and variants of Schnorr signatures", CT-RSA
//! 2021, eprint 2021/350; the same construction as Jonas Nick's BIP-340
//! half-aggregation draft). Anyone holding the individual signatures
//! aggregates them (the [`QcBuilder`](super::QcBuilder), after checking each
//! vote); no signer takes part. The certificate verifies when
//!
//! ```text
//! [8](Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ − [s]B) = 0,   kᵢ = SHA-512(Rᵢ || Aᵢ || Mᵢ) mod ℓ
//! ```
//!
//! with every `Rᵢ` canonical and not of small order and `s < ℓ` (else
//! [`QuorumError::BadAggregate`](super::QuorumError::BadAggregate), which
//! names no signer: an aggregate has no culprit to name).
//!
//! ## The weights
//!
//! The weights are full-size scalars bound to the whole certificate, as the
//! paper's scheme specifies (`zᵢ = H(R₁, A₁, M₁, …, R_q, A_q, M_q, i)`):
//!
//! ```text
//! dᵢ = SHA-512("pouw-netops/qc-halfagg/signer/v1" || Rᵢ || Aᵢ || len(voterᵢ) || voterᵢ)[..32]
//! T  = SHA-512("pouw-netops/qc-halfagg/v1" || kind || term (u64 LE) || len(candidate)
//!              || candidate || signer bitmap (u64 LE) || d₁ || … || d_q)
//! zᵢ = SHA-512(T || i (u64 LE)) mod ℓ            i = 0..q, ascending voter index
//! ```
//!
//! `T` names every `(Rᵢ, Aᵢ, statementᵢ)` of the certificate (through the
//! collision-resistant `dᵢ`, so the builder keeps 32 bytes per vote rather
//! than the voter's id and key); the statement `(kind, term, candidate,
//! voter)` is the signed message `Mᵢ` but for the cluster, which is the
//! verifier's own (`Mᵢ` is a one-to-one function of the statement for a
//! given cluster, and `kᵢ` binds the cluster itself). The weights never
//! depend on the `sᵢ` (the verifier does not know them).
//!
//! Security: under the paper's theorem (random oracle; forking lemma) a
//! forged aggregate yields a forged Ed25519 signature, *provided the weights
//! are bound to all of `(Rᵢ, Aᵢ, Mᵢ)`*. Weights that omit `Rᵢ` or `Mᵢ`
//! (or constant weights, `s = Σ sᵢ`) allow forgeries: an attacker can pick
//! the `R` of a victim's share after seeing the others and cancel the
//! victim's term, so a certificate could name a signer who never voted.
//! Do not shorten the transcript.
//!
//! ## Why cofactored: one verdict in every build, and for every honest vote
//!
//! Writing `Dᵢ = Rᵢ + [kᵢ]Aᵢ − [sᵢ]B`, the equation is `Σ zᵢ[8]Dᵢ = 0` in
//! the prime-order subgroup. A vote accepted on its own ([the
//! rule](self), cofactored) has `[8]Dᵢ = 0`, so an aggregate of accepted
//! votes always verifies, whatever small-order components their `Rᵢ`
//! carry; under a cofactorless aggregate equation a torsion component
//! `zᵢTᵢ` would survive or cancel depending on the weights (which can be
//! searched, being deterministic), so an aggregate of accepted votes could
//! fail, or builds could disagree on crafted certificates.
//!
//! The two evaluation paths compute the same group element exactly: with
//! the `batch-verify` feature (hosts) one vartime multi-scalar
//! multiplication per chunk of up to 8 signers (17 points: its lookup
//! tables on the heap stay bounded whatever the voter count), the chunks
//! summed; without it (no allocation, microcontrollers) a loop adding
//! `zᵢ(kᵢAᵢ) + zᵢRᵢ` per signer. Then `[8]` and the identity test: the same
//! verdict, deterministically, in both builds.
//!
//! The chunked multi-scalar multiplication allocates its lookup tables: the
//! small worker's heap peak (`harness/tests/ram_budget.rs`, Byzantine, 5
//! signers) is 87,874 B of 98,304 (88,034 B with the version-1 batches).
//!
//! A single vote ([`SignedVote`](super::SignedVote), equivocation evidence)
//! keeps its full signature and the one-signature rule above.

use crate::auth::keys::{PublicIdentity, Signature};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

/// One signature after the checks that need no scalar multiplication.
pub(super) struct Prepared {
    r: EdwardsPoint,
    a: EdwardsPoint,
    k: Scalar,
    s: Scalar,
}

/// Whether `y` (the low 255 bits of an encoding) is below p = 2^255 − 19.
fn canonical_y(bytes: &[u8; 32]) -> bool {
    let Some((&last, rest)) = bytes.split_last() else { return false };
    let Some((&first, middle)) = rest.split_first() else { return false };
    !(last & 0x7f == 0x7f && middle.iter().all(|&b| b == 0xff) && first >= 0xed)
}

/// The encoding checks of [the rule](self) and `k`, for `sig` by `key` over
/// the concatenation of `parts`; `None` if an encoding check fails.
pub(super) fn prepare(key: &PublicIdentity, parts: &[&[u8]], sig: &Signature) -> Option<Prepared> {
    let (r_bytes, s_bytes) = sig.0.split_first_chunk::<32>()?;
    let s_bytes: &[u8; 32] = s_bytes.try_into().ok()?;
    if !canonical_y(r_bytes) {
        return None;
    }
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*s_bytes))?;
    // Also refuses the two encodings of x = 0 with the sign bit set.
    let r = decode_nonce(r_bytes)?;
    let k = challenge(r_bytes, key, parts);
    Some(Prepared { r, a: key.verifying_key().to_edwards(), k, s })
}

/// The group equation of [the rule](self) for one signature.
pub(super) fn check_one(p: &Prepared) -> bool {
    let d = p.r + EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &p.a, &-p.s);
    d.mul_by_cofactor().is_identity()
}

/// The per-signer digest the aggregation weights hash:
/// `SHA-512("pouw-netops/qc-halfagg/signer/v1" || R || A || len(voter) || voter)`,
/// first 32 bytes. It names the signer's `(Rᵢ, Aᵢ, statement)`; the
/// builder keeps it per vote (it has no voter table at `finish`), the
/// verifier recomputes it from the voter table.
pub(super) fn signer_digest(r: &[u8; 32], a: &[u8; 32], voter: &[u8]) -> [u8; 32] {
    let mut h = Sha512::new();
    h.update(AGG_SIGNER_DOMAIN);
    h.update(r);
    h.update(a);
    h.update([u8::try_from(voter.len()).unwrap_or(u8::MAX)]);
    h.update(voter);
    let out = h.finalize();
    let mut d = [0u8; 32];
    if let Some(head) = out.first_chunk::<32>() {
        d = *head;
    }
    d
}

/// Domain of the aggregation transcript (the weights' hash).
pub(super) const AGG_DOMAIN: &[u8] = b"pouw-netops/qc-halfagg/v1";
/// Domain of a signer's digest in the transcript.
const AGG_SIGNER_DOMAIN: &[u8] = b"pouw-netops/qc-halfagg/signer/v1";

/// The aggregation transcript `T`: SHA-512 of the domain, the claim (kind,
/// term, candidate), the signer bitmap and every signer's digest in
/// ascending voter index. Start it with [`transcript`], feed the digests,
/// then derive weights with [`weight`].
pub(super) fn transcript(kind: u8, term: u64, candidate: &[u8], signers: u64) -> Sha512 {
    let mut h = Sha512::new();
    h.update(AGG_DOMAIN);
    h.update([kind]);
    h.update(term.to_le_bytes());
    h.update([u8::try_from(candidate.len()).unwrap_or(u8::MAX)]);
    h.update(candidate);
    h.update(signers.to_le_bytes());
    h
}

/// The weight of the `position`-th signer (0-based, ascending voter index):
/// `zᵢ = SHA-512(T || position (u64 LE)) mod ℓ`, a full-size scalar.
pub(super) fn weight(t: &[u8; 64], position: u64) -> Scalar {
    Scalar::from_hash(Sha512::new().chain_update(t).chain_update(position.to_le_bytes()))
}

/// One signer's share of the aggregate equation after the encoding checks.
pub(super) struct AggTerm {
    pub(super) r: EdwardsPoint,
    pub(super) a: EdwardsPoint,
    /// `zᵢ`.
    pub(super) z: Scalar,
    /// `zᵢ·kᵢ`.
    pub(super) zk: Scalar,
}

/// Decodes a nonce `R` by [the rule](self) (canonical, not of small order).
pub(super) fn decode_nonce(r_bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !canonical_y(r_bytes) {
        return None;
    }
    let r = CompressedEdwardsY(*r_bytes).decompress()?;
    if r.is_small_order() { None } else { Some(r) }
}

/// `k = SHA-512(R || A || M) mod ℓ` with `M` given in parts.
pub(super) fn challenge(r_bytes: &[u8; 32], key: &PublicIdentity, parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key.as_bytes());
    for part in parts {
        h.update(part);
    }
    Scalar::from_hash(h)
}

/// Accumulates the aggregate equation
/// `[8](Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ − [s]B) = 0` signer by signer.
pub(super) trait Aggregate {
    /// Adds one signer's terms.
    fn add(&mut self, term: AggTerm);
    /// Whether the equation holds with aggregate scalar `s`.
    fn holds(self, s: &Scalar) -> bool;
}

/// The no-allocation path: per signer, `zᵢ(Rᵢ + kᵢAᵢ)` by point operations
/// into one running sum (two scalar multiplications per signer).
#[cfg_attr(all(feature = "batch-verify", not(test)), allow(dead_code))]
pub(super) struct Loop {
    sum: EdwardsPoint,
}

#[cfg_attr(all(feature = "batch-verify", not(test)), allow(dead_code))]
impl Loop {
    pub(super) fn new() -> Self {
        Loop { sum: EdwardsPoint::default() }
    }
}

impl Aggregate for Loop {
    fn add(&mut self, t: AggTerm) {
        // zᵢ·kᵢ·Aᵢ (variable time: all public) plus zᵢ·Rᵢ.
        self.sum += EdwardsPoint::vartime_double_scalar_mul_basepoint(&t.zk, &t.a, &Scalar::ZERO) + t.r * t.z;
    }

    fn holds(self, s: &Scalar) -> bool {
        (self.sum - EdwardsPoint::mul_base(s)).mul_by_cofactor().is_identity()
    }
}

/// Signers per multi-scalar multiplication: at most 17 points each, so the
/// transient heap (lookup tables) is bounded whatever the voter count.
#[cfg(feature = "batch-verify")]
const CHUNK: usize = 8;

/// The `batch-verify` path: one vartime multi-scalar multiplication per
/// chunk of up to [`CHUNK`] signers (the first chunk also carries `−[s]B`),
/// the chunks' points summed. The sum is the same group element the
/// [`Loop`] computes, so the verdicts are equal (exact arithmetic, no
/// probability involved).
#[cfg(feature = "batch-verify")]
pub(super) struct Batched {
    sum: EdwardsPoint,
    chunk: heapless::Vec<AggTerm, CHUNK>,
}

#[cfg(feature = "batch-verify")]
impl Batched {
    pub(super) fn new() -> Self {
        Batched { sum: EdwardsPoint::default(), chunk: heapless::Vec::new() }
    }

    /// The chunk's `Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ + [b]B`.
    fn flush(&mut self, b: Scalar) {
        use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
        use curve25519_dalek::traits::VartimeMultiscalarMul;
        let scalars = core::iter::once(b).chain(self.chunk.iter().map(|t| t.z)).chain(self.chunk.iter().map(|t| t.zk));
        let points = core::iter::once(ED25519_BASEPOINT_POINT)
            .chain(self.chunk.iter().map(|t| t.r))
            .chain(self.chunk.iter().map(|t| t.a));
        self.sum += EdwardsPoint::vartime_multiscalar_mul(scalars, points);
        self.chunk.clear();
    }
}

#[cfg(feature = "batch-verify")]
impl Aggregate for Batched {
    fn add(&mut self, t: AggTerm) {
        if let Err(t) = self.chunk.push(t) {
            self.flush(Scalar::ZERO);
            // The chunk is empty now.
            let _ = self.chunk.push(t);
        }
    }

    fn holds(mut self, s: &Scalar) -> bool {
        self.flush(-s);
        self.sum.mul_by_cofactor().is_identity()
    }
}

#[cfg(test)]
mod tests;
