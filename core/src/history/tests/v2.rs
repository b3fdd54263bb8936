//! Batch format v2 and the Merkle log, checked against references: an
//! independent recursive RFC 9162 MTH/PATH/PROOF written here from the RFC's
//! definitions, and the v1 decoding of the same records.

extern crate std;

use super::merkle::{self, Frontier, Hash, InclusionProof, Path, ProofError};
use super::*;
use crate::Rng;
use alloc::vec::Vec;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::format;
use std::string::String;
use std::vec;

fn t(us: u64) -> Instant {
    Instant::from_micros(us)
}

/// A record's fields, owned.
type Owned = (Instant, String, String, Vec<u8>);

/// What `validate_rows` hands out per record: the record, its canonical bytes,
/// its leaf and its (sender, type) dictionary indices.
type Row = (Owned, Vec<u8>, Hash, (u32, u32));

/// What `BatchView::validate` did before it checked records as the body
/// decoder writes them: rebuild every canonical record, then parse each again
/// (`Records`), hash it, and compare the root.
fn validate_in_two_passes(view: &BatchView<'_>, scratch: &mut [u8]) -> Result<u32, BatchError> {
    let h = *view.header();
    let mut records = view.records(scratch)?;
    let mut tree = Frontier::new();
    let mut got = Vec::new();
    while let Some(r) = records.next() {
        got.push(r?.timestamp);
        tree.push(merkle::leaf_hash(records.last_bytes()));
    }
    if got.first() != Some(&h.first) || got.last() != Some(&h.last) {
        return Err(BatchError::LengthMismatch);
    }
    if h.log.is_some_and(|l| l.batch_root != tree.root()) {
        return Err(BatchError::RootMismatch);
    }
    Ok(got.len() as u32)
}

// ---- the reference: RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1, literally ----

fn sha(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The largest power of two smaller than n.
fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf *data*.
fn mth(d: &[Vec<u8>]) -> Hash {
    match d.len() {
        0 => sha(&[]),
        1 => sha(&[&[0], &d[0]]),
        n => {
            let k = k_of(n);
            sha(&[&[1], &mth(&d[..k]), &mth(&d[k..])])
        }
    }
}

/// PATH(m, D[n]).
fn ref_path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b).
fn ref_subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = ref_subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = ref_subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn data(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
}

fn flat(p: &[Hash]) -> Vec<u8> {
    p.iter().flatten().copied().collect()
}

