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
//! A [`QuorumCertificate`] (at most [`MAX_QC_LEN`] bytes):
//!
//! ```text
//! offset   size   field
//! 0        1      version = 1
//! 1        1      kind (1 = pre-vote, 2 = vote)
//! 2        8      term (u64 LE)
//! 10       1      candidate id length L (1..=64)
//! 11       L      candidate id (UTF-8)
//! 11+L     1      signer bitmap length B (1..=8)
//! 12+L     B      signer bitmap: bit i of byte j is voter index 8j+i; the last byte is non-zero
//! 12+L+B   64·k   the k signers' signatures, in ascending voter index
//! ```
//!
//! Signers are a bitmap over the voters' canonical order (ascending
//! [`NodeId`]), so they are strictly ascending and a voter cannot be counted
//! twice: duplicates cannot be expressed. The encoding is canonical (the
//! shortest bitmap, no trailing bytes), so one certificate has one byte
//! string and [`QuorumCertificate::digest`] (SHA-256 of it) names it.
//!
//! Sizes: `12 + L + ⌈N/8⌉ + 64·q` for `q` signers among `N` voters. With a
//! 12-byte candidate id: N = 4, q = 3: 217 B; N = 7, q = 5: 345 B (397 B with a
//! 64-byte id); N = 31, q = 17 (f = 1): 1,113 B; N = 31, q = 21 (f = 10): 1,369 B.
//!
//! [`EquivocationEvidence`] (at most [`MAX_EVIDENCE_LEN`] bytes):
//! `version = 1 || signed vote || signed vote`, the two votes by one voter,
//! kind vote, one term, for two candidates in ascending byte order, so the
//! same equivocation has one record whichever order it was seen in.
//!
//! # Properties
//!
//! Decoding is total and bounded (a length cap first, every field checked, no
//! trailing bytes); verification needs no allocator and streams each
//! statement through SHA-512 ([`super::keys`]): the signatures are checked
//! with the same strict rules as every other signature of the crate.

use super::keys::{Domain, IdentityKey, PublicIdentity, Signature};
use crate::id::{MAX_ID_LEN, NodeId};
use core::fmt;
use sha2::{Digest, Sha256};

/// The most voters a certificate can name: the signer bitmap is at most 64
/// bits. Byzantine mode refuses a configuration with more voters. At this
/// bound and the largest `f` (21), a quorum is 43 signatures, a certificate
/// 2.8 KB, and verifying it ~43 signature checks (~2 ms).
pub const MAX_QC_SIGNERS: usize = 64;

/// Length of a signature on the wire.
const SIG_LEN: usize = 64;

/// Version byte of the certificate encoding.
pub const QC_VERSION: u8 = 1;

/// Version byte of the evidence encoding.
pub const EVIDENCE_VERSION: u8 = 1;

/// The longest encoded certificate: header, a 64-byte candidate id, a full
/// bitmap and 64 signatures (4,180 bytes).
pub const MAX_QC_LEN: usize = 1 + 1 + 8 + 1 + MAX_ID_LEN + 1 + MAX_QC_SIGNERS / 8 + MAX_QC_SIGNERS * SIG_LEN;

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

/// The one-byte length of an id (ids are at most 64 bytes; saturates otherwise).
fn len_byte(bytes: &[u8]) -> [u8; 1] {
    [u8::try_from(bytes.len()).unwrap_or(u8::MAX)]
}

/// Streams the signed message of a statement to `sink`, in parts.
fn statement_parts(
    kind: VoteKind,
    term: u64,
    candidate: &NodeId,
    voter: &NodeId,
    cluster: &PublicIdentity,
    f: impl FnOnce(&[&[u8]]) -> Result<(), QuorumError>,
) -> Result<(), QuorumError> {
    let (c, v) = (candidate.as_bytes(), voter.as_bytes());
    f(&[
        kind.domain().label().as_bytes(),
        &[0],
        cluster.as_bytes(),
        &term.to_le_bytes(),
        &len_byte(c),
        c,
        &len_byte(v),
        v,
    ])
}

