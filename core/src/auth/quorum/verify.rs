//! How vote signatures are verified: one at a time, or a certificate's
//! signatures in one batch.
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
//! # Why cofactored: one batch, the same verdict
//!
//! With `alloc`, a certificate's `n` signatures are checked in one
//! multi-scalar multiplication of `2n + 1` points:
//! `[8](Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ − (Σ zᵢsᵢ)B) = 0`, with 128-bit weights `zᵢ`
//! derived from SHA-512 of every `(R, A, k, s)` of the batch (deterministic:
//! no randomness, every node computes the same weights). Writing
//! `Dᵢ = Rᵢ + [kᵢ]Aᵢ − [sᵢ]B`, the batch tests `Σ zᵢ[8]Dᵢ = 0` in the
//! prime-order subgroup, so
//!
//! * every signature valid ⇒ the batch holds (each `[8]Dᵢ = 0`): a batch
//!   failure always has a culprit, and the per-signature check then names
//!   the first one (the error is the one-at-a-time error);
//! * the batch holds with some `[8]Dⱼ ≠ 0` only if `zⱼ` hits the one value mod
//!   ℓ that cancels the rest: probability 2⁻¹²⁷ per set of inputs (weights
//!   are odd 128-bit values), which an attacker can only search by hashing.
//!
//! So batch and one-at-a-time verification accept the same certificates,
//! but only under the cofactored rule. Under the cofactorless rule they would
//! not: a torsion component `T` in `Dᵢ` vanishes from `Σ zᵢDᵢ` whenever the
//! weights cancel it (`zᵢ` even for a point of order 2; two signers with
//! order-2 components cancel for any odd weights), and deterministic weights
//! can be searched for that, so builds batching and builds not batching (no
//! `alloc`) would disagree on crafted certificates. A torsion check of every
//! `R` would restore agreement at the cost of a scalar multiplication each,
//! more than batching saves.
//!
//! Without the `batch-verify` feature (on for hosts, off for
//! microcontrollers) every signature is checked on its own (the same rule,
//! no allocation); with it, a certificate is checked in batches of up to 8
//! signatures, whose multi-scalar multiplication allocates its lookup
//! tables: the small worker's heap peak (`harness/tests/ram_budget.rs`,
//! Byzantine, 5 signatures) rises from 55,539 to 86,994 B, of 98,304.

use crate::auth::keys::{PublicIdentity, Signature};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

/// One signature after the checks that need no scalar multiplication.
pub(super) struct Prepared {
    // The batch weights' inputs.
    #[cfg_attr(not(feature = "batch-verify"), allow(dead_code))]
    r_bytes: [u8; 32],
    #[cfg_attr(not(feature = "batch-verify"), allow(dead_code))]
    a_bytes: [u8; 32],
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
    let r = CompressedEdwardsY(*r_bytes).decompress()?;
    // Also refuses the two encodings of x = 0 with the sign bit set.
    if r.is_small_order() {
        return None;
    }
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key.as_bytes());
    for part in parts {
        h.update(part);
    }
    let k = Scalar::from_hash(h);
    Some(Prepared { r_bytes: *r_bytes, a_bytes: *key.as_bytes(), r, a: key.verifying_key().to_edwards(), k, s })
}

/// The group equation of [the rule](self) for one signature.
pub(super) fn check_one(p: &Prepared) -> bool {
    let d = p.r + EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &p.a, &-p.s);
    d.mul_by_cofactor().is_identity()
}

/// The group equation for every signature of `batch` (signer index,
/// signature) at once (see the module docs): true exactly when [`check_one`]
/// holds for each, but for a 2⁻¹²⁷ chance of a false true.
#[cfg(feature = "batch-verify")]
pub(super) fn check_batch(batch: &[(usize, Prepared)]) -> bool {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::traits::VartimeMultiscalarMul;
    let mut h = Sha512::new();
    h.update(b"pouw-netops/vote-batch/v1");
    for (_, p) in batch {
        h.update(p.r_bytes);
        h.update(p.a_bytes);
        h.update(p.k.as_bytes());
        h.update(p.s.as_bytes());
    }
    let seed = h.finalize();
    let weights: alloc::vec::Vec<Scalar> = (0..batch.len() as u64)
        .map(|i| {
            let w = Sha512::new().chain_update(seed).chain_update(i.to_le_bytes()).finalize();
            let mut z = [0u8; 32];
            if let (Some(dst), Some(src)) = (z.first_chunk_mut::<16>(), w.first_chunk::<16>()) {
                *dst = *src;
            }
            // Odd, so never zero.
            if let Some(b) = z.first_mut() {
                *b |= 1;
            }
            Scalar::from_bytes_mod_order(z)
        })
        .collect();
    let b: Scalar = -batch.iter().zip(&weights).map(|((_, p), z)| z * p.s).sum::<Scalar>();
    let scalars =
        core::iter::once(b).chain(weights.iter().copied()).chain(batch.iter().zip(&weights).map(|((_, p), z)| z * p.k));
    let points = core::iter::once(ED25519_BASEPOINT_POINT)
        .chain(batch.iter().map(|(_, p)| p.r))
        .chain(batch.iter().map(|(_, p)| p.a));
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).mul_by_cofactor().is_identity()
}

#[cfg(test)]
mod tests;
