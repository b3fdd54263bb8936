//! Message history: buffer the messages a node saw, compress them in batches,
//! search them, and hand old batches to the host.
//!
//! It follows the crate's [sans-IO contract](crate#the-sans-io-contract): time,
//! method kinds, drain order, errors and capacity.
//!
//! Records are postcard-encoded into a buffer. When the buffer holds
//! [`HistoryConfig::compression_threshold`] records or
//! [`HistoryConfig::max_batch_bytes`] raw bytes, it is sealed into a [`Batch`]: a
//! self-describing header (count, time range, raw size, a bloom summary of
//! senders and types, the batch's Merkle root and place in the log) and a
//! standard zlib stream that Python's `zlib.decompress` reads, of a columnar body
//! (types and senders dictionary-coded, timestamps delta-coded, payloads split
//! into templates and number columns). The format is documented in [`batch`] and
//! [`columnar`]; version 1 batches (postcard records) are still read.
//!
//! Every record is a leaf of a Merkle log ([`merkle`]): each batch has a root,
//! and the log over the batches has the root a PoUW block commits to
//! ([`MessageHistoryCompressor::log_root`]). The history proves a message is in
//! the log ([`MessageHistoryCompressor::inclusion_proof`], also for archived
//! batches the host hands back) and that the log extends an earlier one
//! ([`MessageHistoryCompressor::consistency_proof`]); verifying needs no `alloc`. At most `B` batches stay in
//! memory; older ones move to an outbox of `A` that the host drains with
//! [`MessageHistoryCompressor::poll_archived`] and may bring back with
//! [`MessageHistoryCompressor::import_batch`].
//!
//! Record timestamps are caller time and, like all caller time in the core, are
//! clamped so the history never goes backwards (counted in
//! [`HistoryStats::timestamps_clamped`]). So records are in timestamp order,
//! retained batches never overlap in time (their ends may touch), and search can
//! skip whole batches by their header and stop at the end of its window.
//!
//! Compressing needs the `alloc` feature; parsing, inflating (into a caller buffer)
//! and iterating batches with [`BatchView`] and [`Query`] do not.

pub mod batch;
pub mod columnar;
pub mod merkle;

pub use batch::{
    BATCH_FORMAT_VERSION, BATCH_HEADER_LEN, BatchError, BatchHeader, BatchView, LogInfo, MAX_MESSAGE_TYPE_LEN,
    RecordError, RecordRef, Records, Summary,
};
pub use merkle::{Frontier, Hash, InclusionProof, ProofError};

use crate::error::ConfigError;
use crate::time::Instant;
use core::fmt;

/// Per-record overhead on top of the payload in the worst case: a 10-byte
/// timestamp varint, sender and type with their length bytes, a 5-byte payload
/// length.
pub const MAX_RECORD_OVERHEAD: usize = 10 + 1 + crate::id::MAX_ID_LEN + 1 + MAX_MESSAGE_TYPE_LEN + 5;

/// Tunables of a [`MessageHistoryCompressor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Seal the buffer into a batch when it holds this many records (default 1000).
    pub compression_threshold: u32,
    /// Seal the buffer before its raw postcard bytes would exceed this (default
    /// 4 MiB). Also the cap on the raw length of imported batches.
    pub max_batch_bytes: usize,
    /// The longest payload accepted (default 64 KiB).
    pub max_payload_len: usize,
    /// zlib level, 0 (store) to 10 (default 6; 9 is zlib's best, 10 miniz's
    /// slowest). The numbers taken out of payloads (mostly the random digits
    /// of losses and hashes) are deflated in blocks of their own, at level 1's
    /// search up to level 6: a smaller batch than one stream, in under half
    /// level 6's time.
    pub compression_level: u8,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            compression_threshold: 1000,
            max_batch_bytes: 4 * 1024 * 1024,
            max_payload_len: 64 * 1024,
            compression_level: 6,
        }
    }
}

impl HistoryConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.compression_threshold == 0 {
            return Err(ConfigError::new("compression_threshold", "at least 1"));
        }
        if self.max_payload_len > u32::MAX as usize / 2 {
            return Err(ConfigError::new("max_payload_len", "at most 2 GiB"));
        }
        if self.max_batch_bytes < self.max_payload_len.saturating_add(MAX_RECORD_OVERHEAD)
            || self.max_batch_bytes > u32::MAX as usize
        {
            return Err(ConfigError::new(
                "max_batch_bytes",
                "room for one record of max_payload_len (plus 145 bytes) and at most u32::MAX",
            ));
        }
        if self.compression_level > 10 {
            return Err(ConfigError::new("compression_level", "0 to 10"));
        }
        Ok(())
    }
}

/// What to look for: records with `start <= timestamp <= end`, optionally only of
/// one message type and/or from one sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query<'a> {
    /// Earliest timestamp, inclusive.
    pub start: Instant,
    /// Latest timestamp, inclusive.
    pub end: Instant,
    /// Only this message type, if set.
    pub message_type: Option<&'a str>,
    /// Only this sender, if set.
    pub sender: Option<&'a str>,
}

