//! The vote signature rule's edge cases; the half-aggregated certificate
//! refusing exactly when a vote in it is refused, its batched and no-alloc
//! paths agreeing; and an independent recomputation of the aggregate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::super::cert::{Claim, verify_qc};
use super::super::vote::statement_parts;
use super::super::*;
#[cfg(feature = "batch-verify")]
use super::Batched;
use super::Loop;
use crate::auth::keys::{Domain, IdentityKey, PublicIdentity, Signature};
use crate::id::NodeId;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::hazmat::ExpandedSecretKey;
use sha2::{Digest, Sha512};
use std::vec::Vec;

extern crate std;

const N: usize = 7;
const Q: usize = 5;
const TERM: u64 = 42;

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn cluster() -> PublicIdentity {
    IdentityKey::from_seed(&[0xa0; 32]).public()
}

fn seed(voter: usize) -> [u8; 32] {
    [voter as u8 + 1; 32]
}

/// Voters `s00`..`s06`, voter `i` with the key of seed `[i + 1; 32]`.
fn voter_set() -> Vec<(NodeId, PublicIdentity)> {
    (0..N).map(|i| (id(&std::format!("s{i:02}")), IdentityKey::from_seed(&seed(i)).public())).collect()
}

/// Voter `voter`'s signature on its vote for `s00` in `TERM`, made by hand:
/// nonce `r` (from `salt`), `R = rB + torsion`, `s = r + k·a + s_delta`.
fn craft(voter: usize, salt: u8, torsion: EdwardsPoint, s_delta: Scalar) -> Signature {
    let esk = ExpandedSecretKey::from(&seed(voter));
    let a_bytes = EdwardsPoint::mul_base(&esk.scalar).compress().to_bytes();
    assert_eq!(&a_bytes, IdentityKey::from_seed(&seed(voter)).public().as_bytes());
    let r = Scalar::from_bytes_mod_order([salt; 32]);
    let r_point = (EdwardsPoint::mul_base(&r) + torsion).compress().to_bytes();
    let mut h = Sha512::new();
    h.update(r_point);
    h.update(a_bytes);
    let voter_id = id(&std::format!("s{voter:02}"));
    statement_parts(VoteKind::Vote, TERM, &id("s00"), &voter_id, &cluster(), |parts| {
        for p in parts {
            h.update(p);
        }
        Ok(())
    })
    .unwrap();
    let k = Scalar::from_hash(h);
    let s = r + k * esk.scalar + s_delta;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_point);
    sig[32..].copy_from_slice(s.as_bytes());
    Signature(sig)
}

fn honest(voter: usize) -> Signature {
    craft(voter, 0x40 + voter as u8, EdwardsPoint::default(), Scalar::ZERO)
}

/// The certificate of signers `0..sigs.len()` with `sigs`, aggregated by the
/// builder (which takes them unchecked): `Err` if the builder refuses.
fn certificate(sigs: &[Signature]) -> Result<QuorumCertificate, QuorumError> {
    let mut b = QuorumCertificate::builder(VoteKind::Vote, TERM, id("s00"));
    let set = voter_set();
    for (i, sig) in sigs.iter().enumerate() {
        let v = SignedVote {
            statement: VoteStatement {
                kind: VoteKind::Vote,
                term: TERM,
                candidate: id("s00"),
                voter: set[i].0.clone(),
            },
            signature: *sig,
        };
        b.push_verified(&v, set.as_slice()).unwrap();
    }
    b.finish(sigs.len())
}

/// A certificate's verdict by the build's path (`verify`, from the bytes)
/// and by the no-allocation loop called directly; with `batch-verify` also
/// the batched path called directly. All must agree.
fn paths<V: VoterKeys + ?Sized>(qc: &QuorumCertificate, voters: &V, quorum: usize) -> Result<(), QuorumError> {
    let mut bytes = std::vec![0u8; qc.encoded_len()];
    qc.encode(&mut bytes).unwrap();
    let built = QcView::parse(&bytes).unwrap().verify(&cluster(), voters, quorum);
    assert_eq!(built, qc.verify(&cluster(), voters, quorum));
    let claim = Claim { kind: qc.kind, term: qc.term, candidate: &qc.candidate, signers: qc.signers };
    let looped = verify_qc(&claim, qc.nonces.iter(), &qc.aggregate, &cluster(), voters, quorum, Loop::new());
    assert_eq!(looped, built, "no-alloc loop and the build's path");
    #[cfg(feature = "batch-verify")]
    {
        let batched = verify_qc(&claim, qc.nonces.iter(), &qc.aggregate, &cluster(), voters, quorum, Batched::new());
        assert_eq!(batched, built, "batched and the build's path");
    }
    built
}

