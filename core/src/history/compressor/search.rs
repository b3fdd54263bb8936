//! [`SearchIter`]: the matches of a [`Query`] over the retained batches
//! (skipping those whose header rules them out), then the unsealed buffer.

use super::*;

/// Iterator over search matches (see [`MessageHistoryCompressor::search_iter`]).
/// Yields an error and stops if a retained batch fails to decode.
pub struct SearchIter<'h, 'q> {
    pub(super) batches: &'h [Batch],
    pub(super) next_batch: usize,
    pub(super) buffer: &'h [u8],
    pub(super) buffer_count: u32,
    pub(super) buffer_first: Instant,
    pub(super) query: Query<'q>,
    pub(super) scratch: Vec<u8>,
    pub(super) pos: usize,
    pub(super) left: u32,
    pub(super) index: u32,
    pub(super) in_buffer: bool,
    pub(super) done: bool,
}

impl SearchIter<'_, '_> {
    /// Moves to the next batch that may match, or to the buffer; `false` when there is none.
    fn advance(&mut self) -> Result<bool, BatchError> {
        while !self.in_buffer {
            let Some(b) = self.batches.get(self.next_batch) else {
                self.in_buffer = true;
                break;
            };
            self.next_batch = self.next_batch.saturating_add(1);
            if b.header.first > self.query.end {
                return Ok(false);
            }
            if self.query.may_match(&b.header) {
                let len = b.header.scratch_len();
                self.scratch.resize(len, 0);
                b.view().raw_records(&mut self.scratch)?;
                // The records are at the end of the scratch buffer.
                self.pos = len - b.header.raw_len as usize;
                self.index = 0;
                self.left = b.header.count;
                return Ok(true);
            }
        }
        if self.buffer_count == 0 || self.buffer_first > self.query.end || self.left > 0 {
            return Ok(false);
        }
        self.pos = 0;
        self.index = 0;
        self.left = self.buffer_count;
        self.buffer_count = 0;
        Ok(true)
    }
}

impl Iterator for SearchIter<'_, '_> {
    type Item = Result<Record, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if self.left == 0 {
                match self.advance() {
                    Ok(true) => continue,
                    Ok(false) => self.done = true,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            let src = if self.in_buffer { self.buffer } else { &self.scratch };
            let index = self.index;
            let bad = |reason| BatchError::BadRecord { index, reason };
            let decoded = src
                .get(self.pos..)
                .ok_or(bad("truncated"))
                .and_then(|s| postcard::take_from_bytes::<RecordRef<'_>>(s).map_err(|_| bad("malformed")))
                .map(|(r, rest)| (r, src.len().saturating_sub(rest.len())));
            let (r, end) = match decoded {
                Ok(v) => v,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.pos = end;
            self.left = self.left.saturating_sub(1);
            self.index = self.index.saturating_add(1);
            if r.timestamp > self.query.end {
                // Records are in timestamp order across batches and the buffer.
                self.done = true;
                return None;
            }
            if self.query.matches(&r) {
                return Some(Record::from_ref(&r).map_err(|_| bad("invalid id")));
            }
        }
        None
    }
}
