//! The self-describing batch format: a header, then a standard zlib stream.
//!
//! This build writes version 3 and reads versions 1, 2 and 3. All share the
//! first 116 header bytes:
//!
//! ```text
//! offset len  field
//!      0   4  magic "PNHB"
//!      4   1  format version (1, 2 or 3)
//!      5   1  compression level used (informational)
//!      6   2  reserved, zero
//!      8   8  batch id (u64 LE)
//!     16   4  record count (u32 LE, at least 1)
//!     20   8  first record timestamp (µs, u64 LE)
//!     28   8  last record timestamp (µs, u64 LE)
//!     36   8  sealed at: caller time when the batch was compressed (µs, u64 LE)
//!     44   4  raw length: bytes of the records' canonical (postcard) encoding (u32 LE)
//!     48   4  zlib length: bytes after the header (u32 LE)
//!     52  64  summary: a 512-bit bloom filter over senders and message types
//! ```
//!
//! Version 1 ends its header there; its zlib stream (RFC 1950) inflates to the
//! concatenated postcard records. Versions 2 and 3 go on (they differ only in
//! how the columnar body stores numbers, see [`super::columnar`]):
//!
//! ```text
//!    116   4  body length: bytes of the columnar body once inflated (u32 LE)
//!    120   4  dictionary entries of the body (u32 LE)
//!    124  32  batch root: RFC 9162 Merkle tree hash over the record leaves
//!    156   8  log size before this batch, in batches (u64 LE)
//!    164 32k  the log's frontier before this batch: k = popcount(log size) hashes
//!  164+32k …  zlib stream of the columnar body (see [`super::columnar`])
//! ```
//!
//! Each record's canonical encoding is postcard's `(timestamp: varint u64, sender:
//! str, message_type: str, payload: bytes)`, exactly as [`RecordRef`] serializes;
//! its Merkle leaf is the SHA-256 of `0x00 ||` those bytes (see [`super::merkle`]).
//! With the frontier a verifier holding only this batch recomputes the log root
//! before it ([`BatchView::log_root_before`]) and after it
//! ([`BatchView::log_root_after`]). The records are in non-decreasing timestamp
//! order. Everything here works without `alloc`: decoding writes into a caller
//! buffer of [`BatchHeader::scratch_len`] bytes, and never more than the declared
//! lengths, which the caller caps.
//!
//! This module holds the header and [`BatchView`]; `batch/record.rs` one
//! record's encoding and the checked record iterator, `batch/summary.rs` the
//! header's bloom filter.

use super::columnar;
use super::merkle::{Frontier, Hash, Path, batch_entry_hash, leaf_hash};
use crate::time::Instant;
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

mod record;
mod summary;

#[cfg(feature = "alloc")]
pub(crate) use record::push_varint;
#[cfg(feature = "alloc")]
pub(crate) use record::varint_len;
use record::{MIN_RECORD_LEN, check_record};
pub use record::{RecordError, RecordRef, Records, encode_record};
pub use summary::Summary;

/// A version 2 or 3 batch's inflated columnar body, the decoder's dictionary
/// table and the output for the records' canonical encoding, all in one
/// caller scratch buffer (see [`BatchView::raw_records`]).
type BodyParts<'o> = (&'o [u8], &'o mut [u8], &'o mut [u8]);

/// The four bytes every batch starts with.
pub const BATCH_MAGIC: [u8; 4] = *b"PNHB";
/// The batch format version this build writes (it reads 1, 2 and 3).
pub const BATCH_FORMAT_VERSION: u8 = 3;
/// Length of the header part every version shares (all of a version 1 header).
pub const BATCH_HEADER_LEN: usize = 116;
/// Length of a version 2 or 3 header before its frontier hashes.
pub const BATCH_V2_FIXED_LEN: usize = 164;
/// Bytes in the sender/type summary.
pub const SUMMARY_LEN: usize = 64;
/// The longest message type, in bytes of UTF-8.
pub const MAX_MESSAGE_TYPE_LEN: usize = 64;
/// What a version 2 or 3 header adds: the batch's place in the Merkle log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogInfo {
    /// Bytes of the columnar body once inflated.
    pub body_len: u32,
    /// Dictionary entries (types, senders, templates) of the body.
    pub dict_entries: u32,
    /// MTH over the record leaves.
    pub batch_root: Hash,
    /// Batches in the log before this one (so this batch's index in the log).
    pub log_size_before: u64,
}

