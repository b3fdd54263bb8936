#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::auth::keys::IdentityKey;
use sha2::{Digest, Sha256};
use std::vec::Vec;

extern crate std;

fn key(b: u8) -> IdentityKey {
    IdentityKey::from_seed(&[b; 32])
}

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn cluster() -> PublicIdentity {
    key(0xa0).public()
}

/// `n` voters `s0`..`s{n-1}` (ascending for n ≤ 10), their keys seeded 1..=n.
fn voters(n: u8) -> (Vec<(NodeId, PublicIdentity)>, Vec<IdentityKey>) {
    let keys: Vec<IdentityKey> = (1..=n).map(key).collect();
    let mut set: Vec<(NodeId, PublicIdentity)> =
        keys.iter().enumerate().map(|(i, k)| (id(&std::format!("s{i:02}")), k.public())).collect();
    set.sort_by(|a, b| a.0.cmp(&b.0));
    (set, keys)
}

fn vote(kind: VoteKind, term: u64, candidate: &str, voter: usize, keys: &[IdentityKey]) -> SignedVote {
    VoteStatement { kind, term, candidate: id(candidate), voter: id(&std::format!("s{voter:02}")) }
        .signed(&keys[voter], &cluster())
}

/// A certificate by voters `signers` of `set`.
fn qc(kind: VoteKind, term: u64, candidate: &str, signers: &[usize], n: u8) -> QuorumCertificate {
    let (set, keys) = voters(n);
    let mut b = QuorumCertificate::builder(kind, term, id(candidate));
    for &i in signers {
        b.push(&vote(kind, term, candidate, i, &keys), &cluster(), set.as_slice()).unwrap();
    }
    b.finish(signers.len()).unwrap()
}

fn encode(qc: &QuorumCertificate) -> Vec<u8> {
    let mut buf = std::vec![0u8; qc.encoded_len()];
    assert_eq!(qc.encode(&mut buf).unwrap(), buf.len());
    buf
}

#[test]
fn a_signed_vote_verifies_only_as_signed() {
    let (v, c) = (key(1), cluster());
    let st = VoteStatement { kind: VoteKind::Vote, term: 9, candidate: id("s01"), voter: id("s00") };
    let sig = st.sign(&v, &c);
    assert_eq!(st.verify(&c, &v.public(), &sig), Ok(()));
    let bad = Err(QuorumError::BadSignature { index: 0 });
    assert_eq!(st.verify(&key(0xa1).public(), &v.public(), &sig), bad, "other cluster");
    assert_eq!(st.verify(&c, &key(2).public(), &sig), bad, "other voter key");
    for other in [
        VoteStatement { kind: VoteKind::PreVote, ..st.clone() },
        VoteStatement { term: 10, ..st.clone() },
        VoteStatement { candidate: id("s02"), ..st.clone() },
        VoteStatement { voter: id("s03"), ..st.clone() },
    ] {
        assert_eq!(other.verify(&c, &v.public(), &sig), bad, "{other:?}");
    }
    // Id lengths are bound: candidate "s0"+voter "1x" is not "s01"+"x".
    let a = VoteStatement { kind: VoteKind::Vote, term: 1, candidate: id("s0"), voter: id("1x") };
    let b = VoteStatement { kind: VoteKind::Vote, term: 1, candidate: id("s01"), voter: id("x") };
    assert_eq!(b.verify(&c, &v.public(), &a.sign(&v, &c)), bad);
    // The signature is the plain domain-separated one over the documented payload.
    let mut payload = Vec::new();
    payload.extend_from_slice(&9u64.to_le_bytes());
    payload.extend_from_slice(&[3]);
    payload.extend_from_slice(b"s01");
    payload.extend_from_slice(&[3]);
    payload.extend_from_slice(b"s00");
    assert_eq!(v.sign(Domain::Vote, &c, &payload), sig);
    assert_eq!(v.public().verify(Domain::PreVote, &c, &payload, &sig), Err(super::super::IdentityError::BadSignature));
}

