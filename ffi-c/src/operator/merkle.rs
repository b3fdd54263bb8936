//! The history's Merkle log, verified from C without any handle: leaf hashes,
//! RFC 9162 inclusion and consistency proofs, message inclusion proofs
//! (`pn_merkle_*`). The log position an archived batch carries
//! (`pn_batch_log_info`) is read in [`crate::history`].

use crate::boundary::{Out, bytes, guard};
use crate::history::PN_HASH_LEN;
use crate::last_error::Failure;
use crate::result::pn_result;
use pouw_netops::history::merkle::{self, Hash, Path, ProofError};


fn hash(ptr: *const u8) -> Result<Hash, pn_result> {
    // SAFETY: every caller passes a pointer the C contract says is NULL or readable for 32 bytes.
    let b = unsafe { bytes(ptr, PN_HASH_LEN)? };
    let mut h = [0u8; PN_HASH_LEN];
    h.copy_from_slice(b);
    Ok(h)
}

fn proof_failure(e: ProofError) -> Failure {
    Failure::from(e)
}

/// Writes `SHA-256(0x00 || data)`, the RFC 9162 leaf hash of `len` bytes at
/// `data`, into the 32 bytes at `out_hash`. A history record's leaf hashes its
/// canonical encoding (postcard: timestamp varint, sender, type, payload, each
/// length-prefixed).
///
/// # Safety
/// `data` NULL (only with `len` 0) or readable for `len` bytes; `out_hash`
/// NULL or writable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_merkle_leaf_hash(
    data: *const u8,
    len: usize,
    out_hash: *mut [u8; PN_HASH_LEN],
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises.
        let (input, out) = unsafe { (bytes(data, len)?, Out::new(out_hash)?) };
        out.set(merkle::leaf_hash(input));
        Ok(())
    })
}

/// Checks the RFC 9162 inclusion path `path` (`path_len` bytes: 32 per hash)
/// of the leaf hash `leaf` at `index` in a tree of `size` leaves with root
/// `root`. `PN_OK` if it verifies, `PN_ERR_VERIFY_FAILED` if not,
/// `PN_ERR_DECODE` if `path_len` is not a multiple of 32 (or over 64 hashes).
///
/// # Safety
/// `leaf` and `root` NULL or readable for 32 bytes; `path` NULL (only with
/// `path_len` 0) or readable for `path_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_merkle_verify_inclusion(
    leaf: *const u8,
    index: u64,
    size: u64,
    path: *const u8,
    path_len: usize,
    root: *const u8,
) -> pn_result {
    guard(|| {
        let (leaf, root) = (hash(leaf)?, hash(root)?);
        // SAFETY: the caller's promise for `path`.
        let path = Path::new(unsafe { bytes(path, path_len)? }).map_err(proof_failure)?;
        merkle::verify_inclusion(&leaf, index, size, path, &root).map_err(proof_failure)
    })
}

/// Checks the RFC 9162 consistency proof `proof` (`proof_len` bytes, 32 per
/// hash) that the tree of `second` leaves with root `second_root` extends the
/// tree of `first` leaves with root `first_root` (`0 < first <= second`).
/// `PN_OK` if it verifies, `PN_ERR_VERIFY_FAILED` if not, `PN_ERR_DECODE` for
/// a malformed proof length.
///
/// # Safety
/// The roots NULL or readable for 32 bytes; `proof` NULL (only with
/// `proof_len` 0) or readable for `proof_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_merkle_verify_consistency(
    first: u64,
    second: u64,
    first_root: *const u8,
    second_root: *const u8,
    proof: *const u8,
    proof_len: usize,
) -> pn_result {
    guard(|| {
        let (a, b) = (hash(first_root)?, hash(second_root)?);
        // SAFETY: the caller's promise for `proof`.
        let path = Path::new(unsafe { bytes(proof, proof_len)? }).map_err(proof_failure)?;
        merkle::verify_consistency(first, second, &a, &b, path).map_err(proof_failure)
    })
}

