extern crate std;

use super::batch::BATCH_MAGIC;
use super::*;
use crate::Rng;
use crate::preset::small;
use alloc::vec::Vec;
use proptest::prelude::*;
use std::format;
use std::string::String;
use std::vec;

type History = MessageHistoryCompressor<128, 4>;

fn t(us: u64) -> Instant {
    Instant::from_micros(us)
}

/// An owned test record (so tests can keep what they added).
#[derive(Clone, Debug, PartialEq)]
struct Msg {
    ts: u64,
    sender: String,
    kind: String,
    payload: Vec<u8>,
}

impl Msg {
    fn new(ts: u64, sender: &str, kind: &str, payload: &[u8]) -> Self {
        Msg { ts, sender: sender.into(), kind: kind.into(), payload: payload.to_vec() }
    }
    fn r(&self) -> RecordRef<'_> {
        RecordRef { timestamp: t(self.ts), sender: &self.sender, message_type: &self.kind, payload: &self.payload }
    }
    fn of(r: &Record) -> Self {
        Msg {
            ts: r.timestamp.total_micros(),
            sender: r.sender.as_str().into(),
            kind: r.message_type.as_str().into(),
            payload: r.payload.clone(),
        }
    }
}

fn config(threshold: u32) -> HistoryConfig {
    HistoryConfig { compression_threshold: threshold, ..HistoryConfig::default() }
}

/// A [`History`] with compression threshold `threshold`, `msgs` added at time 0.
fn filled(msgs: &[Msg], threshold: u32) -> History {
    let mut h = History::new(config(threshold)).unwrap();
    for m in msgs {
        h.add_message(t(0), m.r()).unwrap();
    }
    h
}

fn sample(n: usize, seed: u64) -> Vec<Msg> {
    let mut rng = Rng::new(seed);
    let kinds = ["gradient_update", "heartbeat", "new_block", "task_assignment"];
    let mut ts = 1_000;
    (0..n)
        .map(|i| {
            ts += rng.next_u64() % 1000;
            let kind = kinds[(rng.next_u64() % 4) as usize];
            let sender = format!("node-{}", rng.next_u64() % 8);
            let payload = format!("{{\"iteration\":{i},\"loss\":0.{}}}", rng.next_u64() % 1000);
            Msg::new(ts, &sender, kind, payload.as_bytes())
        })
        .collect()
}

fn all<const B: usize, const A: usize>(h: &MessageHistoryCompressor<B, A>) -> Vec<Msg> {
    h.search(Instant::ZERO, Instant::MAX, None, None).unwrap().iter().map(Msg::of).collect()
}

#[test]
fn record_encoding_is_postcard() {
    let m = Msg::new(300, "worker-1", "heartbeat", b"{\"node\":1}");
    let mut ours = Vec::new();
    m.r().encode_into(&mut ours);
    assert_eq!(ours, postcard::to_allocvec(&m.r()).unwrap());
    assert_eq!(m.r().encoded_len(), ours.len());
    // Field order and encoding spelled out: varint 300 = ac 02, then length-prefixed strings and bytes.
    assert_eq!(&ours[..4], &[0xac, 0x02, 8, b'w']);
}

/// The header bytes before any frontier.
fn fixed(h: &BatchHeader) -> Vec<u8> {
    let (bytes, len) = h.fixed_bytes();
    bytes[..len].to_vec()
}

/// A version-1 header (level 6, no log) of batch `id`: `count` records from
/// `first` to `last` (`[first, last, sealed_at]` in µs), `raw_len` bytes
/// in a `zlib_len`-byte stream, the summary's one entry `entry`.
fn header_v1(
    id: u64,
    count: u32,
    [first, last, sealed_at]: [u64; 3],
    raw_len: u32,
    zlib_len: u32,
    entry: (&str, &str),
) -> BatchHeader {
    let mut summary = Summary::EMPTY;
    summary.insert(entry.0, entry.1);
    BatchHeader {
        version: 1,
        log: None,
        id,
        level: 6,
        count,
        first: t(first),
        last: t(last),
        sealed_at: t(sealed_at),
        raw_len,
        zlib_len,
        summary,
    }
}

