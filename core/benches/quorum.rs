//! Quorum certificate benchmarks: the encoded size of a leader
//! certificate at N = 4, 7 and 31 voters, for f = 1 and the largest f
//! (⌊(N−1)/3⌋), printed before the timings; and verification time: a
//! certificate straight from its bytes (parse + the half-aggregated
//! signature, format v2) at N = 4, 7 and 31, one signed vote, one
//! equivocation evidence record.
//!
//! Before the criterion timings it also prints the N = 7 verification and a
//! single strict verification timed in the thread's CPU time (Linux), which
//! waiting for a shared CPU does not inflate.
//!
//! `qc_parse_verify_*` is the aggregate's verification (the build's path:
//! batched with the default features); `qc_parse_verify_one_by_one_*` checks
//! the same votes' full signatures each strictly on its own (what a version-1
//! certificate, before batching, cost), for comparison in the same run.
//!
//! Run with `cargo bench -p pouw-netops --bench quorum -- --warm-up-time 1 --measurement-time 4`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{Criterion, criterion_group, criterion_main};
use pouw_netops::NodeId;
use pouw_netops::auth::quorum::check_voters;
use pouw_netops::auth::{
    Domain, EquivocationEvidence, IdentityKey, PublicIdentity, QcView, QuorumCertificate, Signature, SignedVote,
    VoteKind, VoteStatement,
};
use std::hint::black_box;

/// The Byzantine quorum ⌈(N + f + 1) / 2⌉.
fn quorum(n: usize, f: usize) -> usize {
    (n + f + 1).div_ceil(2)
}

struct Cluster {
    cluster: PublicIdentity,
    keys: Vec<IdentityKey>,
    voters: Vec<(NodeId, PublicIdentity)>,
}

/// `n` voters `supervisor-01` … (13-byte ids), keys from fixed seeds.
fn cluster(n: usize) -> Cluster {
    let keys: Vec<IdentityKey> = (0..n).map(|i| IdentityKey::from_seed(&[i as u8 + 1; 32])).collect();
    let voters: Vec<(NodeId, PublicIdentity)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (NodeId::new(&format!("supervisor-{:02}", i + 1)).unwrap(), k.public()))
        .collect();
    check_voters(voters.as_slice()).unwrap();
    Cluster { cluster: IdentityKey::from_seed(&[0xa0; 32]).public(), keys, voters }
}

fn vote(c: &Cluster, kind: VoteKind, term: u64, candidate: &NodeId, voter: usize) -> SignedVote {
    VoteStatement { kind, term, candidate: candidate.clone(), voter: c.voters[voter].0.clone() }
        .signed(&c.keys[voter], &c.cluster)
}

/// A leader certificate signed by the first `q` voters for voter 0, encoded,
/// and the votes' full signatures.
fn leader_qc(c: &Cluster, q: usize, candidate: &NodeId) -> (Vec<u8>, Vec<Signature>) {
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 1_000, candidate.clone());
    let mut sigs = Vec::new();
    for i in 0..q {
        let v = vote(c, VoteKind::Vote, 1_000, candidate, i);
        sigs.push(v.signature);
        b.push_verified(&v, c.voters.as_slice()).unwrap();
    }
    let qc = b.finish(q).unwrap();
    let mut bytes = vec![0u8; qc.encoded_len()];
    qc.encode(&mut bytes).unwrap();
    (bytes, sigs)
}

/// The old path, for comparison in the same run: parse, then each signer's
/// full signature (as a version-1 certificate carried them) verified on its
/// own with the strict cofactorless check of `PublicIdentity::verify`.
fn verify_one_by_one(c: &Cluster, bytes: &[u8], sigs: &[Signature]) {
    let view = QcView::parse(black_box(bytes)).unwrap();
    let mut sigs = sigs.iter();
    let cand = view.candidate().as_bytes();
    for (i, (voter, key)) in c.voters.iter().enumerate() {
        if view.signers() & (1 << i) == 0 {
            continue;
        }
        let v = voter.as_bytes();
        let mut payload = view.term().to_le_bytes().to_vec();
        payload.push(cand.len() as u8);
        payload.extend_from_slice(cand);
        payload.push(v.len() as u8);
        payload.extend_from_slice(v);
        key.verify(Domain::Vote, &c.cluster, &payload, sigs.next().unwrap()).unwrap();
    }
}

