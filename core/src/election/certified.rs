//! [`CertifiedElection`]: a Byzantine-mode [`LeaderElectionManager`] with its
//! signatures and certificates: what a host (the coordinator's gate, the
//! harness) runs so that every vote is signed and every term change proven.
//!
//! Every election message travels with an **attachment** (bytes beside the
//! envelope, authenticated with it by the transport):
//!
//! ```text
//! 0                       nothing
//! 1 || SignedVote         a (pre-)vote grant: the voter's signature on
//!                         VoteStatement { kind, term, candidate, voter }
//! 2 || QuorumCertificate  a pre-vote certificate on a RequestVote, a leader
//!                         certificate on a LeaderHeartbeat, any certificate
//!                         for the responder's term on a refusal to a node behind
//! 3 || SignedVote         a disclosure on a HeartbeatResponse: a vote another
//!                         voter signed for the responder in a term in which
//!                         that voter also signed the recipient's certificate
//! ```
//!
//! On receipt the attachment is checked before the election sees anything:
//! a grant must carry the sender's valid signature on exactly that grant; a
//! certificate must verify (distinct configured signers, a quorum, every
//! signature) and claim what the message claims (a `RequestVote` for `T` of
//! its sender: the sender's pre-vote certificate for `T`; a heartbeat: the
//! sender's leader certificate for its term; a refusal: a certificate for
//! its term). A message failing a check changes nothing and is counted by
//! [`CertReject`] reason. The election then applies the term rules of the
//! Byzantine fault model ([`super::FaultModel::Byzantine`]).
//!
//! Equivocation: a candidate keeps the votes it received in its term; a
//! leader certificate of the same term for another candidate that one of
//! those voters signed is two votes by one voter in one term, and the voter's
//! later grants are treated as [`EquivocationPolicy`] says. Certificates are
//! half-aggregated (`auth::quorum`, format v2): they hold no signer's full
//! signature, so the candidate cannot make the record itself. It
//! **discloses** instead: its next heartbeat responses to that leader carry,
//! one per response, the double voters' full votes for the candidate. The
//! leader still holds each of those voters' full vote for itself in the
//! builder its certificate came from, so it makes the
//! [`EquivocationEvidence`] (verifiable offline) and queues it for the host
//! ([`CertifiedElection::poll_evidence`]). A disclosure is checked like a
//! grant (the voter's signature on a vote for the sender) and changes
//! nothing else. The leader attaches its certificate until every voter
//! acknowledged its term and again after each election timeout; each time it
//! comes while no round of disclosures to it is under way a round starts, so
//! a lost disclosure is sent again. The
//! record is made only while the leader still holds that builder (until its
//! next campaign); a lying leader may of course make none.
//!
//! This module holds the election and its messages' attachments;
//! `certified/checks.rs` the checks of a received attachment.

use super::*;
use crate::auth::{
    EquivocationEvidence, IdentityKey, PublicIdentity, QcBuilder, QuorumCertificate, QuorumError, SignedVote, VoteKind,
    VoteStatement, VoterKeys, VoterTable,
};
use alloc::vec::Vec as AllocVec;

mod checks;
#[cfg(test)]
mod tests;

/// Attachment tag: nothing.
pub const ATTACH_NONE: u8 = 0;
/// Attachment tag: a signed vote follows.
pub const ATTACH_VOTE: u8 = 1;
/// Attachment tag: a quorum certificate follows.
pub const ATTACH_CERTIFICATE: u8 = 2;
/// Attachment tag: a disclosed vote follows (see the module documentation).
pub const ATTACH_DISCLOSURE: u8 = 3;

/// Why a message was refused before the election saw it. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertReject {
    /// The attachment does not parse (tag, truncated, oversized, malformed).
    MalformedAttachment,
    /// A grant without a signed vote.
    MissingVote,
    /// A signed vote that is not the sender's on exactly this grant.
    WrongVote,
    /// A signed vote whose signature does not verify.
    BadVoteSignature,
    /// A grant by a voter this node ignores after it equivocated.
    Equivocator,
    /// A certificate that does not verify: a bad signature (a forgery), a
    /// signer that is no voter, fewer distinct signers than the quorum.
    BadCertificate,
    /// A valid certificate for another kind, term or candidate than the message claims.
    WrongClaim,
}

impl CertReject {
    /// Every reason, in counter order.
    pub const ALL: [CertReject; 7] = [
        CertReject::MalformedAttachment,
        CertReject::MissingVote,
        CertReject::WrongVote,
        CertReject::BadVoteSignature,
        CertReject::Equivocator,
        CertReject::BadCertificate,
        CertReject::WrongClaim,
    ];

