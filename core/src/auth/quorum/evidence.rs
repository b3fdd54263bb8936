//! Equivocation evidence: two votes by one voter for two candidates in one
//! term, verifiable offline from the authority key and the voter's key.

use super::codec::{Reader, Writer};
use super::{EVIDENCE_VERSION, MAX_EVIDENCE_LEN, QuorumError, SignedVote, VoteKind};
use crate::auth::keys::PublicIdentity;
use crate::id::NodeId;
use sha2::{Digest, Sha256};

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
