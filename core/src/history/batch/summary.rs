//! [`Summary`]: the bloom filter in a batch header over its senders and
//! message types, so a search skips batches that certainly hold neither.

use super::SUMMARY_LEN;
use core::fmt;

/// A 512-bit bloom filter over a batch's senders and message types, so a search
/// can skip batches that certainly hold neither (false positives only cost an
/// inflate; there are no false negatives).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Summary([u8; SUMMARY_LEN]);

const SENDER_TAG: u8 = b's';
const TYPE_TAG: u8 = b't';
const BLOOM_BITS: u32 = (SUMMARY_LEN * 8) as u32;

impl Summary {
    /// The empty summary (matches nothing).
    pub const EMPTY: Summary = Summary([0; SUMMARY_LEN]);

    /// The summary from its 64 header bytes.
    pub const fn from_bytes(bytes: [u8; SUMMARY_LEN]) -> Self {
        Summary(bytes)
    }

    /// The 64 header bytes.
    pub const fn as_bytes(&self) -> &[u8; SUMMARY_LEN] {
        &self.0
    }

    /// FNV-1a 64 over a domain tag and the bytes, split into two 32-bit hashes for
    /// double hashing (three probes).
    fn probes(tag: u8, s: &[u8]) -> [u32; 3] {
        let h = crate::hash::Fnv1a64::new().update(&[tag]).update(s).finish();
        let h1 = h as u32;
        let h2 = ((h >> 32) as u32) | 1;
        [h1 % BLOOM_BITS, h1.wrapping_add(h2) % BLOOM_BITS, h1.wrapping_add(h2.wrapping_mul(2)) % BLOOM_BITS]
    }

    fn set(&mut self, tag: u8, s: &[u8]) {
        for bit in Self::probes(tag, s) {
            if let Some(byte) = self.0.get_mut((bit / 8) as usize) {
                *byte |= 1 << (bit % 8);
            }
        }
    }

    fn test(&self, tag: u8, s: &[u8]) -> bool {
        Self::probes(tag, s).iter().all(|bit| self.0.get((bit / 8) as usize).is_some_and(|b| b & (1 << (bit % 8)) != 0))
    }

    /// Adds a record's sender and message type.
    pub fn insert(&mut self, sender: &str, message_type: &str) {
        self.insert_sender(sender.as_bytes());
        self.insert_type(message_type.as_bytes());
    }

    /// Adds a sender (as its UTF-8 bytes).
    pub(crate) fn insert_sender(&mut self, sender: &[u8]) {
        self.set(SENDER_TAG, sender);
    }

    /// Adds a message type (as its UTF-8 bytes).
    pub(crate) fn insert_type(&mut self, message_type: &[u8]) {
        self.set(TYPE_TAG, message_type);
    }

    /// `false` if no record from `sender` was inserted; `true` if one may have been.
    pub fn may_contain_sender(&self, sender: &str) -> bool {
        self.test(SENDER_TAG, sender.as_bytes())
    }

    /// `false` if no record of `message_type` was inserted; `true` if one may have been.
    pub fn may_contain_type(&self, message_type: &str) -> bool {
        self.test(TYPE_TAG, message_type.as_bytes())
    }
}

impl fmt::Debug for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ones: u32 = self.0.iter().map(|b| b.count_ones()).sum();
        write!(f, "Summary({ones} of {BLOOM_BITS} bits set)")
    }
}
