//! Replays the committed cargo-fuzz seed corpus (`fuzz/corpus/<target>/`) through
//! the same checks the fuzz targets run, so stable `cargo test` covers it.
//! Files named `valid*` must decode; every other file must be rejected.
//!
//! `UPDATE_FUZZ_CORPUS=1 cargo test -p pouw-netops --test fuzz_corpus` rewrites the seeds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

#[path = "../../fuzz/src/lib.rs"]
mod targets;
mod vectors;

use pouw_netops::health::HealthMetrics;
use pouw_netops::history::{BATCH_HEADER_LEN, BatchView, RecordRef, columnar, merkle};
use pouw_netops::wire::{Body, Heartbeat};
use pouw_netops::{Batch, Duration, Envelope, HistoryConfig, Instant, MessageHistoryCompressor, NodeId};
use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target)
}

/// A copy of `bytes` with `edit` applied: a seed that differs from a valid one by one change.
fn edited(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = bytes.to_vec();
    edit(&mut v);
    v
}

fn batch_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let payloads: Vec<String> = (0..5).map(|i| format!("{{\"iteration\":{i},\"loss\":0.5}}")).collect();
    let records: Vec<RecordRef<'_>> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| RecordRef {
            timestamp: Instant::from_micros(1000 + i as u64),
            sender: if i % 2 == 0 { "w1" } else { "w2" },
            message_type: "gradient_update",
            payload: p.as_bytes(),
        })
        .collect();
    let valid = Batch::from_records(3, Instant::from_secs(1), 6, &records).unwrap().into_bytes();
    // Enough numbers (1 KiB or more) for the numbers column's own deflate blocks.
    let losses: Vec<String> =
        (0..120u64).map(|i| format!("{{\"iteration\":{i},\"loss\":{}}}", 1.0 / (i + 3) as f64)).collect();
    let split_records: Vec<RecordRef<'_>> = losses
        .iter()
        .enumerate()
        .map(|(i, p)| RecordRef {
            timestamp: Instant::from_micros(1000 + i as u64),
            sender: "w1",
            message_type: "gradient_update",
            payload: p.as_bytes(),
        })
        .collect();
    let split = Batch::from_records(4, Instant::from_secs(1), 6, &split_records).unwrap().into_bytes();
    let one = Batch::from_records(0, Instant::ZERO, 1, &records[..1]).unwrap().into_bytes();
    // A header declaring 64 raw bytes in front of a stream of 1 MiB of zeros.
    let stream = miniz_oxide_stream_of_zeros();
    let mut bomb = valid[..BATCH_HEADER_LEN].to_vec();
    bomb[4] = 1;
    bomb[16..20].copy_from_slice(&1u32.to_le_bytes());
    bomb[44..48].copy_from_slice(&64u32.to_le_bytes());
    bomb[48..52].copy_from_slice(&(stream.len() as u32).to_le_bytes());
    bomb.extend_from_slice(&stream);
    // v2: a later batch of a log (its header carries a frontier), and the
    // committed v1 golden vector.
    let (log_batch, _, _) = log_batches();
    let v1 = golden_v1();
    vec![
        ("valid_v2_later_in_log", log_batch.clone()),
        ("valid_v1_golden", v1.clone()),
        ("truncated_v1", v1[..v1.len() - 1].to_vec()),
        ("truncated_frontier", log_batch[..170].to_vec()),
        ("wrong_root", edited(&log_batch, |v| v[130] ^= 1)),
        ("wrong_frontier_length", edited(&log_batch, |v| v[156] ^= 1)),
        ("wrong_body_length", edited(&valid, |v| v[116] ^= 1)),
        ("valid_five_records", valid.clone()),
        ("valid_split_numbers", split.clone()),
        ("split_truncated_in_numbers", split[..split.len() - 40].to_vec()),
        ("split_bad_checksum", edited(&split, |v| *v.last_mut().unwrap() ^= 0x01)),
        ("valid_one_record", one),
        ("empty", Vec::new()),
        ("truncated_header", valid[..40].to_vec()),
        ("truncated_stream", valid[..valid.len() - 3].to_vec()),
        ("bad_magic", edited(&valid, |v| v[0] = b'X')),
        ("bad_checksum", edited(&valid, |v| *v.last_mut().unwrap() ^= 0x40)),
        (
            "declared_too_large",
            edited(&valid, |v| v[44..48].copy_from_slice(&(targets::MAX_RAW_LEN as u32 + 1).to_le_bytes())),
        ),
        ("inflate_bomb", bomb),
        ("wrong_count", edited(&valid, |v| v[16..20].copy_from_slice(&4u32.to_le_bytes()))),
    ]
}

