//! Golden vectors of the history formats: a v1 and a v2 batch (still
//! decoded), a v3 batch with a log frontier, a v3 batch whose numbers have
//! deflate blocks of their own, an inclusion proof, a consistency
//! proof and the log root they verify against. The committed hex under
//! `tests/vectors/` is the format; `UPDATE_GOLDEN=1` rewrites the v3 files (the
//! v1 and v2 files are frozen: this build no longer writes them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

mod vectors;

use pouw_netops::history::merkle::{self, Path};
use pouw_netops::history::{InclusionProof, RecordRef};
use pouw_netops::{Batch, HistoryConfig, Instant, MessageHistoryCompressor};
use vectors::{check, read};

/// The eight records both vectors hold (the v1 vector was written from these).
fn payloads() -> Vec<String> {
    (0..8usize)
        .map(|i| format!("{{\"iteration\":{i},\"loss\":0.{:04},\"node\":{}}}", (i * 1237) % 10000, i % 3))
        .collect()
}

fn records(payloads: &[String]) -> Vec<RecordRef<'_>> {
    let senders = ["worker_000", "worker_001", "worker_002"];
    let types = ["GRADIENT_UPDATE", "HEARTBEAT", "NEW_BLOCK", "TASK_ASSIGN"];
    (0..8usize)
        .map(|i| RecordRef {
            timestamp: Instant::from_secs(1_700_000_000 + i as u64 / 3),
            sender: senders[i % 3],
            message_type: types[i % 4],
            payload: payloads[i].as_bytes(),
        })
        .collect()
}

#[test]
fn v1_batch_vector_still_decodes() {
    let p = payloads();
    let rs = records(&p);
    let batch = Batch::from_bytes(&read("history_batch_v1"), 1 << 20).unwrap();
    let h = batch.header();
    assert_eq!((h.version, h.id, h.count, h.log), (1, 7, 8, None));
    let got = batch.records().unwrap();
    assert_eq!(got.iter().map(|r| r.as_ref()).collect::<Vec<_>>(), rs);
}

/// The v2 vector holds the same records as the v3 one, at the same place in
/// the same log: only the columnar body's number forms differ.
#[test]
fn v2_batch_vector_still_decodes() {
    let p = payloads();
    let rs = records(&p);
    let batch = Batch::from_bytes(&read("history_batch_v2"), 1 << 20).unwrap();
    let h = batch.header();
    assert_eq!((h.version, h.id, h.count, h.log.unwrap().log_size_before), (2, 1, 4, 1));
    assert_eq!(batch.records().unwrap().iter().map(|r| r.as_ref()).collect::<Vec<_>>(), rs[4..]);
    let v3 = Batch::from_bytes(&read("history_batch_v3"), 1 << 20).unwrap();
    assert_eq!(h.log.unwrap().batch_root, v3.header().log.unwrap().batch_root);
    let roots = read("history_log_roots");
    assert_eq!(batch.view().log_root_after().unwrap().as_slice(), &roots[32..]);
}

/// 300 PoUW-like records: enough numbers (1 KiB or more) for the numbers
/// column to get deflate blocks of its own.
fn split_records(payloads: &[String]) -> Vec<RecordRef<'_>> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| RecordRef {
            timestamp: Instant::from_micros(1_700_000_000_000_000 + 10_000 * i as u64),
            sender: ["worker-00", "worker-01", "worker-02"][i % 3],
            message_type: "gradient_update",
            payload: p.as_bytes(),
        })
        .collect()
}

/// A v3 batch whose zlib stream is three parts (the text, the numbers, the
/// literals, each ending in its own blocks): the encoder writes these bytes,
/// and they decode to the records.
#[test]
fn v3_split_stream_vector() {
    let payloads: Vec<String> = (0..300u64)
        .map(|i| {
            let loss = 1.0 / (i + 1) as f64;
            let hash = i.wrapping_mul(2_654_435_761) % (1 << 32);
            format!("{{\"iteration\":{i},\"loss\":{loss},\"gradient_hash\":\"{hash:08x}\"}}")
        })
        .collect();
    let rs = split_records(&payloads);
    let batch = Batch::from_records(9, Instant::from_secs(1_700_000_100), 6, &rs).unwrap();
    check("history_batch_v3_split", batch.as_bytes());
    let committed = Batch::from_bytes(&read("history_batch_v3_split"), 1 << 20).unwrap();
    assert_eq!((committed.header().version, committed.header().count), (3, 300));
    assert_eq!(committed.records().unwrap().iter().map(|r| r.as_ref()).collect::<Vec<_>>(), rs);
    assert_eq!(committed.validate(), Ok(300));
}

#[test]
fn v3_batch_and_proof_vectors() {
    let p = payloads();
    let rs = records(&p);
    let mut h: MessageHistoryCompressor<4, 4> =
        MessageHistoryCompressor::new(HistoryConfig { compression_threshold: 4, ..HistoryConfig::default() }).unwrap();
    for r in &rs {
        h.add_message(Instant::from_secs(1_700_000_010), *r).unwrap();
    }
    assert_eq!(h.log_size(), 2);
    let root = h.log_root();
    let first_root = h.log_root_at(1).unwrap();
    let batch = h.batch(1).unwrap();
    let proof = h.inclusion_proof(1, 1).unwrap();
    let consistency = h.consistency_proof(1).unwrap();
    check("history_batch_v3", batch.as_bytes());
    check("history_inclusion_proof", &proof);
    check("history_consistency_proof", &consistency);
    check("history_record", &postcard::to_allocvec(&rs[5]).unwrap());
    let mut roots = first_root.to_vec();
    roots.extend_from_slice(&root);
    check("history_log_roots", &roots);

    // Decode the committed bytes, not ours.
    let committed = Batch::from_bytes(&read("history_batch_v3"), 1 << 20).unwrap();
    let hd = committed.header();
    assert_eq!((hd.version, hd.id, hd.count, hd.log.unwrap().log_size_before), (3, 1, 4, 1));
    assert_eq!(committed.records().unwrap().iter().map(|r| r.as_ref()).collect::<Vec<_>>(), rs[4..]);
    let view = committed.view();
    let roots = read("history_log_roots");
    assert_eq!(view.log_root_before().unwrap().as_slice(), &roots[..32]);
    assert_eq!(view.log_root_after().unwrap().as_slice(), &roots[32..]);
    let log_root: [u8; 32] = roots[32..].try_into().unwrap();
    let first_root: [u8; 32] = roots[..32].try_into().unwrap();
    let proof = read("history_inclusion_proof");
    let parsed = InclusionProof::parse(&proof).unwrap();
    assert_eq!((parsed.index, parsed.batch_size, parsed.batch_index, parsed.log_size), (1, 4, 1, 2));
    let record = postcard::to_allocvec(&rs[5]).unwrap();
    assert_eq!(merkle::verify_record(&proof, &record, &log_root), Ok(()));
    assert!(merkle::verify_record(&proof, &postcard::to_allocvec(&rs[4]).unwrap(), &log_root).is_err());
    let consistency = read("history_consistency_proof");
    assert_eq!(merkle::verify_consistency(1, 2, &first_root, &log_root, Path::new(&consistency).unwrap()), Ok(()));
}
