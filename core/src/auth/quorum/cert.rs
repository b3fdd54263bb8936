//! Quorum certificates: the owned [`QuorumCertificate`], the in-place
//! [`QcView`] a receiver verifies straight from a datagram, and the
//! [`QcBuilder`] that collects votes into one. Encoding in the parent
//! module's docs.

use super::codec::{Reader, Writer};
#[cfg(feature = "batch-verify")]
use super::verify::Batched;
#[cfg(not(feature = "batch-verify"))]
use super::verify::Loop;
use super::verify::{AggTerm, Aggregate, challenge, decode_nonce, signer_digest, transcript, weight};
use super::vote::{len_byte, statement_parts};
use super::{MAX_QC_LEN, MAX_QC_SIGNERS, NONCE_LEN, QC_VERSION, QuorumError, SignedVote, VoteKind, VoterKeys};
use crate::auth::keys::{PublicIdentity, Signature};
use crate::id::NodeId;
use core::fmt;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha256};

/// `Debug` for a type holding a claim: its `kind`, `term`, `candidate` and
/// `signers`, not its signature bytes.
macro_rules! claim_debug {
    ($t:ident) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("kind", &self.kind)
                    .field("term", &self.term)
                    .field("candidate", &self.candidate)
                    .field("signers", &format_args!("{:#x}", self.signers))
                    .finish_non_exhaustive()
            }
        }
    };
}

/// The accessors of a claim's `kind`, `term`, `candidate` and `signers`
/// fields, which [`QuorumCertificate`], [`QcView`] and [`QcBuilder`] all hold.
macro_rules! claim_accessors {
    () => {
        /// Pre-vote or vote.
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

/// The verification and claim accessors [`QuorumCertificate`] and [`QcView`]
/// share: both hold `kind`, `term`, `candidate` and `signers` fields, give
/// their nonces in order by `nonce_chunks` and the aggregate by `aggregate_bytes`.
macro_rules! qc_claim_methods {
    () => {
        /// Verifies the certificate: at least `quorum` distinct signers, each a
        /// voter of `voters` (canonical order, see [`check_voters`](super::check_voters)),
        /// their half-aggregated signature valid in the cluster of authority
        /// `cluster` ([`QuorumError::BadAggregate`] otherwise: an aggregate names
        /// no culprit). The certificate's kind, term and candidate are what it
        /// claims; check them against what you expect with
        /// [`QuorumCertificate::check_claim`].
        pub fn verify<V: VoterKeys + ?Sized>(
            &self,
            cluster: &PublicIdentity,
            voters: &V,
            quorum: usize,
        ) -> Result<(), QuorumError> {
            let claim = Claim { kind: self.kind, term: self.term, candidate: &self.candidate, signers: self.signers };
            #[cfg(feature = "batch-verify")]
            let sum = Batched::new();
            #[cfg(not(feature = "batch-verify"))]
            let sum = Loop::new();
            verify_qc(&claim, self.nonce_chunks(), self.aggregate_bytes(), cluster, voters, quorum, sum)
        }

        /// Whether the certificate is for `kind`, `term` and `candidate`.
        pub fn check_claim(&self, kind: VoteKind, term: u64, candidate: &NodeId) -> Result<(), QuorumError> {
            check_claim(self.kind, self.term, &self.candidate, kind, term, candidate)
        }

        claim_accessors!();
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
    /// The signers' nonces `Rᵢ`, one per set bit, in ascending voter index.
    pub(super) nonces: heapless::Vec<[u8; NONCE_LEN], MAX_QC_SIGNERS>,
    /// The aggregate scalar `s = Σ zᵢsᵢ mod ℓ` (canonical encoding).
    pub(super) aggregate: [u8; 32],
}

claim_debug!(QuorumCertificate);

/// What a certificate claims: the statement its signers signed (but for the
/// voter) and who signed.
pub(super) struct Claim<'c> {
    pub(super) kind: VoteKind,
    pub(super) term: u64,
    pub(super) candidate: &'c NodeId,
    pub(super) signers: u64,
}

/// Checks the signers of a certificate against the voter set and the
/// quorum, then the half-aggregated signature (module `verify`): `sum` is
/// the path that evaluates the equation (one by one or batched; the same
/// verdict).
pub(super) fn verify_qc<'s, V: VoterKeys + ?Sized, A: Aggregate>(
    claim: &Claim<'_>,
    nonces: impl Iterator<Item = &'s [u8; NONCE_LEN]> + Clone,
    aggregate: &[u8; 32],
    cluster: &PublicIdentity,
    voters: &V,
    quorum: usize,
    mut sum: A,
) -> Result<(), QuorumError> {
    let Claim { kind, term, candidate, signers } = *claim;
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
    // First pass: every signer is a voter with a key; the transcript the
    // weights come from binds every (Rᵢ, Aᵢ, statement).
    let mut t = transcript(kind.byte(), term, candidate.as_bytes(), signers);
    let mut rest = signers;
    let mut it = nonces.clone();
    while rest != 0 {
        let index = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        match (voters.voter_id(index), voters.voter_key(index), it.next()) {
            (Some(voter), Some(key), Some(r)) => t.update(signer_digest(r, key.as_bytes(), voter.as_bytes())),
            (Some(_), Some(_), None) => return Err(QuorumError::Truncated),
            _ => return Err(QuorumError::UnknownSigner { index }),
        }
    }
    let t: [u8; 64] = t.finalize().into();
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*aggregate)).ok_or(QuorumError::BadAggregate)?;
    // Second pass: the equation's terms.
    let mut rest = signers;
    let mut it = nonces;
    let mut position = 0u64;
    while rest != 0 {
        let index = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        let (Some(voter), Some(key), Some(r_bytes)) = (voters.voter_id(index), voters.voter_key(index), it.next())
        else {
            return Err(QuorumError::UnknownSigner { index });
        };
        let r = decode_nonce(r_bytes).ok_or(QuorumError::BadAggregate)?;
        let k = statement_parts(kind, term, candidate, voter, cluster, |parts| Ok(challenge(r_bytes, &key, parts)))?;
        let z = weight(&t, position);
        sum.add(AggTerm { r, a: key.verifying_key().to_edwards(), z, zk: z * k });
        position += 1;
    }
    if sum.holds(&s) { Ok(()) } else { Err(QuorumError::BadAggregate) }
}

