//! The history manager and the owned types it needs `alloc` for.
//!
//! This module holds [`MessageHistoryCompressor`] and its proofs;
//! `compressor/owned.rs` the owned [`Record`] and [`Batch`],
//! `compressor/search.rs` the search iterator.

use super::columnar::{Encoder, walk};
use super::merkle::{self, Frontier, Hash, InclusionProof, Path, batch_entry_hash, leaf_hash};
use super::{
    AddError, ArchiveFullError, BATCH_FORMAT_VERSION, BatchError, BatchHeader, BatchView, HistoryConfig, HistoryStats,
    ImportError, LogInfo, MAX_MESSAGE_TYPE_LEN, Query, RecordError, RecordRef, Summary,
};
use crate::error::ConfigError;
use crate::id::NodeId;
use crate::storage::Deque;
use crate::time::{Instant, MonotonicClock};
use alloc::boxed::Box;
use alloc::vec::Vec;
use heapless::String;

mod owned;
mod search;

use owned::Parts;
pub use owned::{Batch, Record};
pub use search::SearchIter;

/// The most batch entries a history keeps for building proofs: 2^20 (32 MiB,
/// 10^9 messages in batches of 1000). Past that the log root still advances, but
/// [`MessageHistoryCompressor::inclusion_proof`] and
/// [`MessageHistoryCompressor::consistency_proof`] fail with
/// [`ProveError::LogTooLong`].
pub const MAX_LOG_ENTRIES: usize = 1 << 20;

/// Why a proof could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProveError {
    /// No batch with this id is in memory.
    UnknownBatch(u64),
    /// The batch is not in this history's log (a version 1 batch, or another log's).
    NotInLog,
    /// The record index is not below the batch's record count.
    IndexOutOfRange {
        /// Records in the batch.
        count: u32,
    },
    /// The log size asked for is 0 or larger than the log.
    BadSize,
    /// The log is longer than [`MAX_LOG_ENTRIES`] batches.
    LogTooLong,
    /// The batch bytes are not a valid batch.
    Invalid(BatchError),
}

crate::error::error_impls! {
    ProveError, f;
    ProveError::UnknownBatch(id) => ErrorKind::NotFound, write!(f, "batch {id} is not in memory");
    ProveError::NotInLog => ErrorKind::InvalidArgument, f.write_str("the batch is not in this history's Merkle log");
    ProveError::IndexOutOfRange { count } => ErrorKind::InvalidArgument,
        write!(f, "record index not below the batch's {count} records");
    ProveError::BadSize => ErrorKind::InvalidArgument, f.write_str("log size out of range");
    ProveError::LogTooLong => ErrorKind::CapacityExceeded,
        write!(f, "the log is longer than the {MAX_LOG_ENTRIES} batches kept for proofs");
    ProveError::Invalid(e) => e.kind(), write!(f, "invalid batch: {e}");
}

impl From<BatchError> for ProveError {
    fn from(e: BatchError) -> Self {
        ProveError::Invalid(e)
    }
}

/// Keeps a node's message history: an unsealed buffer, up to `B` compressed
/// batches in memory, and an outbox of up to `A` archived batches for the host.
pub struct MessageHistoryCompressor<const B: usize, const A: usize> {
    config: HistoryConfig,
    clock: MonotonicClock,
    latest_record: Instant,
    raw: Vec<u8>,
    buf_count: u32,
    buf_first: Instant,
    /// Sorted by time range (they never overlap), then id.
    batches: crate::storage::Vec<Batch, B>,
    archive: Deque<Batch, A>,
    next_batch_id: u64,
    stats: HistoryStats,
    /// The Merkle log over sealed batches: its frontier, and its leaves (batch
    /// entries) up to [`MAX_LOG_ENTRIES`] for proofs.
    log: Frontier,
    log_entries: Vec<Hash>,
    encoder: Encoder,
}