#[test]
fn header_round_trips_and_is_little_endian() {
    let h = header_v1(7, 3, [10, 20, 30], 100, 2, ("a", "b"));
    let mut bytes = fixed(&h);
    assert_eq!(&bytes[..4], &BATCH_MAGIC);
    assert_eq!(bytes[4], 1);
    assert_eq!(&bytes[8..16], &7u64.to_le_bytes());
    assert_eq!(&bytes[16..20], &3u32.to_le_bytes());
    assert_eq!(&bytes[44..48], &100u32.to_le_bytes());
    bytes.extend_from_slice(&[0, 0]);
    assert_eq!(BatchHeader::parse(&bytes, 100), Ok(h));
    assert_eq!(BatchHeader::parse(&bytes, 99), Err(BatchError::TooLarge { raw_len: 100, max: 99 }));
    assert!(matches!(BatchHeader::parse(&bytes[..bytes.len() - 1], 100), Err(BatchError::BadHeader(_))));
    assert_eq!(BatchHeader::parse(&bytes[..50], 100), Err(BatchError::Truncated));
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert_eq!(BatchHeader::parse(&bad, 100), Err(BatchError::BadMagic));
    let mut bad = bytes.clone();
    bad[4] = 4;
    assert_eq!(BatchHeader::parse(&bad, 100), Err(BatchError::UnsupportedVersion(4)));
    let mut bad = bytes.clone();
    bad[16..20].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(BatchHeader::parse(&bad, 100), Err(BatchError::BadHeader("no records")));
    let mut bad = bytes;
    bad[20..28].copy_from_slice(&99u64.to_le_bytes());
    assert!(matches!(BatchHeader::parse(&bad, 100), Err(BatchError::BadHeader(_))));
}

#[test]
fn batch_round_trips_through_bytes() {
    let msgs = sample(50, 1);
    let refs: Vec<_> = msgs.iter().map(Msg::r).collect();
    let batch = Batch::from_records(9, t(5), 6, &refs).unwrap();
    let h = *batch.header();
    assert_eq!((h.id, h.count, h.first, h.last, h.sealed_at), (9, 50, t(msgs[0].ts), t(msgs[49].ts), t(5)));
    let raw: Vec<u8> = refs.iter().flat_map(|r| postcard::to_allocvec(r).unwrap()).collect();
    assert_eq!(h.raw_len as usize, raw.len());
    assert_eq!(batch.decompress().unwrap(), raw);
    let again = Batch::from_bytes(batch.as_bytes(), raw.len()).unwrap();
    assert_eq!(again, batch);
    assert_eq!(again.records().unwrap().iter().map(Msg::of).collect::<Vec<_>>(), msgs);
    // Without alloc: inflate into a fixed buffer and iterate borrowed records.
    let mut scratch = [0u8; 8192];
    let view = BatchView::parse(batch.as_bytes(), 8192).unwrap();
    assert_eq!(view.validate(&mut scratch), Ok(50));
    let decoded: Vec<RecordRef<'_>> = view.records(&mut scratch).unwrap().map(Result::unwrap).collect();
    assert_eq!(decoded, refs);
    let mut tiny = [0u8; 16];
    let body_len = view.header().log.unwrap().body_len as usize;
    assert_eq!(view.inflate_into(&mut tiny), Err(BatchError::BufferTooSmall { needed: body_len }));
    assert!(matches!(view.records(&mut tiny), Err(BatchError::BufferTooSmall { .. })));
}

#[test]
fn from_records_rejects_bad_input() {
    assert_eq!(Batch::from_records(0, t(0), 6, &[]), Err(BatchError::BadHeader("no records")));
    let ok = Msg::new(5, "a", "x", b"");
    assert!(matches!(Batch::from_records(0, t(0), 11, &[ok.r()]), Err(BatchError::BadHeader(_))));
    let a = Msg::new(5, "a", "x", b"");
    let b = Msg::new(4, "a", "x", b"");
    assert!(matches!(Batch::from_records(0, t(0), 6, &[a.r(), b.r()]), Err(BatchError::BadRecord { index: 1, .. })));
    let long = Msg::new(5, &"s".repeat(65), "x", b"");
    assert!(matches!(Batch::from_records(0, t(0), 6, &[long.r()]), Err(BatchError::BadRecord { index: 0, .. })));
}

/// A batch with a hand-made header around `zlib`, the other fields consistent.
fn forge(raw_len: u32, count: u32, zlib: &[u8]) -> Vec<u8> {
    let h = header_v1(1, count, [1, 1, 1], raw_len, zlib.len() as u32, ("a", "x"));
    let mut v = fixed(&h);
    v.extend_from_slice(zlib);
    v
}

