//! The history's Merkle log (RFC 9162 §2.1 hashing, twice).
//!
//! * Each record's leaf hash is `SHA-256(0x00 || canonical record encoding)`,
//!   the canonical encoding being the record's postcard bytes (what a v1 batch
//!   stores and [`super::RecordRef`] serializes). Interior nodes are
//!   `SHA-256(0x01 || left || right)`.
//! * A batch's root is the Merkle Tree Hash (MTH) over its record leaves, in order.
//! * The log is an MTH over one entry per sealed batch, in batch order: the leaf
//!   hash of `batch root (32 bytes) || record count (u32 LE)` ([`batch_entry_hash`]).
//!   Its root is the 32-byte value a PoUW block commits to.
//!
//! So a message's [`InclusionProof`] is an RFC 9162 path inside its batch plus
//! one inside the log of batches: for 10^6 messages in 1000 batches of 1000,
//! 10 + 10 hashes. Consistency proofs are RFC 9162 proofs between two sizes of
//! the log (counted in batches). Everything here verifies without `alloc`;
//! building proofs needs it.

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

/// A SHA-256 output.
pub type Hash = [u8; 32];

/// The longest path a proof may carry: trees of up to 2^64 leaves.
pub const MAX_PATH_LEN: usize = 64;

/// `SHA-256(0x00 || data)`: the hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    hash_prefixed(0x00, data)
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // 65 bytes: two blocks, the second holding the last byte of `right` and the padding.
    let mut first = [0u8; 64];
    let (tag, rest) = first.split_at_mut(1);
    tag.copy_from_slice(&[0x01]);
    let (l, r) = rest.split_at_mut(32);
    l.copy_from_slice(left);
    let (r_head, r_last) = right.split_at(31);
    r.copy_from_slice(r_head);
    let mut second = [0u8; 64];
    let (head, len) = second.split_at_mut(56);
    if let Some(h) = head.get_mut(..2) {
        h.copy_from_slice(&[r_last.first().copied().unwrap_or_default(), 0x80]);
    }
    len.copy_from_slice(&(65u64 * 8).to_be_bytes());
    let mut state = SHA256_IV;
    sha2::compress256(&mut state, &[GenericArray::from(first), GenericArray::from(second)]);
    state_bytes(&state)
}

/// The log's leaf hash for a batch: the leaf hash of its root and record count.
pub fn batch_entry_hash(batch_root: &Hash, count: u32) -> Hash {
    let mut entry = [0u8; 36];
    let (root, n) = entry.split_at_mut(32);
    root.copy_from_slice(batch_root);
    n.copy_from_slice(&count.to_le_bytes());
    hash_prefixed(0x00, &entry)
}

/// SHA-256's initial hash value (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] =
    [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19];

/// `SHA-256(prefix || data)`, padded here (FIPS 180-4 §5.1.1) and fed to the
/// compression function block by block: the same hash as `Sha256`'s, without
/// its buffering and finalisation, which cost about a quarter of a leaf's
/// time (a leaf is hashed for every record a batch is checked with).
fn hash_prefixed(prefix: u8, data: &[u8]) -> Hash {
    let mut state = SHA256_IV;
    // The first block: the prefix, then up to 63 bytes of data.
    let mut block = [0u8; 64];
    let (head, mut rest) = data.split_at(data.len().min(63));
    let (tag, body) = block.split_at_mut(1);
    tag.copy_from_slice(&[prefix]);
    if let Some(b) = body.get_mut(..head.len()) {
        b.copy_from_slice(head);
    }
    let mut filled = 1 + head.len();
    if filled == 64 {
        compress(&mut state, &block);
        let mut blocks = rest.chunks_exact(64);
        for b in &mut blocks {
            if let Ok(b) = b.try_into() {
                compress(&mut state, b);
            }
        }
        rest = blocks.remainder();
        block = [0u8; 64];
        if let Some(b) = block.get_mut(..rest.len()) {
            b.copy_from_slice(rest);
        }
        filled = rest.len();
    }
    // The padding: 0x80, zeros, the length in bits (big-endian) in the last 8 bytes.
    let bits = (data.len() as u64).wrapping_add(1).wrapping_mul(8).to_be_bytes();
    if let Some(b) = block.get_mut(filled) {
        *b = 0x80;
    }
    if filled + 9 > 64 {
        compress(&mut state, &block);
        block = [0u8; 64];
    }
    let (_, len) = block.split_at_mut(56);
    len.copy_from_slice(&bits);
    compress(&mut state, &block);
    state_bytes(&state)
}

/// One block through SHA-256's compression function.
fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    sha2::compress256(state, core::slice::from_ref(<&GenericArray<u8, _>>::from(block)));
}