#[test]
fn signed_vote_roundtrips_and_refuses_bad_bytes() {
    let (_, keys) = voters(2);
    let v = vote(VoteKind::PreVote, u64::MAX, "s01", 0, &keys);
    let mut buf = [0u8; MAX_SIGNED_VOTE_LEN + 1];
    let n = v.encode(&mut buf).unwrap();
    assert_eq!(n, v.encoded_len());
    assert_eq!(SignedVote::decode(&buf[..n]).unwrap(), v);
    for cut in 0..n {
        assert!(SignedVote::decode(&buf[..cut]).is_err(), "prefix {cut}");
    }
    assert_eq!(SignedVote::decode(&buf[..n + 1]), Err(QuorumError::TrailingBytes { count: 1 }));
    let mut bad = buf;
    bad[0] = 3;
    assert_eq!(SignedVote::decode(&bad[..n]), Err(QuorumError::UnknownKind(3)));
    assert_eq!(v.encode(&mut buf[..n - 1]), Err(QuorumError::BufferTooSmall));
    let big = [0u8; MAX_SIGNED_VOTE_LEN + 1];
    assert_eq!(SignedVote::decode(&big), Err(QuorumError::Oversized { len: MAX_SIGNED_VOTE_LEN + 1 }));
    // The longest ids encode at the bound.
    let long = id(&"x".repeat(MAX_ID_LEN));
    let st = VoteStatement { kind: VoteKind::Vote, term: 0, candidate: long.clone(), voter: long };
    assert_eq!(st.signed(&keys[0], &cluster()).encoded_len(), MAX_SIGNED_VOTE_LEN);
}

#[test]
fn a_quorum_certificate_verifies_and_roundtrips() {
    let (set, _) = voters(7);
    let c = qc(VoteKind::Vote, 42, "s03", &[6, 0, 3, 1, 4], 7);
    assert_eq!(c.signers(), 0b101_1011);
    assert_eq!(c.signer_count(), 5);
    assert_eq!(c.verify(&cluster(), set.as_slice(), 5), Ok(()));
    assert_eq!(c.verify(&cluster(), set.as_slice(), 4), Ok(()));
    assert_eq!(c.check_claim(VoteKind::Vote, 42, &id("s03")), Ok(()));
    let bytes = encode(&c);
    // 12 + 3 (id) + 1 (bitmap) + 5 nonces + the aggregate scalar.
    assert_eq!(bytes.len(), 12 + 3 + 1 + 5 * 32 + 32);
    let back = QuorumCertificate::decode(&bytes).unwrap();
    assert_eq!(back, c);
    let view = QcView::parse(&bytes).unwrap();
    assert_eq!(view.digest(), c.digest());
    assert_eq!(view.verify(&cluster(), set.as_slice(), 5), Ok(()));
    assert_eq!(
        (view.kind(), view.term(), view.candidate(), view.signers()),
        (c.kind(), 42, c.candidate(), c.signers())
    );
    // The digest is SHA-256 of the encoding.
    assert_eq!(c.digest(), <[u8; 32]>::from(Sha256::digest(&bytes)));
    assert_eq!(c.encode(&mut std::vec![0u8; bytes.len() - 1]), Err(QuorumError::BufferTooSmall));
}

#[test]
fn too_few_signers_is_refused() {
    let (set, _) = voters(7);
    let c = qc(VoteKind::Vote, 1, "s00", &[0, 1, 2, 3], 7);
    assert_eq!(c.verify(&cluster(), set.as_slice(), 5), Err(QuorumError::NotEnoughSigners { have: 4, need: 5 }));
    assert_eq!(c.verify(&cluster(), set.as_slice(), 0), Err(QuorumError::InvalidQuorum));
    assert_eq!(c.verify(&cluster(), set.as_slice(), 8), Err(QuorumError::InvalidQuorum));
}

#[test]
fn a_forged_certificate_is_refused() {
    let (set, _) = voters(4);
    let c = qc(VoteKind::Vote, 5, "s01", &[0, 1, 2], 4);
    let bytes = encode(&c);
    // Flip one bit of each nonce, and of the aggregate: refused, no culprit.
    let nonce_start = bytes.len() - 4 * 32;
    for at in (0..4).map(|k| nonce_start + k * 32 + 9).chain([bytes.len() - 20]) {
        let mut forged = bytes.clone();
        forged[at] ^= 0x01;
        let f = QuorumCertificate::decode(&forged).unwrap();
        assert_eq!(f.verify(&cluster(), set.as_slice(), 3), Err(QuorumError::BadAggregate), "byte {at}");
        assert_eq!(
            QcView::parse(&forged).unwrap().verify(&cluster(), set.as_slice(), 3),
            f.verify(&cluster(), set.as_slice(), 3)
        );
    }
    // Signatures made with keys that are not the voters' (an outsider signs
    // in voter 0's name): refused.
    let outsider = key(0x99);
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 5, id("s01"));
    let st = VoteStatement { kind: VoteKind::Vote, term: 5, candidate: id("s01"), voter: id("s00") };
    let r = b.push(&st.clone().signed(&outsider, &cluster()), &cluster(), set.as_slice());
    assert_eq!(r, Err(QuorumError::BadSignature { index: 0 }));
    assert!(b.is_empty());
    // Pushed unchecked, the certificate is still refused by its verifiers.
    let (_, keys) = voters(4);
    b.push_verified(&st.signed(&outsider, &cluster()), set.as_slice()).unwrap();
    b.push(&vote(VoteKind::Vote, 5, "s01", 1, &keys), &cluster(), set.as_slice()).unwrap();
    b.push(&vote(VoteKind::Vote, 5, "s01", 2, &keys), &cluster(), set.as_slice()).unwrap();
    let forged = b.finish(3).unwrap();
    assert_eq!(forged.verify(&cluster(), set.as_slice(), 3), Err(QuorumError::BadAggregate));
    // Signed for another cluster: refused.
    let (set2, keys2) = voters(4);
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 5, id("s01"));
    for (i, k) in keys2.iter().enumerate().take(3) {
        let st =
            VoteStatement { kind: VoteKind::Vote, term: 5, candidate: id("s01"), voter: id(&std::format!("s{i:02}")) };
        b.push_verified(&st.signed(k, &key(0xa1).public()), set2.as_slice()).unwrap();
    }
    assert_eq!(b.finish(3).unwrap().verify(&cluster(), set2.as_slice(), 3), Err(QuorumError::BadAggregate));
}

