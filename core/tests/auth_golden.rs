//! Golden vectors of the authentication formats: a signed certificate, a
//! signed revocation list, a MAC'd and a signed v2 envelope, a signed vote, a
//! quorum certificate and an equivocation evidence record, all from fixed
//! seeds (Ed25519 and HMAC are deterministic). Each test builds its bytes,
//! compares them with `tests/vectors/<name>.hex` byte for byte, then decodes
//! and verifies the committed vector. `UPDATE_GOLDEN=1` rewrites the files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

mod vectors;

use pouw_netops::NodeId;
use pouw_netops::auth::seal::{self, AuthKind};
use pouw_netops::auth::{
    Certificate, EquivocationEvidence, IdentityKey, PairwiseKey, QcView, QuorumCertificate, RevocationList, Revoked,
    Role, SignedCertificate, SignedRevocationList, SignedVote, VoteKind, VoteStatement,
};
use pouw_netops::wire::{Body, LeaderNotice};
use vectors::{authority, check, worker};

fn supervisor() -> IdentityKey {
    IdentityKey::from_seed(&[0x51; 32])
}

fn node(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn worker_certificate() -> Certificate {
    vectors::worker_certificate(&["203.0.113.7:51820", "[2001:db8::7]:51820"], &["train", "infer"])
}

#[test]
fn certificate_vector() {
    let signed = SignedCertificate::issue(&authority(), worker_certificate()).unwrap();
    let mut buf = vec![0u8; signed.encoded_len()];
    signed.encode(&mut buf).unwrap();
    let committed = check("auth_certificate", &buf);
    let decoded = SignedCertificate::decode(&committed).unwrap();
    let cert = decoded
        .verify(
            &authority().public(),
            1_710_000_000,
            Some(Role::Worker),
            Some(&node("worker-7")),
            &RevocationList::empty(),
        )
        .unwrap();
    assert_eq!(cert, &worker_certificate());
}

#[test]
fn revocation_vector() {
    let mut entries = heapless::Vec::new();
    entries.push(Revoked { node: node("worker-7"), serial: Some(2) }).unwrap();
    entries.push(Revoked { node: node("worker-9"), serial: None }).unwrap();
    let list = RevocationList { sequence: 5, entries };
    let signed = SignedRevocationList::issue(&authority(), list.clone()).unwrap();
    let mut buf = vec![0u8; signed.encoded_len()];
    signed.encode(&mut buf).unwrap();
    let committed = check("auth_revocation", &buf);
    let decoded = SignedRevocationList::decode(&committed).unwrap();
    assert_eq!(decoded.verify(&authority().public()).unwrap(), &list);
}

#[test]
fn mac_envelope_vector() {
    let cluster = authority().public();
    let key = PairwiseKey::derive(&worker(), &supervisor().public(), &cluster).unwrap();
    let body = postcard::to_allocvec(&vectors::heartbeat()).unwrap();
    let mut buf = [0u8; 256];
    let n = seal::seal_mac(&mut buf, &node("worker-7"), &node("supervisor-1"), 5, 3, 42, &body, &key).unwrap();
    let committed = check("auth_envelope_mac", &buf[..n]);
    let u = seal::parse(&committed).unwrap();
    assert_eq!((u.kind, u.sender.as_str(), u.epoch, u.counter), (AuthKind::Mac, "worker-7", 3, 42));
    assert_eq!(u.recipient_epoch, Some(5));
    let theirs = PairwiseKey::derive(&supervisor(), &worker().public(), &cluster).unwrap();
    u.verify_mac(&theirs, &node("supervisor-1"), 5).unwrap();
    assert_eq!(postcard::from_bytes::<Body>(u.body).unwrap(), vectors::heartbeat());
}

#[test]
fn signed_envelope_vector() {
    let cluster = authority().public();
    let body = postcard::to_allocvec(&Body::LeaderNotice(LeaderNotice { term: 7 })).unwrap();
    let mut buf = [0u8; 256];
    let n = seal::seal_signed(&mut buf, &node("supervisor-1"), 1, 0, &body, &supervisor(), &cluster).unwrap();
    let committed = check("auth_envelope_signed", &buf[..n]);
    let u = seal::parse(&committed).unwrap();
    assert_eq!((u.kind, u.sender.as_str(), u.epoch, u.counter), (AuthKind::Signed, "supervisor-1", 1, 0));
    u.verify_signed(&supervisor().public(), &cluster).unwrap();
    assert_eq!(postcard::from_bytes::<Body>(u.body).unwrap(), Body::LeaderNotice(LeaderNotice { term: 7 }));
}

/// The four voters of the quorum vectors: `supervisor-1` … `supervisor-4`,
/// identity seeds `0x51` … `0x54`, in canonical (ascending id) order.
fn quorum_voters() -> (Vec<IdentityKey>, Vec<(NodeId, pouw_netops::auth::PublicIdentity)>) {
    let keys: Vec<IdentityKey> = (1u8..=4).map(|i| IdentityKey::from_seed(&[0x50 + i; 32])).collect();
    let set = keys.iter().enumerate().map(|(i, k)| (node(&format!("supervisor-{}", i + 1)), k.public())).collect();
    (keys, set)
}

fn quorum_vote(kind: VoteKind, term: u64, candidate: &str, voter: usize, keys: &[IdentityKey]) -> SignedVote {
    VoteStatement { kind, term, candidate: node(candidate), voter: node(&format!("supervisor-{}", voter + 1)) }
        .signed(&keys[voter], &authority().public())
}

#[test]
fn signed_vote_vector() {
    let (keys, set) = quorum_voters();
    let vote = quorum_vote(VoteKind::PreVote, 12, "supervisor-3", 0, &keys);
    let mut buf = vec![0u8; vote.encoded_len()];
    vote.encode(&mut buf).unwrap();
    let committed = check("quorum_signed_vote", &buf);
    let decoded = SignedVote::decode(&committed).unwrap();
    assert_eq!(decoded, vote);
    decoded.verify(&authority().public(), &set[0].1).unwrap();
}

#[test]
fn quorum_certificate_vector() {
    let (keys, set) = quorum_voters();
    let cluster = authority().public();
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 12, node("supervisor-3"));
    for v in [3, 0, 2] {
        b.push(&quorum_vote(VoteKind::Vote, 12, "supervisor-3", v, &keys), &cluster, set.as_slice()).unwrap();
    }
    let qc = b.finish(3).unwrap();
    let mut buf = vec![0u8; qc.encoded_len()];
    qc.encode(&mut buf).unwrap();
    let committed = check("quorum_certificate", &buf);
    // 12-byte candidate id, one bitmap byte (voters 0, 2, 3), three nonces
    // and the aggregate scalar (format v2, half-aggregated).
    assert_eq!(committed.len(), 12 + 12 + 1 + 3 * 32 + 32);
    assert_eq!(committed[11 + 12 + 1], 0b1101);
    let decoded = QuorumCertificate::decode(&committed).unwrap();
    decoded.verify(&cluster, set.as_slice(), 3).unwrap();
    decoded.check_claim(VoteKind::Vote, 12, &node("supervisor-3")).unwrap();
    assert_eq!(decoded.digest(), QcView::parse(&committed).unwrap().digest());
}

#[test]
fn equivocation_evidence_vector() {
    let (keys, set) = quorum_voters();
    let a = quorum_vote(VoteKind::Vote, 12, "supervisor-3", 1, &keys);
    let b = quorum_vote(VoteKind::Vote, 12, "supervisor-1", 1, &keys);
    let evidence = EquivocationEvidence::new(a, b).unwrap();
    let mut buf = vec![0u8; evidence.encoded_len()];
    evidence.encode(&mut buf).unwrap();
    let committed = check("quorum_equivocation", &buf);
    let decoded = EquivocationEvidence::decode(&committed).unwrap();
    assert_eq!(decoded, evidence);
    assert_eq!((decoded.voter().as_str(), decoded.term()), ("supervisor-2", 12));
    assert_eq!(decoded.votes().0.statement.candidate.as_str(), "supervisor-1");
    decoded.verify(&authority().public(), &set[1].1).unwrap();
}