/// The hash of a final state: its words big-endian.
fn state_bytes(state: &[u32; 8]) -> Hash {
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Why a proof did not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofError {
    /// The index is not below the tree size (or a size is zero).
    IndexOutOfRange,
    /// The proof has more or fewer hashes than the sizes require.
    WrongPathLength,
    /// The proof is well-formed but leads to a different root.
    RootMismatch,
    /// The sizes of a consistency proof are not `0 < first <= second`.
    BadSizes,
    /// Encoded proof bytes are malformed (the reason says how).
    Malformed(&'static str),
}

crate::error::error_impls! {
    ProofError, f;
    ProofError::IndexOutOfRange => ErrorKind::VerifyFailed, f.write_str("leaf index not below the tree size");
    ProofError::WrongPathLength => ErrorKind::VerifyFailed,
        f.write_str("proof has the wrong number of hashes for the tree size");
    ProofError::RootMismatch => ErrorKind::VerifyFailed, f.write_str("proof does not lead to the expected root");
    ProofError::BadSizes => ErrorKind::VerifyFailed,
        f.write_str("consistency proof sizes must satisfy 0 < first <= second");
    ProofError::Malformed(why) => ErrorKind::Malformed, write!(f, "malformed proof: {why}");
}

/// Hashes borrowed from bytes: `len / 32` hashes back to back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path<'a>(&'a [u8]);

impl<'a> Path<'a> {
    /// The hashes in `bytes`, whose length must be a multiple of 32 and at most
    /// [`MAX_PATH_LEN`] hashes.
    pub fn new(bytes: &'a [u8]) -> Result<Self, ProofError> {
        if !bytes.len().is_multiple_of(32) {
            return Err(ProofError::Malformed("path length is not a multiple of 32"));
        }
        if bytes.len() / 32 > MAX_PATH_LEN {
            return Err(ProofError::Malformed("path longer than 64 hashes"));
        }
        Ok(Path(bytes))
    }

    /// Number of hashes.
    pub const fn len(&self) -> usize {
        self.0.len() / 32
    }

    /// Whether there are none.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The hashes in order.
    pub fn iter(&self) -> impl Iterator<Item = Hash> + 'a {
        self.0.chunks_exact(32).map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
    }
}

/// RFC 9162 §2.1.3.2: the root that `path` leads to from `leaf` at `index` in a
/// tree of `size` leaves.
pub fn root_from_inclusion(leaf: &Hash, index: u64, size: u64, path: Path<'_>) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    let mut r = *leaf;
    walk(index, size - 1, path.iter(), |left, p| r = if left { node_hash(p, &r) } else { node_hash(&r, p) })?;
    Ok(r)
}

/// RFC 9162's walk up a proof path from node `fnode` of a level whose last node
/// is `snode` (§2.1.3.2 and §2.1.4.2 share it): `step(left, hash)` for each
/// hash, `left` when the hash joins on the left (`fnode` is a right child or
/// the last node of its level). A path too long or too short for the sizes is
/// [`ProofError::WrongPathLength`].
fn walk(
    mut fnode: u64,
    mut snode: u64,
    path: impl Iterator<Item = Hash>,
    mut step: impl FnMut(bool, &Hash),
) -> Result<(), ProofError> {
    for p in path {
        if snode == 0 {
            return Err(ProofError::WrongPathLength);
        }
        let left = fnode & 1 == 1 || fnode == snode;
        step(left, &p);
        if left {
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongPathLength);
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2: checks that `leaf` is at `index` in the tree of `size`
/// leaves with root `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: Path<'_>, root: &Hash) -> Result<(), ProofError> {
    if root_from_inclusion(leaf, index, size, path)? == *root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// RFC 9162 §2.1.4.2: checks that the tree of `second` leaves with root
/// `second_root` extends the tree of `first` leaves with root `first_root`.
/// Equal sizes need an empty proof and equal roots.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    path: Path<'_>,
) -> Result<(), ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::BadSizes);
    }
    if first == second {
        if !path.is_empty() {
            return Err(ProofError::WrongPathLength);
        }
        return if first_root == second_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let mut hashes = path.iter();
    let start = if first.is_power_of_two() { *first_root } else { hashes.next().ok_or(ProofError::WrongPathLength)? };
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (start, start);
    walk(fnode, snode, hashes, |left, c| {
        if left {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
        } else {
            sr = node_hash(&sr, c);
        }
    })?;
    if fr == *first_root && sr == *second_root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// The right edge of a Merkle tree: the roots of its perfect subtrees, largest
/// (leftmost) first, one per set bit of the size. Enough to compute the root
/// and to append, in O(log n) without the leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: heapless::Vec<Hash, MAX_PATH_LEN>,
}

impl Default for Frontier {
    fn default() -> Self {
        Frontier::new()
    }
}

/// The root of the empty tree: `SHA-256()` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