#[test]
fn roots_paths_and_proofs_match_the_rfc_definitions() {
    for n in 0..=40usize {
        let d = data(n);
        let leaves: Vec<Hash> = d.iter().map(|x| merkle::leaf_hash(x)).collect();
        let root = mth(&d);
        let mut f = Frontier::new();
        for l in &leaves {
            assert!(f.push(*l));
        }
        assert_eq!(f.root(), root, "frontier root, n = {n}");
        assert_eq!(merkle::tree_root(&leaves), root);
        for m in 0..n {
            let p = ref_path(m, &d);
            assert_eq!(merkle::inclusion_path(&leaves, m), p, "PATH({m}, {n})");
            let pb = flat(&p);
            let path = Path::new(&pb).unwrap();
            assert_eq!(merkle::verify_inclusion(&leaves[m], m as u64, n as u64, path, &root), Ok(()));
            // Wrong index, wrong size, wrong leaf, flipped hash, short and long paths.
            if n > 1 {
                let other = (m + 1) % n;
                assert!(merkle::verify_inclusion(&leaves[m], other as u64, n as u64, path, &root).is_err());
                assert!(merkle::verify_inclusion(&leaves[other], m as u64, n as u64, path, &root).is_err());
                let mut bad = pb.clone();
                bad[5] ^= 1;
                let bad_path = Path::new(&bad).unwrap();
                assert_eq!(
                    merkle::verify_inclusion(&leaves[m], m as u64, n as u64, bad_path, &root),
                    Err(ProofError::RootMismatch)
                );
                let short = Path::new(&pb[32..]).unwrap();
                assert!(merkle::verify_inclusion(&leaves[m], m as u64, n as u64, short, &root).is_err());
            }
            let mut long = pb.clone();
            long.extend_from_slice(&[7; 32]);
            let long = Path::new(&long).unwrap();
            assert_eq!(
                merkle::verify_inclusion(&leaves[m], m as u64, n as u64, long, &root),
                Err(ProofError::WrongPathLength)
            );
        }
        assert_eq!(
            merkle::verify_inclusion(&[0; 32], n as u64, n as u64, Path::new(&[]).unwrap(), &root),
            Err(ProofError::IndexOutOfRange)
        );
        for m in 1..=n {
            let first_root = mth(&d[..m]);
            let p = if m < n { ref_subproof(m, &d, true) } else { vec![] };
            assert_eq!(merkle::consistency_path(&leaves, m), p, "PROOF({m}, {n})");
            let pb = flat(&p);
            let path = Path::new(&pb).unwrap();
            assert_eq!(merkle::verify_consistency(m as u64, n as u64, &first_root, &root, path), Ok(()), "{m} {n}");
            if m < n {
                let other = mth(&d[..m - 1]);
                assert!(merkle::verify_consistency(m as u64, n as u64, &other, &root, path).is_err());
                assert!(merkle::verify_consistency(m as u64, n as u64, &first_root, &other, path).is_err());
                if !pb.is_empty() {
                    let mut bad = pb.clone();
                    let last = bad.len() - 1;
                    bad[last] ^= 0x80;
                    let bad = Path::new(&bad).unwrap();
                    assert!(merkle::verify_consistency(m as u64, n as u64, &first_root, &root, bad).is_err());
                }
                let mut long = pb.clone();
                long.extend_from_slice(&[7; 32]);
                let long = Path::new(&long).unwrap();
                assert_eq!(
                    merkle::verify_consistency(m as u64, n as u64, &first_root, &root, long),
                    Err(ProofError::WrongPathLength)
                );
            }
        }
        assert_eq!(
            merkle::verify_consistency(0, n as u64, &root, &root, Path::new(&[]).unwrap()),
            Err(ProofError::BadSizes)
        );
    }
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    // RFC 9162 §2.1.1: MTH({}) = SHA-256().
    let hex: String = merkle::empty_root().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn path_and_proof_parsing_reject_malformed_bytes() {
    assert!(matches!(Path::new(&[0; 33]), Err(ProofError::Malformed(_))));
    assert!(matches!(Path::new(&[0; 65 * 32]), Err(ProofError::Malformed(_))));
    assert!(matches!(InclusionProof::parse(&[0; 10]), Err(ProofError::Malformed(_))));
    let proof = InclusionProof {
        index: 1,
        batch_size: 2,
        batch_index: 0,
        log_size: 1,
        batch_path: Path::new(&[9; 32]).unwrap(),
        log_path: Path::new(&[]).unwrap(),
    };
    let mut buf = [0u8; 62];
    let bytes = proof.encode_into(&mut buf).unwrap().to_vec();
    assert_eq!(InclusionProof::parse(&bytes), Ok(proof));
    assert!(InclusionProof::parse(&bytes[..61]).is_err());
    let mut more = bytes.clone();
    more.push(0);
    assert!(InclusionProof::parse(&more).is_err());
    let mut bad = bytes;
    bad[0] = b'X';
    assert!(InclusionProof::parse(&bad).is_err());
}

/// A PoUW-like record set: 4 types, `senders` senders, JSON with numbers.
fn pouw(n: usize, senders: u64, seed: u64) -> Vec<(u64, String, &'static str, Vec<u8>)> {
    let mut rng = Rng::new(seed);
    let types = ["GRADIENT_UPDATE", "HEARTBEAT", "NEW_BLOCK", "TASK_ASSIGN"];
    (0..n as u64)
        .map(|i| {
            let kind = types[(rng.next_u64() % 4) as usize];
            let payload = match rng.next_u64() % 6 {
                // Leading zeros, long runs, no digits, binary, empty: all must round-trip.
                0 => format!("{{\"loss\":0.0{},\"id\":\"00{}\"}}", rng.next_u64() % 100, i).into_bytes(),
                1 => format!("{}{}", u64::MAX, rng.next_u64()).into_bytes(),
                2 => b"no digits here".to_vec(),
                3 => (0..(rng.next_u64() % 40) as u8).map(|b| b.wrapping_mul(37)).collect(),
                4 => Vec::new(),
                _ => format!(
                    "{{\"iteration\":{i},\"loss\":{:.4},\"node\":{}}}",
                    (rng.next_u64() % 10_000) as f64 / 1e4,
                    rng.next_u64() % 64
                )
                .into_bytes(),
            };
            (
                1_700_000_000_000_000 + i / 10 * 1_000_000,
                format!("worker_{:03}", rng.next_u64() % senders),
                kind,
                payload,
            )
        })
        .collect()
}

fn refs<'a>(msgs: &'a [(u64, String, &'static str, Vec<u8>)]) -> Vec<RecordRef<'a>> {
    msgs.iter().map(|(ts, s, k, p)| RecordRef { timestamp: t(*ts), sender: s, message_type: k, payload: p }).collect()
}

#[test]
fn v2_round_trips_every_kind_of_payload_and_matches_its_root() {
    let msgs = pouw(700, 64, 3);
    let rs = refs(&msgs);
    let batch = Batch::from_records(4, t(9), 6, &rs).unwrap();
    let h = *batch.header();
    assert_eq!(h.version, BATCH_FORMAT_VERSION);
    let raw: Vec<u8> = rs.iter().flat_map(|r| postcard::to_allocvec(r).unwrap()).collect();
    assert_eq!(batch.decompress().unwrap(), raw);
    let leaves: Vec<Vec<u8>> = rs.iter().map(|r| postcard::to_allocvec(r).unwrap()).collect();
    assert_eq!(h.log.unwrap().batch_root, mth(&leaves));
    assert_eq!(batch.leaves().unwrap(), leaves.iter().map(|l| merkle::leaf_hash(l)).collect::<Vec<_>>());
    // The same bytes again (determinism), and a no-alloc decode in a fixed buffer.
    assert_eq!(Batch::from_records(4, t(9), 6, &rs).unwrap(), batch);
    let mut scratch = vec![0u8; h.scratch_len()];
    let view = BatchView::parse(batch.as_bytes(), raw.len()).unwrap();
    assert_eq!(view.validate(&mut scratch), Ok(700));
    let back: Vec<RecordRef<'_>> = view.records(&mut scratch).unwrap().map(Result::unwrap).collect();
    assert_eq!(back, rs);
}

/// A version 2 batch written by the previous build (the records of
/// `pouw(700, 64, 3)`, sealed at level 6): this build still reads it, checks
/// its root, and hands out the same records.
#[test]
fn version_2_batches_from_the_previous_build_still_decode() {
    let bytes = include_bytes!("v2_batch.bin");
    let msgs = pouw(700, 64, 3);
    let rs = refs(&msgs);
    let view = BatchView::parse(bytes, 1 << 20).unwrap();
    assert_eq!(view.header().version, 2);
    let mut scratch = vec![0u8; view.header().scratch_len()];
    assert_eq!(view.validate(&mut scratch), Ok(700));
    let back: Vec<RecordRef<'_>> = view.records(&mut scratch).unwrap().map(Result::unwrap).collect();
    assert_eq!(back, rs);
    let leaves: Vec<Vec<u8>> = rs.iter().map(|r| postcard::to_allocvec(r).unwrap()).collect();
    assert_eq!(view.header().log.unwrap().batch_root, mth(&leaves));
    // This build writes the same records as version 3, to the same root.
    let v3 = Batch::from_records(4, t(9), 6, &rs).unwrap();
    assert_eq!(v3.header().log.unwrap().batch_root, view.header().log.unwrap().batch_root);
}

/// Payloads as Python's `json.dumps` writes PoUW messages: counters, floats
/// positional and with exponents, zero-padded ids and hex hashes.
fn json_like(n: u64, seed: u64) -> Vec<(u64, String, &'static str, Vec<u8>)> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let hash = rng.next_u64() & 0xffff_ffff;
            let loss = match i % 3 {
                0 => format!("0.{:017}", rng.next_u64() % 100_000_000_000_000_000),
                1 => format!("{}.{}e-{:02}", 1 + rng.next_u64() % 9, rng.next_u64() % 10_000_000_000_000_000, 5 + i % 10),
                _ => format!("{}.{}", rng.next_u64() % 100, rng.next_u64() % 10_000),
            };
            let payload = format!(
                "{{\"iteration\": {i}, \"loss\": {loss}, \"task_id\": \"task-{}\", \"worker\": \"worker_{:03}\", \"gradient_hash\": \"{hash:08x}\"}}",
                i % 8,
                i % 64
            );
            (1_700_000_000_000_000 + i * 10_000, format!("worker-{:02}", i % 64), "gradient_update", payload.into_bytes())
        })
        .collect()
}

/// The body of version 3 keeps one template for such traffic: hex hashes are
/// text slots and a float's exponent leaves its mantissa a number. (Version 2
/// split the hash's digit runs, so the letters between them made hundreds of
/// templates per thousand messages.)
#[test]
fn hex_hashes_and_exponents_do_not_multiply_templates() {
    let msgs = json_like(1000, 11);
    let rs = refs(&msgs);
    let batch = Batch::from_records(0, t(0), 6, &rs).unwrap();
    // 1 type, 64 senders and 2 templates: positional floats (`0.000…`, `12.34`)
    // share one, the exponent form (`1.234e-05`) has one more slot.
    let log = batch.header().log.unwrap();
    let templates = log.dict_entries - 1 - 64;
    assert_eq!(templates, 2, "dictionary entries {}", log.dict_entries);
    let mut scratch = vec![0u8; batch.header().scratch_len()];
    let back: Vec<RecordRef<'_>> = batch.view().records(&mut scratch).unwrap().map(Result::unwrap).collect();
    assert_eq!(back, rs);
}

/// Digit runs and words at the edges of the slot forms: canonical, zero-padded
/// (up to 20 digits in all), lowercase hex (up to 16 digits, odd counts too)
/// and too long or mixed for any, which stay text.
#[test]
fn number_edge_cases_round_trip() {
    let cases: [&[u8]; 20] = [
        b"1ff 0abc a1 00f",
        b"abcdef0123456789 abcdef01234567890",
        b"ABC1 Dead12 x9f",
        b"\"0000000000000000\" 0x1f 7e-3",
        b"f1 e5 e-5 1e",
        b"ffffffffffffff1f",
        b"0",
        b"00",
        b"007",
        b"0.000",
        b"99999999999999999999999",
        b"999999999999999999",
        b"1000000000000000000",
        b"01234567890123456789",
        b"00000000000000000001",
        b"000000000000000000001",
        b"1e-05 2E+10 3e5 e5 5e",
        b"deadbeef dead12 worker12 v2 abc12def 12ab",
        b"x-0-00-000-",
        b"",
    ];
    let owned: Vec<(u64, String, &'static str, Vec<u8>)> =
        cases.iter().enumerate().map(|(i, p)| (i as u64, String::from("s"), "k", p.to_vec())).collect();
    let rs = refs(&owned);
    let batch = Batch::from_records(0, t(0), 6, &rs).unwrap();
    let mut scratch = vec![0u8; batch.header().scratch_len()];
    let back: Vec<RecordRef<'_>> = batch.view().records(&mut scratch).unwrap().map(Result::unwrap).collect();
    assert_eq!(back, rs);
}

#[test]
fn v2_is_much_smaller_than_v1_on_pouw_traffic() {
    let msgs: Vec<_> = pouw(6000, 64, 5).into_iter().filter(|m| m.3.first() == Some(&b'{')).take(1000).collect();
    let rs = refs(&msgs);
    let v2 = Batch::from_records(0, t(0), 6, &rs).unwrap().as_bytes().len();
    let raw: Vec<u8> = rs.iter().flat_map(|r| postcard::to_allocvec(r).unwrap()).collect();
    let v1 = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6).len() + BATCH_HEADER_LEN;
    assert!(v2 * 10 < v1 * 7, "v2 {v2} bytes, v1 {v1}");
}

#[test]
fn a_tampered_record_breaks_the_root() {
    let msgs = pouw(50, 8, 7);
    let rs = refs(&msgs);
    let batch = Batch::from_records(0, t(0), 0, &rs).unwrap();
    // Level 0 stores the body: flip bytes inside it (then fix the Adler-32 by
    // recompressing) so decoding succeeds but a record differs.
    let h = *batch.header();
    let mut scratch = vec![0u8; h.scratch_len()];
    let view = batch.view();
    let body = view.inflate_into(&mut scratch).unwrap().to_vec();
    let mut changed = 0;
    for at in (body.len() - 40..body.len()).rev() {
        let mut b = body.clone();
        b[at] ^= 0x01;
        let zlib = miniz_oxide::deflate::compress_to_vec_zlib(&b, 0);
        let mut bytes = batch.as_bytes()[..h.header_len()].to_vec();
        bytes[48..52].copy_from_slice(&(zlib.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&zlib);
        let v = BatchView::parse(&bytes, 1 << 20).unwrap();
        let mut s = vec![0u8; h.scratch_len()];
        match v.validate(&mut s) {
            Err(BatchError::RootMismatch) => changed += 1,
            Err(_) => {}
            Ok(_) => panic!("a changed body validated"),
        }
    }
    assert!(changed > 0, "no flip reached the root check");
}

#[test]
fn v1_batches_still_decode() {
    // A v1 batch built by hand: the header's first 116 bytes and a zlib stream of postcard records.
    let msgs = pouw(20, 4, 9);
    let rs = refs(&msgs);
    let raw: Vec<u8> = rs.iter().flat_map(|r| postcard::to_allocvec(r).unwrap()).collect();
    let v2 = Batch::from_records(1, t(0), 6, &rs).unwrap();
    let zlib = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6);
    let mut bytes = v2.as_bytes()[..BATCH_HEADER_LEN].to_vec();
    bytes[4] = 1;
    bytes[48..52].copy_from_slice(&(zlib.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&zlib);
    let v1 = Batch::from_bytes(&bytes, 1 << 20).unwrap();
    assert_eq!((v1.header().version, v1.header().log), (1, None));
    assert_eq!(v1.records().unwrap(), v2.records().unwrap());
    assert_eq!(v1.leaves().unwrap(), v2.leaves().unwrap());
}

type History = MessageHistoryCompressor<4, 64>;

fn fill(h: &mut History, msgs: &[(u64, String, &'static str, Vec<u8>)]) {
    for r in refs(msgs) {
        h.add_message(t(0), r).unwrap();
    }
}

#[test]
fn the_log_proves_inclusion_and_consistency() {
    let msgs = pouw(2350, 64, 11);
    let mut h = History::new(HistoryConfig { compression_threshold: 100, ..HistoryConfig::default() }).unwrap();
    assert_eq!(h.log_root(), merkle::empty_root());
    let mut roots = vec![h.log_root()];
    let mut archived = Vec::new();
    for chunk in msgs.chunks(100) {
        fill(&mut h, chunk);
        roots.push(h.log_root());
        while let Some(b) = h.poll_archived() {
            archived.push(b);
        }
    }
    assert_eq!(h.log_size(), 23);
    // The log root is the RFC MTH over the batch entries, each over its records.
    let entries: Vec<Vec<u8>> = msgs[..2300]
        .chunks(100)
        .map(|c| {
            let leaves: Vec<Vec<u8>> = refs(c).iter().map(|r| postcard::to_allocvec(r).unwrap()).collect();
            let mut e = mth(&leaves).to_vec();
            e.extend_from_slice(&100u32.to_le_bytes());
            e
        })
        .collect();
    assert_eq!(h.log_root(), mth(&entries));
    assert_eq!(roots.len(), 25, "the last 50 messages stay in the buffer");
    for (size, root) in roots.iter().take(24).enumerate() {
        assert_eq!(h.log_root_at(size as u64).unwrap(), *root);
    }
    // Inclusion: in-memory batches by id, archived ones from their bytes.
    let root = h.log_root();
    for (i, m) in msgs[..2300].iter().enumerate().step_by(37) {
        let (batch, index) = ((i / 100) as u64, (i % 100) as u32);
        let proof = match h.inclusion_proof(batch, index) {
            Ok(p) => p,
            Err(ProveError::UnknownBatch(_)) => {
                let b = archived.iter().find(|b| b.header().id == batch).unwrap();
                h.inclusion_proof_for(b.as_bytes(), index).unwrap()
            }
            Err(e) => panic!("{e}"),
        };
        let record = postcard::to_allocvec(&refs(core::slice::from_ref(m))[0]).unwrap();
        assert_eq!(merkle::verify_record(&proof, &record, &root), Ok(()));
        let p = InclusionProof::parse(&proof).unwrap();
        assert!(p.batch_path.len() <= 7 && p.log_path.len() <= 5);
        assert!(merkle::verify_record(&proof, b"another record", &root).is_err());
        assert!(merkle::verify_record(&proof, &record, &roots[5]).is_err());
    }
    assert_eq!(h.inclusion_proof(999, 0), Err(ProveError::UnknownBatch(999)));
    assert_eq!(h.inclusion_proof(22, 100), Err(ProveError::IndexOutOfRange { count: 100 }));
    // A batch of another log is not in this one.
    let foreign = Batch::from_records(3, t(0), 6, &refs(&msgs[..5])).unwrap();
    assert_eq!(h.inclusion_proof_for(foreign.as_bytes(), 0), Err(ProveError::NotInLog));
    // Consistency from every earlier size.
    for m in 1..=23u64 {
        let proof = h.consistency_proof(m).unwrap();
        let path = Path::new(&proof).unwrap();
        assert_eq!(merkle::verify_consistency(m, 23, &roots[m as usize], &root, path), Ok(()));
    }
    assert_eq!(h.consistency_proof(0), Err(ProveError::BadSize));
    assert_eq!(h.consistency_proof(24), Err(ProveError::BadSize));
}

#[test]
fn archived_batches_carry_their_log_position() {
    let msgs = pouw(1000, 16, 13);
    let mut h = History::new(HistoryConfig { compression_threshold: 100, ..HistoryConfig::default() }).unwrap();
    let mut prev_after = merkle::empty_root();
    let mut archived = Vec::new();
    fill(&mut h, &msgs);
    while let Some(b) = h.poll_archived() {
        archived.push(b);
    }
    archived.extend(h.batches().filter_map(|hd| h.batch(hd.id)).cloned());
    assert_eq!(archived.len(), 10);
    for b in &archived {
        // Offline: each batch's header chains to the next one's, ending at the log root.
        let v = b.view();
        assert_eq!(v.log_root_before(), Some(prev_after));
        assert_eq!(b.validate(), Ok(100));
        prev_after = v.log_root_after().unwrap();
    }
    assert_eq!(prev_after, h.log_root());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any records round-trip through v2, and the batch root is the reference MTH.
    #[test]
    fn v2_round_trips_arbitrary_records(
        recs in prop::collection::vec(
            (0u64..3, "[a-c]{1,3}", "[x-z]{1,2}", prop::collection::vec(prop_oneof![Just(b'0'), Just(b'9'), Just(b'1'), Just(b'a'), Just(b'e'), Just(b'w'), Just(b'-'), any::<u8>()], 0..30)),
            1..40,
        ),
    ) {
        let mut ts = 0;
        let owned: Vec<(u64, String, String, Vec<u8>)> = recs.into_iter().map(|(d, s, k, p)| { ts += d; (ts, s, k, p) }).collect();
        let rs: Vec<RecordRef<'_>> = owned.iter().map(|(ts, s, k, p)| RecordRef { timestamp: t(*ts), sender: s, message_type: k, payload: p }).collect();
        let batch = Batch::from_records(0, t(0), 6, &rs).unwrap();
        let leaves: Vec<Vec<u8>> = rs.iter().map(|r| postcard::to_allocvec(r).unwrap()).collect();
        prop_assert_eq!(batch.header().log.unwrap().batch_root, mth(&leaves));
        let back = Batch::from_bytes(batch.as_bytes(), 1 << 20).unwrap();
        let mut scratch = vec![0u8; back.header().scratch_len()];
        let view = back.view();
        let decoded: Vec<RecordRef<'_>> = view.records(&mut scratch).unwrap().map(Result::unwrap).collect();
        prop_assert_eq!(&decoded, &rs);
        // The one-pass check hands out the same records, canonical bytes and
        // leaves, and dictionary indices that name each string consistently.
        let own = |r: &RecordRef<'_>| (r.timestamp, String::from(r.sender), String::from(r.message_type), r.payload.to_vec());
        let mut rows: Vec<Row> = Vec::new();
        let n = view.validate_rows(&mut scratch, |r, bytes, leaf, idx| {
            rows.push((own(r), bytes.to_vec(), *leaf.unwrap(), idx.unwrap()));
            Ok(())
        });
        prop_assert_eq!(n, Ok(rs.len() as u32));
        prop_assert_eq!(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), rs.iter().map(own).collect::<Vec<_>>());
        prop_assert_eq!(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(), leaves.clone());
        prop_assert_eq!(rows.iter().map(|r| r.2).collect::<Vec<_>>(), leaves.iter().map(|l| merkle::leaf_hash(l)).collect::<Vec<_>>());
        for a in &rows {
            for b in &rows {
                prop_assert_eq!(a.3.0 == b.3.0, a.0.1 == b.0.1, "sender index");
                prop_assert_eq!(a.3.1 == b.3.1, a.0.2 == b.0.2, "type index");
            }
        }
    }

    /// Truncations and byte flips of a v2 batch give errors, never panics.
    #[test]
    fn v2_corruption_never_panics(cut in 0usize..2000, flip in 0usize..2000, bit in 0u8..8) {
        let msgs = pouw(60, 8, 17);
        let batch = Batch::from_records(0, t(0), 6, &refs(&msgs)).unwrap();
        let mut bytes = batch.as_bytes().to_vec();
        let n = bytes.len();
        bytes[flip % n] ^= 1 << bit;
        bytes.truncate(n - cut % 50);
        let mut scratch = vec![0u8; 1 << 16];
        let fused = BatchView::parse(&bytes, 1 << 14).and_then(|v| v.validate(&mut scratch));
        // The one-pass check accepts exactly what decoding the whole body, then
        // parsing and hashing each canonical record, accepts.
        let reference = BatchView::parse(&bytes, 1 << 14).and_then(|v| validate_in_two_passes(&v, &mut scratch));
        prop_assert_eq!(fused.ok(), reference.ok());
    }
}

#[test]
fn encode_record_is_the_postcard_encoding() {
    for (ts, s, k, p) in pouw(50, 8, 21) {
        let r = RecordRef { timestamp: t(ts), sender: &s, message_type: k, payload: &p };
        let mut out = vec![0u8; r.encoded_len() + 3];
        assert_eq!(batch::encode_record(&r, &mut out).unwrap(), postcard::to_allocvec(&r).unwrap().as_slice());
        assert_eq!(batch::encode_record(&r, &mut out[..r.encoded_len() - 1]), None);
    }
}