/// The header of a batch: enough to decide whether to inflate it at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Format version: 1, 2 or 3.
    pub version: u8,
    /// Deterministic id: the compressor's batch sequence number.
    pub id: u64,
    /// The zlib level the batch was compressed with (informational).
    pub level: u8,
    /// Number of records, at least 1.
    pub count: u32,
    /// Timestamp of the first (earliest) record.
    pub first: Instant,
    /// Timestamp of the last (latest) record.
    pub last: Instant,
    /// Caller time when the batch was compressed.
    pub sealed_at: Instant,
    /// Bytes of the records' canonical (postcard) encoding.
    pub raw_len: u32,
    /// Bytes of the zlib stream after the header.
    pub zlib_len: u32,
    /// Which senders and message types the batch may hold.
    pub summary: Summary,
    /// Version 2: the columnar body and the batch's place in the Merkle log.
    pub log: Option<LogInfo>,
}

/// Why batch bytes could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the fixed header.
    Truncated,
    /// The bytes do not start with [`BATCH_MAGIC`].
    BadMagic,
    /// A format version this build does not read.
    UnsupportedVersion(u8),
    /// A header field is inconsistent (the reason says which).
    BadHeader(&'static str),
    /// The declared raw length exceeds the caller's cap.
    TooLarge {
        /// Declared raw length.
        raw_len: u32,
        /// The cap.
        max: usize,
    },
    /// The caller's buffer is shorter than the declared raw length.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// The zlib stream is invalid, truncated or fails its checksum.
    Corrupt,
    /// The stream inflates to more bytes than declared (for example a zip bomb).
    Overflow,
    /// The stream inflates to fewer bytes than declared, or ends before its input does.
    LengthMismatch,
    /// A record is malformed or disagrees with the header (index of the record).
    BadRecord {
        /// Zero-based record index.
        index: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// The columnar body of a version 2 or 3 batch is malformed (the reason says how).
    BadBody(&'static str),
    /// The records do not hash to the batch root in the header.
    RootMismatch,
}

crate::error::error_impls! {
    BatchError, f;
    BatchError::Truncated => ErrorKind::Truncated, write!(f, "batch shorter than its {BATCH_HEADER_LEN}-byte header");
    BatchError::BadMagic => ErrorKind::Malformed, f.write_str("not a history batch (bad magic)");
    BatchError::UnsupportedVersion(v) => ErrorKind::UnsupportedVersion,
        write!(f, "batch format version {v} unsupported (this build reads 1 to {BATCH_FORMAT_VERSION})");
    BatchError::BadHeader(why) => ErrorKind::Malformed, write!(f, "invalid batch header: {why}");
    BatchError::TooLarge { raw_len, max } => ErrorKind::TooLarge,
        write!(f, "batch declares {raw_len} raw bytes, the cap is {max}");
    BatchError::BufferTooSmall { needed } => ErrorKind::BufferTooSmall,
        write!(f, "buffer too small: {needed} bytes needed");
    BatchError::Corrupt => ErrorKind::Malformed, f.write_str("corrupt zlib stream");
    BatchError::Overflow => ErrorKind::Malformed, f.write_str("zlib stream inflates past the declared raw length");
    BatchError::LengthMismatch => ErrorKind::Malformed, f.write_str("zlib stream length disagrees with the header");
    BatchError::BadRecord { index, reason } => ErrorKind::Malformed, write!(f, "record {index}: {reason}");
    BatchError::BadBody(why) => ErrorKind::Malformed, write!(f, "invalid columnar body: {why}");
    BatchError::RootMismatch => ErrorKind::VerifyFailed,
        f.write_str("records do not hash to the batch root in the header");
}

/// Reads fixed-size little-endian fields from the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], BatchError> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(BatchError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }
    fn u8(&mut self) -> Result<u8, BatchError> {
        Ok(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, BatchError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, BatchError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
}

impl BatchHeader {
    /// Parses and checks the header at the front of `bytes` (which must hold the
    /// whole batch: the zlib length is checked against it); `max_raw_len` caps the
    /// declared raw length (and so everything decoding may ever write).
    pub fn parse(bytes: &[u8], max_raw_len: usize) -> Result<BatchHeader, BatchError> {
        let mut r = Reader(bytes);
        if r.take::<4>()? != BATCH_MAGIC {
            return Err(BatchError::BadMagic);
        }
        let version = r.u8()?;
        if !(1..=BATCH_FORMAT_VERSION).contains(&version) {
            return Err(BatchError::UnsupportedVersion(version));
        }
        let level = r.u8()?;
        if r.take::<2>()? != [0, 0] {
            return Err(BatchError::BadHeader("reserved bytes are not zero"));
        }
        let mut h = BatchHeader {
            version,
            id: r.u64()?,
            level,
            count: r.u32()?,
            first: Instant::from_micros(r.u64()?),
            last: Instant::from_micros(r.u64()?),
            sealed_at: Instant::from_micros(r.u64()?),
            raw_len: r.u32()?,
            zlib_len: r.u32()?,
            summary: Summary::from_bytes(r.take()?),
            log: None,
        };
        if version >= 2 {
            h.log = Some(LogInfo {
                body_len: r.u32()?,
                dict_entries: r.u32()?,
                batch_root: r.take()?,
                log_size_before: r.u64()?,
            });
            let frontier = (h.header_len() - BATCH_V2_FIXED_LEN).min(r.0.len());
            r.0 = r.0.get(frontier..).unwrap_or_default();
            if h.header_len() > bytes.len() {
                return Err(BatchError::Truncated);
            }
        }
        if level > 10 {
            return Err(BatchError::BadHeader("compression level above 10"));
        }
        if h.count == 0 {
            return Err(BatchError::BadHeader("no records"));
        }
        if h.first > h.last {
            return Err(BatchError::BadHeader("first timestamp after last"));
        }
        if h.raw_len as usize > max_raw_len {
            return Err(BatchError::TooLarge { raw_len: h.raw_len, max: max_raw_len });
        }
        if (h.count as usize).saturating_mul(MIN_RECORD_LEN) > h.raw_len as usize {
            return Err(BatchError::BadHeader("raw length too short for the record count"));
        }
        if let Some(log) = h.log {
            // A body is at most about three times the records (escaped digit runs).
            if u64::from(log.body_len) > 4 * u64::from(h.raw_len) + 64 {
                return Err(BatchError::BadHeader("body length out of proportion to the raw length"));
            }
            if u64::from(log.dict_entries) > 3 * u64::from(h.count) || log.dict_entries < 2 {
                return Err(BatchError::BadHeader("dictionary entries out of range for the record count"));
            }
        }
        if r.0.len() != h.zlib_len as usize {
            return Err(BatchError::BadHeader("zlib length disagrees with the batch length"));
        }
        Ok(h)
    }

    /// Bytes of the header: 116 for version 1; for versions 2 and 3, 164 plus 32 per
    /// hash of the log frontier.
    pub const fn header_len(&self) -> usize {
        match self.log {
            None => BATCH_HEADER_LEN,
            Some(log) => BATCH_V2_FIXED_LEN + 32 * log.log_size_before.count_ones() as usize,
        }
    }

    /// What the header says about the columnar body described by `log` (its own).
    const fn body_shape(&self, log: &LogInfo) -> columnar::Shape {
        columnar::Shape {
            version: self.version,
            count: self.count,
            dict_entries: log.dict_entries,
            first: self.first.total_micros(),
        }
    }

    /// Bytes of caller buffer decoding needs: the raw length for version 1; for
    /// versions 2 and 3 the body, the decoder's tables and the raw records.
    pub const fn scratch_len(&self) -> usize {
        match self.log {
            None => self.raw_len as usize,
            Some(log) => (log.body_len as usize)
                .saturating_add(columnar::table_len(log.dict_entries))
                .saturating_add(self.raw_len as usize),
        }
    }

    /// The header bytes before the frontier (116 for version 1, 164 for versions 2 and 3).
    pub fn fixed_bytes(&self) -> ([u8; BATCH_V2_FIXED_LEN], usize) {
        let mut out = [0u8; BATCH_V2_FIXED_LEN];
        let common = BATCH_MAGIC
            .into_iter()
            .chain([self.version, self.level, 0, 0])
            .chain(self.id.to_le_bytes())
            .chain(self.count.to_le_bytes())
            .chain(self.first.total_micros().to_le_bytes())
            .chain(self.last.total_micros().to_le_bytes())
            .chain(self.sealed_at.total_micros().to_le_bytes())
            .chain(self.raw_len.to_le_bytes())
            .chain(self.zlib_len.to_le_bytes())
            .chain(*self.summary.as_bytes());
        let v2 = self.log.into_iter().flat_map(|l| {
            l.body_len
                .to_le_bytes()
                .into_iter()
                .chain(l.dict_entries.to_le_bytes())
                .chain(l.batch_root)
                .chain(l.log_size_before.to_le_bytes())
        });
        for (slot, b) in out.iter_mut().zip(common.chain(v2)) {
            *slot = b;
        }
        (out, if self.log.is_some() { BATCH_V2_FIXED_LEN } else { BATCH_HEADER_LEN })
    }
}

/// A batch borrowed from bytes the caller holds: parsed header plus the zlib stream.
#[derive(Clone, Copy, Debug)]
pub struct BatchView<'a> {
    header: BatchHeader,
    frontier: &'a [u8],
    zlib: &'a [u8],
}

impl<'a> BatchView<'a> {
    /// Parses `bytes` (header and stream, nothing after); the declared raw length
    /// must not exceed `max_raw_len`. Only the header is checked here.
    pub fn parse(bytes: &'a [u8], max_raw_len: usize) -> Result<Self, BatchError> {
        let header = BatchHeader::parse(bytes, max_raw_len)?;
        let zlib = bytes.get(header.header_len()..).ok_or(BatchError::Truncated)?;
        let frontier = bytes.get(BATCH_V2_FIXED_LEN..header.header_len()).unwrap_or_default();
        Ok(BatchView { header, frontier, zlib })
    }

    /// A view with no stream (inflating it fails); a total fallback for callers
    /// that already hold a parsed header.
    #[cfg(feature = "alloc")]
    pub(crate) const fn empty(header: BatchHeader) -> Self {
        BatchView { header, frontier: &[], zlib: &[] }
    }

    /// The header.
    pub const fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The zlib stream (RFC 1950): any standard inflater reads it.
    pub const fn zlib_stream(&self) -> &'a [u8] {
        self.zlib
    }

    /// Version 2: the log's frontier before this batch (its subtree roots,
    /// largest first); `None` for version 1.
    pub fn log_frontier(&self) -> Option<Frontier> {
        let log = self.header.log?;
        Frontier::from_parts(log.log_size_before, Path::new(self.frontier).ok()?).ok()
    }

    /// Version 2: the log root before this batch (from the header alone).
    pub fn log_root_before(&self) -> Option<Hash> {
        self.log_frontier().map(|f| f.root())
    }

    /// Version 2: the log root once this batch is appended, from the header
    /// alone (check the records against the batch root with [`BatchView::validate`]).
    pub fn log_root_after(&self) -> Option<Hash> {
        let log = self.header.log?;
        let mut f = self.log_frontier()?;
        f.push(batch_entry_hash(&log.batch_root, self.header.count)).then(|| f.root())
    }

    /// Inflates the stream into the front of `out`: for version 1 the raw
    /// postcard records, for versions 2 and 3 the columnar body. Writes at most the
    /// declared length; a stream that would produce more, fewer, or that fails
    /// its Adler-32 checksum is an error.
    pub fn inflate_into<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], BatchError> {
        let len = self.header.log.map_or(self.header.raw_len, |l| l.body_len);
        inflate_exact(self.zlib, len as usize, out).map(|o| &*o)
    }

    /// Inflates and decodes into `scratch` (at least [`BatchHeader::scratch_len`]
    /// bytes) and returns the records' canonical encoding.
    pub fn raw_records<'o>(&self, scratch: &'o mut [u8]) -> Result<&'o [u8], BatchError> {
        let h = &self.header;
        let Some(log) = h.log else {
            return inflate_exact(self.zlib, h.raw_len as usize, scratch).map(|o| &*o);
        };
        let (body, table, out) = self.inflate_body(&log, scratch)?;
        columnar::decode(body, h.body_shape(&log), table, out)?;
        Ok(out)
    }

    /// Version 2: inflates the columnar body (of `log`) into the front of
    /// `scratch` (at least [`BatchHeader::scratch_len`] bytes) and splits the
    /// rest into the decoder's dictionary table and the output for the
    /// records' canonical encoding: `(body, table, out)`.
    fn inflate_body<'o>(&self, log: &LogInfo, scratch: &'o mut [u8]) -> Result<BodyParts<'o>, BatchError> {
        let h = &self.header;
        if scratch.len() < h.scratch_len() {
            return Err(BatchError::BufferTooSmall { needed: h.scratch_len() });
        }
        let (body, rest) = scratch.split_at_mut(log.body_len as usize);
        let (table, out) = rest.split_at_mut(columnar::table_len(log.dict_entries));
        let body = inflate_exact(self.zlib, log.body_len as usize, body)?;
        let out = out.get_mut(..h.raw_len as usize).ok_or(BatchError::BufferTooSmall { needed: h.scratch_len() })?;
        Ok((body, table, out))
    }

    /// Decodes into `scratch` (at least [`BatchHeader::scratch_len`] bytes) and
    /// iterates the records, checking each one against the header (see [`Records`]).
    pub fn records<'o>(&self, scratch: &'o mut [u8]) -> Result<Records<'o>, BatchError> {
        let raw = self.raw_records(scratch)?;
        Ok(Records::new(raw, &self.header))
    }

    /// Decodes every record and checks the whole batch: record count, order, time
    /// range and summary agree with the header, and for versions 2 and 3 the records
    /// hash to the batch root. Returns the record count.
    pub fn validate(&self, scratch: &mut [u8]) -> Result<u32, BatchError> {
        self.validate_with(scratch, |_, _, _| Ok(()))
    }

    /// [`BatchView::validate`], handing each record to `each` as it goes with
    /// its canonical bytes and, for versions 2 and 3, its Merkle leaf hash (so callers
    /// collect records or leaves in the same pass).
    pub fn validate_with(
        &self,
        scratch: &mut [u8],
        mut each: impl FnMut(&RecordRef<'_>, &[u8], Option<&Hash>) -> Result<(), BatchError>,
    ) -> Result<u32, BatchError> {
        self.validate_rows(scratch, |r, bytes, leaf, _| each(r, bytes, leaf))
    }

    /// [`BatchView::validate_with`], also giving, for versions 2 and 3, each record's
    /// sender and type as indices into the batch's dictionaries (`(sender,
    /// type)`; equal indices are equal strings within one batch), so a caller
    /// converts each distinct string once. `None` for version 1.
    ///
    /// Version 2 records are checked as the body decoder writes them, without
    /// parsing their canonical bytes again; the checks are those of [`Records`].
    /// An error from `each` stops the pass and is returned.
    pub fn validate_rows(
        &self,
        scratch: &mut [u8],
        mut each: impl FnMut(&RecordRef<'_>, &[u8], Option<&Hash>, Option<(u32, u32)>) -> Result<(), BatchError>,
    ) -> Result<u32, BatchError> {
        let h = &self.header;
        let Some(log) = h.log else {
            let mut n = 0u32;
            let mut records = self.records(scratch)?;
            while let Some(r) = records.next() {
                let r = r?;
                if n == 0 && r.timestamp != h.first {
                    return Err(first_disagrees());
                }
                each(&r, records.last_bytes(), None, None)?;
                n = n.saturating_add(1);
            }
            return if n > 0 && records.prev == h.last { Ok(n) } else { Err(last_disagrees(n)) };
        };
        let (body, table, out) = self.inflate_body(&log, scratch)?;
        let mut n = 0u32;
        let mut prev = h.first;
        let mut tree = Frontier::new();
        columnar::decode_each(body, h.body_shape(&log), table, out, |row| {
            let (Ok(sender), Ok(message_type)) =
                (core::str::from_utf8(row.sender), core::str::from_utf8(row.message_type))
            else {
                return Err(BatchError::BadRecord { index: n, reason: "malformed" });
            };
            let r = RecordRef {
                timestamp: Instant::from_micros(row.timestamp),
                sender,
                message_type,
                payload: row.payload,
            };
            check_record(&r, n, prev, h.last, &h.summary)?;
            if n == 0 && r.timestamp != h.first {
                return Err(first_disagrees());
            }
            let leaf = leaf_hash(row.encoded);
            tree.push(leaf);
            each(&r, row.encoded, Some(&leaf), Some((row.sender_index, row.type_index)))?;
            prev = r.timestamp;
            n = n.saturating_add(1);
            Ok(())
        })?;
        if n == 0 || prev != h.last {
            return Err(last_disagrees(n));
        }
        if tree.root() != log.batch_root {
            return Err(BatchError::RootMismatch);
        }
        Ok(n)
    }
}

fn first_disagrees() -> BatchError {
    BatchError::BadRecord { index: 0, reason: "first timestamp disagrees with the header" }
}

fn last_disagrees(n: u32) -> BatchError {
    BatchError::BadRecord { index: n.saturating_sub(1), reason: "last timestamp disagrees with the header" }
}

/// Inflates a zlib stream into exactly `raw_len` bytes at the front of `out`.
pub(crate) fn inflate_exact<'o>(zlib: &[u8], raw_len: usize, out: &'o mut [u8]) -> Result<&'o mut [u8], BatchError> {
    let out = out.get_mut(..raw_len).ok_or(BatchError::BufferTooSmall { needed: raw_len })?;
    let mut state = DecompressorOxide::new();
    let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
        | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
        | inflate_flags::TINFL_FLAG_COMPUTE_ADLER32;
    let (status, consumed, written) = decompress(&mut state, zlib, out, 0, flags);
    match status {
        TINFLStatus::Done if written == raw_len && consumed == zlib.len() => Ok(out),
        TINFLStatus::Done => Err(BatchError::LengthMismatch),
        TINFLStatus::HasMoreOutput => Err(BatchError::Overflow),
        // Without TINFL_FLAG_HAS_MORE_INPUT a stream that stops early reports one of these.
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => Err(BatchError::Corrupt),
        _ => Err(BatchError::Corrupt),
    }
}