/// The certificate's verdict (both paths), and the verdict signature by
/// signature (the first refused signer).
fn verdicts(sigs: &[Signature]) -> (Result<(), QuorumError>, Result<(), QuorumError>) {
    let set = voter_set();
    let aggregate = certificate(sigs).and_then(|qc| paths(&qc, set.as_slice(), sigs.len()));
    let single = sigs.iter().enumerate().try_for_each(|(i, sig)| {
        let st = VoteStatement { kind: VoteKind::Vote, term: TERM, candidate: id("s00"), voter: set[i].0.clone() };
        st.verify(&cluster(), &set[i].1, sig).map_err(|_| QuorumError::BadSignature { index: i })
    });
    (aggregate, single)
}

/// Whether the crate's other signatures (strict, cofactorless) take `sig`.
fn strict(voter: usize, sig: &Signature) -> bool {
    let set = voter_set();
    let mut payload = TERM.to_le_bytes().to_vec();
    payload.extend_from_slice(&[3, b's', b'0', b'0', 3]);
    payload.extend_from_slice(std::format!("s{voter:02}").as_bytes());
    set[voter].1.verify(Domain::Vote, &cluster(), &payload, sig).is_ok()
}

#[test]
fn hand_made_honest_signatures_verify_every_way() {
    let sigs: Vec<Signature> = (0..Q).map(honest).collect();
    assert!((0..Q).all(|i| strict(i, &sigs[i])));
    assert_eq!(verdicts(&sigs), (Ok(()), Ok(())));
}

#[test]
fn a_bad_signature_is_named_by_its_signer_index() {
    for bad in 0..Q {
        let mut sigs: Vec<Signature> = (0..Q).map(honest).collect();
        sigs[bad] = craft(bad, 0x40, EdwardsPoint::default(), Scalar::ONE);
        let want = Err(QuorumError::BadSignature { index: bad });
        assert_eq!(verdicts(&sigs), (Err(QuorumError::BadAggregate), want), "bad signer {bad}");
        // Two bad ones: the single check names the first; the aggregate no one.
        if bad + 1 < Q {
            sigs[bad + 1][0] ^= 1;
            assert_eq!(verdicts(&sigs), (Err(QuorumError::BadAggregate), want));
        }
    }
}

trait Flip {
    fn flip(&mut self, byte: usize, bit: u8);
}

impl Flip for Signature {
    fn flip(&mut self, byte: usize, bit: u8) {
        self.0[byte] ^= 1 << bit;
    }
}

impl core::ops::IndexMut<usize> for Signature {
    fn index_mut(&mut self, i: usize) -> &mut u8 {
        &mut self.0[i]
    }
}

impl core::ops::Index<usize> for Signature {
    type Output = u8;
    fn index(&self, i: usize) -> &u8 {
        &self.0[i]
    }
}

#[test]
fn every_single_bit_flip_is_refused_alike() {
    for byte in 0..64 {
        for bit in [0u8, 3, 7] {
            let mut sigs: Vec<Signature> = (0..Q).map(honest).collect();
            sigs[2].flip(byte, bit);
            let want = Err(QuorumError::BadSignature { index: 2 });
            let (aggregate, single) = verdicts(&sigs);
            assert_eq!(single, want, "byte {byte} bit {bit}");
            // The builder refuses a non-canonical s (naming the signer); any
            // other change fails the aggregate.
            assert!(aggregate == Err(QuorumError::BadAggregate) || (byte >= 32 && aggregate == want), "{byte} {bit}");
        }
    }
}