/// Checks an encoded message inclusion proof (`proof_len` bytes, as
/// `pn_history`/Python/Rust build them: a path inside the batch plus one in the
/// log of batches) for the record whose canonical encoding is `record`
/// (`record_len` bytes) against the log root `log_root`. `PN_OK` if it
/// verifies, `PN_ERR_VERIFY_FAILED` if not, `PN_ERR_DECODE` if the proof bytes
/// are malformed.
///
/// # Safety
/// `proof` and `record` NULL (only with length 0) or readable for their
/// lengths; `log_root` NULL or readable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_merkle_verify_record(
    proof: *const u8,
    proof_len: usize,
    record: *const u8,
    record_len: usize,
    log_root: *const u8,
) -> pn_result {
    guard(|| {
        let root = hash(log_root)?;
        // SAFETY: the caller's promises for `proof` and `record`.
        let (proof, record) = unsafe { (bytes(proof, proof_len)?, bytes(record, record_len)?) };
        merkle::verify_record(proof, record, &root).map_err(proof_failure)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{pn_batch_log, pn_batch_log_info};
    use pouw_netops::history::HistoryConfig;
    use core::mem::MaybeUninit;
    use core::ptr::null;
    use pouw_netops::history::RecordRef;
    use pouw_netops::{Instant, MessageHistoryCompressor};

    fn enc(r: &RecordRef<'_>) -> Vec<u8> {
        let mut out = vec![0u8; r.encoded_len()];
        pouw_netops::history::batch::encode_record(r, &mut out).unwrap();
        out
    }

    /// Proofs built by the core verify through the C functions; tampering fails.
    #[test]
    fn proofs_verify_through_the_c_functions() {
        let mut h: MessageHistoryCompressor<8, 8> =
            MessageHistoryCompressor::new(HistoryConfig { compression_threshold: 5, ..HistoryConfig::default() })
                .unwrap();
        let payloads: Vec<String> = (0..23).map(|i| format!("{{\"i\":{i}}}")).collect();
        let records: Vec<RecordRef<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| RecordRef {
                timestamp: Instant::from_micros(i as u64),
                sender: "w1",
                message_type: "HEARTBEAT",
                payload: p.as_bytes(),
            })
            .collect();
        for r in &records {
            h.add_message(Instant::ZERO, *r).unwrap();
        }
        let root = h.log_root();
        let proof = h.inclusion_proof(2, 3).unwrap();
        let record = enc(&records[13]);
        unsafe {
            let ok = pn_merkle_verify_record(proof.as_ptr(), proof.len(), record.as_ptr(), record.len(), root.as_ptr());
            assert_eq!(ok, pn_result::PN_OK);
            let other = enc(&records[12]);
            let bad = pn_merkle_verify_record(proof.as_ptr(), proof.len(), other.as_ptr(), other.len(), root.as_ptr());
            assert_eq!(bad, pn_result::PN_ERR_VERIFY_FAILED);
            let cut =
                pn_merkle_verify_record(proof.as_ptr(), proof.len() - 1, record.as_ptr(), record.len(), root.as_ptr());
            assert_eq!(cut, pn_result::PN_ERR_DECODE);
            let null_root = pn_merkle_verify_record(proof.as_ptr(), proof.len(), record.as_ptr(), record.len(), null());
            assert_eq!(null_root, pn_result::PN_ERR_NULL_POINTER);

            let mut leaf = [0u8; 32];
            assert_eq!(pn_merkle_leaf_hash(record.as_ptr(), record.len(), &mut leaf), pn_result::PN_OK);
            assert_eq!(leaf, merkle::leaf_hash(&record));

            let consistency = h.consistency_proof(2).unwrap();
            let first = h.log_root_at(2).unwrap();
            let r = pn_merkle_verify_consistency(4, 4, root.as_ptr(), root.as_ptr(), null(), 0);
            assert_eq!(r, pn_result::PN_OK);
            // From the true first root it verifies; from another it does not.
            for (old, want) in [(&first, pn_result::PN_OK), (&root, pn_result::PN_ERR_VERIFY_FAILED)] {
                let r = pn_merkle_verify_consistency(
                    2,
                    4,
                    old.as_ptr(),
                    root.as_ptr(),
                    consistency.as_ptr(),
                    consistency.len(),
                );
                assert_eq!(r, want);
            }

            // The in-batch path alone, as a plain RFC 9162 inclusion proof.
            let p = merkle::InclusionProof::parse(&proof).unwrap();
            let batch_root = p.batch_root(&leaf).unwrap();
            let bp = p.batch_path.as_bytes();
            let r = pn_merkle_verify_inclusion(leaf.as_ptr(), 3, 5, bp.as_ptr(), bp.len(), batch_root.as_ptr());
            assert_eq!(r, pn_result::PN_OK);
            let r = pn_merkle_verify_inclusion(leaf.as_ptr(), 2, 5, bp.as_ptr(), bp.len(), batch_root.as_ptr());
            assert_eq!(r, pn_result::PN_ERR_VERIFY_FAILED);

            // Chained batch headers.
            let mut log = MaybeUninit::<pn_batch_log>::uninit();
            let bytes = h.batch(2).unwrap().as_bytes();
            assert_eq!(pn_batch_log_info(bytes.as_ptr(), bytes.len(), log.as_mut_ptr()), pn_result::PN_OK);
            let l2 = log.assume_init();
            let bytes = h.batch(3).unwrap().as_bytes();
            assert_eq!(pn_batch_log_info(bytes.as_ptr(), bytes.len(), log.as_mut_ptr()), pn_result::PN_OK);
            let l3 = log.assume_init();
            assert_eq!((l2.index, l2.count, l3.index), (2, 5, 3));
            assert_eq!(l2.log_root_after, l3.log_root_before);
            assert_eq!(l3.log_root_after, root);
            assert_eq!(l2.batch_root, batch_root);
        }
    }
}