/// What a voter signs: its vote (or pre-vote grant) for `candidate` in `term`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VoteStatement {
    /// Pre-vote grant or vote.
    pub kind: VoteKind,
    /// The term voted in.
    pub term: u64,
    /// The candidate voted for.
    pub candidate: NodeId,
    /// The voter.
    pub voter: NodeId,
}

impl VoteStatement {
    /// The voter's signature (with `key`, its identity key) on this statement in
    /// the cluster of authority `cluster`.
    pub fn sign(&self, key: &IdentityKey, cluster: &PublicIdentity) -> Signature {
        let mut sig = Signature([0; 64]);
        // The closure never fails.
        let _ = statement_parts(self.kind, self.term, &self.candidate, &self.voter, cluster, |parts| {
            sig = key.sign_parts(parts);
            Ok(())
        });
        sig
    }

    /// Whether `sig` is the signature of the voter (whose identity key is
    /// `voter_key`) on this statement in the cluster of authority `cluster`.
    /// Fails with [`QuorumError::BadSignature`] (index 0).
    pub fn verify(
        &self,
        cluster: &PublicIdentity,
        voter_key: &PublicIdentity,
        sig: &Signature,
    ) -> Result<(), QuorumError> {
        verify_statement(self.kind, self.term, &self.candidate, &self.voter, cluster, voter_key, sig, 0)
    }

    /// This statement, signed by `key`.
    pub fn signed(self, key: &IdentityKey, cluster: &PublicIdentity) -> SignedVote {
        let signature = self.sign(key, cluster);
        SignedVote { statement: self, signature }
    }
}

#[allow(clippy::too_many_arguments)]
fn verify_statement(
    kind: VoteKind,
    term: u64,
    candidate: &NodeId,
    voter: &NodeId,
    cluster: &PublicIdentity,
    voter_key: &PublicIdentity,
    sig: &Signature,
    index: usize,
) -> Result<(), QuorumError> {
    statement_parts(kind, term, candidate, voter, cluster, |parts| {
        voter_key.verify_parts(parts, sig).map_err(|_| QuorumError::BadSignature { index })
    })
}

/// A [`VoteStatement`] with its voter's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedVote {
    /// What was signed.
    pub statement: VoteStatement,
    /// The voter's signature on it.
    pub signature: Signature,
}

impl SignedVote {
    /// Whether the signature is the voter's (`voter_key`) on the statement.
    pub fn verify(&self, cluster: &PublicIdentity, voter_key: &PublicIdentity) -> Result<(), QuorumError> {
        self.statement.verify(cluster, voter_key, &self.signature)
    }

    /// The length of the encoding.
    pub fn encoded_len(&self) -> usize {
        1 + 8 + 1 + self.statement.candidate.as_bytes().len() + 1 + self.statement.voter.as_bytes().len() + SIG_LEN
    }

