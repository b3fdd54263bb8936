//! Certificates: issuing one with an authority key, verifying and inspecting
//! certificate bytes. Thin wrappers over [`pouw_netops::auth`]; the checks are
//! the core's. Keys are made as [`crate::identity`] says; the authority's key is
//! made the same way, once, and kept offline.
//!
//! Certificates issued here list no mesh endpoints (the core's certificates can
//! carry up to four; the C issuer does not take them yet): a node's endpoint is
//! then the mesh's placeholder.

use crate::boundary::{Out, bytes, copy_out, guard, slots};
use crate::convert::{node_id, pn_node_id, pn_str, pn_task_id, task_type};
use crate::ops::pn_node_role;
use crate::result::pn_result;
use core::ffi::c_char;
use alloc::vec;
use crate::identity::key_bytes;
use pouw_netops::auth::{
    Certificate, IdentityKey, PublicIdentity, RevocationList, Role, SignedCertificate,
};
use pouw_netops::mesh::WgKey;

/// The most pools (task types) a certificate lists.
pub const PN_CERT_MAX_POOLS: usize = 4;
const _: () = assert!(PN_CERT_MAX_POOLS == pouw_netops::wire::MAX_TASK_TYPES);

/// What a certificate says about a node, for `pn_certificate_issue`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pn_certificate_fields {
    /// The node's id (UTF-8).
    pub node: *const c_char,
    /// Length of `node` in bytes.
    pub node_len: usize,
    /// A `pn_node_role` value.
    pub role: u32,
    /// The node's identity public key (`pn_identity_public` of its seed).
    pub identity_public: [u8; 32],
    /// The node's WireGuard public key.
    pub wg_key: [u8; 32],
    /// Task slots the node may offer (0 for supervisors).
    pub slots: u16,
    /// The pools it may work in (UTF-8 task types, each once), NULL if `pool_count` is 0.
    pub pools: *const pn_str,
    /// Entries in `pools`, at most `PN_CERT_MAX_POOLS`.
    pub pool_count: usize,
    /// Raised with every certificate issued for the node: a higher serial
    /// rotates its keys.
    pub serial: u64,
    /// First valid second (UNIX time).
    pub not_before: u64,
    /// First second no longer valid (UNIX time).
    pub not_after: u64,
}

/// A decoded certificate's fields, as `pn_certificate_inspect` writes them.
/// Unverified: `pn_certificate_verify` says whether to trust them.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_certificate_info {
    /// The node.
    pub node: pn_node_id,
    /// Its role.
    pub role: pn_node_role,
    /// Its identity public key.
    pub identity_public: [u8; 32],
    /// Its WireGuard public key.
    pub wg_key: [u8; 32],
    /// Task slots.
    pub slots: u16,
    /// Entries of `pools` that are set.
    pub pool_count: usize,
    /// The pools (the first `pool_count`; the rest have length 0).
    pub pools: [pn_task_id; PN_CERT_MAX_POOLS],
    /// Mesh endpoints the certificate lists (not returned here).
    pub endpoint_count: usize,
    /// The serial.
    pub serial: u64,
    /// First valid second (UNIX time).
    pub not_before: u64,
    /// First second no longer valid (UNIX time).
    pub not_after: u64,
}

fn role_of(r: u32) -> Result<Role, pn_result> {
    match r {
        0 => Ok(Role::Supervisor),
        1 => Ok(Role::Worker),
        _ => Err(pn_result::PN_ERR_INVALID_ARGUMENT),
    }
}

const fn role_to_c(r: Role) -> pn_node_role {
    match r {
        Role::Supervisor => pn_node_role::PN_NODE_SUPERVISOR,
        Role::Worker => pn_node_role::PN_NODE_WORKER,
    }
}