#[test]
fn a_non_canonical_s_is_refused() {
    // s + ℓ: the same scalar, a second encoding.
    let mut sigs: Vec<Signature> = (0..Q).map(honest).collect();
    let s = Scalar::from_canonical_bytes(sigs[1].0[32..].try_into().unwrap()).unwrap();
    let mut wide = [0u8; 32];
    // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
    let mut l = [0u8; 32];
    l[..16].copy_from_slice(&[
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    ]);
    l[31] = 0x10;
    let mut carry = 0u16;
    for (w, (a, b)) in wide.iter_mut().zip(s.as_bytes().iter().zip(&l)) {
        let v = u16::from(*a) + u16::from(*b) + carry;
        *w = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0, "s + ℓ fits 256 bits");
    sigs[1].0[32..].copy_from_slice(&wide);
    let want = Err(QuorumError::BadSignature { index: 1 });
    assert_eq!(verdicts(&sigs), (want, want), "the builder refuses it by name");
    assert!(!strict(1, &sigs[1]));
}

#[test]
fn small_order_and_non_canonical_r_are_refused() {
    // R of small order (each of the eight, and the two x = 0 encodings with
    // the sign bit set); s = k·a makes [8](R + kA − sB) = [8]R = 0, so only
    // the order check refuses them.
    let mut encodings: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(|p| p.compress().to_bytes()).collect();
    let mut neg_one = [0xff; 32];
    neg_one[0] = 0xec;
    let mut one = [0; 32];
    one[0] = 1;
    one[31] = 0x80;
    encodings.push(one);
    encodings.push(neg_one);
    for r in encodings {
        let mut sigs: Vec<Signature> = (0..Q).map(honest).collect();
        sigs[3].0[..32].copy_from_slice(&r);
        let want = Err(QuorumError::BadSignature { index: 3 });
        assert_eq!(verdicts(&sigs), (Err(QuorumError::BadAggregate), want), "R = {r:02x?}");
    }
    // y ≥ p: a non-canonical encoding (y = p + 1 decodes as y = 1).
    let mut sigs: Vec<Signature> = (0..Q).map(honest).collect();
    let mut r = [0xff; 32];
    r[0] = 0xee;
    r[31] = 0x7f;
    sigs[0].0[..32].copy_from_slice(&r);
    let want = Err(QuorumError::BadSignature { index: 0 });
    assert_eq!(verdicts(&sigs), (Err(QuorumError::BadAggregate), want));
}

#[test]
fn small_order_and_invalid_keys_are_no_identity() {
    for p in EIGHT_TORSION.iter() {
        assert!(PublicIdentity::from_bytes(&p.compress().to_bytes()).is_err());
    }
}

/// The one difference from the crate's strict rule, by design: a key holder
/// can put a small-order component into its own `R`. The vote rule
/// (cofactored) takes it, the strict rule does not; the aggregate of such
/// votes verifies (cofactored aggregate equation) in both paths, and fails
/// in both as soon as one share is wrong.
#[test]
fn torsion_in_r_is_taken_alike_by_batch_and_one_by_one() {
    for (t, torsion) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let mut sigs: Vec<Signature> = (0..Q).map(honest).collect();
        sigs[1] = craft(1, 0x51, *torsion, Scalar::ZERO);
        assert!(!strict(1, &sigs[1]), "strict refuses torsion {t}");
        assert_eq!(verdicts(&sigs), (Ok(()), Ok(())), "torsion {t}");
        sigs[3] = craft(3, 0x53, EIGHT_TORSION[4], Scalar::ZERO);
        assert_eq!(verdicts(&sigs), (Ok(()), Ok(())), "torsion {t} and 4");
        // With a wrong s as well, refused and named alike.
        sigs[3] = craft(3, 0x53, EIGHT_TORSION[4], Scalar::ONE);
        let want = Err(QuorumError::BadSignature { index: 3 });
        assert_eq!(verdicts(&sigs), (Err(QuorumError::BadAggregate), want));
    }
}

/// `n` voters `v00`.. with keys of seeds `[0x10 + i; 32]`, and their keys.
fn big_set(n: usize) -> (Vec<(NodeId, PublicIdentity)>, Vec<IdentityKey>) {
    let keys: Vec<IdentityKey> = (0..n).map(|i| IdentityKey::from_seed(&[0x10 + i as u8; 32])).collect();
    let set = keys.iter().enumerate().map(|(i, k)| (id(&std::format!("v{i:02}")), k.public())).collect();
    (set, keys)
}

fn statement(kind: VoteKind, term: u64, candidate: &str, voter: usize) -> VoteStatement {
    VoteStatement { kind, term, candidate: id(candidate), voter: id(&std::format!("v{voter:02}")) }
}