impl<const B: usize, const A: usize> MessageHistoryCompressor<B, A> {
    /// A history with `config`, or why the config (or `B` being zero) is invalid.
    /// The batch table and the archive ring are allocated here, once, at full
    /// capacity.
    pub fn new(config: HistoryConfig) -> Result<Self, ConfigError> {
        Self::validate(&config)?;
        Ok(MessageHistoryCompressor {
            config,
            clock: MonotonicClock::new(),
            latest_record: Instant::ZERO,
            raw: Vec::new(),
            buf_count: 0,
            buf_first: Instant::ZERO,
            batches: crate::storage::Vec::new(),
            archive: Deque::new(),
            next_batch_id: 0,
            stats: HistoryStats::default(),
            log: Frontier::new(),
            log_entries: Vec::new(),
            encoder: Encoder::default(),
        })
    }

    /// [`MessageHistoryCompressor::new`] in a box. The batch table and the
    /// archive ring are heap blocks already, so the struct moved into the box
    /// is small whatever the capacities.
    pub fn new_boxed(config: HistoryConfig) -> Result<Box<Self>, ConfigError> {
        Self::new(config).map(Box::new)
    }

    fn validate(config: &HistoryConfig) -> Result<(), ConfigError> {
        config.validate()?;
        if B == 0 {
            return Err(ConfigError::new("B (batches in memory)", "at least 1"));
        }
        Ok(())
    }

    /// The configuration.
    pub const fn config(&self) -> &HistoryConfig {
        &self.config
    }

    /// Changes the number of records that seals a batch (at least 1). A buffer
    /// already at or above the new threshold is sealed by the next
    /// [`MessageHistoryCompressor::add_message`]. An invalid value changes nothing.
    pub fn set_compression_threshold(&mut self, threshold: u32) -> Result<(), ConfigError> {
        let config = HistoryConfig { compression_threshold: threshold, ..self.config };
        Self::validate(&config)?;
        self.config = config;
        Ok(())
    }

    /// Appends a record. Its timestamp is clamped up to the latest one in the
    /// history if earlier. Seals the buffer into a batch first if the record would
    /// not fit, and after it if the buffer reached the threshold; returns the id of
    /// the last batch this call sealed, if any.
    ///
    /// Fails, changing nothing, if the record is invalid or the buffer must be
    /// sealed first while every batch slot and the outbox are full. (A seal due
    /// *after* the record that cannot happen for that reason is left pending: the
    /// record is kept and the next call reports [`AddError::ArchiveFull`].)
    pub fn add_message(&mut self, now: Instant, record: RecordRef<'_>) -> Result<Option<u64>, AddError> {
        record.check_ids()?;
        if record.payload.len() > self.config.max_payload_len {
            return Err(
                RecordError::PayloadTooLarge { len: record.payload.len(), max: self.config.max_payload_len }.into()
            );
        }
        let clamped = record.timestamp < self.latest_record;
        let record = RecordRef { timestamp: record.timestamp.max(self.latest_record), ..record };
        let len = record.encoded_len();
        let mut sealed = None;
        if self.seals_before_adding(len) {
            if !self.can_seal() {
                return Err(AddError::ArchiveFull);
            }
            sealed = self.seal(now);
        }
        let now = self.clock.observe(now);
        if self.buf_count == 0 {
            self.buf_first = record.timestamp;
        }
        record.encode_into(&mut self.raw);
        self.buf_count = self.buf_count.saturating_add(1);
        self.latest_record = record.timestamp;
        self.stats.total_messages = self.stats.total_messages.saturating_add(1);
        if clamped {
            self.stats.timestamps_clamped = self.stats.timestamps_clamped.saturating_add(1);
        }
        if self.buffer_full() && self.can_seal() {
            return Ok(self.seal(now).or(sealed));
        }
        Ok(sealed)
    }

    /// Seals the buffer into a batch now, whatever its size; `Ok(None)` if it is
    /// empty. Fails, changing nothing, if every batch slot and the outbox are full.
    pub fn compress_batch(&mut self, now: Instant) -> Result<Option<u64>, ArchiveFullError> {
        if self.buf_count == 0 {
            return Ok(None);
        }
        if !self.can_seal() {
            return Err(ArchiveFullError);
        }
        Ok(self.seal(now))
    }

