//! `pn_history`: the message history compressor (records buffered, sealed into
//! zlib batches, searched, archived and imported back), over
//! [`pouw_netops::MessageHistoryCompressor`] with the large preset (1024 batches
//! in memory, 256 in the archive outbox).
//!
//! Archived batches leave as bytes in a caller buffer
//! (`pn_history_poll_archived`) and come back with `pn_history_import`. Search
//! results go into caller arrays: fixed-size record structs plus one byte buffer
//! holding every payload; when either is too small the needed sizes are reported.

use crate::boundary::{Handle, Out, bytes, copy_out, guard, optional_out, set_opt, slots};
use crate::convert::text;
use crate::history::{PN_MAX_MESSAGE_TYPE_LEN, SearchOut, pn_history_record, search_query};
use crate::result::pn_result;
use core::ffi::c_char;
use pouw_netops::Instant;
use pouw_netops::history::{HistoryConfig, MAX_MESSAGE_TYPE_LEN, RecordRef};
use pouw_netops::preset::large;

/// Batches a history handle keeps in memory (`large::HISTORY_BATCHES`).
pub const PN_HISTORY_BATCHES: usize = 1024;
/// Archived batches it holds until the host polls them (`large::HISTORY_ARCHIVE`).
pub const PN_HISTORY_ARCHIVE: usize = 256;
const _: () = assert!(
    PN_HISTORY_BATCHES == large::HISTORY_BATCHES
        && PN_HISTORY_ARCHIVE == large::HISTORY_ARCHIVE
        && PN_MAX_MESSAGE_TYPE_LEN == MAX_MESSAGE_TYPE_LEN
);

/// History parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_history_config {
    /// Seal the buffer into a batch at this many records (default 1000).
    pub compression_threshold: u32,
    /// Seal before the raw bytes would exceed this; also caps imported batches (default 4 MiB).
    pub max_batch_bytes: usize,
    /// The longest payload accepted (default 64 KiB).
    pub max_payload_len: usize,
    /// zlib level 0..=10 (default 6).
    pub compression_level: u8,
}

impl From<&HistoryConfig> for pn_history_config {
    fn from(c: &HistoryConfig) -> Self {
        pn_history_config {
            compression_threshold: c.compression_threshold,
            max_batch_bytes: c.max_batch_bytes,
            max_payload_len: c.max_payload_len,
            compression_level: c.compression_level,
        }
    }
}

impl From<&pn_history_config> for HistoryConfig {
    fn from(c: &pn_history_config) -> Self {
        HistoryConfig {
            compression_threshold: c.compression_threshold,
            max_batch_bytes: c.max_batch_bytes,
            max_payload_len: c.max_payload_len,
            compression_level: c.compression_level,
        }
    }
}

/// Counters and derived figures of a history.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_history_statistics {
    /// Records accepted since creation.
    pub total_messages: u64,
    /// Records sealed into batches.
    pub messages_compressed: u64,
    /// Raw bytes sealed into batches.
    pub raw_bytes: u64,
    /// Bytes of the batches produced.
    pub compressed_bytes: u64,
    /// compressed / raw (1.0 before anything is compressed; lower is better).
    pub compression_ratio: f64,
    /// raw - compressed, zero if compression grew the data.
    pub space_saved_bytes: u64,
    /// Space saved as a percentage of the raw bytes.
    pub space_saved_percent: f64,
    /// Records in the unsealed buffer.
    pub buffer_messages: u32,
    /// Raw bytes in the unsealed buffer.
    pub buffer_bytes: usize,
    /// Batches in memory (searchable).
    pub batches_in_memory: usize,
    /// Batches moved to the archive outbox since creation.
    pub batches_archived: u64,
    /// Archived batches not polled yet.
    pub archive_pending: usize,
    /// Batches brought back with `pn_history_import`.
    pub batches_imported: u64,
    /// Records whose timestamp was clamped up to the history's latest.
    pub timestamps_clamped: u64,
}

/// An opaque message-history handle; create with `pn_history_new`, release with `pn_history_free`.
pub struct pn_history {
    _opaque: [u8; 0],
}

impl Handle for pn_history {
    type Inner = large::MessageHistoryCompressor;
}

/// Writes the default history parameters into `*out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `pn_history_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_config_default(out: *mut pn_history_config) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `out`.
        let out = unsafe { Out::new(out) }?;
        out.set(pn_history_config::from(&HistoryConfig::default()));
        Ok(())
    })
}

/// Creates a history with `*config`, built in place on the heap.
/// `PN_ERR_INVALID_CONFIG` if a field is out of range.
///
/// # Safety
/// `config` NULL or readable; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_new(config: *const pn_history_config, out: *mut *mut pn_history) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `config` and `out`.
        let (config, out) = unsafe { (config.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?, Out::new(out)?) };
        let h = large::MessageHistoryCompressor::new_boxed(HistoryConfig::from(config))?;
        out.set(pn_history::into_raw(h));
        Ok(())
    })
}