#[test]
fn inflate_bomb_and_length_lies_are_errors() {
    // 1 MiB of zeros compresses to about a kilobyte; declaring 64 bytes must not write past them.
    let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; 1 << 20], 9);
    let bytes = forge(64, 1, &bomb);
    let mut out = [0u8; 128];
    let view = BatchView::parse(&bytes, 1 << 20).unwrap();
    assert_eq!(view.inflate_into(&mut out), Err(BatchError::Overflow));
    assert!(out[64..].iter().all(|&b| b == 0), "nothing written past the declared length");
    // Declaring more than the stream holds.
    let one = Msg::new(1, "a", "x", b"p");
    let raw = postcard::to_allocvec(&one.r()).unwrap();
    let zlib = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6);
    let bytes = forge(raw.len() as u32 + 1, 1, &zlib);
    assert_eq!(BatchView::parse(&bytes, 1024).unwrap().inflate_into(&mut out), Err(BatchError::LengthMismatch));
    // Garbage after the stream (counted in zlib_len).
    let mut padded = zlib.clone();
    padded.push(0);
    let bytes = forge(raw.len() as u32, 1, &padded);
    assert_eq!(BatchView::parse(&bytes, 1024).unwrap().inflate_into(&mut out), Err(BatchError::LengthMismatch));
    // A wrong checksum.
    let mut bad_sum = zlib.clone();
    *bad_sum.last_mut().unwrap() ^= 1;
    let bytes = forge(raw.len() as u32, 1, &bad_sum);
    assert_eq!(BatchView::parse(&bytes, 1024).unwrap().inflate_into(&mut out), Err(BatchError::Corrupt));
    // Exact: decodes, and validates.
    let bytes = forge(raw.len() as u32, 1, &zlib);
    assert_eq!(BatchView::parse(&bytes, 1024).unwrap().validate(&mut out), Ok(1));
    // A record count the bytes do not hold.
    let bytes = forge(raw.len() as u32, 2, &zlib);
    assert!(matches!(BatchView::parse(&bytes, 1024), Err(BatchError::BadHeader(_))));
    // Records beyond the declared count.
    let two: Vec<u8> = raw.iter().chain(&raw).copied().collect();
    let bytes = forge(two.len() as u32, 1, &miniz_oxide::deflate::compress_to_vec_zlib(&two, 6));
    assert!(matches!(
        BatchView::parse(&bytes, 1024).unwrap().validate(&mut out),
        Err(BatchError::BadRecord { index: 0, .. })
    ));
    // A record the summary does not cover would be skipped by search: rejected.
    let other = Msg::new(1, "b", "x", b"p");
    let raw_b = postcard::to_allocvec(&other.r()).unwrap();
    let bytes = forge(raw_b.len() as u32, 1, &miniz_oxide::deflate::compress_to_vec_zlib(&raw_b, 6));
    assert!(matches!(
        BatchView::parse(&bytes, 1024).unwrap().validate(&mut out),
        Err(BatchError::BadRecord { reason: "not covered by the header's summary", .. })
    ));
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    let msgs = sample(20, 2);
    let refs: Vec<_> = msgs.iter().map(Msg::r).collect();
    let batch = Batch::from_records(1, t(0), 6, &refs).unwrap();
    let bytes = batch.as_bytes();
    let mut scratch = vec![0u8; 4096];
    for len in 0..bytes.len() {
        let r = BatchView::parse(&bytes[..len], 4096).and_then(|v| v.validate(&mut scratch));
        assert!(r.is_err(), "truncated to {len} bytes must fail");
    }
    for i in 0..bytes.len() {
        for bit in [0x01, 0x10, 0x80] {
            let mut b = bytes.to_vec();
            b[i] ^= bit;
            // Either an error or a batch that passes every check; never a panic.
            if let Ok(n) = BatchView::parse(&b, 4096).and_then(|v| v.validate(&mut scratch)) {
                assert!(n >= 1);
            }
        }
    }
}