    /// Writes the encoding into `out`, returning its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, QuorumError> {
        let mut w = Writer::new(out);
        self.write(&mut w)?;
        Ok(w.pos)
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), QuorumError> {
        let s = &self.statement;
        w.put(&[s.kind.byte()])?;
        w.put(&s.term.to_le_bytes())?;
        w.put_id(&s.candidate)?;
        w.put_id(&s.voter)?;
        w.put(&self.signature.0)
    }

    fn hash_into(&self, h: &mut Sha256) {
        let s = &self.statement;
        h.update([s.kind.byte()]);
        h.update(s.term.to_le_bytes());
        h.update(len_byte(s.candidate.as_bytes()));
        h.update(s.candidate.as_bytes());
        h.update(len_byte(s.voter.as_bytes()));
        h.update(s.voter.as_bytes());
        h.update(self.signature.0);
    }

    /// Decodes a signed vote (nothing is verified).
    pub fn decode(bytes: &[u8]) -> Result<Self, QuorumError> {
        let mut r = Reader::bounded(bytes, MAX_SIGNED_VOTE_LEN)?;
        let vote = Self::read(&mut r)?;
        r.finish()?;
        Ok(vote)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, QuorumError> {
        let kind = VoteKind::from_byte(r.byte()?)?;
        let term = r.u64()?;
        let candidate = r.id()?;
        let voter = r.id()?;
        let signature = Signature(r.array::<SIG_LEN>()?);
        Ok(SignedVote { statement: VoteStatement { kind, term, candidate, voter }, signature })
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

/// The verification and claim accessors [`QuorumCertificate`] and [`QcView`]
/// share: both hold `kind`, `term`, `candidate` and `signers` fields and give
/// their signatures in order by `signature_chunks`.
macro_rules! qc_claim_methods {
    () => {
        /// Verifies the certificate: at least `quorum` distinct signers, each a
        /// voter of `voters` (canonical order, see [`check_voters`]), each
        /// signature valid in the cluster of authority `cluster`. The certificate's
        /// kind, term and candidate are what it claims; check them against what
        /// you expect with [`QuorumCertificate::check_claim`].
        pub fn verify<V: VoterKeys + ?Sized>(
            &self,
            cluster: &PublicIdentity,
            voters: &V,
            quorum: usize,
        ) -> Result<(), QuorumError> {
            verify_qc(
                self.kind,
                self.term,
                &self.candidate,
                self.signers,
                self.signature_chunks(),
                cluster,
                voters,
                quorum,
            )
        }

        /// Whether the certificate is for `kind`, `term` and `candidate`.
        pub fn check_claim(&self, kind: VoteKind, term: u64, candidate: &NodeId) -> Result<(), QuorumError> {
            check_claim(self.kind, self.term, &self.candidate, kind, term, candidate)
        }

        /// Pre-vote or vote certificate.
        pub fn kind(&self) -> VoteKind {
            self.kind
        }

        /// The term.
        pub fn term(&self) -> u64 {
            self.term
        }

        /// The candidate the signers voted for.
        pub fn candidate(&self) -> &NodeId {
            &self.candidate
        }

        /// The signers' voter indices as a bitmap (bit `i`: voter `i` signed).
        pub fn signers(&self) -> u64 {
            self.signers
        }
    };
}

/// A quorum certificate: distinct voters signed the [`VoteStatement`] `{kind,
/// term, candidate, voter}`, each its own. A pre-vote certificate justifies a
/// vote request for `term`; a vote certificate is a leader certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct QuorumCertificate {
    kind: VoteKind,
    term: u64,
    candidate: NodeId,
    /// Bit `i` set: voter `i` signed.
    signers: u64,
    /// One per set bit, in ascending voter index.
    signatures: heapless::Vec<Signature, MAX_QC_SIGNERS>,
}

impl fmt::Debug for QuorumCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuorumCertificate")
            .field("kind", &self.kind)
            .field("term", &self.term)
            .field("candidate", &self.candidate)
            .field("signers", &format_args!("{:#x}", self.signers))
            .finish_non_exhaustive()
    }
}

