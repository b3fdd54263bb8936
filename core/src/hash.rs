//! FNV-1a, the one non-cryptographic hash of the crate and its tools.
//!
//! Used for [`crate::table::IdTable`] slots (32 bit), history batch summaries,
//! placeholder WireGuard keys and the simulator's trace hash (64 bit). Hashes
//! are part of stored layouts and recorded traces: these functions must keep
//! giving the reference values (tested below).
//!
//! Reference: Fowler, Noll, Vo, "The FNV Non-Cryptographic Hash Algorithm"
//! (draft-eastlake-fnv), offset bases and primes for 32 and 64 bits.

/// FNV-1a 32 offset basis.
pub const FNV32_OFFSET: u32 = 0x811c_9dc5;
/// FNV 32 prime.
pub const FNV32_PRIME: u32 = 0x0100_0193;
/// FNV-1a 64 offset basis.
pub const FNV64_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV 64 prime.
pub const FNV64_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 32-bit FNV-1a of `bytes`.
#[inline]
pub fn fnv1a_32(bytes: &[u8]) -> u32 {
    let mut h = FNV32_OFFSET;
    for b in bytes {
        h = (h ^ u32::from(*b)).wrapping_mul(FNV32_PRIME);
    }
    h
}

/// 64-bit FNV-1a of `bytes`.
#[inline]
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    Fnv1a64::new().update(bytes).finish()
}

/// 64-bit FNV-1a over input given in pieces: `update(a).update(b)` hashes the
/// concatenation of `a` and `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv1a64(u64);

impl Fnv1a64 {
    /// The hash of no bytes.
    pub const fn new() -> Self {
        Fnv1a64(FNV64_OFFSET)
    }

    /// Adds `bytes`.
    #[inline]
    #[must_use]
    pub fn update(self, bytes: &[u8]) -> Self {
        let mut h = self.0;
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(FNV64_PRIME);
        }
        Fnv1a64(h)
    }

    /// Adds `bytes` in place.
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) {
        *self = self.update(bytes);
    }

    /// Folds a whole 64-bit word in one FNV step (xor the word, multiply once),
    /// not byte by byte: a cheaper combiner of values that are hashes already
    /// (the simulator's digest of many runs' trace hashes). Not FNV-1a of the
    /// word's bytes.
    #[inline]
    pub fn write_word(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(FNV64_PRIME);
    }

    /// The hash so far.
    pub const fn finish(self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors of draft-eastlake-fnv (section 8 / the reference test suite).
    #[test]
    fn fnv1a_32_reference_vectors() {
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn fnv1a_64_reference_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn pieces_hash_like_the_whole() {
        let whole = fnv1a_64(b"foobar");
        assert_eq!(Fnv1a64::new().update(b"foo").update(b"bar").finish(), whole);
        let mut h = Fnv1a64::default();
        h.write(b"f");
        h.write(b"");
        h.write(b"oobar");
        assert_eq!(h.finish(), whole);
    }

    #[test]
    fn a_word_is_one_step_not_eight() {
        let mut h = Fnv1a64::new();
        h.write_word(0x61);
        // One step over the word 0x61 is the same as FNV-1a over the byte 'a'...
        assert_eq!(h.finish(), fnv1a_64(b"a"));
        let mut wide = Fnv1a64::new();
        wide.write_word(0x0102_0304_0506_0708);
        // ...but a wider word is not its bytes hashed one by one.
        assert_ne!(wide.finish(), fnv1a_64(&0x0102_0304_0506_0708u64.to_le_bytes()));
        assert_eq!(wide.finish(), (FNV64_OFFSET ^ 0x0102_0304_0506_0708).wrapping_mul(FNV64_PRIME));
    }
}
