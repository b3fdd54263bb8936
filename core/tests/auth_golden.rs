//! Golden vectors of the authentication formats: a signed certificate, a
//! signed revocation list, a MAC'd and a signed v2 envelope, all from fixed
//! seeds (Ed25519 and HMAC are deterministic). Each test builds its bytes,
//! compares them with `tests/vectors/<name>.hex` byte for byte, then decodes
//! and verifies the committed vector. `UPDATE_GOLDEN=1` rewrites the files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

mod vectors;

use pouw_netops::auth::seal::{self, AuthKind};
use pouw_netops::auth::{
    Certificate, IdentityKey, PairwiseKey, RevocationList, Revoked, Role, SignedCertificate, SignedRevocationList,
};
use pouw_netops::wire::{Body, LeaderNotice};
use pouw_netops::{Endpoint, NodeId, TaskType, WgKey};
use vectors::check;

fn authority() -> IdentityKey {
    IdentityKey::from_seed(&[0xa0; 32])
}

fn worker() -> IdentityKey {
    IdentityKey::from_seed(&[0x77; 32])
}

fn supervisor() -> IdentityKey {
    IdentityKey::from_seed(&[0x51; 32])
}

fn node(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn worker_certificate() -> Certificate {
    let mut endpoints = heapless::Vec::new();
    endpoints.push(Endpoint::parse("203.0.113.7:51820").unwrap()).unwrap();
    endpoints.push(Endpoint::parse("[2001:db8::7]:51820").unwrap()).unwrap();
    let mut pools = heapless::Vec::new();
    pools.push(TaskType::new("train").unwrap()).unwrap();
    pools.push(TaskType::new("infer").unwrap()).unwrap();
    Certificate {
        node: node("worker-7"),
        role: Role::Worker,
        identity: worker().public(),
        wg_key: WgKey::from_bytes([0x42; 32]),
        endpoints,
        slots: 4,
        pools,
        serial: 3,
        not_before: 1_700_000_000,
        not_after: 1_731_536_000,
    }
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
