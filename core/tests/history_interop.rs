//! The batch payload is a standard zlib stream: Python's `zlib` (an independent
//! inflater, the one the Python layer will use) must read it back to exactly the
//! columnar body the core decodes the records from, and parse the documented
//! header layout (v3, as v2: 164 bytes plus the log frontier).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::history::{BatchView, RecordRef};
use pouw_netops::{Batch, HistoryConfig, Instant, MessageHistoryCompressor};
use std::io::Write;
use std::process::{Command, Stdio};

/// Python reads the batch from stdin, checks the header fields it can see, and
/// writes the inflated bytes to stdout.
const PY: &str = r#"
import sys, struct, zlib
data = sys.stdin.buffer.read()
magic, version, level, reserved, batch_id, count, first, last, sealed, raw_len, zlib_len = struct.unpack_from("<4sBBHQIQQQII", data, 0)
assert magic == b"PNHB" and version == 3 and reserved == 0, (magic, version, reserved)
body_len, dict_entries, root, log_size = struct.unpack_from("<II32sQ", data, 116)
header_len = 164 + 32 * bin(log_size).count("1")
assert len(data) == header_len + zlib_len
raw = zlib.decompress(data[header_len:])
assert len(raw) == body_len, (len(raw), body_len)
sys.stderr.write("%d %d %d %d %d\n" % (batch_id, count, first, last, level))
sys.stdout.buffer.write(raw)
"#;

fn python_inflate(batch: &[u8]) -> (Vec<u8>, String) {
    let mut child = Command::new("python3")
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed to check zlib interoperability");
    child.stdin.take().unwrap().write_all(batch).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "python failed: {stderr}");
    (out.stdout, stderr)
}

#[test]
fn python_zlib_reads_the_payload() {
    let payloads: Vec<String> = (0..300)
        .map(|i| format!("{{\"iteration\":{i},\"loss\":0.{:03},\"node\":\"w{}\"}}", i * 7 % 1000, i % 9))
        .collect();
    let senders: Vec<String> = (0..9).map(|i| format!("w{i}")).collect();
    let records: Vec<RecordRef<'_>> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| RecordRef {
            timestamp: Instant::from_micros(1_700_000_000_000_000 + i as u64 * 1_000),
            sender: &senders[i % 9],
            message_type: if i % 3 == 0 { "heartbeat" } else { "gradient_update" },
            payload: p.as_bytes(),
        })
        .collect();
    let raw: Vec<u8> = records.iter().flat_map(|r| postcard::to_allocvec(r).unwrap()).collect();
    let body = |b: &Batch| {
        let view = b.view();
        let mut out = vec![0u8; b.header().scratch_len()];
        view.inflate_into(&mut out).unwrap().to_vec()
    };
    for level in [1, 6, 9] {
        let batch = Batch::from_records(42, Instant::from_secs(1), level, &records).unwrap();
        assert_eq!(batch.decompress().unwrap(), raw);
        let (inflated, fields) = python_inflate(batch.as_bytes());
        assert_eq!(inflated, body(&batch), "level {level}");
        assert_eq!(fields.trim(), format!("42 300 1700000000000000 1700000000299000 {level}"));
    }

    // The same through the manager: what it seals, Python reads (the later
    // batches carry a log frontier in their header).
    let mut h: MessageHistoryCompressor<4, 4> =
        MessageHistoryCompressor::new(HistoryConfig { compression_threshold: 100, ..HistoryConfig::default() })
            .unwrap();
    let mut sealed = Vec::new();
    for r in &records {
        sealed.extend(h.add_message(Instant::from_secs(2), *r).unwrap());
    }
    assert_eq!(sealed, [0, 1, 2]);
    for id in sealed {
        let batch = h.batch(id).unwrap();
        assert_eq!(python_inflate(batch.as_bytes()).0, body(batch));
        let part = &records[id as usize * 100..][..100];
        let expected: Vec<u8> = part.iter().flat_map(|r| postcard::to_allocvec(r).unwrap()).collect();
        assert_eq!(batch.decompress().unwrap(), expected);
    }
}

#[test]
fn batches_from_python_zlib_decode() {
    // And the other way: a body compressed by Python's zlib, wrapped in our header, decodes.
    let r = RecordRef { timestamp: Instant::from_micros(5), sender: "n1", message_type: "new_block", payload: b"{}" };
    let ours = Batch::from_records(1, Instant::ZERO, 9, &[r]).unwrap();
    let header_len = ours.header().header_len();
    let mut scratch = vec![0u8; ours.header().scratch_len()];
    let raw = BatchView::parse(ours.as_bytes(), 1024).unwrap().inflate_into(&mut scratch).unwrap().to_vec();
    let out = Command::new("python3")
        .args(["-c", "import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read(), 9))"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&raw)?;
            c.wait_with_output()
        })
        .expect("python3 must be installed");
    assert!(out.status.success());
    let mut bytes = ours.as_bytes()[..header_len].to_vec();
    bytes[48..52].copy_from_slice(&(out.stdout.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&out.stdout);
    let batch = Batch::from_bytes(&bytes, 1024).unwrap();
    let records = batch.records().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].as_ref(), r);
}