/// The certificate of `signers` of `big_set(n)`, each vote honest.
fn big_certificate(n: usize, signers: &[usize], kind: VoteKind, term: u64, candidate: &str) -> QuorumCertificate {
    let (set, keys) = big_set(n);
    let mut b = QuorumCertificate::builder(kind, term, id(candidate));
    for &i in signers {
        b.push(&statement(kind, term, candidate, i).signed(&keys[i], &cluster()), &cluster(), set.as_slice()).unwrap();
    }
    b.finish(signers.len()).unwrap()
}

/// The aggregate equation recomputed from the documented formulas with plain
/// curve25519-dalek arithmetic and sha2 (no code of the module): weights,
/// `s = Σ zᵢsᵢ` from the individual signatures, and the group equation.
fn reference_check(qc: &QuorumCertificate, set: &[(NodeId, PublicIdentity)], sigs: &[Signature]) -> bool {
    let signers: Vec<usize> = (0..64).filter(|i| qc.signers() >> i & 1 == 1).collect();
    assert_eq!(signers.len(), sigs.len());
    let cand = qc.candidate().as_bytes();
    let mut t = Sha512::new();
    t.update(b"pouw-netops/qc-halfagg/v1");
    t.update([if qc.kind() == VoteKind::PreVote { 1 } else { 2 }]);
    t.update(qc.term().to_le_bytes());
    t.update([cand.len() as u8]);
    t.update(cand);
    t.update(qc.signers().to_le_bytes());
    for (&i, sig) in signers.iter().zip(sigs) {
        let voter = set[i].0.as_bytes();
        let mut d = Sha512::new();
        d.update(b"pouw-netops/qc-halfagg/signer/v1");
        d.update(&sig.0[..32]);
        d.update(set[i].1.as_bytes());
        d.update([voter.len() as u8]);
        d.update(voter);
        t.update(&d.finalize()[..32]);
    }
    let t = t.finalize();
    let mut s = Scalar::ZERO;
    let mut sum = EdwardsPoint::default();
    for (pos, (&i, sig)) in signers.iter().zip(sigs).enumerate() {
        let z: [u8; 64] = Sha512::new().chain_update(t).chain_update((pos as u64).to_le_bytes()).finalize().into();
        let z = Scalar::from_bytes_mod_order_wide(&z);
        s += z * Scalar::from_canonical_bytes(sig.0[32..].try_into().unwrap()).unwrap();
        let label: &[u8] =
            if qc.kind() == VoteKind::PreVote { b"pouw-netops/pre-vote/v1" } else { b"pouw-netops/vote/v1" };
        let voter = set[i].0.as_bytes();
        let mut k = Sha512::new();
        k.update(&sig.0[..32]);
        k.update(set[i].1.as_bytes());
        k.update(label);
        k.update([0]);
        k.update(cluster().as_bytes());
        k.update(qc.term().to_le_bytes());
        k.update([cand.len() as u8]);
        k.update(cand);
        k.update([voter.len() as u8]);
        k.update(voter);
        let k = Scalar::from_bytes_mod_order_wide(&k.finalize().into());
        let r = curve25519_dalek::edwards::CompressedEdwardsY(sig.0[..32].try_into().unwrap()).decompress().unwrap();
        let a = curve25519_dalek::edwards::CompressedEdwardsY(*set[i].1.as_bytes()).decompress().unwrap();
        sum += r * z + a * (z * k);
    }
    assert_eq!(s.to_bytes(), qc.aggregate, "the aggregate is Σ zᵢsᵢ");
    use curve25519_dalek::traits::IsIdentity;
    (sum - curve25519_dalek::constants::ED25519_BASEPOINT_POINT * s).mul_by_cofactor().is_identity()
}

#[test]
fn an_independent_recomputation_agrees() {
    let (set, keys) = big_set(31);
    for (n, signers, kind, term, cand) in [
        (4, std::vec![0, 1, 3], VoteKind::Vote, 5, "v01"),
        (7, std::vec![0, 2, 3, 5, 6], VoteKind::PreVote, u64::MAX, "v06"),
        (31, (0..21).map(|i| i + i / 3).collect::<Vec<_>>(), VoteKind::Vote, 1_000, "v13"),
    ] {
        let qc = big_certificate(n, &signers, kind, term, cand);
        let sigs: Vec<Signature> =
            signers.iter().map(|&i| statement(kind, term, cand, i).sign(&keys[i], &cluster())).collect();
        assert!(reference_check(&qc, &set[..n], &sigs), "n = {n}");
        assert_eq!(paths(&qc, &set[..n], signers.len()), Ok(()), "n = {n}");
        // Tampered with: the reference refuses it as well.
        let mut bad = sigs.clone();
        bad[1].0[40] ^= 4;
        assert!(!reference_check(&certificate_of(n, &signers, kind, term, cand, &bad), &set[..n], &bad));
    }
}

