//! The Byzantine election's proofs, verified offline from public keys alone
//! (`pn_quorum_*`, `pn_equivocation_*`): a quorum certificate (a quorum of
//! signed votes for one candidate in one term) and equivocation evidence (two
//! signed votes of one voter in one term for two candidates), as the core's
//! [`pouw_netops::auth::quorum`] encodes them. The host hands evidence to the
//! chain; anyone holding the authority key and the voter's key checks it.

use crate::boundary::{bytes, guard, optional_out};
use crate::last_error::Failure;
use crate::convert::{node_id, pn_node_id, pn_str};
use crate::identity::key_bytes;
use crate::result::pn_result;
use alloc::vec::Vec;
use pouw_netops::NodeId;
use pouw_netops::auth::quorum::{self, EquivocationEvidence, QcView, QuorumError, VoteKind};
use pouw_netops::auth::PublicIdentity;

/// The longest encoded quorum certificate.
pub const PN_MAX_QUORUM_CERTIFICATE_LEN: usize = 2164;
const _: () = assert!(PN_MAX_QUORUM_CERTIFICATE_LEN == quorum::MAX_QC_LEN);

/// The most voters a quorum certificate can name.
pub const PN_MAX_QUORUM_VOTERS: usize = 64;
const _: () = assert!(PN_MAX_QUORUM_VOTERS == quorum::MAX_QC_SIGNERS);

/// The longest encoded equivocation evidence record.
pub const PN_MAX_EQUIVOCATION_LEN: usize = 407;
const _: () = assert!(PN_MAX_EQUIVOCATION_LEN == quorum::MAX_EVIDENCE_LEN);

/// What a certificate's signers voted: a pre-vote grant or a vote.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_vote_kind {
    /// Pre-vote grants: the certificate justifies a vote request for its term.
    PN_VOTE_KIND_PRE_VOTE = 1,
    /// Votes: the certificate makes its candidate the leader of its term.
    PN_VOTE_KIND_VOTE = 2,
}

crate::convert::mirror_enum!(VoteKind => pn_vote_kind { PreVote => PN_VOTE_KIND_PRE_VOTE, Vote => PN_VOTE_KIND_VOTE });

/// A verified quorum certificate, as `pn_quorum_certificate_verify` writes it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_quorum_certificate_info {
    /// Pre-vote or vote certificate.
    pub kind: pn_vote_kind,
    /// The term.
    pub term: u64,
    /// The candidate the signers voted for.
    pub candidate: pn_node_id,
    /// The signers: bit `i` is the `i`-th voter in ascending id order.
    pub signers: u64,
    /// How many voters signed.
    pub signer_count: usize,
    /// SHA-256 of the encoding: the name nodes cache it by.
    pub digest: [u8; 32],
}

/// A verified equivocation record, as `pn_equivocation_verify` writes it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_equivocation_info {
    /// The voter that signed two votes.
    pub voter: pn_node_id,
    /// The term of both votes.
    pub term: u64,
    /// The two candidates it voted for, in ascending byte order.
    pub candidates: [pn_node_id; 2],
}

fn public(ptr: *const u8) -> Result<PublicIdentity, Failure> {
    // SAFETY: every caller passes a pointer the C contract says is NULL or readable for 32 bytes.
    let b = unsafe { key_bytes(ptr)? };
    Ok(PublicIdentity::from_bytes(b)?)
}

