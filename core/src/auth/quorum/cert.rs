//! Quorum certificates: the owned [`QuorumCertificate`], the in-place
//! [`QcView`] a receiver verifies straight from a datagram, and the
//! [`QcBuilder`] that collects votes into one. Encoding in the parent
//! module's docs.

use super::codec::{Reader, Writer};
use super::verify::check_one;
#[cfg(feature = "batch-verify")]
use super::verify::{Prepared, check_batch};
use super::vote::{len_byte, prepare_statement};
use super::{MAX_QC_LEN, MAX_QC_SIGNERS, QC_VERSION, QuorumError, SIG_LEN, SignedVote, VoteKind, VoterKeys};
use crate::auth::keys::{PublicIdentity, Signature};
use crate::id::NodeId;
use core::fmt;
use sha2::{Digest, Sha256};

/// The verification and claim accessors [`QuorumCertificate`] and [`QcView`]
/// share: both hold `kind`, `term`, `candidate` and `signers` fields and give
/// their signatures in order by `signature_chunks`.
macro_rules! qc_claim_methods {
    () => {
        /// Verifies the certificate: at least `quorum` distinct signers, each a
        /// voter of `voters` (canonical order, see [`check_voters`](super::check_voters)), each
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

/// A quorum certificate: distinct voters signed the [`VoteStatement`](super::VoteStatement) `{kind,
/// term, candidate, voter}`, each its own. A pre-vote certificate justifies a
/// vote request for `term`; a vote certificate is a leader certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct QuorumCertificate {
    pub(super) kind: VoteKind,
    pub(super) term: u64,
    pub(super) candidate: NodeId,
    /// Bit `i` set: voter `i` signed.
    pub(super) signers: u64,
    /// One per set bit, in ascending voter index.
    pub(super) signatures: heapless::Vec<Signature, MAX_QC_SIGNERS>,
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
    // With `batch-verify`, the encoding checks in signer order and the group
    // equations in batches of up to `BATCH` signers; a failed batch has a
    // culprit, which the checks one by one name (see `super::verify`: the
    // same verdict either way, and the same first refused signer).
    #[cfg(feature = "batch-verify")]
    let mut batch: heapless::Vec<(usize, Prepared), BATCH> = heapless::Vec::new();
    let mut rest = signers;
    while rest != 0 {
        let index = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        let prepared = match (voters.voter_id(index), voters.voter_key(index), signatures.next()) {
            (Some(voter), Some(key), Some(sig)) => {
                prepare_statement(kind, term, candidate, voter, cluster, &key, &Signature(*sig), index)
            }
            (Some(_), Some(_), None) => Err(QuorumError::Truncated),
            _ => Err(QuorumError::UnknownSigner { index }),
        };
        #[cfg(feature = "batch-verify")]
        {
            // A signer before this one that fails the equation comes first.
            let p = prepared.map_err(|e| first_refused(&batch).unwrap_or(e))?;
            if batch.is_full() {
                check_batch_or_name(&batch)?;
                batch.clear();
            }
            let _ = batch.push((index, p));
        }
        #[cfg(not(feature = "batch-verify"))]
        if !check_one(&prepared?) {
            return Err(QuorumError::BadSignature { index });
        }
    }
    #[cfg(feature = "batch-verify")]
    check_batch_or_name(&batch)?;
    Ok(())
}

/// Signatures per batch: at most 17 points per multi-scalar multiplication,
/// so its transient heap (lookup tables) is bounded whatever the voter count.
#[cfg(feature = "batch-verify")]
const BATCH: usize = 8;

/// The first signer of `batch` whose signature fails the group equation.
#[cfg(feature = "batch-verify")]
fn first_refused(batch: &[(usize, Prepared)]) -> Option<QuorumError> {
    batch.iter().find(|(_, p)| !check_one(p)).map(|(index, _)| QuorumError::BadSignature { index: *index })
}

/// Checks `batch` at once; if it fails, names its first refused signer.
#[cfg(feature = "batch-verify")]
fn check_batch_or_name(batch: &[(usize, Prepared)]) -> Result<(), QuorumError> {
    if batch.is_empty() || check_batch(batch) {
        return Ok(());
    }
    let first = batch.first().map_or(0, |(i, _)| *i);
    Err(first_refused(batch).unwrap_or(QuorumError::BadSignature { index: first }))
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
