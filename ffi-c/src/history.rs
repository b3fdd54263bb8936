//! Archived history batches as bytes: parse a batch's header and search its
//! records without any handle (`pn_batch_parse`, `pn_batch_search`), and read
//! its place in its node's Merkle log (`pn_batch_log_info`).

use crate::boundary::{Out, bytes, guard, slots};
use crate::convert::{opt_text, pn_node_id};
use crate::last_error::Failure;
use crate::result::pn_result;
use core::ffi::c_char;
use core::mem::MaybeUninit;
use pouw_netops::history::{Batch, BatchView, HistoryConfig, Record};
use pouw_netops::{Instant, Query};

/// The longest message type, in bytes.
pub const PN_MAX_MESSAGE_TYPE_LEN: usize = 64;
/// Bytes of a SHA-256 hash.
pub const PN_HASH_LEN: usize = 32;

/// One `pn_batch_search` result; its payload is in the payload buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_history_record {
    /// The record's timestamp, microseconds.
    pub timestamp_us: u64,
    /// Who sent the message.
    pub sender: pn_node_id,
    /// Length of `message_type` in bytes.
    pub message_type_len: usize,
    /// The message type, UTF-8, not NUL-terminated.
    pub message_type: [u8; PN_MAX_MESSAGE_TYPE_LEN],
    /// Where the payload starts in the payload buffer.
    pub payload_offset: usize,
    /// The payload's length.
    pub payload_len: usize,
}

/// The header of an archived history batch (`pn_ops_poll_archived`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_batch_header {
    /// The batch id (the node's batch sequence number).
    pub id: u64,
    /// The zlib level it was compressed with.
    pub level: u8,
    /// Records in the batch, at least 1.
    pub count: u32,
    /// Timestamp of the first (earliest) record, microseconds.
    pub first_us: u64,
    /// Timestamp of the last (latest) record, microseconds.
    pub last_us: u64,
    /// When the batch was sealed, microseconds.
    pub sealed_at_us: u64,
    /// Bytes of the records once inflated.
    pub raw_len: u32,
    /// Bytes of the zlib stream after the header.
    pub zlib_len: u32,
}

/// The decoded, checked batch in `bytes`: the same cap on its raw length as the
/// coordinator's history (the core's default `max_batch_bytes`, 4 MiB).
fn batch(bytes: &[u8]) -> Result<Batch, Failure> {
    let batch = Batch::from_bytes(bytes, HistoryConfig::default().max_batch_bytes)?;
    batch.validate()?;
    Ok(batch)
}

/// Writes `found` into the caller's arrays as `pn_batch_search` documents:
/// records into `records`, payloads back to back into `payloads`; if either is
/// short, only the needed count and length, and `PN_ERR_BUFFER_TOO_SMALL`.
fn write_found(
    found: &[Record],
    records: &mut [MaybeUninit<pn_history_record>],
    payloads: &mut [MaybeUninit<u8>],
    count: Out<usize>,
    payload_len: Out<usize>,
) -> Result<(), Failure> {
    let needed_payload: usize = found.iter().map(|r| r.payload.len()).sum();
    if found.len() > records.len() || needed_payload > payloads.len() {
        count.set(found.len());
        payload_len.set(needed_payload);
        return Err(pn_result::PN_ERR_BUFFER_TOO_SMALL.into());
    }
    let mut offset = 0;
    for (slot, r) in records.iter_mut().zip(found) {
        let mut message_type = [0u8; PN_MAX_MESSAGE_TYPE_LEN];
        for (d, s) in message_type.iter_mut().zip(r.message_type.as_bytes()) {
            *d = *s;
        }
        for (d, s) in payloads.iter_mut().skip(offset).zip(&r.payload) {
            d.write(*s);
        }
        slot.write(pn_history_record {
            timestamp_us: r.timestamp.total_micros(),
            sender: pn_node_id::from(&r.sender),
            message_type_len: r.message_type.len(),
            message_type,
            payload_offset: offset,
            payload_len: r.payload.len(),
        });
        offset += r.payload.len();
    }
    count.set(found.len());
    payload_len.set(offset);
    Ok(())
}