/// Rewrites the term / candidate / kind of an encoded certificate, keeping its signatures.
fn rewrite(c: &QuorumCertificate, kind: VoteKind, term: u64, candidate: &str) -> QuorumCertificate {
    let bytes = encode(c);
    let old_len = 1 + c.candidate().as_bytes().len();
    let mut out = std::vec![QC_VERSION, kind.byte()];
    out.extend_from_slice(&term.to_le_bytes());
    out.push(candidate.len() as u8);
    out.extend_from_slice(candidate.as_bytes());
    out.extend_from_slice(&bytes[10 + old_len..]);
    QuorumCertificate::decode(&out).unwrap()
}

#[test]
fn a_certificate_for_another_term_candidate_or_kind_is_refused() {
    let (set, _) = voters(4);
    let c = qc(VoteKind::Vote, 5, "s01", &[0, 1, 3], 4);
    // Checked against what the receiver expects.
    assert_eq!(c.check_claim(VoteKind::Vote, 6, &id("s01")), Err(QuorumError::WrongTerm));
    assert_eq!(c.check_claim(VoteKind::Vote, 5, &id("s02")), Err(QuorumError::WrongCandidate));
    assert_eq!(c.check_claim(VoteKind::PreVote, 5, &id("s01")), Err(QuorumError::WrongKind));
    // Its signatures relabelled with another term, candidate or kind do not verify.
    for (kind, term, cand) in [
        (VoteKind::Vote, 6, "s01"),
        (VoteKind::Vote, u64::MAX, "s01"),
        (VoteKind::Vote, 5, "s02"),
        (VoteKind::PreVote, 5, "s01"),
    ] {
        let r = rewrite(&c, kind, term, cand);
        assert_eq!(r.verify(&cluster(), set.as_slice(), 3), Err(QuorumError::BadAggregate), "{kind:?} {term} {cand}");
    }
    // A pre-vote certificate is no leader certificate.
    let p = qc(VoteKind::PreVote, 5, "s01", &[0, 1, 3], 4);
    assert_eq!(p.verify(&cluster(), set.as_slice(), 3), Ok(()));
    assert_eq!(p.check_claim(VoteKind::Vote, 5, &id("s01")), Err(QuorumError::WrongKind));
    assert_ne!(p.digest(), c.digest());
}

#[test]
fn a_certificate_signed_by_a_non_voter_is_refused() {
    let (set, keys) = voters(5);
    // A certificate over five voters, checked against the first four: the
    // fifth (index 4) is no voter there.
    let c = qc(VoteKind::Vote, 2, "s00", &[0, 1, 4], 5);
    let four = &set[..4];
    assert_eq!(c.verify(&cluster(), four, 3), Err(QuorumError::UnknownSigner { index: 4 }));
    // Collecting: a vote by a node outside the voter set is not taken.
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 2, id("s00"));
    let r = b.push(&vote(VoteKind::Vote, 2, "s00", 4, &keys), &cluster(), four);
    assert_eq!(r, Err(QuorumError::NotAVoter));
    // A voter set missing a key for a set bit.
    struct NoKeys<'a>(&'a [(NodeId, PublicIdentity)]);
    impl VoterKeys for NoKeys<'_> {
        fn voter_count(&self) -> usize {
            self.0.len()
        }
        fn voter_id(&self, index: usize) -> Option<&NodeId> {
            self.0.get(index).map(|v| &v.0)
        }
        fn voter_key(&self, index: usize) -> Option<PublicIdentity> {
            if index == 1 { None } else { self.0.get(index).map(|v| v.1) }
        }
    }
    assert_eq!(c.verify(&cluster(), &NoKeys(&set), 3), Err(QuorumError::UnknownSigner { index: 1 }));
    // More voters than a bitmap holds.
    let many: Vec<(NodeId, PublicIdentity)> =
        (0..65).map(|i| (id(&std::format!("v{i:03}")), keys[0].public())).collect();
    assert_eq!(c.verify(&cluster(), many.as_slice(), 3), Err(QuorumError::TooManySigners));
    assert_eq!(check_voters(many.as_slice()), Err(QuorumError::TooManySigners));
    assert_eq!(check_voters(&many[..64]), Ok(()));
    let mut unsorted = set.clone();
    unsorted.swap(0, 1);
    assert_eq!(check_voters(unsorted.as_slice()), Err(QuorumError::VotersNotAscending));
}