#[test]
fn seals_at_threshold_and_on_demand() {
    let msgs = sample(25, 3);
    let mut h = History::new(config(10)).unwrap();
    let mut sealed = Vec::new();
    for m in &msgs {
        if let Some(id) = h.add_message(t(0), m.r()).unwrap() {
            sealed.push(id);
        }
    }
    assert_eq!(sealed, vec![0, 1]);
    assert_eq!(h.buffer_len(), 5);
    assert_eq!(h.compress_batch(t(9)), Ok(Some(2)));
    assert_eq!(h.compress_batch(t(9)), Ok(None));
    let counts: Vec<u32> = h.batches().map(|b| b.count).collect();
    assert_eq!(counts, vec![10, 10, 5]);
    assert_eq!(all(&h), msgs);
    let s = h.stats();
    assert_eq!((s.total_messages, s.messages_compressed, s.batches_in_memory, s.buffer_messages), (25, 25, 3, 0));
}

#[test]
fn seals_before_exceeding_max_batch_bytes() {
    let cfg = HistoryConfig { max_batch_bytes: 1000, max_payload_len: 500, ..HistoryConfig::default() };
    let mut h = History::new(cfg).unwrap();
    let big = [7u8; 400];
    let m = |i| Msg::new(i, "a", "x", &big);
    // Each record is 400 + 8 bytes: two fit in 1000, a third would not.
    assert_eq!(h.add_message(t(0), m(1).r()), Ok(None));
    assert_eq!(h.add_message(t(0), m(2).r()), Ok(None));
    assert_eq!(h.add_message(t(0), m(3).r()), Ok(Some(0)));
    assert_eq!(h.batches().map(|b| b.count).collect::<Vec<_>>(), vec![2]);
    assert_eq!(h.buffer_len(), 1);
    for b in h.batches() {
        assert!(b.raw_len <= 1000);
    }
}

#[test]
fn rejects_invalid_records_without_change() {
    let mut h = History::new(HistoryConfig { max_payload_len: 4, ..config(10) }).unwrap();
    let long_payload = Msg::new(1, "a", "x", b"12345");
    assert_eq!(
        h.add_message(t(0), long_payload.r()),
        Err(AddError::Record(RecordError::PayloadTooLarge { len: 5, max: 4 }))
    );
    assert_eq!(h.add_message(t(0), Msg::new(1, "", "x", b"").r()), Err(AddError::Record(RecordError::BadSender)));
    let long_type = "t".repeat(65);
    assert_eq!(
        h.add_message(t(0), Msg::new(1, "a", &long_type, b"").r()),
        Err(AddError::Record(RecordError::BadMessageType))
    );
    assert_eq!(h.stats().total_messages, 0);
    assert_eq!(h.buffer_len(), 0);
}

#[test]
fn backwards_timestamps_are_clamped_and_counted() {
    let mut h = History::new(config(2)).unwrap();
    for ts in [10, 20, 5, 30, 30, 1] {
        h.add_message(t(0), Msg::new(ts, "a", "x", b"").r()).unwrap();
    }
    let got: Vec<u64> = all(&h).iter().map(|m| m.ts).collect();
    assert_eq!(got, vec![10, 20, 20, 30, 30, 30]);
    assert_eq!(h.stats().timestamps_clamped, 2);
}

#[test]
fn archives_evicted_batches_and_never_drops() {
    let msgs = sample(100, 4);
    let mut h: MessageHistoryCompressor<2, 2> = MessageHistoryCompressor::new(config(10)).unwrap();
    // 40 records make 4 batches: 2 stay in memory, 2 go to the outbox.
    for m in &msgs[..49] {
        h.add_message(t(0), m.r()).unwrap();
    }
    // The 50th record fills the buffer; sealing it would need a third outbox slot: left pending.
    assert_eq!(h.add_message(t(0), msgs[49].r()), Ok(None));
    assert_eq!(h.buffer_len(), 10);
    let before = (h.stats(), all(&h));
    assert_eq!(h.add_message(t(0), msgs[50].r()), Err(AddError::ArchiveFull));
    assert_eq!(h.compress_batch(t(0)), Err(ArchiveFullError));
    assert_eq!((h.stats(), all(&h)), before, "a rejected add changes nothing");
    // Draining the outbox unblocks; archived batches are the oldest, in order.
    let peeked = h.peek_archived().map(|b| b.as_bytes().to_vec());
    assert_eq!(h.stats().archive_pending, 2, "peeking takes nothing");
    let mut archived = vec![h.poll_archived().unwrap(), h.poll_archived().unwrap()];
    assert_eq!(peeked.as_deref(), Some(archived[0].as_bytes()), "the peeked batch is the one polled");
    assert!(h.peek_archived().is_none());
    assert!(h.poll_archived().is_none());
    assert_eq!((archived[0].header().id, archived[1].header().id), (0, 1));
    for m in &msgs[50..] {
        h.add_message(t(0), m.r()).unwrap();
        if h.stats().archive_pending == 2 {
            archived.extend(core::iter::from_fn(|| h.poll_archived()));
        }
    }
    let s = h.stats();
    assert_eq!(s.total_messages, 100);
    assert_eq!(s.batches_archived as usize, archived.len() + s.archive_pending);
    archived.extend(core::iter::from_fn(|| h.poll_archived()));
    // Every record is in exactly one place: archived, in memory, or in the buffer.
    let mut everything: Vec<Msg> = archived.iter().flat_map(|b| b.records().unwrap()).map(|r| Msg::of(&r)).collect();
    everything.extend(all(&h));
    assert_eq!(everything, msgs);
    let ids: Vec<u64> = archived.iter().map(|b| b.header().id).collect();
    assert_eq!(ids, (0..ids.len() as u64).collect::<Vec<_>>());
}