/// Checks the archived batch in `bytes` (`len` bytes: header, zlib stream, every
/// record) and writes its header into `*out_header`; `PN_ERR_DECODE_*` for bytes
/// that are not an intact batch (`PN_ERR_DECODE_TOO_LARGE` past 4 MiB of records).
///
/// # Safety
/// `bytes_ptr` NULL or readable for `len` bytes; `out_header` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_batch_parse(
    bytes_ptr: *const u8,
    len: usize,
    out_header: *mut pn_batch_header,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (input, out) = unsafe { (bytes(bytes_ptr, len)?, Out::new(out_header)?) };
        let b = batch(input)?;
        let h = b.header();
        out.set(pn_batch_header {
            id: h.id,
            level: h.level,
            count: h.count,
            first_us: h.first.total_micros(),
            last_us: h.last.total_micros(),
            sealed_at_us: h.sealed_at.total_micros(),
            raw_len: h.raw_len,
            zlib_len: h.zlib_len,
        });
        Ok(())
    })
}

/// Finds the records of the archived batch in `bytes` with
/// `start_us <= timestamp <= end_us`, of `message_type` and from `sender` when
/// those are given (NULL or length 0: any), in batch (timestamp) order.
///
/// Writes the `*out_count` matches to `out_records` and their payloads back to back
/// into `payload_buf` (`*out_payload_len` bytes). If either capacity is too small:
/// `PN_ERR_BUFFER_TOO_SMALL` with the needed count and length in the same
/// out-parameters, nothing else written (ask with 0 and NULL first).
/// `PN_ERR_DECODE_*` for bytes that are not an intact batch.
///
/// # Safety
/// Every pointer NULL (with a 0 length or capacity) or valid for its length or
/// capacity; `out_count` and `out_payload_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_batch_search(
    bytes_ptr: *const u8,
    len: usize,
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
        let (input, message_type, sender, records, payloads, count, payload_len) = unsafe {
            (
                bytes(bytes_ptr, len)?,
                opt_text(message_type, message_type_len)?,
                opt_text(sender, sender_len)?,
                slots(out_records, records_cap)?,
                slots(payload_buf, payload_cap)?,
                Out::new(out_count)?,
                Out::new(out_payload_len)?,
            )
        };
        let query =
            Query { start: Instant::from_micros(start_us), end: Instant::from_micros(end_us), message_type, sender };
        let mut found = batch(input)?.records()?;
        found.retain(|r| query.matches(&r.as_ref()));
        write_found(&found, records, payloads, count, payload_len)
    })
}

/// Where a batch of version 2 or later sits in its node's Merkle log, from its header.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_batch_log {
    /// The batch's index in the log (batches before it).
    pub index: u64,
    /// Records in the batch (leaves of its tree).
    pub count: u32,
    /// RFC 9162 root over the batch's record leaves.
    pub batch_root: [u8; PN_HASH_LEN],
    /// The log root before this batch.
    pub log_root_before: [u8; PN_HASH_LEN],
    /// The log root with this batch appended.
    pub log_root_after: [u8; PN_HASH_LEN],
}