#[test]
fn a_duplicate_signer_is_never_counted_twice() {
    let (set, keys) = voters(4);
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 3, id("s02"));
    let v = vote(VoteKind::Vote, 3, "s02", 1, &keys);
    assert_eq!(b.push(&v, &cluster(), set.as_slice()), Ok(1));
    assert_eq!(b.push(&v, &cluster(), set.as_slice()), Err(QuorumError::DuplicateSigner { index: 1 }));
    assert_eq!(b.push_verified(&v, set.as_slice()), Err(QuorumError::DuplicateSigner { index: 1 }));
    assert_eq!(b.len(), 1);
    assert_eq!(b.finish(2).unwrap_err(), QuorumError::NotEnoughSigners { have: 1, need: 2 });
    // On the wire, signers are a bitmap: one voter is one bit. Voter 1's
    // nonce twice needs a second bit, whose voter's share then fails.
    let c = qc(VoteKind::Vote, 3, "s02", &[1, 2], 4);
    let mut bytes = encode(&c);
    let start = bytes.len() - 3 * 32;
    let first: Vec<u8> = bytes[start..start + 32].to_vec();
    bytes[start + 32..start + 64].copy_from_slice(&first);
    let dup = QuorumCertificate::decode(&bytes).unwrap();
    assert_eq!(dup.verify(&cluster(), set.as_slice(), 2), Err(QuorumError::BadAggregate));
    // Dropping a nonce while keeping the count does not parse.
    let mut short = encode(&c);
    short.drain(start + 32..start + 64);
    assert_eq!(QuorumCertificate::decode(&short), Err(QuorumError::Truncated));
}

#[test]
fn truncated_oversized_and_malformed_certificates_are_refused() {
    let c = qc(VoteKind::PreVote, 8, "s00", &[0, 2, 3], 4);
    let bytes = encode(&c);
    for cut in 0..bytes.len() {
        assert!(QuorumCertificate::decode(&bytes[..cut]).is_err(), "prefix {cut}");
        assert!(QcView::parse(&bytes[..cut]).is_err(), "prefix {cut}");
    }
    assert_eq!(QuorumCertificate::decode(&[]), Err(QuorumError::Truncated));
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(QuorumCertificate::decode(&longer), Err(QuorumError::TrailingBytes { count: 1 }));
    let huge = std::vec![0u8; MAX_QC_LEN + 1];
    assert_eq!(QuorumCertificate::decode(&huge), Err(QuorumError::Oversized { len: MAX_QC_LEN + 1 }));
    let at = |i: usize, v: u8| {
        let mut b = bytes.clone();
        b[i] = v;
        QuorumCertificate::decode(&b)
    };
    assert_eq!(at(0, 1), Err(QuorumError::UnknownVersion(1)), "version 1");
    assert_eq!(at(0, 3), Err(QuorumError::UnknownVersion(3)));
    assert_eq!(at(1, 0), Err(QuorumError::UnknownKind(0)));
    assert_eq!(at(10, 0), Err(QuorumError::Malformed), "empty candidate");
    assert_eq!(at(11, 0xff), Err(QuorumError::Malformed), "bad UTF-8");
    // Bitmap: length 0, length 9, a trailing zero byte.
    let bl = 10 + 1 + 3;
    assert_eq!(at(bl, 0), Err(QuorumError::Malformed));
    assert_eq!(at(bl, 9), Err(QuorumError::Malformed));
    assert_eq!(at(bl + 1, 0), Err(QuorumError::Malformed));
    let mut padded = bytes[..bl].to_vec();
    padded.extend_from_slice(&[2, bytes[bl + 1], 0]);
    padded.extend_from_slice(&bytes[bl + 2..]);
    assert_eq!(QuorumCertificate::decode(&padded), Err(QuorumError::Malformed), "over-long bitmap");
    // The largest certificate encodes at the bound and decodes.
    let long = id(&"y".repeat(MAX_ID_LEN));
    let mut max = std::vec![QC_VERSION, 2];
    max.extend_from_slice(&7u64.to_le_bytes());
    max.push(MAX_ID_LEN as u8);
    max.extend_from_slice(long.as_bytes());
    max.push(8);
    max.extend_from_slice(&[0xff; 8]);
    max.extend(std::iter::repeat_n(7u8, 64 * 32 + 32));
    assert_eq!(max.len(), MAX_QC_LEN);
    let d = QuorumCertificate::decode(&max).unwrap();
    assert_eq!(d.signer_count(), 64);
    assert_eq!(encode(&d), max);
}