fn sizes() {
    println!("leader certificate size (13-byte candidate id; with a 64-byte id, +51 B):");
    println!("{:>4} {:>4} {:>7} {:>9} {:>12}", "N", "f", "quorum", "bytes", "v1 bytes");
    for n in [4usize, 7, 31] {
        let c = cluster(n);
        let fmax = (n - 1) / 3;
        let mut fs = vec![1];
        if fmax != 1 {
            fs.push(fmax);
        }
        for f in fs {
            let q = quorum(n, f);
            let (bytes, _) = leader_qc(&c, q, &c.voters[0].0);
            // Version 1: the same header and bitmap, 64 bytes per signer.
            let v1 = bytes.len() - 32 * (q + 1) + 64 * q;
            println!("{n:>4} {f:>4} {q:>7} {:>9} {v1:>12}", bytes.len());
        }
    }
}

/// This thread's user + system CPU time in seconds (Linux; 10 ms ticks).
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Mean CPU time and wall time of `f` over `n` runs, in µs.
fn cpu_and_wall(n: u32, mut f: impl FnMut()) -> (f64, f64) {
    let (w0, c0) = (std::time::Instant::now(), thread_cpu_secs());
    for _ in 0..n {
        f();
    }
    let cpu = thread_cpu_secs().zip(c0).map_or(f64::NAN, |(a, b)| a - b);
    (cpu * 1e6 / f64::from(n), w0.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}

fn cpu_times() {
    let c = cluster(7);
    let q = quorum(7, 1);
    let candidate = c.voters[0].0.clone();
    let (bytes, sigs) = leader_qc(&c, q, &candidate);
    let v = vote(&c, VoteKind::Vote, 1_000, &candidate, 3);
    println!("CPU time (thread), mean per call:");
    for _ in 0..3 {
        let (vc, vw) = cpu_and_wall(20_000, || black_box(&v).verify(&c.cluster, &c.voters[3].1).unwrap());
        let (qc, qw) = cpu_and_wall(4_000, || {
            let view = QcView::parse(black_box(&bytes)).unwrap();
            view.verify(&c.cluster, c.voters.as_slice(), q).unwrap();
        });
        let (oc, ow) = cpu_and_wall(4_000, || verify_one_by_one(&c, &bytes, &sigs));
        println!(
            "  signed vote verify {vc:.1} µs CPU ({vw:.1} wall); N = 7 certificate verify {qc:.1} µs CPU ({qw:.1} wall), {:.2} votes' worth; one by one (old path) {oc:.1} µs CPU ({ow:.1} wall)",
            qc / vc
        );
    }
}

fn bench(cr: &mut Criterion) {
    sizes();
    cpu_times();
    let mut g = cr.benchmark_group("quorum");
    for n in [4usize, 7, 31] {
        let c = cluster(n);
        let q = quorum(n, 1);
        let (bytes, sigs) = leader_qc(&c, q, &c.voters[0].0);
        let candidate = c.voters[0].0.clone();
        g.bench_function(format!("qc_parse_verify_n{n}_q{q}"), |b| {
            b.iter(|| {
                let view = QcView::parse(black_box(&bytes)).unwrap();
                view.verify(&c.cluster, c.voters.as_slice(), q).unwrap();
                view.check_claim(VoteKind::Vote, 1_000, &candidate).unwrap();
            })
        });
        g.bench_function(format!("qc_parse_verify_one_by_one_n{n}_q{q}"), |b| {
            b.iter(|| verify_one_by_one(&c, &bytes, &sigs))
        });
        if n == 7 {
            g.bench_function("qc_decode_owned_n7", |b| {
                b.iter(|| QuorumCertificate::decode(black_box(&bytes)).unwrap())
            });
            g.bench_function("qc_digest_n7", |b| b.iter(|| QcView::parse(black_box(&bytes)).unwrap().digest()));
            let v = vote(&c, VoteKind::Vote, 1_000, &candidate, 3);
            g.bench_function("signed_vote_verify", |b| {
                b.iter(|| black_box(&v).verify(&c.cluster, &c.voters[3].1).unwrap())
            });
            let w = vote(&c, VoteKind::Vote, 1_000, &c.voters[1].0, 3);
            let e = EquivocationEvidence::new(v.clone(), w).unwrap();
            let mut ev = vec![0u8; e.encoded_len()];
            e.encode(&mut ev).unwrap();
            g.bench_function("evidence_decode_verify", |b| {
                b.iter(|| {
                    EquivocationEvidence::decode(black_box(&ev)).unwrap().verify(&c.cluster, &c.voters[3].1).unwrap()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