/// Checks the signers of a certificate against the voter set and the
/// quorum, then verifies every signature.
#[allow(clippy::too_many_arguments)]
fn verify_qc<'s, V: VoterKeys + ?Sized>(
    kind: VoteKind,
    term: u64,
    candidate: &NodeId,
    signers: u64,
    mut signatures: impl Iterator<Item = &'s [u8; SIG_LEN]>,
    cluster: &PublicIdentity,
    voters: &V,
    quorum: usize,
) -> Result<(), QuorumError> {
    let n = voters.voter_count();
    if n > MAX_QC_SIGNERS {
        return Err(QuorumError::TooManySigners);
    }
    if quorum == 0 || quorum > n {
        return Err(QuorumError::InvalidQuorum);
    }
    // Bits at or above `n` name no voter.
    let beyond = if n >= 64 { 0 } else { signers >> n };
    if beyond != 0 {
        let index = n + beyond.trailing_zeros() as usize;
        return Err(QuorumError::UnknownSigner { index });
    }
    let have = signers.count_ones() as usize;
    if have < quorum {
        return Err(QuorumError::NotEnoughSigners { have, need: quorum });
    }
    let mut rest = signers;
    while rest != 0 {
        let index = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        let (Some(voter), Some(key)) = (voters.voter_id(index), voters.voter_key(index)) else {
            return Err(QuorumError::UnknownSigner { index });
        };
        let sig = signatures.next().ok_or(QuorumError::Truncated)?;
        verify_statement(kind, term, candidate, voter, cluster, &key, &Signature(*sig), index)?;
    }
    Ok(())
}

impl QuorumCertificate {
    /// A builder collecting the votes of a certificate for `candidate` in `term`.
    pub fn builder(kind: VoteKind, term: u64, candidate: NodeId) -> QcBuilder {
        QcBuilder { qc: QuorumCertificate { kind, term, candidate, signers: 0, signatures: heapless::Vec::new() } }
    }

    fn signature_chunks(&self) -> impl Iterator<Item = &[u8; SIG_LEN]> {
        self.signatures.iter().map(|s| &s.0)
    }

    qc_claim_methods!();

    /// The length of the encoding.
    pub fn encoded_len(&self) -> usize {
        12 + self.candidate.as_bytes().len() + bitmap_len(self.signers) + SIG_LEN * self.signatures.len()
    }

    /// Writes the encoding into `out`, returning its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, QuorumError> {
        let mut w = Writer::new(out);
        let bitmap = self.signers.to_le_bytes();
        let bitmap = bitmap.get(..bitmap_len(self.signers)).ok_or(QuorumError::Malformed)?;
        w.put(&[QC_VERSION, self.kind.byte()])?;
        w.put(&self.term.to_le_bytes())?;
        w.put_id(&self.candidate)?;
        w.put(&len_byte(bitmap))?;
        w.put(bitmap)?;
        for sig in &self.signatures {
            w.put(&sig.0)?;
        }
        Ok(w.pos)
    }

    /// Decodes a certificate (nothing is verified; see [`QuorumCertificate::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, QuorumError> {
        let view = QcView::parse(bytes)?;
        let mut signatures = heapless::Vec::new();
        for sig in view.signature_chunks() {
            signatures.push(Signature(*sig)).map_err(|_| QuorumError::Malformed)?;
        }
        Ok(QuorumCertificate {
            kind: view.kind,
            term: view.term,
            candidate: view.candidate,
            signers: view.signers,
            signatures,
        })
    }

    /// SHA-256 of the encoding: the name receivers cache the certificate by.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let bitmap = self.signers.to_le_bytes();
        let blen = bitmap_len(self.signers);
        h.update([QC_VERSION, self.kind.byte()]);
        h.update(self.term.to_le_bytes());
        h.update(len_byte(self.candidate.as_bytes()));
        h.update(self.candidate.as_bytes());
        h.update(len_byte(bitmap.get(..blen).unwrap_or(&[])));
        h.update(bitmap.get(..blen).unwrap_or(&[]));
        for sig in &self.signatures {
            h.update(sig.0);
        }
        h.finalize().into()
    }

    /// How many voters signed.
    pub fn signer_count(&self) -> usize {
        self.signatures.len()
    }

    /// The signatures, in ascending voter index.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }
}

