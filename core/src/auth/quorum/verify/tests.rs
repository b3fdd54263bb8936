//! The vote signature rule's edge cases, and batch and one-by-one
//! verification agreeing on them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::super::vote::statement_parts;
use super::super::*;
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

/// The certificate of signers `0..Q` with `sigs`, encoded.
fn certificate(sigs: &[Signature]) -> Vec<u8> {
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
    let qc = b.finish(sigs.len()).unwrap();
    let mut bytes = std::vec![0u8; qc.encoded_len()];
    qc.encode(&mut bytes).unwrap();
    bytes
}

/// The certificate's verdict, and the verdict signature by signature (the
/// first refused signer, as the certificate must report it).
fn verdicts(sigs: &[Signature]) -> (Result<(), QuorumError>, Result<(), QuorumError>) {
    let set = voter_set();
    let bytes = certificate(sigs);
    let batched = QcView::parse(&bytes).unwrap().verify(&cluster(), set.as_slice(), sigs.len());
    let single = sigs.iter().enumerate().try_for_each(|(i, sig)| {
        let st = VoteStatement { kind: VoteKind::Vote, term: TERM, candidate: id("s00"), voter: set[i].0.clone() };
        st.verify(&cluster(), &set[i].1, sig).map_err(|_| QuorumError::BadSignature { index: i })
    });
    (batched, single)
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
        assert_eq!(verdicts(&sigs), (want, want), "bad signer {bad}");
        // Two bad ones: the first is named.
        if bad + 1 < Q {
            sigs[bad + 1][0] ^= 1;
            assert_eq!(verdicts(&sigs), (want, want));
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
            assert_eq!(verdicts(&sigs), (want, want), "byte {byte} bit {bit}");
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
    assert_eq!(verdicts(&sigs), (want, want));
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
        assert_eq!(verdicts(&sigs), (want, want), "R = {r:02x?}");
    }
    // y ≥ p: a non-canonical encoding (y = p + 1 decodes as y = 1).
    let mut sigs: Vec<Signature> = (0..Q).map(honest).collect();
    let mut r = [0xff; 32];
    r[0] = 0xee;
    r[31] = 0x7f;
    sigs[0].0[..32].copy_from_slice(&r);
    let want = Err(QuorumError::BadSignature { index: 0 });
    assert_eq!(verdicts(&sigs), (want, want));
}

#[test]
fn small_order_and_invalid_keys_are_no_identity() {
    for p in EIGHT_TORSION.iter() {
        assert!(PublicIdentity::from_bytes(&p.compress().to_bytes()).is_err());
    }
}

/// The one difference from the crate's strict rule, by design: a key holder
/// can put a small-order component into its own `R`. The vote rule
/// (cofactored) takes it, the strict rule does not; batch and one-by-one
/// verification agree whatever the components, including two of order 2,
/// which cancel in a cofactorless batch under odd weights.
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
        assert_eq!(verdicts(&sigs), (want, want));
    }
}
