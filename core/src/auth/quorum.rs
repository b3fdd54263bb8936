//! Signed votes, quorum certificates and equivocation evidence: the proofs
//! behind the Byzantine fault model of the leader election.
//!
//! # What is signed
//!
//! A voter signs a [`VoteStatement`] (kind, term, candidate, voter) with its
//! identity key, over
//!
//! ```text
//! "pouw-netops/pre-vote/v1" | "pouw-netops/vote/v1"   (by kind: Domain::PreVote, Domain::Vote)
//! || 0x00 || cluster (authority public key, 32 bytes)
//! || term (u64 LE) || len(candidate) (1 byte) || candidate || len(voter) (1 byte) || voter
//! ```
//!
//! The kind is bound by the domain, so a pre-vote grant never counts as a
//! vote; the cluster is bound as in every signature of the crate.
//!
//! # Encodings
//!
//! A [`SignedVote`] (at most [`MAX_SIGNED_VOTE_LEN`] = 203 bytes):
//!
//! ```text
//! kind (1: 1 = pre-vote, 2 = vote) || term (8, LE) || L (1) || candidate (L)
//! || M (1) || voter (M) || signature (64)
//! ```
//!
//! A [`QuorumCertificate`] (at most [`MAX_QC_LEN`] bytes), version 2: the
//! signers' Ed25519 signatures half-aggregated (module `verify`):
//!
//! ```text
//! offset        size   field
//! 0             1      version = 2
//! 1             1      kind (1 = pre-vote, 2 = vote)
//! 2             8      term (u64 LE)
//! 10            1      candidate id length L (1..=64)
//! 11            L      candidate id (UTF-8)
//! 11+L          1      signer bitmap length B (1..=8)
//! 12+L          B      signer bitmap: bit i of byte j is voter index 8j+i; the last byte is non-zero
//! 12+L+B        32·k   the k signers' nonces Rᵢ (the first half of each signature), ascending voter index
//! 12+L+B+32k    32     the aggregate scalar s = Σ zᵢ·sᵢ mod ℓ (canonical, little-endian)
//! ```
//!
//! Version 1 (a full 64-byte signature per signer) is refused as
//! [`QuorumError::UnknownVersion`].
//!
//! Signers are a bitmap over the voters' canonical order (ascending
//! [`NodeId`]), so they are strictly ascending and a voter cannot be counted
//! twice: duplicates cannot be expressed. The encoding is canonical (the
//! shortest bitmap, no trailing bytes; verification takes only `s < ℓ`), so
//! one certificate has one byte string and [`QuorumCertificate::digest`] (SHA-256 of it) names it;
//! the builder aggregates deterministically, so the same votes give the same
//! bytes.
//!
//! Sizes: `12 + L + ⌈N/8⌉ + 32·(q + 1)` for `q` signers among `N` voters.
//! With a 12-byte candidate id: N = 4, q = 3: 153 B; N = 7, q = 5: 217 B
//! (269 B with a 64-byte id); N = 31, q = 17 (f = 1): 604 B; N = 31, q = 21
//! (f = 10): 732 B (version 1: 217, 345, 1,116 and 1,372 B).
//!
//! [`EquivocationEvidence`] (at most [`MAX_EVIDENCE_LEN`] bytes):
//! `version = 1 || signed vote || signed vote`, the two votes by one voter,
//! kind vote, one term, for two candidates in ascending byte order, so the
//! same equivocation has one record whichever order it was seen in.
//!
//! # Properties
//!
//! Decoding is total and bounded (a length cap first, every field checked, no
//! trailing bytes); verification streams each statement through SHA-512 and
//! checks a single vote's signature by RFC 8032's cofactored equation, a
//! certificate's aggregate by the cofactored aggregate equation, in one
//! multi-scalar multiplication per chunk of signers with `batch-verify` and
//! by a loop of point operations without it (module `verify`: the
//! construction, its security, why cofactored, and why both paths agree).
//!
//! # Layout
//!
//! This module holds the formats' constants, [`QuorumError`], [`VoteKind`] and
//! the voter table ([`VoterKeys`], [`check_voters`]); the rest is in private
//! submodules, re-exported here: `vote` ([`VoteStatement`], [`SignedVote`]),
//! `cert` ([`QuorumCertificate`], [`QcView`], [`QcBuilder`]), `evidence`
//! ([`EquivocationEvidence`]), `verify` (the signature rule, one by one and
//! the half-aggregation, both paths) and `codec` (the bounded reader and writer).

use super::keys::{Domain, PublicIdentity};
use crate::id::{MAX_ID_LEN, NodeId};

mod cert;
mod codec;
mod evidence;
mod verify;
mod vote;