impl Frontier {
    /// The empty tree.
    pub const fn new() -> Self {
        Frontier { size: 0, hashes: heapless::Vec::new() }
    }

    /// A frontier from its parts: `path` must hold one hash per set bit of `size`.
    pub fn from_parts(size: u64, path: Path<'_>) -> Result<Self, ProofError> {
        if path.len() != size.count_ones() as usize {
            return Err(ProofError::WrongPathLength);
        }
        let mut hashes = heapless::Vec::new();
        for h in path.iter() {
            hashes.push(h).map_err(|_| ProofError::WrongPathLength)?;
        }
        Ok(Frontier { size, hashes })
    }

    /// Number of leaves.
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The subtree roots, largest first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends a leaf hash. Returns `false`, changing nothing, at 2^64 - 1 leaves.
    pub fn push(&mut self, leaf: Hash) -> bool {
        let Some(size) = self.size.checked_add(1) else { return false };
        let mut h = leaf;
        let mut s = self.size;
        while s & 1 == 1 {
            let Some(left) = self.hashes.pop() else { return false };
            h = node_hash(&left, &h);
            s >>= 1;
        }
        if self.hashes.push(h).is_err() {
            return false;
        }
        self.size = size;
        true
    }

    /// The tree's root (MTH); the empty tree's is [`empty_root`].
    pub fn root(&self) -> Hash {
        let mut it = self.hashes.iter().rev();
        let Some(last) = it.next() else { return empty_root() };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// Magic of an encoded [`InclusionProof`].
pub const PROOF_MAGIC: [u8; 4] = *b"PNIP";
/// Bytes of an encoded proof before its hashes.
pub const PROOF_HEADER_LEN: usize = 30;

/// That a message is in the log: its place and the two paths, borrowed from
/// the encoded bytes.
///
/// ```text
/// offset len  field
///      0   4  magic "PNIP"
///      4   4  leaf index inside the batch (u32 LE)
///      8   4  records in the batch (u32 LE)
///     12   8  batch index in the log (u64 LE; batch ids count from 0)
///     16   8  batches in the log (u64 LE)
///     28   1  hashes in the batch path (at most 32)
///     29   1  hashes in the log path (at most 64)
///     30   …  batch path, then log path, 32 bytes each
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InclusionProof<'a> {
    /// Index of the record inside its batch.
    pub index: u32,
    /// Records in the batch.
    pub batch_size: u32,
    /// Index of the batch in the log (its id).
    pub batch_index: u64,
    /// Batches in the log the proof is for.
    pub log_size: u64,
    /// RFC 9162 inclusion path from the record leaf to the batch root.
    pub batch_path: Path<'a>,
    /// RFC 9162 inclusion path from the batch entry to the log root.
    pub log_path: Path<'a>,
}

impl<'a> InclusionProof<'a> {
    /// Parses the encoding above; exactly the declared hashes, nothing after.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ProofError> {
        let (head, rest) =
            bytes.split_first_chunk::<PROOF_HEADER_LEN>().ok_or(ProofError::Malformed("shorter than 30 bytes"))?;
        let field = |at: usize, len: usize| head.get(at..at + len).unwrap_or_default();
        if field(0, 4) != PROOF_MAGIC {
            return Err(ProofError::Malformed("bad magic"));
        }
        let u32_at = |at| u32::from_le_bytes(field(at, 4).try_into().unwrap_or_default());
        let u64_at = |at| u64::from_le_bytes(field(at, 8).try_into().unwrap_or_default());
        let (a, b) = (head[28] as usize, head[29] as usize);
        if a > 32 {
            return Err(ProofError::Malformed("batch path longer than 32 hashes"));
        }
        if rest.len() != (a + b) * 32 {
            return Err(ProofError::Malformed("hash bytes disagree with the declared counts"));
        }
        let (bp, lp) = rest.split_at(a * 32);
        Ok(InclusionProof {
            index: u32_at(4),
            batch_size: u32_at(8),
            batch_index: u64_at(12),
            log_size: u64_at(20),
            batch_path: Path::new(bp)?,
            log_path: Path::new(lp)?,
        })
    }

    /// The encoded length.
    pub const fn encoded_len(&self) -> usize {
        PROOF_HEADER_LEN + (self.batch_path.len() + self.log_path.len()) * 32
    }