/// Verifies an encoded quorum certificate (`len` bytes at `cert`) in the
/// cluster of authority `authority_public` (32 bytes) against the voter set
/// `voter_ids` / `voter_keys` (`voter_count` ids, UTF-8, and 32-byte identity
/// public keys, pairwise; any order: signer indices refer to ascending id
/// order) and `quorum`: `PN_OK` if at least `quorum` distinct voters signed
/// it, their half-aggregated signature valid (format v2). On `PN_OK` its
/// kind, term, candidate, signers and digest go to `*out_info` (if not NULL):
/// check that they are what you expect.
///
/// Errors: `PN_ERR_DECODE_*` for bytes that are no certificate (truncated,
/// trailing bytes, over `PN_MAX_QUORUM_CERTIFICATE_LEN`, ...);
/// `PN_ERR_UNAUTHENTICATED` for an aggregate signature that does not verify
/// (it names no signer) or a signer that is no voter; `PN_ERR_VERIFY_FAILED`
/// for fewer signers than `quorum`;
/// `PN_ERR_INVALID_ARGUMENT` for a quorum of 0 or above `voter_count`, more
/// than `PN_MAX_QUORUM_VOTERS` voters, an id listed twice or a key that is no
/// Ed25519 key; `PN_ERR_INVALID_ID` for a bad id. `pn_last_error_message`
/// says which (and which signer, for a signer that is no voter).
///
/// # Safety
/// `cert` NULL (only with `len` 0) or readable for `len` bytes;
/// `authority_public` NULL or readable for 32 bytes; `voter_ids` NULL (only
/// with `voter_count` 0) or readable for `voter_count` elements, each as
/// `pn_str` says; `voter_keys` likewise for `voter_count` keys;
/// `out_info` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_quorum_certificate_verify(
    cert: *const u8,
    len: usize,
    authority_public: *const u8,
    voter_ids: *const pn_str,
    voter_keys: *const [u8; 32],
    voter_count: usize,
    quorum: usize,
    out_info: *mut pn_quorum_certificate_info,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `cert`, `voter_ids` and `out_info`.
        let (input, ids, out) =
            unsafe { (bytes(cert, len)?, crate::convert::node_ids(voter_ids, voter_count)?, optional_out(out_info)) };
        let cluster = public(authority_public)?;
        if voter_count > quorum::MAX_QC_SIGNERS {
            return Err(QuorumError::TooManySigners.into());
        }
        let keys: &[[u8; 32]] = if voter_keys.is_null() {
            if voter_count != 0 {
                return Err(pn_result::PN_ERR_NULL_POINTER.into());
            }
            &[]
        } else {
            // SAFETY: non-NULL and, by the caller's promise, readable for `voter_count` keys.
            unsafe { core::slice::from_raw_parts(voter_keys, voter_count) }
        };
        let mut voters: Vec<(NodeId, PublicIdentity)> = Vec::with_capacity(ids.len());
        for (id, key) in ids.into_iter().zip(keys) {
            let key = PublicIdentity::from_bytes(key).map_err(|_| pn_result::PN_ERR_INVALID_ARGUMENT)?;
            voters.push((id, key));
        }
        voters.sort_by(|a, b| a.0.cmp(&b.0));
        quorum::check_voters(voters.as_slice())?;
        let view = QcView::parse(input)?;
        view.verify(&cluster, voters.as_slice(), quorum)?;
        if let Some(out) = out {
            out.set(pn_quorum_certificate_info {
                kind: view.kind().into(),
                term: view.term(),
                candidate: view.candidate().into(),
                signers: view.signers(),
                signer_count: view.signers().count_ones() as usize,
                digest: view.digest(),
            });
        }
        Ok(())
    })
}

/// Verifies an encoded equivocation evidence record (`len` bytes at
/// `evidence`) offline, from the authority's public key `authority_public`
/// and the voter's identity public key `voter_public` (32 bytes each): `PN_OK`
/// if it holds two votes signed by that key in that cluster, by one voter, in
/// one term, for two candidates. On `PN_OK` the voter, term and candidates go
/// to `*out_info` (if not NULL). `expected_voter` (UTF-8,
/// `expected_voter_len` bytes; NULL with length 0 for any) must be the voter
/// the record names, if given: the key alone says nothing about the id.
///
/// Errors: `PN_ERR_DECODE_*` for bytes that are no record;
/// `PN_ERR_VERIFY_FAILED` for two votes that are no equivocation (not both
/// votes, another voter or term, the same candidate, not in canonical order);
/// `PN_ERR_UNAUTHENTICATED` for a signature that does not verify under
/// `voter_public`, or a key that is no Ed25519 key;
/// `PN_ERR_CREDENTIAL_REJECTED` for a record naming another voter than
/// `expected_voter`; `PN_ERR_INVALID_ID` for a bad `expected_voter`.
///
/// # Safety
/// `evidence` NULL (only with `len` 0) or readable for `len` bytes; the keys
/// NULL or readable for 32 bytes; `expected_voter` NULL (only with length 0)
/// or readable for `expected_voter_len` bytes; `out_info` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_equivocation_verify(
    evidence: *const u8,
    len: usize,
    authority_public: *const u8,
    voter_public: *const u8,
    expected_voter: *const core::ffi::c_char,
    expected_voter_len: usize,
    out_info: *mut pn_equivocation_info,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `evidence` and `out_info`.
        let (input, out) = unsafe { (bytes(evidence, len)?, optional_out(out_info)) };
        let expected = if expected_voter.is_null() && expected_voter_len == 0 {
            None
        } else {
            // SAFETY: the caller's promise for `expected_voter`.
            Some(unsafe { node_id(expected_voter, expected_voter_len) }?)
        };
        let (cluster, voter) = (public(authority_public)?, public(voter_public)?);
        let e = EquivocationEvidence::decode(input)?;
        e.verify(&cluster, &voter)?;
        if expected.as_ref().is_some_and(|id| id != e.voter()) {
            crate::last_error::record(&"the record names another voter than expected");
            return Err(Failure(pn_result::PN_ERR_CREDENTIAL_REJECTED));
        }
        if let Some(out) = out {
            let (a, b) = e.votes();
            out.set(pn_equivocation_info {
                voter: e.voter().into(),
                term: e.term(),
                candidates: [(&a.statement.candidate).into(), (&b.statement.candidate).into()],
            });
        }
        Ok(())
    })
}
