//! The owned forms the history keeps and returns: [`Record`], one message,
//! and [`Batch`], a sealed batch's bytes with its parsed header (built from
//! records, or copied from bytes and checked).

use super::*;

/// An owned message record (what searches return).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When the message was seen (caller time).
    pub timestamp: Instant,
    /// The node that sent it.
    pub sender: NodeId,
    /// Its kind, 1 to [`MAX_MESSAGE_TYPE_LEN`] bytes.
    pub message_type: String<MAX_MESSAGE_TYPE_LEN>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl Record {
    /// A record, or why the message type is not acceptable.
    pub fn new(timestamp: Instant, sender: NodeId, message_type: &str, payload: Vec<u8>) -> Result<Self, RecordError> {
        if message_type.is_empty() {
            return Err(RecordError::BadMessageType);
        }
        let message_type = String::try_from(message_type).map_err(|_| RecordError::BadMessageType)?;
        Ok(Record { timestamp, sender, message_type, payload })
    }

    /// A borrowed view, as [`MessageHistoryCompressor::add_message`] takes.
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            timestamp: self.timestamp,
            sender: self.sender.as_str(),
            message_type: self.message_type.as_str(),
            payload: &self.payload,
        }
    }

    /// An owned copy of `r`, or why its ids are invalid.
    pub fn from_ref(r: &RecordRef<'_>) -> Result<Self, RecordError> {
        let sender = NodeId::new(r.sender).map_err(|_| RecordError::BadSender)?;
        Record::new(r.timestamp, sender, r.message_type, r.payload.to_vec())
    }
}

/// A sealed batch held in memory: its parsed header and its bytes (header + zlib).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub(super) header: BatchHeader,
    pub(super) bytes: Vec<u8>,
}

impl Batch {
    /// Copies and parses `bytes`, checking the header only (declared raw length at
    /// most `max_raw_len`); use [`Batch::validate`] to check the records too.
    pub fn from_bytes(bytes: &[u8], max_raw_len: usize) -> Result<Self, BatchError> {
        let header = BatchHeader::parse(bytes, max_raw_len)?;
        Ok(Batch { header, bytes: bytes.to_vec() })
    }

    /// Compresses `records` (in non-decreasing timestamp order, valid ids) into a
    /// batch with id `id` at zlib `level` (0 to 10), the first of a Merkle log.
    pub fn from_records(id: u64, sealed_at: Instant, level: u8, records: &[RecordRef<'_>]) -> Result<Self, BatchError> {
        Self::from_records_in_log(id, sealed_at, level, records, &Frontier::new())
    }

    /// [`Batch::from_records`] for a batch appended to the log with frontier `log`.
    pub fn from_records_in_log(
        id: u64,
        sealed_at: Instant,
        level: u8,
        records: &[RecordRef<'_>],
        log: &Frontier,
    ) -> Result<Self, BatchError> {
        if level > 10 {
            return Err(BatchError::BadHeader("compression level above 10"));
        }
        let mut raw = Vec::new();
        let mut prev = Instant::ZERO;
        for (index, r) in records.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            r.check_ids()
                .map_err(|_| BatchError::BadRecord { index, reason: "sender or message type out of bounds" })?;
            if r.timestamp < prev {
                return Err(BatchError::BadRecord { index, reason: "timestamp out of order" });
            }
            prev = r.timestamp;
            r.encode_into(&mut raw);
        }
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Err(BatchError::BadHeader("no records"));
        };
        let count = u32::try_from(records.len()).map_err(|_| BatchError::BadHeader("too many records"))?;
        let parts = Parts { id, level, sealed_at, count, first: first.timestamp, last: last.timestamp };
        Batch::seal(&parts, &raw, log, &mut Encoder::default())
    }