/// Releases a history; NULL is ignored. The handle is invalid afterwards.
///
/// # Safety
/// `history` must be NULL or a live handle from `pn_history_new`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_free(history: *mut pn_history) {
    // SAFETY: the caller's promise for `history`.
    crate::boundary::catch_or((), || unsafe { pn_history::free(history) })
}

/// Appends a record (timestamp `timestamp_us`, sender, message type, payload);
/// an earlier timestamp than the history's latest is clamped up. Seals the buffer
/// into a batch when due: `*out_sealed` (if not NULL) says whether a batch was
/// sealed and `*out_batch_id` (if not NULL) its id. An invalid sender gives
/// `PN_ERR_INVALID_ID`, a bad type or oversized payload `PN_ERR_INVALID_ARGUMENT`,
/// a full archive outbox `PN_ERR_CAPACITY_EXCEEDED` (poll it); nothing changes then.
///
/// # Safety
/// `history` NULL or a live handle not used by another thread; each string and
/// `payload` NULL or readable for its length; the out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_add_message(
    history: *mut pn_history,
    now_us: u64,
    timestamp_us: u64,
    sender: *const c_char,
    sender_len: usize,
    message_type: *const c_char,
    message_type_len: usize,
    payload: *const u8,
    payload_len: usize,
    out_sealed: *mut bool,
    out_batch_id: *mut u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (h, sender, message_type, payload, sealed, id) = unsafe {
            (
                pn_history::borrow_mut(history)?,
                text(sender, sender_len).map_err(|_| pn_result::PN_ERR_INVALID_ID)?,
                text(message_type, message_type_len)?,
                bytes(payload, payload_len)?,
                optional_out(out_sealed),
                optional_out(out_batch_id),
            )
        };
        let record = RecordRef { timestamp: Instant::from_micros(timestamp_us), sender, message_type, payload };
        let batch = h.add_message(Instant::from_micros(now_us), record)?;
        set_opt(sealed, batch.is_some());
        set_opt(id, batch.unwrap_or(0));
        Ok(())
    })
}

/// Seals the buffer into a batch now, whatever its size: `*out_sealed` (if not
/// NULL) is false when the buffer was empty, `*out_batch_id` (if not NULL) gets
/// the id. `PN_ERR_CAPACITY_EXCEEDED` if every slot and the outbox are full.
///
/// # Safety
/// `history` as `pn_history_add_message`; the out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_compress(
    history: *mut pn_history,
    now_us: u64,
    out_sealed: *mut bool,
    out_batch_id: *mut u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (h, sealed, id) =
            unsafe { (pn_history::borrow_mut(history)?, optional_out(out_sealed), optional_out(out_batch_id)) };
        let batch = h.compress_batch(Instant::from_micros(now_us))?;
        set_opt(sealed, batch.is_some());
        set_opt(id, batch.unwrap_or(0));
        Ok(())
    })
}

/// Takes the oldest archived batch as bytes into `buf` (`buf_len` bytes):
/// `*out_available` says whether there was one, `*out_len` its length. A short
/// buffer gives `PN_ERR_BUFFER_TOO_SMALL` with the needed length in `*out_len`
/// and leaves the batch in the outbox. Store the bytes anywhere; they are the
/// documented batch format (readable with Python's `zlib`) and come back with
/// `pn_history_import`.
///
/// # Safety
/// `history` as `pn_history_add_message`; `buf` NULL or writable for `buf_len`
/// bytes; `out_len` and `out_available` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_poll_archived(
    history: *mut pn_history,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    out_available: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (h, buf, len, available) = unsafe {
            (pn_history::borrow_mut(history)?, slots(buf, buf_len)?, Out::new(out_len)?, Out::new(out_available)?)
        };
        let Some(batch) = h.peek_archived() else {
            available.set(false);
            return Ok(());
        };
        copy_out(batch.as_bytes(), buf, len)?;
        let _ = h.poll_archived();
        available.set(true);
        Ok(())
    })
}

/// Brings archived batch bytes back into memory for searching; `*out_batch_id`
/// (if not NULL) gets its id. Invalid bytes give `PN_ERR_DECODE_*`; a batch
/// already in memory or overlapping one in time `PN_ERR_INVALID_STATE`; full
/// slots `PN_ERR_CAPACITY_EXCEEDED`. Nothing changes on error.
///
/// # Safety
/// `history` as `pn_history_add_message`; `batch` NULL or readable for `len` bytes; `out_batch_id` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_import(
    history: *mut pn_history,
    now_us: u64,
    batch: *const u8,
    len: usize,
    out_batch_id: *mut u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (h, input, id) =
            unsafe { (pn_history::borrow_mut(history)?, bytes(batch, len)?, optional_out(out_batch_id)) };
        set_opt(id, h.import_batch(Instant::from_micros(now_us), input)?);
        Ok(())
    })
}