/// Issues a certificate: the authority whose identity secret is
/// `authority_seed` (32 bytes) signs `fields`, and the encoded certificate goes
/// into `buf` (`buf_len` bytes; `PN_MAX_CERTIFICATE_LEN` always fits), its
/// length into `*out_written`. A short buffer gives `PN_ERR_BUFFER_TOO_SMALL`
/// with the needed length in `*out_written`.
///
/// Errors: `PN_ERR_INVALID_ID` for a bad node id or pool name,
/// `PN_ERR_INVALID_ARGUMENT` for an unknown role, a pool listed twice or
/// `not_before` after `not_after`, `PN_ERR_CAPACITY_EXCEEDED` for more than
/// `PN_CERT_MAX_POOLS` pools, `PN_ERR_UNAUTHENTICATED` for an identity public
/// key that is not a valid Ed25519 key.
///
/// # Safety
/// `authority_seed` NULL or readable for 32 bytes; `fields` NULL or readable,
/// its `node` and `pools` readable as described; `buf` NULL or writable for
/// `buf_len` bytes; `out_written` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_certificate_issue(
    authority_seed: *const u8,
    fields: *const pn_certificate_fields,
    buf: *mut u8,
    buf_len: usize,
    out_written: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (seed, f, buf, written) = unsafe {
            (
                key_bytes(authority_seed)?,
                fields.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
                slots(buf, buf_len)?,
                Out::new(out_written)?,
            )
        };
        // SAFETY: the caller's promise for `node`.
        let node = unsafe { node_id(f.node, f.node_len) }?;
        let role = role_of(f.role)?;
        let identity = PublicIdentity::from_bytes(&f.identity_public)?;
        let pool_strs: &[pn_str] = if f.pools.is_null() {
            if f.pool_count != 0 {
                return Err(pn_result::PN_ERR_NULL_POINTER.into());
            }
            &[]
        } else {
            // SAFETY: non-NULL and, by the caller's promise, readable for `pool_count` elements.
            unsafe { core::slice::from_raw_parts(f.pools, f.pool_count) }
        };
        let mut cert = Certificate {
            node,
            role,
            identity,
            wg_key: WgKey::from_bytes(f.wg_key),
            endpoints: Default::default(),
            slots: f.slots,
            pools: Default::default(),
            serial: f.serial,
            not_before: f.not_before,
            not_after: f.not_after,
        };
        for p in pool_strs {
            // SAFETY: the caller's promise for each element.
            let t = unsafe { task_type(p.ptr, p.len) }?;
            cert.pools.push(t).map_err(|_| pn_result::PN_ERR_CAPACITY_EXCEEDED)?;
        }
        let signed = SignedCertificate::issue(&IdentityKey::from_seed(seed), cert)?;
        let mut encoded = vec![0u8; signed.encoded_len()];
        let n = signed.encode(&mut encoded)?;
        encoded.truncate(n);
        copy_out(&encoded, buf, written)?;
        Ok(())
    })
}

/// Verifies certificate bytes (`len` bytes) against the cluster authority's
/// public key `authority_public` (32 bytes) at `unix_now` (UNIX seconds):
/// `PN_OK` if it is signed by that authority, valid then, for
/// `expected_role` (a `pn_node_role` value, or -1 for any) and for
/// `expected_id` (UTF-8, `expected_id_len` bytes; NULL with length 0 for any).
/// Revocation lists are not consulted here (a running node applies them).
///
/// Errors: `PN_ERR_DECODE_*` for bytes that are not a certificate,
/// `PN_ERR_UNAUTHENTICATED` for another authority's (or an invalid authority
/// key), `PN_ERR_CREDENTIAL_REJECTED` for one that is expired, not yet valid,
/// or for another role or node, `PN_ERR_INVALID_ARGUMENT` for an unknown
/// `expected_role`, `PN_ERR_INVALID_ID` for a bad `expected_id`.
/// `pn_last_error_message` says which.
///
/// # Safety
/// `cert` NULL or readable for `len` bytes; `authority_public` NULL or readable
/// for 32 bytes; `expected_id` NULL or readable for `expected_id_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_certificate_verify(
    cert: *const u8,
    len: usize,
    authority_public: *const u8,
    unix_now: u64,
    expected_role: i32,
    expected_id: *const c_char,
    expected_id_len: usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (input, authority) = unsafe { (bytes(cert, len)?, key_bytes(authority_public)?) };
        let role = match expected_role {
            -1 => None,
            r => Some(role_of(u32::try_from(r).map_err(|_| pn_result::PN_ERR_INVALID_ARGUMENT)?)?),
        };
        let id = if expected_id.is_null() && expected_id_len == 0 {
            None
        } else {
            // SAFETY: the caller's promise for `expected_id`.
            Some(unsafe { node_id(expected_id, expected_id_len) }?)
        };
        let authority = PublicIdentity::from_bytes(authority)?;
        let signed = SignedCertificate::decode(input)?;
        signed.verify(&authority, unix_now, role, id.as_ref(), &RevocationList::empty())?;
        Ok(())
    })
}