    /// The snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CertReject::MalformedAttachment => "malformed_attachment",
            CertReject::MissingVote => "missing_vote",
            CertReject::WrongVote => "wrong_vote",
            CertReject::BadVoteSignature => "bad_vote_signature",
            CertReject::Equivocator => "equivocator",
            CertReject::BadCertificate => "bad_certificate",
            CertReject::WrongClaim => "wrong_claim",
        }
    }
}

impl fmt::Display for CertReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message to send with its attachment.
#[derive(Clone, Debug, PartialEq)]
pub struct CertifiedTransmit {
    /// The message.
    pub transmit: Transmit,
    /// The attachment (see the module documentation), at least the tag byte.
    pub attachment: AllocVec<u8>,
}

/// The Byzantine-mode election of one voter with its key, the voters' keys
/// and the certificates it holds.
pub struct CertifiedElection<const V: usize, const O: usize, const H: usize> {
    election: alloc::boxed::Box<LeaderElectionManager<V, O, H>>,
    key: IdentityKey,
    cluster: PublicIdentity,
    /// `(id, key)` of every voter, ascending id (the signer order); a key
    /// not known yet is `None` (a signature of that voter fails to verify).
    voters: VoterTable,
    policy: EquivocationPolicy,
    /// Pre-vote grants for this node's pre-campaign.
    pre_votes: Option<QcBuilder>,
    /// Votes for this node's campaign.
    votes: Option<QcBuilder>,
    /// This node's pre-vote certificate for its current term (sent with its vote requests).
    pre_vote_qc: Option<QuorumCertificate>,
    /// The leader certificate of the current term (this node's or its leader's).
    leader_qc: Option<QuorumCertificate>,
    /// Some certificate for the current term (sent to nodes behind).
    term_qc: Option<QuorumCertificate>,
    /// Voters behind this node's term: its next answer carries `term_qc`.
    behind: u64,
    /// As leader: the voters that acknowledged a heartbeat of its term since
    /// `acked_since`; heartbeats carry the leader certificate until all have,
    /// and again after every election timeout (a follower that restarted
    /// lost it).
    acked: u64,
    acked_since: Instant,
    /// Equivocators, one entry per voter (so at most the voters): the
    /// latest term each was caught in and whether this node made an evidence
    /// record of it.
    equivocators: AllocVec<Equivocator>,
    /// Votes to disclose: to the certified leader `.0` of term `.1`, the
    /// votes for this node of the voters in bitmap `.2` (they also signed
    /// that leader's certificate), taken from `votes`.
    disclose: Option<(NodeId, u64, u64)>,
    evidence: Deque<EquivocationEvidence, 4>,
    evidence_dropped: u64,
    rejects: [u64; CertReject::ALL.len()],
}

impl<const V: usize, const O: usize, const H: usize> CertifiedElection<V, O, H> {
    /// A Byzantine-mode election for `key`'s holder `id` among `voters`
    /// (`(id, identity key)`, any order), in the cluster of authority
    /// `cluster`, restored from `hard_state`, with `config.equivocation` for
    /// equivocators' later grants (see [`CertifiedElection::with_policy`]).
    /// `config.fault_model` must be Byzantine.
    pub fn new(
        config: ElectionConfig,
        id: NodeId,
        key: IdentityKey,
        cluster: PublicIdentity,
        voters: &[(NodeId, PublicIdentity)],
        hard_state: HardState,
        now: Instant,
    ) -> Result<Self, ElectionError> {
        let voters: AllocVec<(NodeId, Option<PublicIdentity>)> =
            voters.iter().map(|(i, k)| (i.clone(), Some(*k))).collect();
        Self::with_partial_keys(config, id, key, cluster, &voters, hard_state, now)
    }