    fn buffer_full(&self) -> bool {
        self.full_with(self.buf_count, self.raw.len())
    }

    /// Whether a buffer of `count` records in `bytes` is due to be sealed.
    fn full_with(&self, count: u32, bytes: usize) -> bool {
        count >= self.config.compression_threshold || bytes >= self.config.max_batch_bytes
    }

    /// Whether the buffer must be sealed before a record of `len` encoded bytes joins it.
    fn seals_before_adding(&self, len: usize) -> bool {
        self.buf_count > 0 && (self.buffer_full() || self.raw.len().saturating_add(len) > self.config.max_batch_bytes)
    }

    /// Whether [`Self::add_message`] with `record` would seal a batch (before
    /// or after adding it), given a free batch slot: so a host can make that
    /// call where a seal may take its time (the Python binding releases the
    /// GIL for it). Changes nothing.
    pub fn add_seals(&self, record: &RecordRef<'_>) -> bool {
        let len = RecordRef { timestamp: record.timestamp.max(self.latest_record), ..*record }.encoded_len();
        let before = self.seals_before_adding(len);
        let (count, bytes) = if before { (0, 0) } else { (self.buf_count, self.raw.len()) };
        before || self.full_with(count.saturating_add(1), bytes.saturating_add(len))
    }

    fn can_seal(&self) -> bool {
        !self.batches.is_full() || !self.archive.is_full()
    }

    /// Seals a non-empty buffer; the caller checked [`Self::can_seal`].
    fn seal(&mut self, now: Instant) -> Option<u64> {
        let now = self.clock.observe(now);
        let id = self.next_batch_id;
        let parts = Parts {
            id,
            level: self.config.compression_level,
            sealed_at: now,
            count: self.buf_count,
            first: self.buf_first,
            last: self.latest_record,
        };
        // Cannot fail: the buffer holds valid records, the config caps the raw
        // length far below u32::MAX, and the body and its zlib stream stay within
        // a small multiple of it.
        let batch = Batch::seal(&parts, &self.raw, &self.log, &mut self.encoder).ok()?;
        let entry = batch.header.log.map(|l| batch_entry_hash(&l.batch_root, batch.header.count))?;
        if self.log.size() == u64::MAX {
            return None;
        }
        if self.batches.is_full() {
            self.evict_oldest();
        }
        let at = self.batches.partition_point(|b| b.key() < batch.key());
        self.stats.messages_compressed = self.stats.messages_compressed.saturating_add(u64::from(self.buf_count));
        self.stats.raw_bytes = self.stats.raw_bytes.saturating_add(self.raw.len() as u64);
        self.stats.compressed_bytes = self.stats.compressed_bytes.saturating_add(batch.bytes.len() as u64);
        if self.batches.insert(at, batch).is_err() {
            // Unreachable after `evict_oldest`; if it ever were, the batch would be
            // lost, so keep the buffer instead.
            return None;
        }
        self.log.push(entry);
        if self.log_entries.len() < MAX_LOG_ENTRIES && self.log_entries.len() as u64 + 1 == self.log.size() {
            self.log_entries.push(entry);
        }
        self.next_batch_id = self.next_batch_id.saturating_add(1);
        self.raw.clear();
        self.buf_count = 0;
        Some(id)
    }

    fn evict_oldest(&mut self) {
        if self.batches.is_empty() || self.archive.is_full() {
            return;
        }
        let Some(oldest) = self.batches.remove(0) else { return };
        if self.archive.push_back(oldest).is_ok() {
            self.stats.batches_archived = self.stats.batches_archived.saturating_add(1);
        }
    }

    /// The oldest archived batch the host has not taken yet. Ownership moves to
    /// the host, which may store it anywhere and bring it back with
    /// [`MessageHistoryCompressor::import_batch`].
    pub fn poll_archived(&mut self) -> Option<Batch> {
        self.archive.pop_front()
    }