#[test]
fn equivocation_evidence() {
    let (set, keys) = voters(4);
    let a = vote(VoteKind::Vote, 7, "s01", 3, &keys);
    let b = vote(VoteKind::Vote, 7, "s02", 3, &keys);
    let e = EquivocationEvidence::new(b.clone(), a.clone()).unwrap();
    assert_eq!(e, EquivocationEvidence::new(a.clone(), b.clone()).unwrap(), "one record whichever order");
    assert_eq!(e.votes(), (&a, &b));
    assert_eq!((e.voter(), e.term()), (&id("s03"), 7));
    let voter_key = set[3].1;
    assert_eq!(e.verify(&cluster(), &voter_key), Ok(()));
    assert_eq!(e.verify(&cluster(), &set[2].1), Err(QuorumError::BadSignature { index: 0 }));
    assert_eq!(e.verify(&key(0xa1).public(), &voter_key), Err(QuorumError::BadSignature { index: 0 }));
    let mut buf = [0u8; MAX_EVIDENCE_LEN];
    let n = e.encode(&mut buf).unwrap();
    assert_eq!(n, e.encoded_len());
    assert_eq!(EquivocationEvidence::decode(&buf[..n]).unwrap(), e);
    assert_eq!(e.digest(), <[u8; 32]>::from(Sha256::digest(&buf[..n])));
    for cut in 0..n {
        assert!(EquivocationEvidence::decode(&buf[..cut]).is_err());
    }
    // Not equivocations: the same candidate, two voters, two terms, pre-votes.
    assert_eq!(EquivocationEvidence::new(a.clone(), a.clone()), None);
    assert_eq!(EquivocationEvidence::new(a.clone(), vote(VoteKind::Vote, 7, "s02", 2, &keys)), None);
    assert_eq!(EquivocationEvidence::new(a.clone(), vote(VoteKind::Vote, 8, "s02", 3, &keys)), None);
    let pa = vote(VoteKind::PreVote, 7, "s01", 3, &keys);
    let pb = vote(VoteKind::PreVote, 7, "s02", 3, &keys);
    assert_eq!(EquivocationEvidence::new(pa.clone(), pb.clone()), None);
    assert_eq!(EquivocationEvidence::new(a.clone(), pb), None);
    // Such pairs, encoded as evidence, are refused; so is the reversed order.
    let enc = |x: &SignedVote, y: &SignedVote| {
        let mut v = std::vec![EVIDENCE_VERSION];
        let mut b = [0u8; MAX_SIGNED_VOTE_LEN];
        let n = x.encode(&mut b).unwrap();
        v.extend_from_slice(&b[..n]);
        let n = y.encode(&mut b).unwrap();
        v.extend_from_slice(&b[..n]);
        v
    };
    assert_eq!(EquivocationEvidence::decode(&enc(&b, &a)), Err(QuorumError::NotEquivocation));
    assert_eq!(EquivocationEvidence::decode(&enc(&a, &a)), Err(QuorumError::NotEquivocation));
    assert_eq!(
        EquivocationEvidence::decode(&enc(&pa, &vote(VoteKind::PreVote, 7, "s02", 3, &keys))),
        Err(QuorumError::NotEquivocation)
    );
    let mut other = enc(&a, &b);
    other[0] = 9;
    assert_eq!(EquivocationEvidence::decode(&other), Err(QuorumError::UnknownVersion(9)));
    other[0] = EVIDENCE_VERSION;
    other.push(0);
    assert_eq!(EquivocationEvidence::decode(&other), Err(QuorumError::TrailingBytes { count: 1 }));
    assert_eq!(
        EquivocationEvidence::decode(&[0u8; MAX_EVIDENCE_LEN + 1]),
        Err(QuorumError::Oversized { len: MAX_EVIDENCE_LEN + 1 })
    );
    // A forged second vote.
    let mut forged = b.clone();
    forged.signature.0[5] ^= 1;
    let e = EquivocationEvidence::new(a, forged).unwrap();
    assert_eq!(e.verify(&cluster(), &voter_key), Err(QuorumError::BadSignature { index: 1 }));
}