fn check_claim(
    kind: VoteKind,
    term: u64,
    candidate: &NodeId,
    want_kind: VoteKind,
    want_term: u64,
    want_candidate: &NodeId,
) -> Result<(), QuorumError> {
    if kind != want_kind {
        return Err(QuorumError::WrongKind);
    }
    if term != want_term {
        return Err(QuorumError::WrongTerm);
    }
    if candidate != want_candidate {
        return Err(QuorumError::WrongCandidate);
    }
    Ok(())
}

/// Bytes of the shortest little-endian bitmap holding `signers`.
fn bitmap_len(signers: u64) -> usize {
    (64 - signers.leading_zeros() as usize).div_ceil(8)
}

/// A certificate parsed in place from its encoding, signatures borrowed: what
/// a receiver verifies straight from a datagram before copying anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QcView<'a> {
    kind: VoteKind,
    term: u64,
    candidate: NodeId,
    signers: u64,
    signatures: &'a [u8],
    bytes: &'a [u8],
}

impl<'a> QcView<'a> {
    /// Parses a certificate's encoding (total, bounded; nothing is verified).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, QuorumError> {
        let mut r = Reader::versioned(bytes, MAX_QC_LEN, QC_VERSION)?;
        let kind = VoteKind::from_byte(r.byte()?)?;
        let term = r.u64()?;
        let candidate = r.id()?;
        let blen = usize::from(r.byte()?);
        if !(1..=MAX_QC_SIGNERS / 8).contains(&blen) {
            return Err(QuorumError::Malformed);
        }
        let bitmap = r.take(blen)?;
        // The shortest bitmap: its last byte is not zero (so it names a signer).
        if bitmap.last().is_none_or(|&b| b == 0) {
            return Err(QuorumError::Malformed);
        }
        let mut le = [0u8; 8];
        le.get_mut(..blen).ok_or(QuorumError::Malformed)?.copy_from_slice(bitmap);
        let signers = u64::from_le_bytes(le);
        let need = SIG_LEN * signers.count_ones() as usize;
        let rest = r.rest();
        if rest.len() < need {
            return Err(QuorumError::Truncated);
        }
        if rest.len() > need {
            return Err(QuorumError::TrailingBytes { count: rest.len() - need });
        }
        Ok(QcView { kind, term, candidate, signers, signatures: rest, bytes })
    }

    fn signature_chunks(&self) -> impl Iterator<Item = &'a [u8; SIG_LEN]> + 'a {
        self.signatures.chunks_exact(SIG_LEN).filter_map(|c| <&[u8; SIG_LEN]>::try_from(c).ok())
    }

    qc_claim_methods!();

    /// SHA-256 of the encoding (equal to [`QuorumCertificate::digest`] of the decoded certificate).
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.bytes).into()
    }

    /// The encoding parsed.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Collects votes into a [`QuorumCertificate`].
#[derive(Clone, Debug)]
pub struct QcBuilder {
    qc: QuorumCertificate,
}

impl QcBuilder {
    /// Adds `vote` after verifying its signature; returns the signer count.
    /// Refused (nothing changes): another kind, term or candidate, a voter not
    /// in `voters`, a voter that already signed, a bad signature.
    pub fn push<V: VoterKeys + ?Sized>(
        &mut self,
        vote: &SignedVote,
        cluster: &PublicIdentity,
        voters: &V,
    ) -> Result<usize, QuorumError> {
        let index = self.admit(vote, voters)?;
        let key = voters.voter_key(index).ok_or(QuorumError::UnknownSigner { index })?;
        vote.verify(cluster, &key).map_err(|_| QuorumError::BadSignature { index })?;
        self.insert(index, vote)
    }

    /// Adds `vote` whose signature the caller has already verified against
    /// the voter's key (for example on receipt); otherwise as [`QcBuilder::push`].
    pub fn push_verified<V: VoterKeys + ?Sized>(
        &mut self,
        vote: &SignedVote,
        voters: &V,
    ) -> Result<usize, QuorumError> {
        let index = self.admit(vote, voters)?;
        self.insert(index, vote)
    }

