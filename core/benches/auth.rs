//! Authentication benchmarks: Ed25519 sign/verify, certificate verification,
//! pairwise key derivation, and the receive path of one MAC'd heartbeat
//! (parse, replay check, HMAC verify, replay accept; body decode excluded and
//! measured separately).
//!
//! Run with `cargo bench -p pouw-netops --bench auth -- --warm-up-time 1 --measurement-time 3`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{Criterion, criterion_group, criterion_main};
use pouw_netops::auth::seal::{self, OpenError};
use pouw_netops::auth::{
    Certificate, Domain, IdentityKey, PairwiseKey, ReplayWindow, RevocationList, Role, SignedCertificate,
};
use pouw_netops::health::HealthMetrics;
use pouw_netops::wire::{Body, Heartbeat};
use pouw_netops::{Duration, Endpoint, Instant, NodeId, NodeRole, TaskType, test_support};
use std::hint::black_box;

fn heartbeat_body() -> Vec<u8> {
    let body = Body::Heartbeat(Heartbeat {
        sequence: 42,
        sent_at: Instant::from_micros(1_700_000_000_123_456),
        metrics: HealthMetrics { response_time: Duration::from_millis(35), ..HealthMetrics::default() },
        ..Heartbeat::default()
    });
    postcard::to_allocvec(&body).unwrap()
}

/// A typical worker's certificate: the shared fixture's, with one IPv4 endpoint.
fn certificate() -> Certificate {
    let node = NodeId::new("worker-7").unwrap();
    let mut cert = test_support::certificate(&node, NodeRole::Worker, &[TaskType::new("train").unwrap()], 4);
    cert.endpoints.push(Endpoint::parse("203.0.113.7:51820").unwrap()).unwrap();
    cert
}

fn auth(c: &mut Criterion) {
    let authority = test_support::authority();
    let cluster = authority.public();
    let worker = IdentityKey::from_seed(&[0x77; 32]);
    let supervisor = IdentityKey::from_seed(&[0x51; 32]);
    let payload = [7u8; 100];
    let mut g = c.benchmark_group("auth");

    g.bench_function("ed25519_sign_100B", |b| {
        b.iter(|| worker.sign(Domain::EnvelopeSig, &cluster, black_box(&payload)))
    });
    let sig = worker.sign(Domain::EnvelopeSig, &cluster, &payload);
    let public = worker.public();
    g.bench_function("ed25519_verify_100B", |b| {
        b.iter(|| public.verify(Domain::EnvelopeSig, &cluster, black_box(&payload), &sig).unwrap())
    });

    let signed = SignedCertificate::issue(&authority, certificate()).unwrap();
    let mut cert_bytes = vec![0u8; signed.encoded_len()];
    signed.encode(&mut cert_bytes).unwrap();
    let none = RevocationList::empty();
    g.bench_function("certificate_decode_verify", |b| {
        b.iter(|| {
            let c = SignedCertificate::decode(black_box(&cert_bytes)).unwrap();
            c.verify(&cluster, test_support::UNIX0, Some(Role::Worker), None, &none).map(|c| c.serial).unwrap()
        })
    });

    let sup_public = supervisor.public();
    g.bench_function("pairwise_derive", |b| {
        b.iter(|| PairwiseKey::derive(&worker, black_box(&sup_public), &cluster).unwrap())
    });

    let send_key = PairwiseKey::derive(&worker, &supervisor.public(), &cluster).unwrap();
    let recv_key = PairwiseKey::derive(&supervisor, &worker.public(), &cluster).unwrap();
    let body = heartbeat_body();
    let (sender, me) = (NodeId::new("worker-7").unwrap(), NodeId::new("supervisor-1").unwrap());
    let mut buf = [0u8; 256];
    let mut counter = 0u64;
    g.bench_function("seal_mac_heartbeat", |b| {
        b.iter(|| {
            counter += 1;
            seal::seal_mac(&mut buf, &sender, &me, 1, 1, counter, black_box(&body), &send_key).unwrap()
        })
    });

    // Pre-sealed envelopes with increasing counters, so every receive is accepted.
    const N: usize = 4096;
    let envelopes: Vec<Vec<u8>> = (0..N as u64)
        .map(|i| {
            let n = seal::seal_mac(&mut buf, &sender, &me, 1, 1, i, &body, &send_key).unwrap();
            buf[..n].to_vec()
        })
        .collect();
    let receive = |bytes: &[u8], window: &mut ReplayWindow| -> Result<usize, OpenError> {
        let u = seal::parse(bytes)?;
        window.check(u.epoch, u.counter)?;
        u.verify_mac(&recv_key, &me, 1)?;
        window.accept(u.epoch, u.counter)?;
        Ok(u.body.len())
    };
    let mut window = ReplayWindow::<16>::new();
    let mut i = 0usize;
    g.bench_function("receive_mac_heartbeat_parse_verify_accept", |b| {
        b.iter(|| {
            if i == N {
                // Start the window over (a receiver after the sender's reboot does the same).
                window = ReplayWindow::new();
                i = 0;
            }
            let r = receive(black_box(&envelopes[i]), &mut window).unwrap();
            i += 1;
            r
        })
    });
    let u = seal::parse(&envelopes[0]).unwrap();
    let body_bytes = u.body.to_vec();
    g.bench_function("heartbeat_body_decode", |b| {
        b.iter(|| postcard::from_bytes::<Body>(black_box(&body_bytes)).unwrap())
    });
    g.finish();
    println!(
        "heartbeat body {} B; v2 MAC'd envelope {} B (+{} B over v1); signed +{} B; worker certificate {} B",
        body.len(),
        envelopes[0].len(),
        seal::MAC_OVERHEAD,
        seal::SIG_OVERHEAD,
        cert_bytes.len()
    );
}

criterion_group!(benches, auth);
criterion_main!(benches);