#[test]
fn builder_refuses_other_claims_and_orders_signers() {
    let (set, keys) = voters(6);
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 4, id("s00"));
    assert!(b.is_empty());
    for (v, err) in [
        (vote(VoteKind::PreVote, 4, "s00", 1, &keys), QuorumError::WrongKind),
        (vote(VoteKind::Vote, 5, "s00", 1, &keys), QuorumError::WrongTerm),
        (vote(VoteKind::Vote, 4, "s01", 1, &keys), QuorumError::WrongCandidate),
    ] {
        assert_eq!(b.push(&v, &cluster(), set.as_slice()), Err(err));
    }
    for (n, i) in [5usize, 2, 0, 4].into_iter().enumerate() {
        assert_eq!(b.push(&vote(VoteKind::Vote, 4, "s00", i, &keys), &cluster(), set.as_slice()), Ok(n + 1));
    }
    assert!(b.has_quorum(4) && !b.has_quorum(5) && !b.has_quorum(0));
    let c = b.finish(4).unwrap();
    assert_eq!(c.signers(), 0b11_0101);
    // Nonces in ascending voter index, whatever the arrival order.
    let want: Vec<[u8; 32]> = [0, 2, 4, 5]
        .iter()
        .map(|&i| vote(VoteKind::Vote, 4, "s00", i, &keys).signature.0[..32].try_into().unwrap())
        .collect();
    assert_eq!(c.nonces.as_slice(), want.as_slice());
    // The builder keeps each vote's full signature.
    assert_eq!(b.signature_of(2), Some(vote(VoteKind::Vote, 4, "s00", 2, &keys).signature));
    assert_eq!((b.signature_of(1), b.signature_of(64), b.signature_of(usize::MAX)), (None, None, None));
    assert_eq!(c.verify(&cluster(), set.as_slice(), 4), Ok(()));
}

#[test]
fn voter_index_is_a_search_over_canonical_order() {
    let (set, _) = voters(9);
    for (i, (v, _)) in set.iter().enumerate() {
        assert_eq!(set.as_slice().voter_index(v), Some(i));
    }
    assert_eq!(set.as_slice().voter_index(&id("s")), None);
    assert_eq!(set.as_slice().voter_index(&id("s99")), None);
    let empty: &[(NodeId, PublicIdentity)] = &[];
    assert_eq!(empty.voter_index(&id("s00")), None);
}

#[test]
fn errors_have_kinds() {
    use crate::error::{Classify, ErrorKind};
    assert_eq!(QuorumError::BadSignature { index: 0 }.kind(), ErrorKind::Unauthenticated);
    assert_eq!(QuorumError::UnknownSigner { index: 0 }.kind(), ErrorKind::Unauthenticated);
    assert_eq!(QuorumError::BadAggregate.kind(), ErrorKind::Unauthenticated);
    assert_eq!(QuorumError::NotEnoughSigners { have: 0, need: 1 }.kind(), ErrorKind::VerifyFailed);
    assert_eq!(QuorumError::WrongTerm.kind(), ErrorKind::CredentialRejected);
    assert_eq!(QuorumError::Truncated.kind(), ErrorKind::Truncated);
    assert_eq!(QuorumError::Oversized { len: 1 }.kind(), ErrorKind::TooLarge);
    assert_eq!(QuorumError::NotEquivocation.kind(), ErrorKind::VerifyFailed);
    assert!(QuorumError::Malformed.kind().is_decode());
    assert!(!std::format!("{}", QuorumError::NotEnoughSigners { have: 2, need: 3 }).is_empty());
}

/// ℓ, the group order, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `a + b` over 256-bit little-endian integers (no overflow in the uses here).
fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    out
}

#[test]
fn a_version_1_certificate_is_refused() {
    // The old layout: the same header, then 64-byte signatures.
    let (_, keys) = voters(4);
    let mut v1 = std::vec![1u8, 2];
    v1.extend_from_slice(&5u64.to_le_bytes());
    v1.extend_from_slice(&[3, b's', b'0', b'1', 1, 0b0111]);
    for i in 0..3 {
        v1.extend_from_slice(&vote(VoteKind::Vote, 5, "s01", i, &keys).signature.0);
    }
    assert_eq!(QuorumCertificate::decode(&v1), Err(QuorumError::UnknownVersion(1)));
    assert_eq!(QcView::parse(&v1), Err(QuorumError::UnknownVersion(1)));
}