/// 1 MiB of zeros as a zlib stream (about a kilobyte), from the same batch
/// builder: one record whose payload is the zeros, inflated size far past 64.
fn miniz_oxide_stream_of_zeros() -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let r = RecordRef { timestamp: Instant::ZERO, sender: "w", message_type: "t", payload: &zeros };
    let b = Batch::from_records(0, Instant::ZERO, 9, &[r]).unwrap();
    BatchView::parse(b.as_bytes(), 2 << 20).unwrap().zlib_stream().to_vec()
}

fn golden_v1() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/history_batch_v1.hex");
    let hex = std::fs::read_to_string(path).unwrap();
    let hex = hex.trim();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// The third batch (4 records) of a history's log, a proof for one of its
/// records as the proof target reads it (`[n, proof, root, record]`), and the
/// first batch (its records start at time 0).
fn log_batches() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut h: MessageHistoryCompressor<8, 8> =
        MessageHistoryCompressor::new(HistoryConfig { compression_threshold: 4, ..HistoryConfig::default() }).unwrap();
    let payloads: Vec<String> = (0..16).map(|i| format!("{{\"iteration\":{i},\"loss\":0.0{i}}}")).collect();
    let records: Vec<RecordRef<'_>> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| RecordRef {
            timestamp: Instant::from_micros(1000 * i as u64),
            sender: ["w1", "w2", "w3"][i % 3],
            message_type: ["HEARTBEAT", "NEW_BLOCK"][i % 2],
            payload: p.as_bytes(),
        })
        .collect();
    for r in &records {
        h.add_message(Instant::ZERO, *r).unwrap();
    }
    let proof = h.inclusion_proof(2, 1).unwrap();
    let mut seed = vec![proof.len() as u8];
    seed.extend_from_slice(&proof);
    seed.extend_from_slice(&h.log_root());
    seed.extend_from_slice(&postcard::to_allocvec(&records[9]).unwrap());
    (h.batch(2).unwrap().as_bytes().to_vec(), seed, h.batch(0).unwrap().as_bytes().to_vec())
}

fn columnar_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let (_, _, bytes) = log_batches();
    let view = BatchView::parse(&bytes, 1 << 20).unwrap();
    let h = *view.header();
    let log = h.log.unwrap();
    let mut body = vec![0u8; log.body_len as usize];
    view.inflate_into(&mut body).unwrap();
    let mut valid = vec![(h.count - 1) as u8, (log.dict_entries - 2) as u8];
    valid.extend_from_slice(&(h.raw_len as u16).to_le_bytes());
    valid.extend_from_slice(&body);
    vec![
        ("valid_body", valid.clone()),
        ("empty", Vec::new()),
        ("truncated", valid[..valid.len() - 2].to_vec()),
        ("output_too_short", edited(&valid, |v| v[2] -= 1)),
        ("more_records_than_columns", edited(&valid, |v| v[0] += 1)),
        // The type column starts after the dictionaries and six column lengths: flip its first byte.
        ("bad_last_byte", edited(&valid, |v| *v.last_mut().unwrap() = 0xff)),
    ]
}

fn proof_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let (_, valid, _) = log_batches();
    vec![
        ("valid_inclusion", valid.clone()),
        ("empty", Vec::new()),
        ("wrong_leaf", edited(&valid, |v| *v.last_mut().unwrap() ^= 1)),
        ("wrong_hash", edited(&valid, |v| v[1 + 30] ^= 1)),
        ("wrong_log_size", edited(&valid, |v| v[1 + 20] += 1)),
        ("short_count", edited(&valid, |v| v[0] -= 32)),
    ]
}