#[test]
fn imports_archived_batches_for_search() {
    let msgs = sample(40, 5);
    let mut h: MessageHistoryCompressor<2, 4> = MessageHistoryCompressor::new(config(10)).unwrap();
    for m in &msgs {
        h.add_message(t(0), m.r()).unwrap();
    }
    assert_eq!(h.batches().map(|b| b.id).collect::<Vec<_>>(), vec![2, 3]);
    let a0 = h.poll_archived().unwrap().into_bytes();
    let a1 = h.poll_archived().unwrap().into_bytes();
    assert_eq!(h.import_batch(t(1), &a0), Err(ImportError::Full { capacity: 2 }));
    // A host that kept every batch rebuilds the history in any order; search sees time order.
    let mut h2: MessageHistoryCompressor<8, 4> = MessageHistoryCompressor::new(config(10)).unwrap();
    assert_eq!(h2.import_batch(t(1), h.batch(3).unwrap().as_bytes()), Ok(3));
    assert_eq!(h2.import_batch(t(1), &a1), Ok(1));
    assert_eq!(h2.import_batch(t(1), h.batch(2).unwrap().as_bytes()), Ok(2));
    assert_eq!(h2.import_batch(t(1), &a0), Ok(0));
    assert_eq!(all(&h2), msgs);
    assert_eq!(h2.batches().map(|b| b.id).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    assert_eq!(h2.import_batch(t(1), &a0), Err(ImportError::Duplicate(0)));
    assert_eq!(h2.stats().batches_imported, 4);
    // New batches continue the id sequence.
    h2.add_message(t(2), Msg::new(msgs[39].ts + 1, "x", "y", b"").r()).unwrap();
    assert_eq!(h2.compress_batch(t(2)), Ok(Some(4)));
    // Overlapping ranges are refused (search relies on batches being ordered end to start).
    let mid = &msgs[3..7];
    let refs: Vec<_> = mid.iter().map(Msg::r).collect();
    let overlapping = Batch::from_records(99, t(0), 6, &refs).unwrap();
    assert_eq!(h2.import_batch(t(1), overlapping.as_bytes()), Err(ImportError::Overlaps(Some(0))));
    let mut bad = a0.clone();
    bad[0] = 0;
    assert_eq!(h2.import_batch(t(1), &bad), Err(ImportError::Invalid(BatchError::BadMagic)));
    // A batch larger than max_batch_bytes is refused before inflating.
    let mut h3 = History::new(HistoryConfig { max_batch_bytes: 200, max_payload_len: 50, ..config(10) }).unwrap();
    assert!(matches!(h3.import_batch(t(1), &a0), Err(ImportError::Invalid(BatchError::TooLarge { .. }))));
}

#[test]
fn import_must_not_overlap_the_buffer() {
    let msgs = sample(30, 6);
    let h = filled(&msgs[..10], 10);
    let first = h.batch(0).unwrap().as_bytes().to_vec();
    let mut h2 = History::new(config(10)).unwrap();
    h2.add_message(t(0), msgs[5].r()).unwrap();
    assert_eq!(h2.import_batch(t(0), &first), Err(ImportError::Overlaps(None)));
    // Imported into an empty history, it moves the clock: later records are not earlier than it.
    let mut h3 = History::new(config(10)).unwrap();
    h3.import_batch(t(0), &first).unwrap();
    h3.add_message(t(0), msgs[0].r()).unwrap();
    assert_eq!(all(&h3).last().unwrap().ts, msgs[9].ts);
    assert_eq!(h3.stats().timestamps_clamped, 1);
}

#[test]
fn search_filters_and_skips() {
    let msgs = sample(200, 7);
    let h = filled(&msgs, 50);
    let (lo, hi) = (msgs[60].ts, msgs[120].ts);
    let got: Vec<Msg> =
        h.search(t(lo), t(hi), Some("heartbeat"), Some("node-3")).unwrap().iter().map(Msg::of).collect();
    let want: Vec<Msg> = msgs
        .iter()
        .filter(|m| m.ts >= lo && m.ts <= hi && m.kind == "heartbeat" && m.sender == "node-3")
        .cloned()
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert!(h.search(t(hi), t(lo), None, None).unwrap().is_empty());
    assert!(h.search(Instant::ZERO, Instant::MAX, None, Some("nobody")).unwrap().is_empty());
    // A sender absent from every batch is (almost surely) skipped by the summaries.
    let q = Query { sender: Some("nobody"), ..Query::window(Instant::ZERO, Instant::MAX) };
    assert_eq!(h.batches().filter(|b| q.may_match(b)).count(), 0);
    let q = Query::window(t(lo), t(hi));
    assert_eq!(h.batches().filter(|b| q.may_match(b)).count(), 2);
}

#[test]
fn stats_add_up() {
    let msgs = sample(1000, 8);
    let mut h = filled(&msgs, 250);
    h.add_message(t(0), msgs[999].r()).unwrap();
    let s = h.stats();
    let raw: u64 = msgs.iter().map(|m| m.r().encoded_len() as u64).sum();
    let bytes: u64 = (0..4).map(|id| h.batch(id).unwrap().as_bytes().len() as u64).sum();
    assert_eq!(s.raw_bytes, raw);
    assert_eq!(s.compressed_bytes, bytes);
    assert_eq!(s.space_saved_bytes, raw - bytes);
    assert!((s.compression_ratio - bytes as f64 / raw as f64).abs() < 1e-12);
    assert!((s.space_saved_percent - 100.0 * (raw - bytes) as f64 / raw as f64).abs() < 1e-9);
    assert!(s.space_saved_percent > 50.0, "JSON-like payloads compress well: {s:?}");
    assert_eq!((s.buffer_messages, s.batches_in_memory, s.batches_archived), (1, 4, 0));
    assert_eq!(s.buffer_bytes, msgs[999].r().encoded_len());
    assert_eq!(History::new(config(1)).unwrap().stats().compression_ratio, 1.0);
}

#[test]
fn same_inputs_same_bytes() {
    let run = || {
        let mut h = History::new(config(30)).unwrap();
        for (i, m) in sample(100, 9).iter().enumerate() {
            h.add_message(t(i as u64), m.r()).unwrap();
        }
        h.batches().map(|b| h.batch(b.id).unwrap().as_bytes().to_vec()).collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn config_is_validated() {
    assert!(History::new(config(0)).is_err());
    assert!(History::new(HistoryConfig { compression_level: 11, ..config(1) }).is_err());
    assert!(History::new(HistoryConfig { max_batch_bytes: 1000, max_payload_len: 900, ..config(1) }).is_err());
    assert!(MessageHistoryCompressor::<0, 1>::new(config(1)).is_err());
    assert!(small::MessageHistoryCompressor::new(HistoryConfig::default()).is_ok());
}

#[test]
fn large_preset_builds_in_place_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut h = crate::preset::large::MessageHistoryCompressor::new_boxed(config(2)).unwrap();
            let m = Msg::new(1, "a", "x", b"{}");
            for _ in 0..2 * crate::preset::large::HISTORY_BATCHES {
                h.add_message(t(0), m.r()).unwrap();
            }
            h.add_message(t(0), m.r()).unwrap();
            let s = h.stats();
            (s.batches_in_memory, s.batches_archived, h.search(t(0), t(2), None, None).unwrap().len())
        })
        .unwrap();
    let n = crate::preset::large::HISTORY_BATCHES;
    assert_eq!(handle.join().unwrap(), (n, 0, 2 * n + 1));
}