    /// Writes the encoding into the front of `out`; the bytes written, or `None`
    /// if `out` is too short.
    pub fn encode_into<'o>(&self, out: &'o mut [u8]) -> Option<&'o [u8]> {
        let out = out.get_mut(..self.encoded_len())?;
        let head = PROOF_MAGIC
            .into_iter()
            .chain(self.index.to_le_bytes())
            .chain(self.batch_size.to_le_bytes())
            .chain(self.batch_index.to_le_bytes())
            .chain(self.log_size.to_le_bytes())
            .chain([self.batch_path.len() as u8, self.log_path.len() as u8])
            .chain(self.batch_path.as_bytes().iter().copied())
            .chain(self.log_path.as_bytes().iter().copied());
        for (slot, b) in out.iter_mut().zip(head) {
            *slot = b;
        }
        Some(out)
    }

    /// The batch root the batch path leads to from `leaf`.
    pub fn batch_root(&self, leaf: &Hash) -> Result<Hash, ProofError> {
        root_from_inclusion(leaf, u64::from(self.index), u64::from(self.batch_size), self.batch_path)
    }

    /// Checks that the record with leaf hash `leaf` is in the log with root
    /// `log_root` (of [`InclusionProof::log_size`] batches).
    pub fn verify(&self, leaf: &Hash, log_root: &Hash) -> Result<(), ProofError> {
        let entry = batch_entry_hash(&self.batch_root(leaf)?, self.batch_size);
        verify_inclusion(&entry, self.batch_index, self.log_size, self.log_path, log_root)
    }
}

/// Checks an encoded [`InclusionProof`] for the record whose canonical encoding
/// is `record` against `log_root`.
pub fn verify_record(proof: &[u8], record: &[u8], log_root: &Hash) -> Result<(), ProofError> {
    InclusionProof::parse(proof)?.verify(&leaf_hash(record), log_root)
}

#[cfg(feature = "alloc")]
pub use building::*;

#[cfg(feature = "alloc")]
mod building {
    //! Building proofs from the leaves (RFC 9162 §2.1.3.1 and §2.1.4.1).
    use super::Hash;
    use alloc::vec::Vec;

    /// The largest power of two strictly below `n` (`n >= 2`).
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k << 1 < n {
            k <<= 1;
        }
        k
    }

    /// MTH over leaf hashes (the empty tree's root for none).
    pub fn tree_root(leaves: &[Hash]) -> Hash {
        // Bottom-up: the same tree as the recursive definition (left subtrees perfect).
        let mut f = super::Frontier::new();
        for l in leaves {
            f.push(*l);
        }
        f.root()
    }

    /// RFC 9162 `PATH(m, D[n])`: the inclusion path of leaf `m`; empty if `m` is out of range.
    pub fn inclusion_path(leaves: &[Hash], m: usize) -> Vec<Hash> {
        let mut out = Vec::new();
        if m < leaves.len() {
            path(leaves, m, &mut out);
        }
        out
    }

    fn path(leaves: &[Hash], m: usize, out: &mut Vec<Hash>) {
        if leaves.len() <= 1 {
            return;
        }
        let k = split(leaves.len());
        let (l, r) = leaves.split_at(k);
        if m < k {
            path(l, m, out);
            out.push(tree_root(r));
        } else {
            path(r, m - k, out);
            out.push(tree_root(l));
        }
    }

    /// RFC 9162 `PROOF(m, D[n])`: the consistency proof from the first `m` leaves
    /// to all of them; empty unless `0 < m < n`.
    pub fn consistency_path(leaves: &[Hash], m: usize) -> Vec<Hash> {
        let mut out = Vec::new();
        if m > 0 && m < leaves.len() {
            subproof(leaves, m, true, &mut out);
        }
        out
    }

    fn subproof(leaves: &[Hash], m: usize, whole: bool, out: &mut Vec<Hash>) {
        let n = leaves.len();
        if m == n {
            if !whole {
                out.push(tree_root(leaves));
            }
            return;
        }
        let k = split(n);
        let (l, r) = leaves.split_at(k);
        if m <= k {
            subproof(l, m, whole, out);
            out.push(tree_root(r));
        } else {
            subproof(r, m - k, false, out);
            out.push(tree_root(l));
        }
    }

    /// Hashes as one byte string (the form [`super::Path::new`] reads).
    pub fn path_bytes(path: &[Hash]) -> Vec<u8> {
        path.iter().flatten().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn sha256(parts: &[&[u8]]) -> Hash {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    }

    #[test]
    fn hashes_padded_by_hand_are_sha256() {
        // Every length across the one-, two- and three-block boundaries and beyond.
        let data: Vec<u8> = (0..400u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..=data.len() {
            let d = data.get(..n).unwrap();
            assert_eq!(leaf_hash(d), sha256(&[&[0], d]), "length {n}");
        }
        // RFC 6962's hash of the empty leaf.
        assert_eq!(leaf_hash(b"")[..4], [0x6e, 0x34, 0x0b, 0x9c]);
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        assert_eq!(node_hash(&a, &b), sha256(&[&[1], &a, &b]));
        assert_eq!(node_hash(&b, &a), sha256(&[&[1], &b, &a]));
        assert_eq!(batch_entry_hash(&a, 1000), sha256(&[&[0], &a, &1000u32.to_le_bytes()]));
    }
}