fn envelope_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let env = Envelope::new(
        NodeId::new("worker-7").unwrap(),
        Body::Heartbeat(Heartbeat {
            sequence: 42,
            sent_at: Instant::from_secs(12),
            metrics: HealthMetrics { response_time: Duration::from_millis(35), ..HealthMetrics::default() },
            ..Heartbeat::default()
        }),
    );
    let valid = env.to_vec().unwrap();
    let mut long_sender = vec![1u8, 65];
    long_sender.extend_from_slice(&[b'a'; 80]);
    vec![
        ("valid_heartbeat", valid.clone()),
        ("empty", Vec::new()),
        ("truncated", valid[..valid.len() - 1].to_vec()),
        ("unknown_version", edited(&valid, |v| v[0] = 9)),
        ("unknown_body", edited(&valid, |v| v[1 + 1 + 8] = 0x7f)),
        ("trailing_byte", edited(&valid, |v| v.push(0))),
        ("oversized_sender", long_sender),
    ]
}

type Seeds = Vec<(&'static str, Vec<u8>)>;

/// Seeds for the envelope-v2, certificate and revocation-list targets.
fn auth_seeds() -> (Seeds, Seeds, Seeds) {
    use pouw_netops::auth::seal;
    use pouw_netops::auth::{PairwiseKey, RevocationList, Revoked, SignedCertificate, SignedRevocationList};
    let authority = vectors::authority();
    let worker = vectors::worker();
    let id = |s: &str| NodeId::new(s).unwrap();
    // Envelopes.
    let key = PairwiseKey::derive(&worker, &authority.public(), &authority.public()).unwrap();
    let mut buf = [0u8; 256];
    let n = seal::seal_mac(&mut buf, &id("worker-7"), &id("sup-1"), 1, 1, 5, &[0, 1, 2, 3], &key).unwrap();
    let mac = buf[..n].to_vec();
    let n = seal::seal_signed(&mut buf, &id("worker-7"), 1, 6, &[12, 7], &worker, &authority.public()).unwrap();
    let signed = buf[..n].to_vec();
    let envelopes = vec![
        ("valid_mac", mac.clone()),
        ("valid_signed", signed.clone()),
        ("empty", Vec::new()),
        ("version_1", vec![1, 0, 1, b'a']),
        ("unknown_kind", edited(&mac, |v| v[1] = 9)),
        ("oversized_sender", edited(&mac, |v| v[2] = 65)),
        ("bad_utf8_sender", edited(&mac, |v| v[3] = 0xff)),
        ("no_body", mac[..3 + 8 + 24 + 16].to_vec()),
        ("signed_no_body", signed[..3 + 8 + 16 + 64].to_vec()),
    ];
    // Certificates.
    let cert = vectors::worker_certificate(&["w7.example.org:51820"], &["train"]);
    let c = SignedCertificate::issue(&authority, cert).unwrap();
    let mut cbytes = vec![0u8; c.encoded_len()];
    c.encode(&mut cbytes).unwrap();
    let mut long_cert = vec![1u8];
    long_cert.extend(std::iter::repeat_n(0xffu8, 2000));
    let certificates = vec![
        ("valid_worker", cbytes.clone()),
        ("empty", Vec::new()),
        ("truncated", cbytes[..cbytes.len() - 1].to_vec()),
        ("trailing_byte", edited(&cbytes, |v| v.push(0))),
        ("unknown_version", edited(&cbytes, |v| v[0] = 2)),
        ("bad_role", edited(&cbytes, |v| v[1 + 9] = 7)), // after version and "worker-7"
        ("zero_identity_key", edited(&cbytes, |v| v[1 + 9 + 1..1 + 9 + 1 + 32].copy_from_slice(&[0; 32]))),
        ("too_large", long_cert),
    ];
    // Revocation lists.
    let mut entries = heapless::Vec::new();
    entries.push(Revoked { node: id("worker-7"), serial: Some(2) }).unwrap();
    let list = SignedRevocationList::issue(&authority, RevocationList { sequence: 5, entries }).unwrap();
    let mut rbytes = vec![0u8; list.encoded_len()];
    list.encode(&mut rbytes).unwrap();
    let mut overlong = vec![1u8, 0x85, 0x00];
    overlong.extend_from_slice(&rbytes[2..]);
    let revocations = vec![
        ("valid_list", rbytes.clone()),
        ("empty", Vec::new()),
        ("truncated", rbytes[..rbytes.len() - 1].to_vec()),
        ("non_canonical_sequence", overlong),
    ];
    (envelopes, certificates, revocations)
}

#[test]
fn auth_envelope_parse_corpus() {
    replay("auth_envelope_parse", auth_seeds().0, targets::auth_envelope_parse, |b| {
        pouw_netops::auth::seal::parse(b).is_ok()
    });
}

#[test]
fn certificate_decode_corpus() {
    replay("certificate_decode", auth_seeds().1, targets::certificate_decode, |b| {
        pouw_netops::auth::SignedCertificate::decode(b).is_ok()
    });
}

#[test]
fn revocation_decode_corpus() {
    replay("revocation_decode", auth_seeds().2, targets::revocation_decode, |b| {
        pouw_netops::auth::SignedRevocationList::decode(b).is_ok()
    });
}

/// Seeds for the quorum-certificate and equivocation-evidence targets, signed
/// in the cluster of `targets::quorum_fixture`.
fn quorum_seeds() -> (Seeds, Seeds) {
    use pouw_netops::auth::{
        EquivocationEvidence, IdentityKey, QuorumCertificate, SignedVote, VoteKind, VoteStatement,
    };
    let (cluster, voters) = targets::quorum_fixture();
    let key = |i: u8| IdentityKey::from_seed(&[0x50 + i; 32]);
    let id = |s: &str| NodeId::new(s).unwrap();
    let vote = |kind, term, candidate: &str, voter: u8| {
        VoteStatement { kind, term, candidate: id(candidate), voter: id(&format!("supervisor-{voter}")) }
            .signed(&key(voter), &cluster)
    };
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 7, id("supervisor-2"));
    for v in [4, 1, 2] {
        b.push(&vote(VoteKind::Vote, 7, "supervisor-2", v), &cluster, voters.as_slice()).unwrap();
    }
    let qc = b.finish(3).unwrap();
    let mut q = vec![0u8; qc.encoded_len()];
    qc.encode(&mut q).unwrap();
    let mut b = QuorumCertificate::builder(VoteKind::PreVote, 8, id("supervisor-1"));
    for v in 1..=4 {
        b.push(&vote(VoteKind::PreVote, 8, "supervisor-1", v), &cluster, voters.as_slice()).unwrap();
    }
    let pre = b.finish(4).unwrap();
    let mut p = vec![0u8; pre.encoded_len()];
    pre.encode(&mut p).unwrap();
    let bitmap_at = 11 + "supervisor-2".len();
    let mut padded = q[..bitmap_at].to_vec();
    padded.extend_from_slice(&[2, q[bitmap_at + 1], 0]);
    padded.extend_from_slice(&q[bitmap_at + 2..]);
    // Voter 2's nonce in voter 1's slot too: a duplicate signer.
    let sigs = bitmap_at + 2;
    let dup = edited(&q, |v| v.copy_within(sigs + 32..sigs + 64, sigs));
    let mut huge = q[..sigs].to_vec();
    huge[bitmap_at + 1] = 0xff;
    huge.push(0xff);
    huge.extend(std::iter::repeat_n(0u8, 64 * 64));
    let with = |i: usize, byte: u8| edited(&q, |v| v[i] = byte);
    let too_few = edited(&with(bitmap_at + 1, 0b11), |v| v.truncate(v.len() - 32));
    let certificates = vec![
        ("valid_leader_3_of_4", q.clone()),
        ("valid_pre_vote_4_of_4", p),
        ("empty", Vec::new()),
        ("truncated", q[..q.len() - 1].to_vec()),
        ("trailing_byte", edited(&q, |v| v.push(0))),
        ("unknown_version", with(0, 1)),
        ("unknown_kind", with(1, 3)),
        ("wrong_term", with(2, 8)),
        ("forged_signature", edited(&q, |v| *v.last_mut().unwrap() ^= 0x10)),
        ("forged_nonce", edited(&q, |v| v[sigs + 3] ^= 0x01)),
        (
            "swapped_nonces",
            edited(&q, |v| {
                let first: Vec<u8> = v[sigs..sigs + 32].to_vec();
                v.copy_within(sigs + 32..sigs + 64, sigs);
                v[sigs + 32..sigs + 64].copy_from_slice(&first);
            }),
        ),
        ("duplicate_signer", dup),
        // Voters 0, 1 and 4 of four: index 4 is nobody.
        ("non_voter_signer", with(bitmap_at + 1, 0b1_0011)),
        ("too_few_signers", too_few),
        ("empty_bitmap", with(bitmap_at, 0)),
        ("padded_bitmap", padded),
        ("oversized", huge),
    ];
    let a = vote(VoteKind::Vote, 9, "supervisor-1", 3);
    let c = vote(VoteKind::Vote, 9, "supervisor-2", 3);
    let e = EquivocationEvidence::new(c.clone(), a.clone()).unwrap();
    let mut ev = vec![0u8; e.encoded_len()];
    e.encode(&mut ev).unwrap();
    let pair = |x: &SignedVote, y: &SignedVote| {
        let mut v = vec![1u8];
        let mut buf = [0u8; 256];
        let n = x.encode(&mut buf).unwrap();
        v.extend_from_slice(&buf[..n]);
        let n = y.encode(&mut buf).unwrap();
        v.extend_from_slice(&buf[..n]);
        v
    };
    let evidence = vec![
        ("valid_two_votes_term_9", ev.clone()),
        ("empty", Vec::new()),
        ("truncated", ev[..ev.len() - 1].to_vec()),
        ("reversed_order", pair(&c, &a)),
        ("same_candidate", pair(&a, &a)),
        ("two_voters", pair(&a, &vote(VoteKind::Vote, 9, "supervisor-2", 4))),
        ("two_terms", pair(&a, &vote(VoteKind::Vote, 10, "supervisor-2", 3))),
        (
            "pre_votes",
            pair(&vote(VoteKind::PreVote, 9, "supervisor-1", 3), &vote(VoteKind::PreVote, 9, "supervisor-2", 3)),
        ),
        ("forged_second_vote", edited(&ev, |v| *v.last_mut().unwrap() ^= 0x10)),
    ];
    (certificates, evidence)
}