/// Reference model: clamp timestamps to the running maximum, keep everything, filter.
fn reference(msgs: &[Msg]) -> Vec<Msg> {
    let mut latest = 0;
    msgs.iter()
        .map(|m| {
            latest = latest.max(m.ts);
            Msg { ts: latest, ..m.clone() }
        })
        .collect()
}

fn arb_msgs() -> impl Strategy<Value = Vec<Msg>> {
    proptest::collection::vec(
        (0u64..50, 0usize..4, 0usize..3, proptest::collection::vec(any::<u8>(), 0..20), prop::bool::weighted(0.1)),
        0..120,
    )
    .prop_map(|items| {
        let mut ts: u64 = 0;
        items
            .into_iter()
            .map(|(dt, s, k, payload, back)| {
                ts = if back { ts.saturating_sub(dt) } else { ts + dt };
                Msg::new(ts, ["a", "b", "c", "d"][s], ["hb", "grad", "blk"][k], &payload)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `add_seals` says beforehand exactly which adds seal a batch: by count,
    /// by bytes (before the record joins the buffer, or once it has), with
    /// records that arrive out of order (clamped) and payloads of any size.
    #[test]
    fn add_seals_predicts_every_seal(
        threshold in 1u32..12,
        max_bytes in 400usize..900,
        recs in prop::collection::vec((0u64..3000, 0usize..200), 1..80),
    ) {
        let config = HistoryConfig { compression_threshold: threshold, max_batch_bytes: max_bytes, max_payload_len: 200, ..HistoryConfig::default() };
        let mut h = History::new(config).unwrap();
        for (i, (ts, len)) in recs.into_iter().enumerate() {
            let m = Msg::new(ts, "node-1", "kind", &vec![b'x'; len]);
            let predicted = h.add_seals(&m.r());
            let sealed = h.add_message(t(0), m.r()).unwrap();
            prop_assert_eq!(predicted, sealed.is_some(), "record {}", i);
            while h.poll_archived().is_some() {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn search_equals_brute_force(
        msgs in arb_msgs(),
        threshold in 1u32..15,
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        mode in 0u8..3,
        raw_lo in 0u64..3000,
        kind in proptest::option::of(0usize..4),
        sender in proptest::option::of(0usize..5),
    ) {
        let h = filled(&msgs, threshold);
        let kind = kind.map(|k| ["hb", "grad", "blk", "zzz"][k]);
        let sender = sender.map(|s| ["a", "b", "c", "d", "e"][s]);
        // Windows whose bounds sit exactly on, just inside, or anywhere around stored timestamps.
        let stamps: Vec<u64> = reference(&msgs).iter().map(|m| m.ts).collect();
        let (lo, hi) = match (mode, stamps.is_empty()) {
            (0, false) => (stamps[a.index(stamps.len())], stamps[b.index(stamps.len())]),
            (1, false) => (stamps[a.index(stamps.len())] + 1, stamps[b.index(stamps.len())].saturating_sub(1)),
            _ => (raw_lo, raw_lo + b.index(3000) as u64),
        };
        let got: Vec<Msg> = h.search(t(lo), t(hi), kind, sender).unwrap().iter().map(Msg::of).collect();
        let want: Vec<Msg> = reference(&msgs)
            .into_iter()
            .filter(|m| m.ts >= lo && m.ts <= hi)
            .filter(|m| kind.is_none_or(|k| m.kind == k) && sender.is_none_or(|s| m.sender == s))
            .collect();
        prop_assert_eq!(&got, &want);
        // The iterator form yields the same, one by one.
        let q = Query { start: t(lo), end: t(hi), message_type: kind, sender };
        let iterated: Vec<Msg> = h.search_iter(q).map(|r| Msg::of(&r.unwrap())).collect();
        prop_assert_eq!(iterated, want);
        prop_assert_eq!(all(&h), reference(&msgs));
    }

    #[test]
    fn summary_has_no_false_negatives(items in proptest::collection::vec(("[a-z0-9-]{1,20}", "[a-z_]{1,20}"), 1..100)) {
        let mut s = Summary::EMPTY;
        for (sender, kind) in &items {
            s.insert(sender, kind);
        }
        for (sender, kind) in &items {
            prop_assert!(s.may_contain_sender(sender) && s.may_contain_type(kind));
        }
    }

    /// Payloads whose templates are random bytes (each its own template:
    /// a dictionary that hardly compresses) before a numbers column big
    /// enough for blocks of its own: the batch reads back whole at every
    /// level. (The exact sizes that once cut a part short at its sync flush
    /// are pinned by `incompressible_parts_still_make_one_stream`.)
    #[test]
    fn incompressible_dictionaries_before_the_numbers_read_back(seed in any::<u64>(), level in 0u8..=10) {
        let mut rng = Rng::new(seed);
        // Payloads are opaque bytes: the signature is any byte but a digit or
        // a control byte, so it stays template text and barely compresses.
        let msgs: Vec<Msg> = (0..1200u64)
            .map(|i| {
                let mut p = b"{\"sig\":\"".to_vec();
                p.extend((0..48).map(|_| b':' + (rng.next_u64() % 198) as u8));
                p.extend_from_slice(format!("\",\"n\":{}}}", rng.next_u64() % 1_000_000 + i).as_bytes());
                Msg::new(i, "w", "t", &p)
            })
            .collect();
        let records: Vec<RecordRef<'_>> = msgs.iter().map(Msg::r).collect();
        let batch = Batch::from_records(1, Instant::ZERO, level, &records).unwrap();
        prop_assert_eq!(batch.records().unwrap().iter().map(Msg::of).collect::<Vec<_>>(), msgs);
    }

    /// A sealed batch's summary is the one every record's sender and type
    /// would make: the encoder adds each distinct one once.
    #[test]
    fn sealed_summary_is_every_records(items in proptest::collection::vec(("[a-z0-9-]{1,20}", "[a-z_]{1,20}"), 1..100)) {
        let records: alloc::vec::Vec<RecordRef<'_>> = items
            .iter()
            .map(|(sender, kind)| RecordRef { timestamp: Instant::ZERO, sender, message_type: kind, payload: b"{}" })
            .collect();
        let batch = Batch::from_records(1, Instant::ZERO, 6, &records).unwrap();
        let mut want = Summary::EMPTY;
        for (sender, kind) in &items {
            want.insert(sender, kind);
        }
        prop_assert_eq!(batch.header().summary, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), fix_header in any::<bool>()) {
        let mut bytes = bytes;
        if fix_header && bytes.len() >= BATCH_HEADER_LEN {
            // Make the header plausible so decoding gets as far as the stream.
            bytes[..4].copy_from_slice(&BATCH_MAGIC);
            bytes[4] = 1;
            bytes[5] = 6;
            bytes[6] = 0;
            bytes[7] = 0;
            let zlib_len = (bytes.len() - BATCH_HEADER_LEN) as u32;
            bytes[48..52].copy_from_slice(&zlib_len.to_le_bytes());
        }
        let mut scratch = [0u8; 1024];
        let _ = BatchView::parse(&bytes, 1024).and_then(|v| v.validate(&mut scratch));
    }
}

#[test]
fn window_bounds_are_inclusive() {
    let mut h = History::new(config(3)).unwrap();
    for ts in [10, 20, 20, 30, 40] {
        h.add_message(t(0), Msg::new(ts, "a", "x", b"").r()).unwrap();
    }
    let got = |lo, hi| {
        h.search(t(lo), t(hi), None, None).unwrap().iter().map(|r| r.timestamp.total_micros()).collect::<Vec<_>>()
    };
    assert_eq!(got(20, 30), vec![20, 20, 30]);
    assert_eq!(got(40, 40), vec![40]);
    assert_eq!(got(10, 10), vec![10]);
    assert_eq!(got(11, 19), Vec::<u64>::new());
}

#[test]
fn lowering_the_compression_threshold_seals_at_the_next_add() {
    let mut h = History::new(HistoryConfig { compression_threshold: 10, ..HistoryConfig::default() }).unwrap();
    for i in 0..5 {
        assert_eq!(h.add_message(t(i), Msg::new(i, "a", "k", b"{}").r()).unwrap(), None);
    }
    assert!(h.set_compression_threshold(0).is_err());
    assert_eq!(h.config().compression_threshold, 10);
    h.set_compression_threshold(3).unwrap();
    // The five buffered records are sealed before the sixth is added.
    assert!(h.add_message(t(5), Msg::new(5, "a", "k", b"{}").r()).unwrap().is_some());
    assert_eq!(h.buffer_len(), 1);
}
