//! Replays the committed cargo-fuzz seed corpus (`fuzz/corpus/<target>/`) through
//! the same checks the fuzz targets run, so stable `cargo test` covers it.
//! Files named `valid*` must decode; every other file must be rejected.
//!
//! `UPDATE_FUZZ_CORPUS=1 cargo test -p pouw-netops --test fuzz_corpus` rewrites the seeds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

#[path = "../../fuzz/src/lib.rs"]
mod targets;

use pouw_netops::health::HealthMetrics;
use pouw_netops::history::{BATCH_HEADER_LEN, BatchView, RecordRef};
use pouw_netops::wire::{Body, Heartbeat};
use pouw_netops::{Batch, Duration, Envelope, Instant, NodeId};
use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target)
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
    let one = Batch::from_records(0, Instant::ZERO, 1, &records[..1]).unwrap().into_bytes();
    let mut bad_magic = valid.clone();
    bad_magic[0] = b'X';
    let mut bad_checksum = valid.clone();
    *bad_checksum.last_mut().unwrap() ^= 0x40;
    let mut too_large = valid.clone();
    too_large[44..48].copy_from_slice(&(targets::MAX_RAW_LEN as u32 + 1).to_le_bytes());
    // A header declaring 64 raw bytes in front of a stream of 1 MiB of zeros.
    let stream = miniz_oxide_stream_of_zeros();
    let mut bomb = valid[..BATCH_HEADER_LEN].to_vec();
    bomb[16..20].copy_from_slice(&1u32.to_le_bytes());
    bomb[44..48].copy_from_slice(&64u32.to_le_bytes());
    bomb[48..52].copy_from_slice(&(stream.len() as u32).to_le_bytes());
    bomb.extend_from_slice(&stream);
    let mut wrong_count = valid.clone();
    wrong_count[16..20].copy_from_slice(&4u32.to_le_bytes());
    vec![
        ("valid_five_records", valid.clone()),
        ("valid_one_record", one),
        ("empty", Vec::new()),
        ("truncated_header", valid[..40].to_vec()),
        ("truncated_stream", valid[..valid.len() - 3].to_vec()),
        ("bad_magic", bad_magic),
        ("bad_checksum", bad_checksum),
        ("declared_too_large", too_large),
        ("inflate_bomb", bomb),
        ("wrong_count", wrong_count),
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
    let mut version = valid.clone();
    version[0] = 9;
    let mut body = valid.clone();
    body[1 + 1 + 8] = 0x7f;
    let mut trailing = valid.clone();
    trailing.push(0);
    let mut long_sender = vec![1u8, 65];
    long_sender.extend_from_slice(&[b'a'; 80]);
    vec![
        ("valid_heartbeat", valid.clone()),
        ("empty", Vec::new()),
        ("truncated", valid[..valid.len() - 1].to_vec()),
        ("unknown_version", version),
        ("unknown_body", body),
        ("trailing_byte", trailing),
        ("oversized_sender", long_sender),
    ]
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
fn envelope_decode_corpus() {
    replay("envelope_decode", envelope_seeds(), targets::envelope_decode, |b| Envelope::decode(b).is_ok());
}