/// Finds the records with `start_us <= timestamp <= end_us`, of `message_type`
/// and from `sender` when those are given (NULL or length 0: any), in timestamp
/// order, from the batches in memory and the buffer.
///
/// Writes every match to `out_records` and their payloads back to back into
/// `payload_buf`, with `*out_count` records and `*out_payload_len` payload bytes.
/// If `records_cap` or `payload_cap` is too small, returns
/// `PN_ERR_BUFFER_TOO_SMALL` with the needed count and length in the same
/// out-parameters and writes nothing else (ask with 0 and NULL first if unsure).
/// A batch that fails to decode gives `PN_ERR_DECODE`.
///
/// # Safety
/// `history` NULL or a live handle; the filter strings NULL or readable for their
/// lengths; `out_records` NULL or writable for `records_cap` records,
/// `payload_buf` for `payload_cap` bytes; `out_count` and `out_payload_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_search(
    history: *const pn_history,
    start_us: u64,
    end_us: u64,
    message_type: *const c_char,
    message_type_len: usize,
    sender: *const c_char,
    sender_len: usize,
    out_records: *mut pn_history_record,
    records_cap: usize,
    payload_buf: *mut u8,
    payload_cap: usize,
    out_count: *mut usize,
    out_payload_len: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (h, query, out) = unsafe {
            (
                pn_history::borrow(history)?,
                search_query(start_us, end_us, message_type, message_type_len, sender, sender_len)?,
                SearchOut::new(out_records, records_cap, payload_buf, payload_cap, out_count, out_payload_len)?,
            )
        };
        let found = h.search_iter(query).collect::<Result<Vec<_>, _>>()?;
        out.write(&found)
    })
}

/// Writes the history's counters into `*out_stats`.
///
/// # Safety
/// `history` NULL or a live handle; `out_stats` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_history_stats(
    history: *const pn_history,
    out_stats: *mut pn_history_statistics,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (h, out) = unsafe { (pn_history::borrow(history)?, Out::new(out_stats)?) };
        let s = h.stats();
        out.set(pn_history_statistics {
            total_messages: s.total_messages,
            messages_compressed: s.messages_compressed,
            raw_bytes: s.raw_bytes,
            compressed_bytes: s.compressed_bytes,
            compression_ratio: s.compression_ratio,
            space_saved_bytes: s.space_saved_bytes,
            space_saved_percent: s.space_saved_percent,
            buffer_messages: s.buffer_messages,
            buffer_bytes: s.buffer_bytes,
            batches_in_memory: s.batches_in_memory,
            batches_archived: s.batches_archived,
            archive_pending: s.archive_pending,
            batches_imported: s.batches_imported,
            timestamps_clamped: s.timestamps_clamped,
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::pn_node_id;
    use core::ptr::{null, null_mut};

    #[test]
    fn search_reports_needed_sizes_and_writes_nothing_when_short() {
        let mut cfg = pn_history_config::from(&HistoryConfig::default());
        cfg.compression_threshold = 2;
        let mut h = null_mut();
        // SAFETY: live locals with their true lengths throughout.
        unsafe {
            assert_eq!(pn_history_new(&cfg, &mut h), pn_result::PN_OK);
            for (i, p) in [&b"abc"[..], b"", b"de"].iter().enumerate() {
                let r = pn_history_add_message(
                    h,
                    0,
                    i as u64,
                    c"s".as_ptr(),
                    1,
                    c"t".as_ptr(),
                    1,
                    p.as_ptr(),
                    p.len(),
                    null_mut(),
                    null_mut(),
                );
                assert_eq!(r, pn_result::PN_OK);
            }
            let mut recs = [pn_history_record {
                timestamp_us: 7,
                sender: pn_node_id::EMPTY,
                message_type_len: 7,
                message_type: [0; 64],
                payload_offset: 7,
                payload_len: 7,
            }; 3];
            let mut buf = [0xEEu8; 5];
            let (mut n, mut len) = (0, 0);
            let search =
                |recs: *mut pn_history_record, rc: usize, buf: *mut u8, bc: usize, n: &mut usize, l: &mut usize| {
                    pn_history_search(h, 0, 10, null(), 0, null(), 0, recs, rc, buf, bc, n, l)
                };
            assert_eq!(
                search(recs.as_mut_ptr(), 2, buf.as_mut_ptr(), 5, &mut n, &mut len),
                pn_result::PN_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!((n, len), (3, 5));
            assert_eq!(
                search(recs.as_mut_ptr(), 3, buf.as_mut_ptr(), 4, &mut n, &mut len),
                pn_result::PN_ERR_BUFFER_TOO_SMALL
            );
            assert!(recs.iter().all(|r| r.timestamp_us == 7) && buf == [0xEE; 5], "nothing written");
            assert_eq!(search(recs.as_mut_ptr(), 3, buf.as_mut_ptr(), 5, &mut n, &mut len), pn_result::PN_OK);
            assert_eq!(&buf, b"abcde");
            let spans: Vec<_> = recs.iter().map(|r| (r.timestamp_us, r.payload_offset, r.payload_len)).collect();
            assert_eq!(spans, [(0, 0, 3), (1, 3, 0), (2, 3, 2)]);
            pn_history_free(h);
        }
    }
}