/// Checks the archived batch in `bytes` (every record hashed, the batch root
/// compared) and writes its place in its node's Merkle log to `*out_log` (one
/// batch's `log_root_after` is the next's `log_root_before`).
/// `PN_ERR_INVALID_ARGUMENT` for a version 1 batch (no log), `PN_ERR_DECODE*` as
/// `pn_batch_parse`.
///
/// # Safety
/// `bytes_ptr` NULL or readable for `len` bytes; `out_log` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_batch_log_info(bytes_ptr: *const u8, len: usize, out_log: *mut pn_batch_log) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (input, out) = unsafe { (bytes(bytes_ptr, len)?, Out::new(out_log)?) };
        let batch = pouw_netops::Batch::from_bytes(input, HistoryConfig::default().max_batch_bytes)?;
        batch.validate()?;
        let view: BatchView<'_> = batch.view();
        let (Some(log), Some(before), Some(after)) =
            (batch.header().log, view.log_root_before(), view.log_root_after())
        else {
            return Err(Failure::from(pouw_netops::history::ProveError::NotInLog));
        };
        out.set(pn_batch_log {
            index: log.log_size_before,
            count: batch.header().count,
            batch_root: log.batch_root,
            log_root_before: before,
            log_root_after: after,
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr::{null, null_mut};
    use pouw_netops::history::RecordRef;

    fn record<'a>(secs: u64, sender: &'a str, message_type: &'a str, payload: &'a [u8]) -> RecordRef<'a> {
        RecordRef { timestamp: Instant::from_secs(secs), sender, message_type, payload }
    }

    /// A batch built by the core reads back through the C functions: the header
    /// as the core parsed it, and exactly the records the core's query matches.
    #[test]
    fn parse_and_search_agree_with_the_core() {
        let records = [record(1, "a", "hb", &[1]), record(2, "b", "hb", &[2, 2]), record(3, "a", "task", &[3, 3, 3])];
        let batch = Batch::from_records(7, Instant::from_secs(4), 6, &records).unwrap();
        let bytes = batch.as_bytes();
        let mut header = MaybeUninit::<pn_batch_header>::uninit();
        // SAFETY: live locals with their true lengths throughout.
        unsafe {
            assert_eq!(pn_batch_parse(bytes.as_ptr(), bytes.len(), header.as_mut_ptr()), pn_result::PN_OK);
            let h = header.assume_init();
            assert_eq!((h.id, h.count, h.first_us, h.last_us, h.sealed_at_us), (7, 3, 1_000_000, 3_000_000, 4_000_000));
            assert_eq!((h.raw_len, h.zlib_len), (batch.header().raw_len, batch.header().zlib_len));

            let search = |sender: &str, out: &mut Vec<pn_history_record>, payload: &mut Vec<u8>| {
                let (mut count, mut len) = (0usize, 0usize);
                let r = pn_batch_search(
                    bytes.as_ptr(),
                    bytes.len(),
                    0,
                    u64::MAX,
                    null(),
                    0,
                    sender.as_ptr().cast(),
                    sender.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    payload.as_mut_ptr(),
                    payload.len(),
                    &mut count,
                    &mut len,
                );
                (r, count, len)
            };
            let (mut out, mut payload) = (Vec::new(), Vec::new());
            assert_eq!(search("a", &mut out, &mut payload), (pn_result::PN_ERR_BUFFER_TOO_SMALL, 2, 4));
            out = vec![
                pn_history_record {
                    timestamp_us: 0,
                    sender: pn_node_id::EMPTY,
                    message_type_len: 0,
                    message_type: [0; 64],
                    payload_offset: 0,
                    payload_len: 0
                };
                2
            ];
            payload = vec![0; 4];
            assert_eq!(search("a", &mut out, &mut payload), (pn_result::PN_OK, 2, 4));
            let query = Query { sender: Some("a"), ..Query::window(Instant::ZERO, Instant::from_micros(u64::MAX)) };
            let expected: Vec<_> = records.iter().filter(|r| query.matches(r)).collect();
            for (got, want) in out.iter().zip(&expected) {
                assert_eq!(got.timestamp_us, want.timestamp.total_micros());
                assert_eq!(got.sender, pn_node_id::from_text(want.sender));
                assert_eq!(&got.message_type[..got.message_type_len], want.message_type.as_bytes());
                assert_eq!(&payload[got.payload_offset..got.payload_offset + got.payload_len], want.payload);
            }

            let cut = &bytes[..bytes.len() - 1];
            assert_ne!(pn_batch_parse(cut.as_ptr(), cut.len(), header.as_mut_ptr()), pn_result::PN_OK);
            assert_eq!(pn_batch_parse(null(), 1, header.as_mut_ptr()), pn_result::PN_ERR_NULL_POINTER);
            assert_eq!(pn_batch_parse(bytes.as_ptr(), bytes.len(), null_mut()), pn_result::PN_ERR_NULL_POINTER);
        }
    }
}