/// The builder's aggregate of `sigs` (taken unchecked) by `signers` of `big_set(n)`.
fn certificate_of(
    n: usize,
    signers: &[usize],
    kind: VoteKind,
    term: u64,
    cand: &str,
    sigs: &[Signature],
) -> QuorumCertificate {
    let (set, _) = big_set(n);
    let mut b = QuorumCertificate::builder(kind, term, id(cand));
    for (&i, sig) in signers.iter().zip(sigs) {
        b.push_verified(&SignedVote { statement: statement(kind, term, cand, i), signature: *sig }, set.as_slice())
            .unwrap();
    }
    b.finish(signers.len()).unwrap()
}

#[test]
fn the_largest_certificates_verify_in_both_paths() {
    // 64 signers: eight chunks of the batched path.
    let (set, keys) = big_set(64);
    let all: Vec<usize> = (0..64).collect();
    let qc = big_certificate(64, &all, VoteKind::Vote, 3, "v63");
    assert_eq!(qc.encoded_len(), MAX_QC_LEN - (MAX_ID_LEN - 3));
    assert_eq!(paths(&qc, set.as_slice(), 43), Ok(()));
    // One share of 64 wrong: refused in both paths.
    let mut sigs: Vec<Signature> =
        all.iter().map(|&i| statement(VoteKind::Vote, 3, "v63", i).sign(&keys[i], &cluster())).collect();
    sigs[57] = statement(VoteKind::Vote, 4, "v63", 57).sign(&keys[57], &cluster());
    let bad = certificate_of(64, &all, VoteKind::Vote, 3, "v63", &sigs);
    assert_eq!(paths(&bad, set.as_slice(), 43), Err(QuorumError::BadAggregate));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// A vote of `voter` that is not its vote for `v03` in term 8: another
    /// term, candidate, kind, signer, cluster, or a hand-made bad signature.
    fn altered(voter: usize, how: u8, keys: &[IdentityKey]) -> Signature {
        let st = statement(VoteKind::Vote, 8, "v03", voter);
        match how % 6 {
            0 => VoteStatement { term: 9, ..st }.sign(&keys[voter], &cluster()),
            1 => VoteStatement { candidate: id("v04"), ..st }.sign(&keys[voter], &cluster()),
            2 => VoteStatement { kind: VoteKind::PreVote, ..st }.sign(&keys[voter], &cluster()),
            3 => st.sign(&keys[(voter + 1) % keys.len()], &cluster()),
            4 => st.sign(&keys[voter], &IdentityKey::from_seed(&[0xa1; 32]).public()),
            _ => {
                let mut s = st.sign(&keys[voter], &cluster());
                s.0[5] ^= 0x20;
                s
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// An aggregate of valid votes verifies; one altered vote makes it
        /// fail; the batched and no-alloc paths agree throughout.
        #[test]
        fn aggregates_verify_exactly_when_every_vote_does(
            n in 4usize..=12,
            mask in any::<u64>(),
            victim in any::<proptest::sample::Index>(),
            how in any::<u8>(),
        ) {
            let (set, keys) = big_set(n);
            let mut signers: Vec<usize> = (0..n).filter(|i| mask >> i & 1 == 1).collect();
            if signers.is_empty() {
                signers.push(n - 1);
            }
            let mut sigs: Vec<Signature> =
                signers.iter().map(|&i| statement(VoteKind::Vote, 8, "v03", i).sign(&keys[i], &cluster())).collect();
            let good = certificate_of(n, &signers, VoteKind::Vote, 8, "v03", &sigs);
            prop_assert_eq!(paths(&good, set.as_slice(), signers.len()), Ok(()));
            let at = victim.index(signers.len());
            sigs[at] = altered(signers[at], how, &keys);
            let bad = certificate_of(n, &signers, VoteKind::Vote, 8, "v03", &sigs);
            prop_assert_eq!(paths(&bad, set.as_slice(), signers.len()), Err(QuorumError::BadAggregate));
        }
    }
}