#[test]
fn rearranged_nonces_signers_or_scalar_are_refused() {
    let (set, _) = voters(5);
    let c = qc(VoteKind::Vote, 9, "s02", &[0, 1, 3], 5);
    assert_eq!(c.verify(&cluster(), set.as_slice(), 3), Ok(()));
    let refused = |q: &QuorumCertificate| {
        let bytes = encode(q);
        let view = QcView::parse(&bytes).unwrap().verify(&cluster(), set.as_slice(), 3);
        let owned = q.verify(&cluster(), set.as_slice(), 3);
        assert_eq!(view, owned);
        owned
    };
    // Two nonces swapped.
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let mut q = c.clone();
        q.nonces.swap(a, b);
        assert_eq!(refused(&q), Err(QuorumError::BadAggregate), "swap {a} {b}");
    }
    // One signer's nonce replaced by another's.
    for (from, to) in [(0, 1), (2, 0), (1, 2)] {
        let mut q = c.clone();
        q.nonces[to] = q.nonces[from];
        assert_eq!(refused(&q), Err(QuorumError::BadAggregate), "nonce {from} over {to}");
    }
    // A signer bit moved to another voter (same count, same nonces).
    for signers in [0b1_0011, 0b0_1101, 0b0_0111, 0b0_1110] {
        let q = QuorumCertificate { signers, ..c.clone() };
        assert_eq!(refused(&q), Err(QuorumError::BadAggregate), "signers {signers:#b}");
    }
    // The aggregate: s + ℓ (the same scalar, non-canonical), ℓ, 2²⁵⁶ − 1, 0, s ± 1.
    let s_plus_l = add_le(&c.aggregate, &ELL);
    let mut one = [0u8; 32];
    one[0] = 1;
    let zero = [0u8; 32];
    let minus_one = {
        let mut m = ELL;
        m[0] -= 1;
        m
    };
    let s = curve25519_dalek::scalar::Scalar::from_canonical_bytes(c.aggregate).unwrap();
    let s_minus_one = (s - curve25519_dalek::scalar::Scalar::ONE).to_bytes();
    for agg in [s_plus_l, ELL, [0xff; 32], zero, add_le(&c.aggregate, &one), s_minus_one, minus_one] {
        let q = QuorumCertificate { aggregate: agg, ..c.clone() };
        assert_eq!(refused(&q), Err(QuorumError::BadAggregate), "s = {agg:02x?}");
    }
    // A signer dropped (its bit and nonce), the aggregate kept.
    let mut q = QuorumCertificate { signers: 0b0_1011 & !0b10, ..c.clone() };
    q.nonces.remove(1);
    assert_eq!(q.verify(&cluster(), set.as_slice(), 2), Err(QuorumError::BadAggregate));
}