    fn admit<V: VoterKeys + ?Sized>(&self, vote: &SignedVote, voters: &V) -> Result<usize, QuorumError> {
        let s = &vote.statement;
        check_claim(s.kind, s.term, &s.candidate, self.qc.kind, self.qc.term, &self.qc.candidate)?;
        let index = voters.voter_index(&s.voter).ok_or(QuorumError::NotAVoter)?;
        if index >= MAX_QC_SIGNERS {
            return Err(QuorumError::TooManySigners);
        }
        if self.qc.signers & (1u64 << index) != 0 {
            return Err(QuorumError::DuplicateSigner { index });
        }
        Ok(index)
    }

    fn insert(&mut self, index: usize, vote: &SignedVote) -> Result<usize, QuorumError> {
        let bit = 1u64 << index;
        // Signatures stay in ascending voter index: this one goes after the
        // signers below it.
        let at = (self.qc.signers & (bit - 1)).count_ones() as usize;
        self.qc.signatures.insert(at, vote.signature).map_err(|_| QuorumError::TooManySigners)?;
        self.qc.signers |= bit;
        Ok(self.qc.signatures.len())
    }

    /// How many votes were taken.
    pub fn len(&self) -> usize {
        self.qc.signatures.len()
    }

    /// Whether no vote was taken yet.
    pub fn is_empty(&self) -> bool {
        self.qc.signatures.is_empty()
    }

    /// Whether the votes taken reach `quorum`.
    pub fn has_quorum(&self, quorum: usize) -> bool {
        quorum > 0 && self.len() >= quorum
    }

    /// The certificate so far, if at least `quorum` (≥ 1) voters signed.
    pub fn finish(&self, quorum: usize) -> Result<QuorumCertificate, QuorumError> {
        if !self.has_quorum(quorum) {
            return Err(QuorumError::NotEnoughSigners { have: self.len(), need: quorum.max(1) });
        }
        Ok(self.qc.clone())
    }
}

/// Proof that a voter signed votes for two candidates in one term: two
/// [`SignedVote`]s of kind vote, one voter, one term, candidates in ascending
/// byte order. Verifiable offline from the authority key and the voter's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EquivocationEvidence {
    first: SignedVote,
    second: SignedVote,
}

impl EquivocationEvidence {
    /// The evidence that `a` and `b` are an equivocation, in canonical order;
    /// `None` if they are not (not both votes, other voters or terms, the same
    /// candidate). Signatures are not checked here ([`EquivocationEvidence::verify`]).
    pub fn new(a: SignedVote, b: SignedVote) -> Option<Self> {
        let (sa, sb) = (&a.statement, &b.statement);
        if sa.kind != VoteKind::Vote || sb.kind != VoteKind::Vote || sa.voter != sb.voter || sa.term != sb.term {
            return None;
        }
        match sa.candidate.cmp(&sb.candidate) {
            core::cmp::Ordering::Less => Some(EquivocationEvidence { first: a, second: b }),
            core::cmp::Ordering::Greater => Some(EquivocationEvidence { first: b, second: a }),
            core::cmp::Ordering::Equal => None,
        }
    }

    /// Verifies both signatures under `voter_key` in the cluster of authority `cluster`.
    pub fn verify(&self, cluster: &PublicIdentity, voter_key: &PublicIdentity) -> Result<(), QuorumError> {
        self.first.verify(cluster, voter_key).map_err(|_| QuorumError::BadSignature { index: 0 })?;
        self.second.verify(cluster, voter_key).map_err(|_| QuorumError::BadSignature { index: 1 })
    }

    /// The voter that equivocated.
    pub fn voter(&self) -> &NodeId {
        &self.first.statement.voter
    }

    /// The term.
    pub fn term(&self) -> u64 {
        self.first.statement.term
    }

    /// The two votes, candidates in ascending order.
    pub fn votes(&self) -> (&SignedVote, &SignedVote) {
        (&self.first, &self.second)
    }