#[test]
fn quorum_certificate_decode_corpus() {
    replay("quorum_certificate_decode", quorum_seeds().0, targets::quorum_certificate_decode, |b| {
        let (cluster, voters) = targets::quorum_fixture();
        pouw_netops::auth::QuorumCertificate::decode(b).and_then(|q| q.verify(&cluster, voters.as_slice(), 3)).is_ok()
    });
}

#[test]
fn equivocation_decode_corpus() {
    replay("equivocation_decode", quorum_seeds().1, targets::equivocation_decode, |b| {
        let (cluster, voters) = targets::quorum_fixture();
        pouw_netops::auth::EquivocationEvidence::decode(b)
            .and_then(|e| {
                let key = voters.iter().find(|(id, _)| id == e.voter()).map(|v| v.1);
                key.map_or(Err(pouw_netops::auth::QuorumError::NotAVoter), |k| e.verify(&cluster, &k))
            })
            .is_ok()
    });
}

fn replay(target: &str, seeds: Vec<(&'static str, Vec<u8>)>, check: fn(&[u8]), decodes: fn(&[u8]) -> bool) {
    let dir = corpus_dir(target);
    if std::env::var_os("UPDATE_FUZZ_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= seeds.len(), "{target}: seed corpus missing; run with UPDATE_FUZZ_CORPUS=1");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        check(&bytes);
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(decodes(&bytes), name.starts_with("valid"), "{target}/{name}");
    }
}

#[test]
fn batch_decode_corpus() {
    replay("batch_decode", batch_seeds(), targets::batch_decode, |b| {
        let mut scratch = vec![0u8; targets::MAX_RAW_LEN];
        BatchView::parse(b, targets::MAX_RAW_LEN).and_then(|v| v.validate(&mut scratch)).is_ok()
    });
}

#[test]
fn columnar_decode_corpus() {
    replay("columnar_decode", columnar_seeds(), targets::columnar_decode, |b| {
        let Some((head, body)) = b.split_first_chunk::<4>() else { return false };
        let dict_entries = u32::from(head[1]) + 2;
        // A body of either version with one (seeds from older builds are version 2).
        [2, 3].into_iter().any(|version| {
            let mut table = vec![0u8; columnar::table_len(dict_entries)];
            let mut out = vec![0u8; usize::from(u16::from_le_bytes([head[2], head[3]]))];
            let shape = columnar::Shape { version, count: u32::from(head[0]) + 1, dict_entries, first: 0 };
            columnar::decode(body, shape, &mut table, &mut out).is_ok()
        })
    });
}

#[test]
fn proof_verify_corpus() {
    replay("proof_verify", proof_seeds(), targets::proof_verify, |b| {
        let Some((&n, rest)) = b.split_first() else { return false };
        let Some((proof, rest)) = rest.split_at_checked(usize::from(n)) else { return false };
        let Some((root, record)) = rest.split_first_chunk::<32>() else { return false };
        merkle::verify_record(proof, record, root).is_ok()
    });
}

#[test]
fn envelope_decode_corpus() {
    replay("envelope_decode", envelope_seeds(), targets::envelope_decode, |b| Envelope::decode(b).is_ok());
}

/// Seeds of `election_attachment`: a selector byte (message `% 7`, sender
/// `/ 7 % 3` of supervisors 1, 3, 4), then the attachment.
fn election_seeds() -> Seeds {
    use pouw_netops::auth::{IdentityKey, QuorumCertificate, VoteKind, VoteStatement};
    use pouw_netops::election::{ATTACH_CERTIFICATE, ATTACH_DISCLOSURE, ATTACH_VOTE};
    let (cluster, voters) = targets::quorum_fixture();
    let id = |i: u8| NodeId::new(&format!("supervisor-{i}")).unwrap();
    let vote = |kind, term, candidate: u8, voter: u8| {
        VoteStatement { kind, term, candidate: id(candidate), voter: id(voter) }
            .signed(&IdentityKey::from_seed(&[0x50 + voter; 32]), &cluster)
    };
    let tagged = |tag: u8, v: &pouw_netops::auth::SignedVote| {
        let mut a = vec![tag; 1 + v.encoded_len()];
        let n = v.encode(&mut a[1..]).unwrap();
        a.truncate(1 + n);
        a
    };
    let msg = |kind: u8, sender: u8, attachment: &[u8]| {
        let mut m = vec![kind + 7 * sender];
        m.extend_from_slice(attachment);
        m
    };
    // Supervisor 1 voted for supervisor 2 (the fixture's leader) and, here, for 3.
    let double = tagged(ATTACH_DISCLOSURE, &vote(VoteKind::Vote, 1, 3, 1));
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 1, id(3));
    for v in [1, 3, 4] {
        b.push(&vote(VoteKind::Vote, 1, 3, v), &cluster, voters.as_slice()).unwrap();
    }
    let rival = b.finish(3).unwrap();
    let mut cert = vec![ATTACH_CERTIFICATE; 1 + rival.encoded_len()];
    rival.encode(&mut cert[1..]).unwrap();
    vec![
        // From supervisor 3 (sender index 1), on a heartbeat response.
        ("valid_disclosure", msg(4, 1, &double)),
        ("valid_heartbeat_response", msg(4, 1, &[])),
        ("valid_pre_vote_grant", msg(0, 1, &tagged(ATTACH_VOTE, &vote(VoteKind::PreVote, 2, 2, 3)))),
        ("forged_disclosure", msg(4, 1, &edited(&double, |v| *v.last_mut().unwrap() ^= 0x10))),
        ("truncated_disclosure", msg(4, 1, &double[..double.len() - 1])),
        ("disclosure_by_another_sender", msg(4, 2, &double)),
        ("disclosure_on_a_vote_request", msg(2, 1, &double)),
        ("disclosure_of_a_pre_vote", msg(4, 1, &tagged(ATTACH_DISCLOSURE, &vote(VoteKind::PreVote, 1, 3, 1)))),
        ("grant_without_vote", msg(1, 1, &[])),
        ("grant_of_another_voter", msg(1, 1, &tagged(ATTACH_VOTE, &vote(VoteKind::Vote, 1, 2, 4)))),
        ("unknown_tag", msg(4, 1, &[9])),
        // A rival leader's certificate for term 1 on its heartbeat (this node
        // leads term 1): verified, then refused as the election's rules say.
        ("rival_certificate_truncated", msg(3, 1, &cert[..cert.len() - 1])),
    ]
}

#[test]
fn election_attachment_corpus() {
    replay("election_attachment", election_seeds(), targets::election_attachment, |b| {
        let Some((envelope, attachment)) = targets::election_message(b) else { return false };
        let mut e = targets::election_fixture();
        matches!(e.step(Instant::from_secs(1), &envelope, attachment), Ok(Ok(())))
    });
    // The disclosure seed is paired with the vote the leader holds: evidence.
    let seed = std::fs::read(corpus_dir("election_attachment").join("valid_disclosure")).unwrap();
    let (envelope, attachment) = targets::election_message(&seed).unwrap();
    let mut e = targets::election_fixture();
    e.step(Instant::from_secs(1), &envelope, attachment).unwrap().unwrap();
    let evidence = e.poll_evidence().expect("evidence from the disclosure seed");
    assert_eq!(evidence.voter().as_str(), "supervisor-1");
}