/// Decodes certificate bytes (`len` bytes) and writes their fields into
/// `*out_info`, **without verifying** them (use `pn_certificate_verify` before
/// trusting anything). `PN_ERR_DECODE_*` for bytes that are not a certificate.
///
/// # Safety
/// `cert` NULL or readable for `len` bytes; `out_info` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_certificate_inspect(
    cert: *const u8,
    len: usize,
    out_info: *mut pn_certificate_info,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (input, out) = unsafe { (bytes(cert, len)?, Out::new(out_info)?) };
        let signed = SignedCertificate::decode(input)?;
        let c = signed.certificate_unverified();
        let mut pools = [pn_node_id::EMPTY; PN_CERT_MAX_POOLS];
        for (dst, p) in pools.iter_mut().zip(&c.pools) {
            *dst = pn_task_id::from_text(p.as_str());
        }
        out.set(pn_certificate_info {
            node: pn_node_id::from(&c.node),
            role: role_to_c(c.role),
            identity_public: c.identity.to_bytes(),
            wg_key: *c.wg_key.as_bytes(),
            slots: c.slots,
            pool_count: c.pools.len(),
            pools,
            endpoint_count: c.endpoints.len(),
            serial: c.serial,
            not_before: c.not_before,
            not_after: c.not_after,
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{PN_MAX_CERTIFICATE_LEN, pn_identity_public};
    use core::ptr::null;

    const AUTHORITY: [u8; 32] = [7; 32];
    const NODE: [u8; 32] = [9; 32];

    fn public(seed: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        // SAFETY: locals of 32 bytes.
        assert_eq!(unsafe { pn_identity_public(seed.as_ptr(), out.as_mut_ptr()) }, pn_result::PN_OK);
        out
    }

    fn issue(node: &str, role: u32, pools: &[&str], not_after: u64) -> Result<Vec<u8>, pn_result> {
        let strs: Vec<pn_str> = pools.iter().map(|p| pn_str { ptr: p.as_ptr().cast(), len: p.len() }).collect();
        let fields = pn_certificate_fields {
            node: node.as_ptr().cast(),
            node_len: node.len(),
            role,
            identity_public: public(&NODE),
            wg_key: [1; 32],
            slots: 2,
            pools: if strs.is_empty() { null() } else { strs.as_ptr() },
            pool_count: strs.len(),
            serial: 3,
            not_before: 100,
            not_after,
        };
        let mut buf = vec![0u8; PN_MAX_CERTIFICATE_LEN];
        let mut n = 0usize;
        // SAFETY: live locals with their true lengths.
        let r = unsafe { pn_certificate_issue(AUTHORITY.as_ptr(), &fields, buf.as_mut_ptr(), buf.len(), &mut n) };
        if r != pn_result::PN_OK {
            return Err(r);
        }
        buf.truncate(n);
        Ok(buf)
    }

    /// The public key is the core's; issued bytes decode to what was asked and
    /// verify as the core verifies them.
    #[test]
    fn issue_inspect_verify() {
        assert_eq!(public(&NODE), IdentityKey::from_seed(&NODE).public().to_bytes());
        let cert = issue("w-1", 1, &["train", "infer"], 200).unwrap();
        let mut info = core::mem::MaybeUninit::<pn_certificate_info>::uninit();
        // SAFETY: live locals.
        let info = unsafe {
            assert_eq!(pn_certificate_inspect(cert.as_ptr(), cert.len(), info.as_mut_ptr()), pn_result::PN_OK);
            info.assume_init()
        };
        assert_eq!((info.node, info.role, info.slots), (pn_node_id::from_text("w-1"), pn_node_role::PN_NODE_WORKER, 2));
        assert_eq!((info.pool_count, info.pools[1], info.pools[2].len), (2, pn_task_id::from_text("infer"), 0));
        assert_eq!((info.serial, info.not_before, info.not_after, info.wg_key), (3, 100, 200, [1; 32]));
        let auth = public(&AUTHORITY);
        let verify = |auth: &[u8; 32], now: u64, role: i32, id: &str| {
            // SAFETY: live locals with their true lengths.
            unsafe {
                pn_certificate_verify(cert.as_ptr(), cert.len(), auth.as_ptr(), now, role, id.as_ptr().cast(), id.len())
            }
        };
        assert_eq!(verify(&auth, 150, 1, "w-1"), pn_result::PN_OK);
        // SAFETY: as above, with no expected id.
        assert_eq!(
            unsafe { pn_certificate_verify(cert.as_ptr(), cert.len(), auth.as_ptr(), 150, -1, null(), 0) },
            pn_result::PN_OK
        );
        assert_eq!(verify(&public(&NODE), 150, 1, "w-1"), pn_result::PN_ERR_UNAUTHENTICATED);
        assert_eq!(verify(&auth, 200, 1, "w-1"), pn_result::PN_ERR_CREDENTIAL_REJECTED);
        assert_eq!(verify(&auth, 150, 0, "w-1"), pn_result::PN_ERR_CREDENTIAL_REJECTED);
        assert_eq!(verify(&auth, 150, 1, "w-2"), pn_result::PN_ERR_CREDENTIAL_REJECTED);
        assert_eq!(verify(&auth, 150, 5, "w-1"), pn_result::PN_ERR_INVALID_ARGUMENT);
        // SAFETY: a truncated copy of a live buffer.
        assert_eq!(
            unsafe { pn_certificate_verify(cert.as_ptr(), cert.len() - 1, auth.as_ptr(), 150, -1, null(), 0) },
            pn_result::PN_ERR_DECODE_TRUNCATED
        );
    }

    /// Bad fields come back as the core's kinds; a short buffer reports the length.
    #[test]
    fn issue_refuses_bad_fields() {
        assert_eq!(issue("w", 2, &[], 200), Err(pn_result::PN_ERR_INVALID_ARGUMENT));
        assert_eq!(issue("w", 1, &["a", "a"], 200), Err(pn_result::PN_ERR_INVALID_ARGUMENT));
        assert_eq!(issue("w", 1, &["a", "b", "c", "d", "e"], 200), Err(pn_result::PN_ERR_CAPACITY_EXCEEDED));
        assert_eq!(issue("w", 1, &[], 50), Err(pn_result::PN_ERR_INVALID_ARGUMENT));
        assert_eq!(issue("", 1, &[], 200), Err(pn_result::PN_ERR_INVALID_ID));
        let fields = pn_certificate_fields {
            node: "w".as_ptr().cast(),
            node_len: 1,
            role: 1,
            identity_public: public(&NODE),
            wg_key: [0; 32],
            slots: 0,
            pools: null(),
            pool_count: 0,
            serial: 1,
            not_before: 0,
            not_after: 1,
        };
        let (mut small, mut big, mut n, mut m) = ([0u8; 8], [0u8; PN_MAX_CERTIFICATE_LEN], 0usize, 0usize);
        // SAFETY: live locals with their true lengths.
        unsafe {
            let r = pn_certificate_issue(AUTHORITY.as_ptr(), &fields, small.as_mut_ptr(), small.len(), &mut n);
            assert_eq!(r, pn_result::PN_ERR_BUFFER_TOO_SMALL);
            let r = pn_certificate_issue(AUTHORITY.as_ptr(), &fields, big.as_mut_ptr(), big.len(), &mut m);
            assert_eq!((r, n), (pn_result::PN_OK, m));
        }
        assert_eq!(small, [0; 8], "a short buffer is left alone");
    }
}