    /// [`CertifiedElection::new`] for a host that learns the voters' keys
    /// as they are admitted (the coordinator: from their certificates): a
    /// `None` key is unknown, and a signature of that voter does not verify
    /// until [`CertifiedElection::set_voter_key`] supplies it.
    pub fn with_partial_keys(
        config: ElectionConfig,
        id: NodeId,
        key: IdentityKey,
        cluster: PublicIdentity,
        voters: &[(NodeId, Option<PublicIdentity>)],
        hard_state: HardState,
        now: Instant,
    ) -> Result<Self, ElectionError> {
        if !config.fault_model.is_byzantine() {
            return Err(ElectionError::Config(ConfigError::new("fault_model", "Byzantine for a certified election")));
        }
        let voters = VoterTable::new(voters.to_vec());
        let ids: AllocVec<NodeId> = voters.entries().iter().map(|(i, _)| i.clone()).collect();
        let election = alloc::boxed::Box::new(LeaderElectionManager::restore(config, id, &ids, hard_state, now)?);
        if voters.entries().iter().find(|(i, _)| i == election.id()).and_then(|(_, k)| *k) != Some(key.public()) {
            return Err(ElectionError::Config(ConfigError::new("key", "the voter's own identity key")));
        }
        Ok(CertifiedElection {
            election,
            key,
            cluster,
            voters,
            policy: config.equivocation,
            pre_votes: None,
            votes: None,
            pre_vote_qc: None,
            leader_qc: None,
            term_qc: None,
            behind: 0,
            acked: 0,
            acked_since: Instant::ZERO,
            equivocators: AllocVec::new(),
            disclose: None,
            evidence: Deque::new(),
            evidence_dropped: 0,
            rejects: [0; CertReject::ALL.len()],
        })
    }

    /// Voter `id`'s identity key (from its admitted certificate); `false` if
    /// `id` is no voter. This node's own key cannot be replaced.
    pub fn set_voter_key(&mut self, id: &NodeId, key: Option<PublicIdentity>) -> bool {
        if id == self.election.id() {
            return self.voters.index_of(id).is_some();
        }
        self.voters.set_key(id, key)
    }

    /// Sets the progress this node's vote requests carry (see
    /// [`LeaderElectionManager::set_progress`]).
    pub fn set_progress(&mut self, progress: Option<u64>) {
        self.election.set_progress(progress);
    }

    /// Steps down gracefully (see [`LeaderElectionManager::step_down`]).
    pub fn step_down(&mut self, now: Instant) {
        self.election.step_down(now);
        self.sync();
    }