    /// The length of the encoding.
    pub fn encoded_len(&self) -> usize {
        1 + self.first.encoded_len() + self.second.encoded_len()
    }

    /// Writes the encoding into `out`, returning its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, QuorumError> {
        let mut w = Writer::new(out);
        w.put(&[EVIDENCE_VERSION])?;
        self.first.write(&mut w)?;
        self.second.write(&mut w)?;
        Ok(w.pos)
    }

    /// SHA-256 of the encoding.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([EVIDENCE_VERSION]);
        self.first.hash_into(&mut h);
        self.second.hash_into(&mut h);
        h.finalize().into()
    }

    /// Decodes a record (total, bounded): two votes that are an equivocation in
    /// canonical order, else an error. Signatures are not checked here.
    pub fn decode(bytes: &[u8]) -> Result<Self, QuorumError> {
        let mut r = Reader::versioned(bytes, MAX_EVIDENCE_LEN, EVIDENCE_VERSION)?;
        let first = SignedVote::read(&mut r)?;
        let second = SignedVote::read(&mut r)?;
        r.finish()?;
        match EquivocationEvidence::new(first.clone(), second) {
            // Canonical order only: one equivocation, one byte string.
            Some(e) if e.first == first => Ok(e),
            _ => Err(QuorumError::NotEquivocation),
        }
    }
}

/// A bounds-checked cursor over input bytes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, refused as `Oversized` beyond `max` bytes.
    fn bounded(bytes: &'a [u8], max: usize) -> Result<Self, QuorumError> {
        if bytes.len() > max {
            return Err(QuorumError::Oversized { len: bytes.len() });
        }
        Ok(Reader { bytes })
    }

    /// As [`Self::bounded`], past a leading version byte that must be `version`.
    fn versioned(bytes: &'a [u8], max: usize, version: u8) -> Result<Self, QuorumError> {
        let mut r = Self::bounded(bytes, max)?;
        let got = r.byte()?;
        if got != version {
            return Err(QuorumError::UnknownVersion(got));
        }
        Ok(r)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], QuorumError> {
        if self.bytes.len() < n {
            return Err(QuorumError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, QuorumError> {
        let (&b, tail) = self.bytes.split_first().ok_or(QuorumError::Truncated)?;
        self.bytes = tail;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], QuorumError> {
        let (head, tail) = self.bytes.split_first_chunk::<N>().ok_or(QuorumError::Truncated)?;
        self.bytes = tail;
        Ok(*head)
    }

    fn u64(&mut self) -> Result<u64, QuorumError> {
        self.array::<8>().map(u64::from_le_bytes)
    }

    fn id(&mut self) -> Result<NodeId, QuorumError> {
        let len = usize::from(self.byte()?);
        if !(1..=MAX_ID_LEN).contains(&len) {
            return Err(QuorumError::Malformed);
        }
        let bytes = self.take(len)?;
        let s = core::str::from_utf8(bytes).map_err(|_| QuorumError::Malformed)?;
        NodeId::new(s).map_err(|_| QuorumError::Malformed)
    }

    fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    fn finish(self) -> Result<(), QuorumError> {
        if self.bytes.is_empty() { Ok(()) } else { Err(QuorumError::TrailingBytes { count: self.bytes.len() }) }
    }
}

/// A bounds-checked writer into the caller's buffer.
struct Writer<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Writer { out, pos: 0 }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), QuorumError> {
        let end = self.pos.checked_add(bytes.len()).ok_or(QuorumError::BufferTooSmall)?;
        self.out.get_mut(self.pos..end).ok_or(QuorumError::BufferTooSmall)?.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    fn put_id(&mut self, id: &NodeId) -> Result<(), QuorumError> {
        self.put(&len_byte(id.as_bytes()))?;
        self.put(id.as_bytes())
    }
}

#[cfg(test)]
mod tests;
