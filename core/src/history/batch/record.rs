//! One record of a batch: its canonical (postcard) encoding, written by
//! [`encode_record`] and [`RecordRef`], read back and checked one by one by
//! [`Records`] (valid ids, timestamps in order and in the header's range,
//! covered by the header's summary).

use super::{BatchError, BatchHeader, MAX_MESSAGE_TYPE_LEN, Summary};
use crate::id::MAX_ID_LEN;
use crate::time::Instant;
use serde::{Deserialize, Serialize};

/// The smallest possible encoded record: one-byte timestamp, one-byte sender and
/// type (each with a length byte) and an empty payload.
pub(super) const MIN_RECORD_LEN: usize = 6;

/// A borrowed message record: what [`crate::history::MessageHistoryCompressor::add_message`]
/// takes and what decoding a batch yields (borrowing the inflated bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef<'a> {
    /// When the message was seen (caller time).
    pub timestamp: Instant,
    /// The node that sent it: a valid node id (1 to 64 bytes).
    #[serde(borrow)]
    pub sender: &'a str,
    /// Its kind, e.g. `"gradient_update"`: 1 to [`MAX_MESSAGE_TYPE_LEN`] bytes.
    #[serde(borrow)]
    pub message_type: &'a str,
    /// The message payload, opaque to the history.
    #[serde(borrow)]
    pub payload: &'a [u8],
}

impl RecordRef<'_> {
    /// The postcard encoding's length in bytes.
    pub fn encoded_len(&self) -> usize {
        varint_len(self.timestamp.total_micros())
            + varint_len(self.sender.len() as u64)
            + self.sender.len()
            + varint_len(self.message_type.len() as u64)
            + self.message_type.len()
            + varint_len(self.payload.len() as u64)
            + self.payload.len()
    }

    /// Appends the postcard encoding (the same bytes `postcard::to_allocvec` gives,
    /// written without serde's byte-at-a-time sequence path).
    #[cfg(feature = "alloc")]
    pub(crate) fn encode_into(&self, out: &mut alloc::vec::Vec<u8>) {
        push_varint(out, self.timestamp.total_micros());
        push_varint(out, self.sender.len() as u64);
        out.extend_from_slice(self.sender.as_bytes());
        push_varint(out, self.message_type.len() as u64);
        out.extend_from_slice(self.message_type.as_bytes());
        push_varint(out, self.payload.len() as u64);
        out.extend_from_slice(self.payload);
    }

    /// Checks the sender and message type lengths (postcard already checked UTF-8).
    pub(crate) fn check_ids(&self) -> Result<(), RecordError> {
        if self.sender.is_empty() || self.sender.len() > MAX_ID_LEN {
            return Err(RecordError::BadSender);
        }
        if self.message_type.is_empty() || self.message_type.len() > MAX_MESSAGE_TYPE_LEN {
            return Err(RecordError::BadMessageType);
        }
        Ok(())
    }
}

/// Writes `r`'s canonical (postcard) encoding, the bytes its Merkle leaf
/// hashes, into the front of `out`; `None` if `out` is shorter than
/// [`RecordRef::encoded_len`].
pub fn encode_record<'o>(r: &RecordRef<'_>, out: &'o mut [u8]) -> Option<&'o [u8]> {
    let out = out.get_mut(..r.encoded_len())?;
    let mut at = 0usize;
    let mut put = |bytes: &[u8]| {
        if let Some(slot) = out.get_mut(at..at + bytes.len()) {
            slot.copy_from_slice(bytes);
        }
        at += bytes.len();
    };
    let varint = |mut v: u64, put: &mut dyn FnMut(&[u8])| {
        while v >= 0x80 {
            put(&[(v as u8) | 0x80]);
            v >>= 7;
        }
        put(&[v as u8]);
    };
    varint(r.timestamp.total_micros(), &mut put);
    varint(r.sender.len() as u64, &mut put);
    put(r.sender.as_bytes());
    varint(r.message_type.len() as u64, &mut put);
    put(r.message_type.as_bytes());
    varint(r.payload.len() as u64, &mut put);
    put(r.payload);
    Some(out)
}

/// Why a record is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The sender is empty or longer than a node id may be.
    BadSender,
    /// The message type is empty or longer than [`MAX_MESSAGE_TYPE_LEN`].
    BadMessageType,
    /// The payload is longer than the configured maximum.
    PayloadTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
}