    /// The batch [`MessageHistoryCompressor::poll_archived`] would return next, left
    /// in the outbox (bindings size a caller's buffer with it before taking the batch).
    pub fn peek_archived(&self) -> Option<&Batch> {
        self.archive.front()
    }

    /// Brings archived batch bytes back into memory for searching. The batch is
    /// fully checked (inflated with its raw length capped by
    /// [`HistoryConfig::max_batch_bytes`], every record decoded); it must not
    /// overlap a retained batch or the buffer in time, nor repeat a retained id.
    /// Returns the batch id.
    pub fn import_batch(&mut self, now: Instant, bytes: &[u8]) -> Result<u64, ImportError> {
        self.clock.observe(now);
        let batch = Batch::from_bytes(bytes, self.config.max_batch_bytes)?;
        batch.validate()?;
        let h = batch.header;
        if let Some(b) = self.batches.iter().find(|b| b.header.id == h.id) {
            return Err(ImportError::Duplicate(b.header.id));
        }
        // Retained batches must stay ordered end-to-start (ends may touch) so search can stop early.
        if let Some(b) = self.batches.iter().find(|b| !(h.last <= b.header.first || b.header.last <= h.first)) {
            return Err(ImportError::Overlaps(Some(b.header.id)));
        }
        if self.buf_count > 0 && h.last > self.buf_first {
            return Err(ImportError::Overlaps(None));
        }
        if self.batches.is_full() {
            return Err(ImportError::Full { capacity: B });
        }
        let at = self.batches.partition_point(|b| b.key() < batch.key());
        if let Err(batch) = self.batches.insert(at, batch) {
            drop(batch);
            return Err(ImportError::Full { capacity: B });
        }
        if self.buf_count == 0 {
            self.latest_record = self.latest_record.max(h.last);
        }
        self.next_batch_id = self.next_batch_id.max(h.id.saturating_add(1));
        self.stats.batches_imported = self.stats.batches_imported.saturating_add(1);
        Ok(h.id)
    }

    /// Records matching `query`, in timestamp order (equal timestamps in the order
    /// they were added), from the retained batches and the buffer, as an iterator
    /// that inflates one batch at a time and skips batches by header.
    pub fn search_iter<'h, 'q>(&'h self, query: Query<'q>) -> SearchIter<'h, 'q> {
        let next_batch = self.batches.partition_point(|b| b.header.last < query.start);
        SearchIter {
            batches: &self.batches,
            next_batch,
            buffer: &self.raw,
            buffer_count: self.buf_count,
            buffer_first: self.buf_first,
            query,
            scratch: Vec::new(),
            pos: 0,
            left: 0,
            index: 0,
            in_buffer: false,
            done: query.start > query.end,
        }
    }

    /// Collects [`MessageHistoryCompressor::search_iter`] for records with `start <=
    /// timestamp <= end`, of `message_type` and from `sender` if given.
    pub fn search(
        &self,
        start: Instant,
        end: Instant,
        message_type: Option<&str>,
        sender: Option<&str>,
    ) -> Result<Vec<Record>, BatchError> {
        self.search_iter(Query { start, end, message_type, sender }).collect()
    }

    /// Headers of the batches in memory, oldest first.
    pub fn batches(&self) -> impl Iterator<Item = &BatchHeader> {
        self.batches.iter().map(|b| &b.header)
    }

    /// The batch in memory with id `id`.
    pub fn batch(&self, id: u64) -> Option<&Batch> {
        self.batches.iter().find(|b| b.header.id == id)
    }

    /// The Merkle log's root over every batch sealed so far: the 32 bytes a PoUW
    /// block commits to (the SHA-256 of nothing before the first batch).
    pub fn log_root(&self) -> Hash {
        self.log.root()
    }

    /// Batches in the Merkle log (every batch sealed since creation).
    pub const fn log_size(&self) -> u64 {
        self.log.size()
    }

    /// The log's frontier (see [`Frontier`]).
    pub const fn log_frontier(&self) -> &Frontier {
        &self.log
    }