#[test]
fn every_bit_flip_of_a_certificate_is_refused() {
    let (set, _) = voters(4);
    let c = qc(VoteKind::Vote, 5, "s01", &[0, 1, 3], 4);
    let bytes = encode(&c);
    for at in 0..bytes.len() {
        for bit in [0u8, 5, 7] {
            let mut m = bytes.clone();
            m[at] ^= 1 << bit;
            let verdict = QuorumCertificate::decode(&m).and_then(|q| {
                q.verify(&cluster(), set.as_slice(), 3)?;
                q.check_claim(VoteKind::Vote, 5, &id("s01"))
            });
            assert!(verdict.is_err(), "byte {at} bit {bit}");
            let view = QcView::parse(&m).and_then(|v| {
                v.verify(&cluster(), set.as_slice(), 3)?;
                v.check_claim(VoteKind::Vote, 5, &id("s01"))
            });
            assert_eq!(view, verdict, "byte {at} bit {bit}");
        }
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Any certificate the format can express (signatures need not verify).
    fn any_qc() -> impl Strategy<Value = QuorumCertificate> {
        (any::<bool>(), any::<u64>(), "[a-z0-9é-]{1,20}", 1u64..)
            .prop_flat_map(|(pre, term, cand, signers)| {
                let k = signers.count_ones() as usize;
                (Just((pre, term, cand, signers)), proptest::collection::vec(any::<[u8; 32]>(), k + 1))
            })
            .prop_map(|((pre, term, cand, signers), mut halves)| QuorumCertificate {
                kind: if pre { VoteKind::PreVote } else { VoteKind::Vote },
                term,
                candidate: NodeId::new(&cand).unwrap(),
                signers,
                aggregate: halves.pop().unwrap(),
                nonces: halves.into_iter().collect(),
            })
    }

    /// A reference encoder, written from the layout in the module doc.
    fn reference_encoding(q: &QuorumCertificate) -> Vec<u8> {
        let mut v = std::vec![2u8, if q.kind == VoteKind::PreVote { 1 } else { 2 }];
        v.extend_from_slice(&q.term.to_le_bytes());
        v.push(q.candidate.as_bytes().len() as u8);
        v.extend_from_slice(q.candidate.as_bytes());
        let mut bitmap = q.signers.to_le_bytes().to_vec();
        while bitmap.last() == Some(&0) {
            bitmap.pop();
        }
        v.push(bitmap.len() as u8);
        v.extend_from_slice(&bitmap);
        for r in &q.nonces {
            v.extend_from_slice(r);
        }
        v.extend_from_slice(&q.aggregate);
        v
    }

    /// A valid certificate's encoding (built once: signing is slow unoptimised).
    fn valid_qc() -> &'static [u8] {
        static QC: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        QC.get_or_init(|| encode(&qc(VoteKind::Vote, 77, "s04", &[0, 2, 3, 5, 6], 7)))
    }

    /// A valid evidence record's encoding, and the voter set.
    fn valid_evidence() -> &'static [u8] {
        static E: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        E.get_or_init(|| {
            let (_, keys) = voters(3);
            let e = EquivocationEvidence::new(
                vote(VoteKind::Vote, 5, "s00", 2, &keys),
                vote(VoteKind::Vote, 5, "s01", 2, &keys),
            )
            .unwrap();
            let mut bytes = std::vec![0u8; e.encoded_len()];
            e.encode(&mut bytes).unwrap();
            bytes
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn encoding_matches_the_reference_and_roundtrips(q in any_qc()) {
            let bytes = encode(&q);
            prop_assert_eq!(&bytes, &reference_encoding(&q));
            prop_assert_eq!(QuorumCertificate::decode(&bytes).unwrap(), q.clone());
            prop_assert_eq!(QcView::parse(&bytes).unwrap().digest(), q.digest());
        }

        #[test]
        fn decoding_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let (set, _) = voters(7);
            if let Ok(q) = QuorumCertificate::decode(&bytes) {
                // What decodes is canonical.
                prop_assert_eq!(encode(&q), bytes.clone());
                let _ = q.verify(&cluster(), set.as_slice(), 5);
            }
            let _ = EquivocationEvidence::decode(&bytes);
            let _ = SignedVote::decode(&bytes);
        }

    }

    /// `bytes` with the byte at `at` xor-ed with `xor`, and that byte's position.
    fn flipped(bytes: &[u8], at: proptest::sample::Index, xor: u8) -> (Vec<u8>, usize) {
        let mut m = bytes.to_vec();
        let at = at.index(m.len());
        m[at] ^= xor;
        (m, at)
    }

    proptest! {
        // Each case verifies up to five signatures, unoptimised.
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any single-byte change of a valid certificate fails to decode or to verify.
        #[test]
        fn a_mutated_certificate_never_verifies(at in any::<proptest::sample::Index>(), xor in 1u8..) {
            let (set, _) = voters(7);
            let (m, at) = flipped(valid_qc(), at, xor);
            let verdict = QuorumCertificate::decode(&m).and_then(|q| {
                q.verify(&cluster(), set.as_slice(), 5)?;
                q.check_claim(VoteKind::Vote, 77, &id("s04"))
            });
            prop_assert!(verdict.is_err(), "byte {} ^ {:#x} still verifies", at, xor);
            let view = QcView::parse(&m).and_then(|v| {
                v.verify(&cluster(), set.as_slice(), 5)?;
                v.check_claim(VoteKind::Vote, 77, &id("s04"))
            });
            prop_assert!(view.is_err());
        }

        /// Any single-byte change of valid evidence fails to decode or to verify.
        #[test]
        fn mutated_evidence_never_verifies(at in any::<proptest::sample::Index>(), xor in 1u8..) {
            let (set, _) = voters(3);
            let (bytes, _) = flipped(valid_evidence(), at, xor);
            let verdict = EquivocationEvidence::decode(&bytes).and_then(|d| {
                let key = set.as_slice().voter_index(d.voter()).and_then(|i| set.as_slice().voter_key(i));
                d.verify(&cluster(), &key.ok_or(QuorumError::NotAVoter)?)?;
                // Verifying under the same voter's key is the claim checked: the same voter.
                if d.voter().as_str() != "s02" {
                    return Err(QuorumError::NotAVoter);
                }
                Ok(())
            });
            prop_assert!(verdict.is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Builders give the same certificate whatever order votes arrive in.
        #[test]
        fn builder_order_does_not_matter(
            order in Just((0..7usize).collect::<Vec<_>>()).prop_shuffle(),
            take in 1usize..=7,
        ) {
            let (set, keys) = voters(7);
            let mut b = QuorumCertificate::builder(VoteKind::PreVote, 3, id("s01"));
            let mut chosen: Vec<usize> = order[..take].to_vec();
            for &i in &chosen {
                b.push_verified(&vote(VoteKind::PreVote, 3, "s01", i, &keys), set.as_slice()).unwrap();
            }
            chosen.sort();
            let mut sorted = QuorumCertificate::builder(VoteKind::PreVote, 3, id("s01"));
            for &i in &chosen {
                sorted.push_verified(&vote(VoteKind::PreVote, 3, "s01", i, &keys), set.as_slice()).unwrap();
            }
            prop_assert_eq!(b.finish(take).unwrap(), sorted.finish(take).unwrap());
        }
    }
}