    /// Seals `raw` (the canonical encoding of `parts.count` valid records in
    /// order) as a batch of the version this build writes appended to the log with frontier `log`.
    pub(super) fn seal(parts: &Parts, raw: &[u8], log: &Frontier, encoder: &mut Encoder) -> Result<Self, BatchError> {
        let header = BatchHeader {
            version: BATCH_FORMAT_VERSION,
            id: parts.id,
            level: parts.level,
            count: parts.count,
            first: parts.first,
            last: parts.last,
            sealed_at: parts.sealed_at,
            raw_len: u32::try_from(raw.len()).map_err(|_| BatchError::BadHeader("raw length over u32"))?,
            zlib_len: 0,
            summary: Summary::EMPTY,
            log: None,
        };
        // The records, their leaves and the batch root.
        // (Callers pass records they checked: only their lengths are read here.)
        let mut tree = Frontier::new();
        let mut fields = Vec::with_capacity(parts.count as usize);
        walk(raw, parts.count, &mut fields)?;
        for f in &fields {
            tree.push(leaf_hash(f.encoded));
        }
        let mut body = Vec::with_capacity(raw.len() / 4);
        let (dict_entries, numbers) = encoder.encode(&fields, parts.first.total_micros(), &mut body);
        let summary = encoder.summary();
        // Never fails for a level the header accepts (0 to 10).
        let zlib = encoder.deflate(&body, parts.level, numbers).ok_or(BatchError::BadHeader("deflate failed"))?;
        let header = BatchHeader {
            summary,
            zlib_len: u32::try_from(zlib.len()).map_err(|_| BatchError::BadHeader("zlib length over u32"))?,
            log: Some(LogInfo {
                body_len: u32::try_from(body.len()).map_err(|_| BatchError::BadHeader("body length over u32"))?,
                dict_entries,
                batch_root: tree.root(),
                log_size_before: log.size(),
            }),
            ..header
        };
        let (fixed, fixed_len) = header.fixed_bytes();
        let mut bytes = Vec::with_capacity(header.header_len().saturating_add(zlib.len()));
        bytes.extend_from_slice(fixed.get(..fixed_len).unwrap_or_default());
        for h in log.hashes() {
            bytes.extend_from_slice(h);
        }
        bytes.extend_from_slice(zlib);
        Ok(Batch { header, bytes })
    }

    /// The header.
    pub const fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The batch bytes (header and zlib stream), as the host stores them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The batch bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// A borrowed view.
    pub fn view(&self) -> BatchView<'_> {
        // The bytes were parsed (or built) with this header, so re-parsing cannot
        // fail; the fallback keeps this total without a panic.
        BatchView::parse(&self.bytes, self.header.raw_len as usize).unwrap_or_else(|_| BatchView::empty(self.header))
    }

    /// Decodes the records' canonical (postcard) encoding, exactly the declared raw length.
    pub fn decompress(&self) -> Result<Vec<u8>, BatchError> {
        let mut scratch = alloc::vec![0u8; self.header.scratch_len()];
        let at = self.header.scratch_len() - self.header.raw_len as usize;
        self.view().raw_records(&mut scratch)?;
        scratch.drain(..at);
        Ok(scratch)
    }

    /// The records' Merkle leaf hashes, in order, once the batch is checked
    /// (for versions 2 and 3, against its root).
    pub fn leaves(&self) -> Result<Vec<Hash>, BatchError> {
        let mut scratch = alloc::vec![0u8; self.header.scratch_len()];
        let mut out = Vec::with_capacity(self.header.count as usize);
        self.view().validate_with(&mut scratch, |_, bytes, leaf| {
            out.push(leaf.copied().unwrap_or_else(|| leaf_hash(bytes)));
            Ok(())
        })?;
        Ok(out)
    }

    /// Decodes every record (checked as [`BatchView::validate`] does, in the same pass).
    pub fn records(&self) -> Result<Vec<Record>, BatchError> {
        let mut scratch = alloc::vec![0u8; self.header.scratch_len()];
        let mut out = Vec::with_capacity(self.header.count as usize);
        self.view().validate_with(&mut scratch, |r, _, _| {
            let index = u32::try_from(out.len()).unwrap_or(u32::MAX);
            out.push(Record::from_ref(r).map_err(|_| BatchError::BadRecord { index, reason: "invalid id" })?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Checks the whole batch (see [`BatchView::validate`]); returns the record count.
    pub fn validate(&self) -> Result<u32, BatchError> {
        let mut scratch = alloc::vec![0u8; self.header.scratch_len()];
        self.view().validate(&mut scratch)
    }

    /// Ordering of retained batches: by time range, then id.
    pub(super) fn key(&self) -> (Instant, Instant, u64) {
        (self.header.first, self.header.last, self.header.id)
    }
}

/// The header fields of a batch being sealed.
pub(super) struct Parts {
    pub(super) id: u64,
    pub(super) level: u8,
    pub(super) sealed_at: Instant,
    pub(super) count: u32,
    pub(super) first: Instant,
    pub(super) last: Instant,
}
