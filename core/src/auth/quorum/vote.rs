//! Signed votes: the [`VoteStatement`] a voter signs (the signed message is
//! in the parent module's docs) and a [`SignedVote`], the statement with its
//! signature, with its encoding.

use super::codec::{Reader, Writer};
use super::verify::{Prepared, check_one, prepare};
use super::{MAX_SIGNED_VOTE_LEN, QuorumError, SIG_LEN, VoteKind};
use crate::auth::keys::{IdentityKey, PublicIdentity, Signature};
use crate::id::NodeId;
use sha2::{Digest, Sha256};

/// The one-byte length of an id (ids are at most 64 bytes; saturates otherwise).
pub(super) fn len_byte(bytes: &[u8]) -> [u8; 1] {
    [u8::try_from(bytes.len()).unwrap_or(u8::MAX)]
}

/// Streams the signed message of a statement to `sink`, in parts.
pub(super) fn statement_parts<T>(
    kind: VoteKind,
    term: u64,
    candidate: &NodeId,
    voter: &NodeId,
    cluster: &PublicIdentity,
    f: impl FnOnce(&[&[u8]]) -> Result<T, QuorumError>,
) -> Result<T, QuorumError> {
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
pub(super) fn verify_statement(
    kind: VoteKind,
    term: u64,
    candidate: &NodeId,
    voter: &NodeId,
    cluster: &PublicIdentity,
    voter_key: &PublicIdentity,
    sig: &Signature,
    index: usize,
) -> Result<(), QuorumError> {
    let p = prepare_statement(kind, term, candidate, voter, cluster, voter_key, sig, index)?;
    if check_one(&p) { Ok(()) } else { Err(QuorumError::BadSignature { index }) }
}

/// The encoding checks of a vote signature ([`super::verify`]), the group
/// equation left to check; [`QuorumError::BadSignature`] `index` if they fail.
#[allow(clippy::too_many_arguments)]
pub(super) fn prepare_statement(
    kind: VoteKind,
    term: u64,
    candidate: &NodeId,
    voter: &NodeId,
    cluster: &PublicIdentity,
    voter_key: &PublicIdentity,
    sig: &Signature,
    index: usize,
) -> Result<Prepared, QuorumError> {
    statement_parts(kind, term, candidate, voter, cluster, |parts| {
        prepare(voter_key, parts, sig).ok_or(QuorumError::BadSignature { index })
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

    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), QuorumError> {
        let s = &self.statement;
        w.put(&[s.kind.byte()])?;
        w.put(&s.term.to_le_bytes())?;
        w.put_id(&s.candidate)?;
        w.put_id(&s.voter)?;
        w.put(&self.signature.0)
    }

    pub(super) fn hash_into(&self, h: &mut Sha256) {
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

    pub(super) fn read(r: &mut Reader<'_>) -> Result<Self, QuorumError> {
        let kind = VoteKind::from_byte(r.byte()?)?;
        let term = r.u64()?;
        let candidate = r.id()?;
        let voter = r.id()?;
        let signature = Signature(r.array::<SIG_LEN>()?);
        Ok(SignedVote { statement: VoteStatement { kind, term, candidate, voter }, signature })
    }
}