crate::error::error_impls! {
    RecordError, f;
    RecordError::BadSender => ErrorKind::InvalidId, write!(f, "sender must be 1 to {MAX_ID_LEN} bytes");
    RecordError::BadMessageType => ErrorKind::InvalidArgument,
        write!(f, "message type must be 1 to {MAX_MESSAGE_TYPE_LEN} bytes");
    RecordError::PayloadTooLarge { len, max } => ErrorKind::InvalidArgument,
        write!(f, "payload of {len} bytes exceeds {max}");
}

pub(crate) fn varint_len(v: u64) -> usize {
    // 7 bits a byte: ⌈significant bits / 7⌉, and one byte for 0.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends `v` as a varint. Inlined on hosts (`std`), where it is the
/// encoder's hottest helper; a call on microcontrollers, where each inlined
/// copy costs flash (2 KiB of the node loop's).
#[cfg(feature = "alloc")]
#[cfg_attr(feature = "std", inline)]
pub(crate) fn push_varint(out: &mut alloc::vec::Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The checks of one decoded record (index `index`, after a record at `prev`):
/// valid ids, no earlier than `prev`, no later than the header's `last`,
/// covered by its `summary`.
pub(super) fn check_record(
    r: &RecordRef<'_>,
    index: u32,
    prev: Instant,
    last: Instant,
    summary: &Summary,
) -> Result<(), BatchError> {
    let bad = |reason| BatchError::BadRecord { index, reason };
    r.check_ids().map_err(|_| bad("sender or message type out of bounds"))?;
    if r.timestamp < prev || r.timestamp > last {
        return Err(bad("timestamp out of order or outside the header's range"));
    }
    if !(summary.may_contain_sender(r.sender) && summary.may_contain_type(r.message_type)) {
        return Err(bad("not covered by the header's summary"));
    }
    Ok(())
}

/// Iterates the records of an inflated batch, checking as it goes: each record
/// decodes, has valid ids, is no earlier than the one before, lies in the header's
/// time range and is covered by its summary; after `count` records no bytes remain.
/// Stops after the first error.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    raw: &'a [u8],
    last_raw: &'a [u8],
    left: u32,
    index: u32,
    pub(super) prev: Instant,
    last: Instant,
    summary: Summary,
    failed: bool,
}

impl<'a> Records<'a> {
    pub(crate) fn new(raw: &'a [u8], header: &BatchHeader) -> Self {
        Records {
            raw,
            last_raw: &[],
            left: header.count,
            index: 0,
            prev: header.first,
            last: header.last,
            summary: header.summary,
            failed: false,
        }
    }

    /// The canonical encoding of the record the last `next` returned (its Merkle
    /// leaf is the SHA-256 of `0x00 ||` these bytes).
    pub fn last_bytes(&self) -> &'a [u8] {
        self.last_raw
    }

    fn step(&mut self) -> Result<RecordRef<'a>, BatchError> {
        let index = self.index;
        let bad = |reason| BatchError::BadRecord { index, reason };
        let (r, rest): (RecordRef<'a>, &'a [u8]) = postcard::take_from_bytes(self.raw).map_err(|e| match e {
            postcard::Error::DeserializeUnexpectedEnd => bad("truncated"),
            _ => bad("malformed"),
        })?;
        check_record(&r, index, self.prev, self.last, &self.summary)?;
        self.last_raw = self.raw.get(..self.raw.len() - rest.len()).unwrap_or_default();
        self.raw = rest;
        self.prev = r.timestamp;
        self.left = self.left.saturating_sub(1);
        self.index = self.index.saturating_add(1);
        if self.left == 0 && !self.raw.is_empty() {
            return Err(BatchError::BadRecord { index, reason: "bytes after the last record" });
        }
        Ok(r)
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<RecordRef<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.left == 0 {
            return None;
        }
        let r = self.step();
        self.failed = r.is_err();
        Some(r)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(if self.failed { 0 } else { self.left as usize }))
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::{push_varint, varint_len};
    use proptest::prelude::*;

    proptest! {
        /// The varint writer and its length agree with postcard's encoding of
        /// a `u64` (the reference LEB128), around every byte boundary too.
        #[test]
        fn varints_are_postcards(v in any::<u64>(), shift in 0u32..64) {
            for v in [v, v >> shift, (1u64 << shift) - 1, 1u64 << shift] {
                let mut out = alloc::vec::Vec::new();
                push_varint(&mut out, v);
                prop_assert_eq!(&out, &postcard::to_allocvec(&v).unwrap());
                prop_assert_eq!(varint_len(v), out.len());
            }
        }
    }
}