    /// This election with `policy` for equivocators' later grants.
    pub fn with_policy(mut self, policy: EquivocationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The election underneath.
    pub fn election(&self) -> &LeaderElectionManager<V, O, H> {
        &self.election
    }

    /// The leader certificate of the current term, if this node holds one.
    pub fn leader_certificate(&self) -> Option<&QuorumCertificate> {
        self.leader_qc.as_ref().filter(|q| q.term() == self.election.term())
    }

    /// Messages refused for `reason`.
    pub fn rejected(&self, reason: CertReject) -> u64 {
        self.rejects.get(reason as usize).copied().unwrap_or(0)
    }

    /// Evidence records dropped because nobody polled them (more than 4 waiting).
    pub fn evidence_dropped(&self) -> u64 {
        self.evidence_dropped
    }

    /// The next equivocation evidence found, oldest first.
    pub fn poll_evidence(&mut self) -> Option<EquivocationEvidence> {
        self.evidence.pop_front()
    }

    fn reject(&mut self, reason: CertReject) -> Result<(), CertReject> {
        if let Some(c) = self.rejects.get_mut(reason as usize) {
            *c = c.saturating_add(1);
        }
        Err(reason)
    }

    fn index_of(&self, id: &NodeId) -> Option<usize> {
        self.voters.index_of(id)
    }

    fn quorum(&self) -> usize {
        self.election.quorum()
    }

    fn ignores(&self, voter: usize, term: u64) -> bool {
        match self.policy {
            EquivocationPolicy::KeepCounting => false,
            EquivocationPolicy::IgnoreForTerm => self.equivocators.iter().any(|e| e.voter == voter && e.term == term),
            EquivocationPolicy::IgnoreForever => self.equivocators.iter().any(|e| e.voter == voter),
        }
    }

    // ----- inputs -----

    /// Advances the timers (see [`LeaderElectionManager::tick`]).
    pub fn tick(&mut self, now: Instant) {
        if now >= self.acked_since + self.election.config().election_timeout {
            self.acked = 0;
            self.acked_since = now;
        }
        self.election.tick(now);
        self.sync();
    }

    /// Starts a campaign now (see [`LeaderElectionManager::campaign`]).
    pub fn campaign(&mut self, now: Instant) -> Result<(), ElectionError> {
        self.election.campaign(now)?;
        self.sync();
        Ok(())
    }

    /// Handles one message from another voter with its `attachment`. An
    /// election error (not an election message, not a voter) is returned as
    /// the election returns it; a failed attachment check as `Ok(Err(reason))`,
    /// counted, nothing changed.
    pub fn step(
        &mut self,
        now: Instant,
        envelope: &Envelope,
        attachment: &[u8],
    ) -> Result<Result<(), CertReject>, ElectionError> {
        let Some(msg) = Msg::from_body(&envelope.body) else { return Err(ElectionError::NotAnElectionMessage) };
        if envelope.sender == *self.election.id() {
            return Err(ElectionError::FromSelf);
        }
        let Some(from) = self.index_of(&envelope.sender) else {
            return Err(ElectionError::UnknownVoter(envelope.sender.clone()));
        };
        let (tag, rest) = attachment.split_first().map_or((ATTACH_NONE, &[][..]), |(t, r)| (*t, r));
        let checked = match tag {
            ATTACH_NONE if rest.is_empty() => self.check_plain(msg, from),
            ATTACH_VOTE => self.check_vote(msg, from, &envelope.sender, rest),
            ATTACH_CERTIFICATE => self.check_certificate(msg, &envelope.sender, rest),
            ATTACH_DISCLOSURE => self.check_disclosure(msg, &envelope.sender, rest),
            _ => return Ok(self.reject(CertReject::MalformedAttachment)),
        };
        let proof = match checked {
            Ok(p) => p,
            Err(reason) => return Ok(self.reject(reason)),
        };
        // The sender's own term (a pre-candidate asks for the one after it).
        let term = match msg {
            Msg::PreVote(r) => r.term.saturating_sub(1),
            _ => msg.term(),
        };
        self.election.step_with_proof(now, envelope, proof.as_ref().map(|(p, _)| p))?;
        if let Some((_, qc)) = proof {
            self.keep(qc);
        }
        if let Some(bit) = 1u64.checked_shl(from as u32) {
            if term < self.election.term() {
                self.behind |= bit;
            }
            if matches!(msg, Msg::HeartbeatResp(_)) && term == self.election.term() && self.election.is_leader() {
                self.acked |= bit;
            }
        }
        self.sync();
        Ok(Ok(()))
    }

    /// Follows the election's role changes: a new (pre-)campaign starts a
    /// builder with this node's own signed grant; a win finishes a certificate.
    fn sync(&mut self) {
        let e = &self.election;
        let (role, term, me) = (e.role(), e.term(), e.id().clone());
        let q = self.quorum();
        let own = |kind, term| {
            VoteStatement { kind, term, candidate: me.clone(), voter: me.clone() }.signed(&self.key, &self.cluster)
        };
        let fresh = |b: &Option<QcBuilder>, kind, term| {
            b.as_ref().and_then(|b| b.finish(1).ok()).is_none_or(|c| c.kind() != kind || c.term() != term)
        };
        if self.term_qc.as_ref().is_some_and(|t| t.term() != term) {
            self.term_qc = None;
        }
        match role {
            Role::PreCandidate if fresh(&self.pre_votes, VoteKind::PreVote, term.saturating_add(1)) => {
                let t = term.saturating_add(1);
                let mut b = QuorumCertificate::builder(VoteKind::PreVote, t, me.clone());
                let _ = b.push_verified(&own(VoteKind::PreVote, t), &self.voters);
                self.pre_votes = Some(b);
            }
            Role::Candidate if fresh(&self.votes, VoteKind::Vote, term) => {
                self.pre_vote_qc = self.pre_votes.as_ref().and_then(|b| b.finish(q).ok()).filter(|c| c.term() == term);
                if let Some(c) = &self.pre_vote_qc {
                    self.term_qc = Some(c.clone());
                }
                let mut b = QuorumCertificate::builder(VoteKind::Vote, term, me.clone());
                let _ = b.push_verified(&own(VoteKind::Vote, term), &self.voters);
                self.votes = Some(b);
            }
            Role::Leader if self.leader_qc.as_ref().is_none_or(|c| c.term() != term || *c.candidate() != me) => {
                self.acked = 0;
                self.leader_qc = self.votes.as_ref().and_then(|b| b.finish(q).ok()).filter(|c| c.term() == term);
                if let Some(c) = &self.leader_qc {
                    self.term_qc = Some(c.clone());
                }
            }
            _ => {}
        }
    }

    // ----- outputs -----

    /// The hard state to persist first (see [`LeaderElectionManager::poll_hard_state`]).
    pub fn poll_hard_state(&mut self) -> Option<HardState> {
        self.election.poll_hard_state()
    }

    /// When [`CertifiedElection::tick`] must next be called.
    pub fn poll_timeout(&self) -> Instant {
        self.election.poll_timeout()
    }

    /// The next message with its attachment: grants signed, vote requests
    /// with this node's pre-vote certificate, heartbeats with its leader
    /// certificate (until every voter acknowledged one of its term, and again
    /// after each election timeout), answers to nodes behind with a
    /// certificate for its term.
    pub fn poll_transmit(&mut self) -> Option<CertifiedTransmit> {
        let t = self.election.poll_transmit()?;
        let me = self.election.id().clone();
        let to = t.to.as_ref().and_then(|id| self.index_of(id));
        let mut attachment = alloc::vec![ATTACH_NONE];
        let vote = |kind, term: u64, attachment: &mut AllocVec<u8>| {
            let Some(candidate) = t.to.clone() else { return };
            let v = VoteStatement { kind, term, candidate, voter: me.clone() }.signed(&self.key, &self.cluster);
            if let Some(a) = tagged_vote(ATTACH_VOTE, &v) {
                *attachment = a;
            }
        };
        let cert = |qc: Option<&QuorumCertificate>, attachment: &mut AllocVec<u8>| {
            let Some(qc) = qc else { return };
            let mut buf = alloc::vec![0u8; qc.encoded_len()];
            if let Ok(n) = qc.encode(&mut buf) {
                buf.truncate(n);
                *attachment = alloc::vec![ATTACH_CERTIFICATE];
                attachment.extend_from_slice(&buf);
            }
        };
        match &t.envelope.body {
            Body::PreVoteResponse(r) if r.granted => vote(VoteKind::PreVote, r.term, &mut attachment),
            Body::VoteResponse(r) if r.granted => vote(VoteKind::Vote, r.term, &mut attachment),
            Body::RequestVote(r) => cert(self.pre_vote_qc.as_ref().filter(|c| c.term() == r.term), &mut attachment),
            Body::LeaderHeartbeat(h) => {
                // Until every other voter acknowledged this term (the leader's own bit aside).
                let everyone = u64::MAX >> (64 - self.voters.len().clamp(1, 64));
                let me = self.index_of(self.election.id()).and_then(|i| 1u64.checked_shl(i as u32)).unwrap_or(0);
                if self.acked | me != everyone {
                    cert(self.leader_qc.as_ref().filter(|c| c.term() == h.term), &mut attachment);
                }
            }
            Body::PreVoteResponse(_) | Body::VoteResponse(_) | Body::HeartbeatResponse(_) => {
                if let Some(bit) = to.and_then(|i| 1u64.checked_shl(i as u32))
                    && self.behind & bit != 0
                {
                    self.behind &= !bit;
                    cert(self.term_qc.as_ref(), &mut attachment);
                }
            }
            _ => {}
        }
        if attachment.as_slice() == [ATTACH_NONE] && matches!(t.envelope.body, Body::HeartbeatResponse(_)) {
            self.disclosure(t.to.as_ref(), &mut attachment);
        }
        Some(CertifiedTransmit { transmit: t, attachment })
    }

    /// Puts the next vote to disclose to `to` (if any is waiting) in `attachment`.
    fn disclosure(&mut self, to: Option<&NodeId>, attachment: &mut AllocVec<u8>) {
        let Some((leader, term, bits)) = self.disclose.take() else { return };
        let Some(builder) = self.votes.as_ref().filter(|b| b.term() == term) else { return };
        if to != Some(&leader) {
            self.disclose = Some((leader, term, bits));
            return;
        }
        let index = bits.trailing_zeros() as usize;
        let rest = bits & bits.wrapping_sub(1);
        if rest != 0 {
            self.disclose = Some((leader, term, rest));
        }
        let (Some(signature), Some((voter, _))) = (builder.signature_of(index), self.voters.entries().get(index))
        else {
            return;
        };
        let statement =
            VoteStatement { kind: VoteKind::Vote, term, candidate: builder.candidate().clone(), voter: voter.clone() };
        if let Some(a) = tagged_vote(ATTACH_DISCLOSURE, &SignedVote { statement, signature }) {
            *attachment = a;
        }
    }
}

/// The attachment `tag || vote` (a grant or a disclosure); `None` if the
/// vote does not encode.
fn tagged_vote(tag: u8, vote: &SignedVote) -> Option<AllocVec<u8>> {
    let mut buf = alloc::vec![tag; 1 + vote.encoded_len()];
    let n = vote.encode(buf.get_mut(1..)?).ok()?;
    buf.truncate(1 + n);
    Some(buf)
}

/// A voter caught voting for two candidates in one term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Equivocator {
    /// Its index among the voters.
    voter: usize,
    /// The latest term it was caught in.
    term: u64,
    /// Whether this node made an evidence record of it.
    recorded: bool,
}