impl QuorumCertificate {
    /// A builder collecting the votes of a certificate for `candidate` in `term`.
    pub fn builder(kind: VoteKind, term: u64, candidate: NodeId) -> QcBuilder {
        QcBuilder { kind, term, candidate, signers: 0, votes: heapless::Vec::new() }
    }

    fn nonce_chunks(&self) -> impl Iterator<Item = &[u8; NONCE_LEN]> + Clone {
        self.nonces.iter()
    }

    fn aggregate_bytes(&self) -> &[u8; 32] {
        &self.aggregate
    }

    qc_claim_methods!();

    /// The length of the encoding.
    pub fn encoded_len(&self) -> usize {
        12 + self.candidate.as_bytes().len() + bitmap_len(self.signers) + NONCE_LEN * (self.nonces.len() + 1)
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
        for r in &self.nonces {
            w.put(r)?;
        }
        w.put(&self.aggregate)?;
        Ok(w.pos)
    }

    /// Decodes a certificate (nothing is verified; see [`QuorumCertificate::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, QuorumError> {
        let view = QcView::parse(bytes)?;
        let mut nonces = heapless::Vec::new();
        for r in view.nonce_chunks() {
            nonces.push(*r).map_err(|_| QuorumError::Malformed)?;
        }
        Ok(QuorumCertificate {
            kind: view.kind,
            term: view.term,
            candidate: view.candidate,
            signers: view.signers,
            nonces,
            aggregate: *view.aggregate,
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
        for r in &self.nonces {
            h.update(r);
        }
        h.update(self.aggregate);
        h.finalize().into()
    }

    /// How many voters signed.
    pub fn signer_count(&self) -> usize {
        self.nonces.len()
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
    nonces: &'a [u8],
    aggregate: &'a [u8; 32],
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
        // The nonces, one per signer, then the aggregate scalar.
        let need = NONCE_LEN * (signers.count_ones() as usize + 1);
        let rest = r.rest();
        if rest.len() < need {
            return Err(QuorumError::Truncated);
        }
        if rest.len() > need {
            return Err(QuorumError::TrailingBytes { count: rest.len() - need });
        }
        let (nonces, aggregate) = rest.split_last_chunk::<32>().ok_or(QuorumError::Truncated)?;
        Ok(QcView { kind, term, candidate, signers, nonces, aggregate, bytes })
    }

    fn nonce_chunks(&self) -> impl Iterator<Item = &'a [u8; NONCE_LEN]> + Clone + 'a {
        self.nonces.chunks_exact(NONCE_LEN).filter_map(|c| <&[u8; NONCE_LEN]>::try_from(c).ok())
    }

    fn aggregate_bytes(&self) -> &'a [u8; 32] {
        self.aggregate
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

/// Collects votes into a [`QuorumCertificate`]: keeps each vote's full
/// signature (and its signer digest) until [`QcBuilder::finish`] aggregates
/// them.
#[derive(Clone)]
pub struct QcBuilder {
    kind: VoteKind,
    term: u64,
    candidate: NodeId,
    /// Bit `i` set: voter `i` signed.
    signers: u64,
    /// Per signer, in ascending voter index: its signature and the digest of
    /// its `(R, A, voter)` the aggregation weights hash.
    votes: heapless::Vec<(Signature, [u8; 32]), MAX_QC_SIGNERS>,
}

claim_debug!(QcBuilder);

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
        self.insert(index, vote, &key)
    }

