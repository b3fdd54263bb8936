//! The bounds-checked reader and writer the vote, certificate and evidence
//! encodings share: every read checks its length, every write the buffer.

use super::QuorumError;
use super::vote::len_byte;
use crate::id::{MAX_ID_LEN, NodeId};

/// A bounds-checked cursor over input bytes.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, refused as `Oversized` beyond `max` bytes.
    pub(super) fn bounded(bytes: &'a [u8], max: usize) -> Result<Self, QuorumError> {
        if bytes.len() > max {
            return Err(QuorumError::Oversized { len: bytes.len() });
        }
        Ok(Reader { bytes })
    }

    /// As [`Self::bounded`], past a leading version byte that must be `version`.
    pub(super) fn versioned(bytes: &'a [u8], max: usize, version: u8) -> Result<Self, QuorumError> {
        let mut r = Self::bounded(bytes, max)?;
        let got = r.byte()?;
        if got != version {
            return Err(QuorumError::UnknownVersion(got));
        }
        Ok(r)
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], QuorumError> {
        if self.bytes.len() < n {
            return Err(QuorumError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub(super) fn byte(&mut self) -> Result<u8, QuorumError> {
        let (&b, tail) = self.bytes.split_first().ok_or(QuorumError::Truncated)?;
        self.bytes = tail;
        Ok(b)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], QuorumError> {
        let (head, tail) = self.bytes.split_first_chunk::<N>().ok_or(QuorumError::Truncated)?;
        self.bytes = tail;
        Ok(*head)
    }

    pub(super) fn u64(&mut self) -> Result<u64, QuorumError> {
        self.array::<8>().map(u64::from_le_bytes)
    }

    pub(super) fn id(&mut self) -> Result<NodeId, QuorumError> {
        let len = usize::from(self.byte()?);
        if !(1..=MAX_ID_LEN).contains(&len) {
            return Err(QuorumError::Malformed);
        }
        let bytes = self.take(len)?;
        let s = core::str::from_utf8(bytes).map_err(|_| QuorumError::Malformed)?;
        NodeId::new(s).map_err(|_| QuorumError::Malformed)
    }

    pub(super) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    pub(super) fn finish(self) -> Result<(), QuorumError> {
        if self.bytes.is_empty() { Ok(()) } else { Err(QuorumError::TrailingBytes { count: self.bytes.len() }) }
    }
}

/// A bounds-checked writer into the caller's buffer.
pub(super) struct Writer<'a> {
    out: &'a mut [u8],
    pub(super) pos: usize,
}

impl<'a> Writer<'a> {
    pub(super) fn new(out: &'a mut [u8]) -> Self {
        Writer { out, pos: 0 }
    }

    pub(super) fn put(&mut self, bytes: &[u8]) -> Result<(), QuorumError> {
        let end = self.pos.checked_add(bytes.len()).ok_or(QuorumError::BufferTooSmall)?;
        self.out.get_mut(self.pos..end).ok_or(QuorumError::BufferTooSmall)?.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    pub(super) fn put_id(&mut self, id: &NodeId) -> Result<(), QuorumError> {
        self.put(&len_byte(id.as_bytes()))?;
        self.put(id.as_bytes())
    }
}