    /// The encoded [`InclusionProof`] that record `index` of the batch `batch_id`
    /// (in memory) is in the log of [`Self::log_size`] batches. Decodes that batch only.
    pub fn inclusion_proof(&self, batch_id: u64, index: u32) -> Result<Vec<u8>, ProveError> {
        let batch = self.batch(batch_id).ok_or(ProveError::UnknownBatch(batch_id))?;
        self.prove(batch, index)
    }

    /// [`Self::inclusion_proof`] for a batch the host holds (an archived one):
    /// decodes only `bytes`, whose raw length is capped by the config.
    pub fn inclusion_proof_for(&self, bytes: &[u8], index: u32) -> Result<Vec<u8>, ProveError> {
        let batch = Batch::from_bytes(bytes, self.config.max_batch_bytes)?;
        self.prove(&batch, index)
    }

    fn prove(&self, batch: &Batch, index: u32) -> Result<Vec<u8>, ProveError> {
        let h = batch.header;
        let log = h.log.ok_or(ProveError::NotInLog)?;
        if self.log_entries.len() as u64 != self.log.size() {
            return Err(ProveError::LogTooLong);
        }
        let at = usize::try_from(log.log_size_before).map_err(|_| ProveError::NotInLog)?;
        if self.log_entries.get(at) != Some(&batch_entry_hash(&log.batch_root, h.count)) {
            return Err(ProveError::NotInLog);
        }
        if index >= h.count {
            return Err(ProveError::IndexOutOfRange { count: h.count });
        }
        let leaves = batch.leaves()?;
        let batch_path = merkle::path_bytes(&merkle::inclusion_path(&leaves, index as usize));
        let log_path = merkle::path_bytes(&merkle::inclusion_path(&self.log_entries, at));
        let proof = InclusionProof {
            index,
            batch_size: h.count,
            batch_index: log.log_size_before,
            log_size: self.log.size(),
            batch_path: Path::new(&batch_path).map_err(|_| ProveError::LogTooLong)?,
            log_path: Path::new(&log_path).map_err(|_| ProveError::LogTooLong)?,
        };
        let mut out = alloc::vec![0u8; proof.encoded_len()];
        proof.encode_into(&mut out);
        Ok(out)
    }

    /// The RFC 9162 consistency proof (hashes back to back) that the current log
    /// extends the log of its first `first` batches (`1 <= first <= log_size`;
    /// empty when equal).
    pub fn consistency_proof(&self, first: u64) -> Result<Vec<u8>, ProveError> {
        if first == 0 || first > self.log.size() {
            return Err(ProveError::BadSize);
        }
        if self.log_entries.len() as u64 != self.log.size() {
            return Err(ProveError::LogTooLong);
        }
        Ok(merkle::path_bytes(&merkle::consistency_path(&self.log_entries, first as usize)))
    }

    /// The log root when it held its first `size` batches (`size <= log_size`).
    pub fn log_root_at(&self, size: u64) -> Result<Hash, ProveError> {
        if size > self.log.size() {
            return Err(ProveError::BadSize);
        }
        if self.log_entries.len() as u64 != self.log.size() {
            return Err(ProveError::LogTooLong);
        }
        Ok(merkle::tree_root(self.log_entries.get(..size as usize).unwrap_or_default()))
    }

    /// Records in the unsealed buffer.
    pub const fn buffer_len(&self) -> u32 {
        self.buf_count
    }

    /// Statistics, with the derived figures computed now.
    pub fn stats(&self) -> HistoryStats {
        let mut s = self.stats;
        s.buffer_messages = self.buf_count;
        s.buffer_bytes = self.raw.len();
        s.batches_in_memory = self.batches.len();
        s.archive_pending = self.archive.len();
        s.space_saved_bytes = s.raw_bytes.saturating_sub(s.compressed_bytes);
        if s.raw_bytes > 0 {
            s.compression_ratio = s.compressed_bytes as f64 / s.raw_bytes as f64;
            s.space_saved_percent = s.space_saved_bytes as f64 * 100.0 / s.raw_bytes as f64;
        } else {
            s.compression_ratio = 1.0;
            s.space_saved_percent = 0.0;
        }
        s
    }
}