pub use cert::{QcBuilder, QcView, QuorumCertificate};
pub use evidence::EquivocationEvidence;
pub use vote::{SignedVote, VoteStatement};

/// The most voters a certificate can name: the signer bitmap is at most 64
/// bits. Byzantine mode refuses a configuration with more voters. At this
/// bound and the largest `f` (21), a quorum is 43 signers, a certificate
/// 1.5 KB, and verifying it six multi-scalar multiplications (chunks of 8
/// signers) or, without `batch-verify`, 86 scalar multiplications.
pub const MAX_QC_SIGNERS: usize = 64;

/// Length of a signature on the wire.
pub(crate) const SIG_LEN: usize = 64;

/// Length of a signature's nonce `R` (and of the aggregate scalar) on the wire.
pub(crate) const NONCE_LEN: usize = 32;

/// Version byte of the certificate encoding: 2, half-aggregated signatures
/// (version 1, one full signature per signer, is refused).
pub const QC_VERSION: u8 = 2;

/// Version byte of the evidence encoding.
pub const EVIDENCE_VERSION: u8 = 1;

/// The longest encoded certificate: header, a 64-byte candidate id, a full
/// bitmap, 64 nonces and the aggregate scalar (2,164 bytes).
pub const MAX_QC_LEN: usize =
    1 + 1 + 8 + 1 + MAX_ID_LEN + 1 + MAX_QC_SIGNERS / 8 + MAX_QC_SIGNERS * NONCE_LEN + NONCE_LEN;

/// The longest encoded signed vote (203 bytes).
pub const MAX_SIGNED_VOTE_LEN: usize = 1 + 8 + 1 + MAX_ID_LEN + 1 + MAX_ID_LEN + SIG_LEN;

/// The longest encoded equivocation evidence record (407 bytes).
pub const MAX_EVIDENCE_LEN: usize = 1 + 2 * MAX_SIGNED_VOTE_LEN;

/// Why a vote, certificate or evidence record is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuorumError {
    /// A signature does not verify. `index` is the signer's voter index for a
    /// certificate, 0 for a single vote, 0 (first) or 1 (second) for evidence.
    BadSignature {
        /// Which signature.
        index: usize,
    },
    /// A certificate's half-aggregated signature does not verify (the
    /// aggregate equation fails, a nonce `R` is not canonical or of small
    /// order, or the aggregate scalar is not canonical). An aggregate names
    /// no culprit: any signer's share, or the aggregator, may be at fault.
    BadAggregate,
    /// A signer index names no configured voter (or the voter set has no key for it).
    UnknownSigner {
        /// The signer's index.
        index: usize,
    },
    /// The voter is not in the voter set (collecting votes).
    NotAVoter,
    /// The voter already signed this certificate (collecting votes).
    DuplicateSigner {
        /// The voter's index.
        index: usize,
    },
    /// Fewer distinct signers than the quorum.
    NotEnoughSigners {
        /// Signers in the certificate.
        have: usize,
        /// The quorum.
        need: usize,
    },
    /// The statement or certificate is of the other kind (pre-vote / vote).
    WrongKind,
    /// The statement or certificate is for another term.
    WrongTerm,
    /// The statement or certificate is for another candidate.
    WrongCandidate,
    /// More voters than [`MAX_QC_SIGNERS`].
    TooManySigners,
    /// The quorum is 0 or larger than the voter set.
    InvalidQuorum,
    /// The voter list is not in strictly ascending id order.
    VotersNotAscending,
    /// Two votes that are not an equivocation (another kind, voter or term,
    /// or the same candidate), or evidence not in canonical order.
    NotEquivocation,
    /// No bytes, or the input ends in the middle of a field.
    Truncated,
    /// Longer than the format's bound.
    Oversized {
        /// The input's length.
        len: usize,
    },
    /// The version byte is not one this build reads.
    UnknownVersion(u8),
    /// The kind byte is neither pre-vote (1) nor vote (2).
    UnknownKind(u8),
    /// A field is malformed: an id of bad length or UTF-8, a non-canonical or empty bitmap.
    Malformed,
    /// Bytes remain after the record.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The caller's buffer is too small for the encoding.
    BufferTooSmall,
}

