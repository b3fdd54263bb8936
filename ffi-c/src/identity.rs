//! Identity keys: the public key of a node's (or the authority's) 32-byte
//! secret, what a node host needs to have its key certified. Certificates are
//! issued, verified and inspected with the operator's tools
//! ([`crate::operator`], header `include/pouw_netops_operator.h`).
//!
//! Randomness: the core never draws any. A host makes a key by drawing 32
//! bytes from its OS randomness (`getrandom(2)` on Linux, `getentropy(3)` on
//! the BSDs and macOS, `/dev/urandom`, `BCryptGenRandom` on Windows) and keeps
//! them secret: they are the private key (an RFC 8032 Ed25519 seed).

use crate::boundary::{bytes, guard, slots};
use crate::result::pn_result;
use pouw_netops::auth::{IdentityKey, MAX_CERT_LEN};

/// The longest encoded certificate, in bytes: a buffer this long always fits.
pub const PN_MAX_CERTIFICATE_LEN: usize = 1526;
const _: () = assert!(PN_MAX_CERTIFICATE_LEN == MAX_CERT_LEN);

/// The caller's 32 bytes at `ptr`, borrowed (a secret seed is never copied
/// into the binding's memory).
///
/// # Safety
/// `ptr` NULL or readable for 32 bytes for `'a`.
pub(crate) unsafe fn key_bytes<'a>(ptr: *const u8) -> Result<&'a [u8; 32], pn_result> {
    // SAFETY: forwarded caller promise.
    let b = unsafe { bytes(ptr, 32) }?;
    b.try_into().map_err(|_| pn_result::PN_ERR_INVALID_ARGUMENT)
}

/// Writes the Ed25519 public key of the identity secret `seed` (32 bytes) into
/// `out_public` (32 bytes): a node's, which the authority certifies, or the authority's.
///
/// # Safety
/// `seed` NULL or readable for 32 bytes; `out_public` NULL or writable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_identity_public(seed: *const u8, out_public: *mut u8) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (seed, out) = unsafe { (key_bytes(seed)?, slots(out_public, 32)?) };
        let public = IdentityKey::from_seed(seed).public().to_bytes();
        for (d, s) in out.iter_mut().zip(public) {
            d.write(s);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public key is the core's.
    #[test]
    fn public_key_is_the_cores() {
        let seed = [9u8; 32];
        let mut out = [0u8; 32];
        // SAFETY: locals of 32 bytes.
        assert_eq!(unsafe { pn_identity_public(seed.as_ptr(), out.as_mut_ptr()) }, pn_result::PN_OK);
        assert_eq!(out, IdentityKey::from_seed(&seed).public().to_bytes());
        // SAFETY: NULL pointers are refused before any access.
        let r = unsafe { pn_identity_public(core::ptr::null(), out.as_mut_ptr()) };
        assert_eq!(r, pn_result::PN_ERR_NULL_POINTER);
    }
}