    /// Adds `vote` whose signature the caller has already verified against
    /// the voter's key (for example on receipt); otherwise as [`QcBuilder::push`].
    /// A vote that was not valid makes the certificate's aggregate fail.
    pub fn push_verified<V: VoterKeys + ?Sized>(
        &mut self,
        vote: &SignedVote,
        voters: &V,
    ) -> Result<usize, QuorumError> {
        let index = self.admit(vote, voters)?;
        let key = voters.voter_key(index).ok_or(QuorumError::UnknownSigner { index })?;
        self.insert(index, vote, &key)
    }

    fn admit<V: VoterKeys + ?Sized>(&self, vote: &SignedVote, voters: &V) -> Result<usize, QuorumError> {
        let s = &vote.statement;
        check_claim(s.kind, s.term, &s.candidate, self.kind, self.term, &self.candidate)?;
        let index = voters.voter_index(&s.voter).ok_or(QuorumError::NotAVoter)?;
        if index >= MAX_QC_SIGNERS {
            return Err(QuorumError::TooManySigners);
        }
        if self.signers & (1u64 << index) != 0 {
            return Err(QuorumError::DuplicateSigner { index });
        }
        Ok(index)
    }

    fn insert(&mut self, index: usize, vote: &SignedVote, key: &PublicIdentity) -> Result<usize, QuorumError> {
        let bit = 1u64 << index;
        let r = vote.signature.0.first_chunk::<NONCE_LEN>().ok_or(QuorumError::Malformed)?;
        let digest = signer_digest(r, key.as_bytes(), vote.statement.voter.as_bytes());
        // Votes stay in ascending voter index: this one goes after the
        // signers below it.
        let at = (self.signers & (bit - 1)).count_ones() as usize;
        self.votes.insert(at, (vote.signature, digest)).map_err(|_| QuorumError::TooManySigners)?;
        self.signers |= bit;
        Ok(self.votes.len())
    }

    /// How many votes were taken.
    pub fn len(&self) -> usize {
        self.votes.len()
    }

    /// Whether no vote was taken yet.
    pub fn is_empty(&self) -> bool {
        self.votes.is_empty()
    }

    /// Whether the votes taken reach `quorum`.
    pub fn has_quorum(&self, quorum: usize) -> bool {
        quorum > 0 && self.len() >= quorum
    }

    claim_accessors!();

    /// The full signature voter `index` gave, if it signed.
    pub fn signature_of(&self, index: usize) -> Option<Signature> {
        let bit = 1u64.checked_shl(u32::try_from(index).ok()?)?;
        if self.signers & bit == 0 {
            return None;
        }
        let at = (self.signers & (bit - 1)).count_ones() as usize;
        self.votes.get(at).map(|(sig, _)| *sig)
    }

    /// The certificate so far, if at least `quorum` (≥ 1) voters signed: the
    /// signatures half-aggregated (the same votes give the same bytes,
    /// whatever order they came in). A vote taken by
    /// [`QcBuilder::push_verified`] with a non-canonical `s` is
    /// [`QuorumError::BadSignature`] here.
    pub fn finish(&self, quorum: usize) -> Result<QuorumCertificate, QuorumError> {
        if !self.has_quorum(quorum) {
            return Err(QuorumError::NotEnoughSigners { have: self.len(), need: quorum.max(1) });
        }
        let mut t = transcript(self.kind.byte(), self.term, self.candidate.as_bytes(), self.signers);
        for (_, digest) in &self.votes {
            t.update(digest);
        }
        let t: [u8; 64] = t.finalize().into();
        let mut s = Scalar::ZERO;
        let mut nonces = heapless::Vec::new();
        let mut rest = self.signers;
        for (position, (sig, _)) in (0u64..).zip(&self.votes) {
            let index = rest.trailing_zeros() as usize;
            rest &= rest.wrapping_sub(1);
            let (r, s_bytes) = sig.0.split_first_chunk::<NONCE_LEN>().ok_or(QuorumError::Malformed)?;
            let s_bytes: &[u8; 32] = s_bytes.try_into().map_err(|_| QuorumError::Malformed)?;
            let si = Option::<Scalar>::from(Scalar::from_canonical_bytes(*s_bytes))
                .ok_or(QuorumError::BadSignature { index })?;
            s += weight(&t, position) * si;
            nonces.push(*r).map_err(|_| QuorumError::TooManySigners)?;
        }
        Ok(QuorumCertificate {
            kind: self.kind,
            term: self.term,
            candidate: self.candidate.clone(),
            signers: self.signers,
            nonces,
            aggregate: s.to_bytes(),
        })
    }
}