crate::error::error_impls! {
    QuorumError, f;
    QuorumError::BadSignature { index } => ErrorKind::Unauthenticated, write!(f, "signature {index} does not verify");
    QuorumError::BadAggregate => ErrorKind::Unauthenticated, f.write_str("the aggregate signature does not verify");
    QuorumError::UnknownSigner { index } => ErrorKind::Unauthenticated, write!(f, "signer index {index} names no voter");
    QuorumError::NotAVoter => ErrorKind::Unauthenticated, f.write_str("the voter is not in the voter set");
    QuorumError::DuplicateSigner { index } => ErrorKind::InvalidState, write!(f, "voter {index} already signed");
    QuorumError::NotEnoughSigners { have, need } => ErrorKind::VerifyFailed, write!(f, "{have} signers, the quorum is {need}");
    QuorumError::WrongKind => ErrorKind::CredentialRejected, f.write_str("wrong kind (pre-vote / vote)");
    QuorumError::WrongTerm => ErrorKind::CredentialRejected, f.write_str("wrong term");
    QuorumError::WrongCandidate => ErrorKind::CredentialRejected, f.write_str("wrong candidate");
    QuorumError::TooManySigners => ErrorKind::InvalidArgument, write!(f, "more than {MAX_QC_SIGNERS} voters");
    QuorumError::InvalidQuorum => ErrorKind::InvalidArgument, f.write_str("quorum is 0 or larger than the voter set");
    QuorumError::VotersNotAscending => ErrorKind::InvalidArgument, f.write_str("voters are not in strictly ascending id order");
    QuorumError::NotEquivocation => ErrorKind::VerifyFailed, f.write_str("the two votes are not an equivocation");
    QuorumError::Truncated => ErrorKind::Truncated, f.write_str("input is truncated");
    QuorumError::Oversized { len } => ErrorKind::TooLarge, write!(f, "input of {len} bytes exceeds the format's bound");
    QuorumError::UnknownVersion(v) => ErrorKind::UnsupportedVersion, write!(f, "unknown format version {v}");
    QuorumError::UnknownKind(k) => ErrorKind::UnknownKind, write!(f, "unknown vote kind {k}");
    QuorumError::Malformed => ErrorKind::Malformed, f.write_str("malformed field");
    QuorumError::TrailingBytes { count } => ErrorKind::TrailingBytes, write!(f, "{count} trailing bytes");
    QuorumError::BufferTooSmall => ErrorKind::BufferTooSmall, f.write_str("buffer too small for the encoding");
}

/// What a signed vote grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VoteKind {
    /// A pre-vote grant: the voter would vote for the candidate in the term.
    /// Not a promise (a voter may grant several candidates one term's pre-vote),
    /// so never equivocation.
    PreVote,
    /// A vote: the voter's one vote in the term.
    Vote,
}

impl VoteKind {
    /// The wire byte: 1 = pre-vote, 2 = vote.
    pub const fn byte(self) -> u8 {
        match self {
            VoteKind::PreVote => 1,
            VoteKind::Vote => 2,
        }
    }

    /// The kind of wire byte `b`.
    pub const fn from_byte(b: u8) -> Result<Self, QuorumError> {
        match b {
            1 => Ok(VoteKind::PreVote),
            2 => Ok(VoteKind::Vote),
            other => Err(QuorumError::UnknownKind(other)),
        }
    }

    /// The signature domain of statements of this kind.
    pub const fn domain(self) -> Domain {
        match self {
            VoteKind::PreVote => Domain::PreVote,
            VoteKind::Vote => Domain::Vote,
        }
    }
}

/// The configured voters in canonical order (ascending [`NodeId`]) with their
/// identity keys; a voter's position is its signer index in certificates.
pub trait VoterKeys {
    /// How many voters.
    fn voter_count(&self) -> usize;
    /// The id of voter `index`.
    fn voter_id(&self, index: usize) -> Option<&NodeId>;
    /// The identity key of voter `index`.
    fn voter_key(&self, index: usize) -> Option<PublicIdentity>;
    /// The index of voter `id` (by default a binary search over
    /// [`VoterKeys::voter_id`], which the canonical order allows).
    fn voter_index(&self, id: &NodeId) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.voter_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.voter_id(mid)?.cmp(id) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

/// A slice of `(id, key)` pairs is a voter set when sorted by id (see
/// [`check_voters`]).
impl VoterKeys for [(NodeId, PublicIdentity)] {
    fn voter_count(&self) -> usize {
        self.len()
    }
    fn voter_id(&self, index: usize) -> Option<&NodeId> {
        self.get(index).map(|(id, _)| id)
    }
    fn voter_key(&self, index: usize) -> Option<PublicIdentity> {
        self.get(index).map(|(_, key)| *key)
    }
}

/// Checks that `voters` is a usable voter set: at most [`MAX_QC_SIGNERS`]
/// voters, ids strictly ascending.
pub fn check_voters<V: VoterKeys + ?Sized>(voters: &V) -> Result<(), QuorumError> {
    let n = voters.voter_count();
    if n > MAX_QC_SIGNERS {
        return Err(QuorumError::TooManySigners);
    }
    for i in 1..n {
        match (voters.voter_id(i - 1), voters.voter_id(i)) {
            (Some(a), Some(b)) if a < b => {}
            _ => return Err(QuorumError::VotersNotAscending),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