impl<'a> Query<'a> {
    /// Everything between `start` and `end` inclusive.
    pub const fn window(start: Instant, end: Instant) -> Self {
        Query { start, end, message_type: None, sender: None }
    }

    /// Whether `r` matches.
    pub fn matches(&self, r: &RecordRef<'_>) -> bool {
        r.timestamp >= self.start
            && r.timestamp <= self.end
            && self.message_type.is_none_or(|t| t == r.message_type)
            && self.sender.is_none_or(|s| s == r.sender)
    }

    /// `false` if no record of the batch can match (by time range and summary).
    pub fn may_match(&self, h: &BatchHeader) -> bool {
        h.last >= self.start
            && h.first <= self.end
            && self.message_type.is_none_or(|t| h.summary.may_contain_type(t))
            && self.sender.is_none_or(|s| h.summary.may_contain_sender(s))
    }
}

/// Why [`MessageHistoryCompressor::add_message`] rejected a record. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The record itself is invalid.
    Record(RecordError),
    /// The buffer must be sealed first, but all `B` batch slots are full and the
    /// archive outbox too: drain [`MessageHistoryCompressor::poll_archived`].
    ArchiveFull,
}

crate::error::error_impls! {
    AddError, f;
    AddError::Record(e) => e.kind(), write!(f, "invalid record: {e}");
    AddError::ArchiveFull => ArchiveFullError.kind(), fmt::Display::fmt(&ArchiveFullError, f);
}

impl From<RecordError> for AddError {
    fn from(e: RecordError) -> Self {
        AddError::Record(e)
    }
}

/// [`MessageHistoryCompressor::compress_batch`] could not seal: every batch slot
/// and the archive outbox are full. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveFullError;

crate::error::error_impls! {
    ArchiveFullError, f;
    ArchiveFullError => ErrorKind::CapacityExceeded, f.write_str("archive outbox is full; poll archived batches first");
}

/// Why [`MessageHistoryCompressor::import_batch`] refused a batch. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportError {
    /// The bytes are not a valid batch.
    Invalid(BatchError),
    /// A batch with this id is already in memory.
    Duplicate(u64),
    /// The batch's time range overlaps a retained batch (its id) or the buffer (`None`).
    Overlaps(Option<u64>),
    /// All batch slots are in use.
    Full {
        /// The number of slots.
        capacity: usize,
    },
}

crate::error::error_impls! {
    ImportError, f;
    ImportError::Invalid(e) => e.kind(), write!(f, "invalid batch: {e}");
    ImportError::Duplicate(id) => ErrorKind::InvalidState, write!(f, "batch {id} is already in memory");
    ImportError::Overlaps(Some(id)) => ErrorKind::InvalidState, write!(f, "batch overlaps batch {id} in time");
    ImportError::Overlaps(None) => ErrorKind::InvalidState, f.write_str("batch overlaps the unsealed buffer in time");
    ImportError::Full { capacity } => ErrorKind::CapacityExceeded, write!(f, "all {capacity} batch slots are in use");
}

impl From<BatchError> for ImportError {
    fn from(e: BatchError) -> Self {
        ImportError::Invalid(e)
    }
}

/// Counters and derived figures of a history.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HistoryStats {
    /// Records accepted by `add_message` since creation.
    pub total_messages: u64,
    /// Records sealed into batches since creation.
    pub messages_compressed: u64,
    /// Raw postcard bytes sealed into batches.
    pub raw_bytes: u64,
    /// Bytes of the batches produced (header and zlib stream).
    pub compressed_bytes: u64,
    /// `compressed_bytes / raw_bytes` (1.0 before anything is compressed; lower is better).
    pub compression_ratio: f64,
    /// `raw_bytes - compressed_bytes`, zero if compression grew the data.
    pub space_saved_bytes: u64,
    /// `space_saved_bytes` as a percentage of `raw_bytes`.
    pub space_saved_percent: f64,
    /// Records in the unsealed buffer.
    pub buffer_messages: u32,
    /// Raw bytes in the unsealed buffer.
    pub buffer_bytes: usize,
    /// Batches held in memory (searchable).
    pub batches_in_memory: usize,
    /// Batches moved out of memory to the archive outbox since creation.
    pub batches_archived: u64,
    /// Archived batches the host has not polled yet.
    pub archive_pending: usize,
    /// Batches brought back with `import_batch`.
    pub batches_imported: u64,
    /// Records whose timestamp was earlier than the history's latest and was clamped up to it.
    pub timestamps_clamped: u64,
}

#[cfg(feature = "alloc")]
mod compressor;
#[cfg(feature = "alloc")]
pub use compressor::{Batch, MAX_LOG_ENTRIES, MessageHistoryCompressor, ProveError, Record, SearchIter};

#[cfg(test)]
mod tests;
#[cfg(test)]
#[path = "history/tests/v2.rs"]
mod tests_v2;
