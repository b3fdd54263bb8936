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
//! leader certificate of the same term for another candidate that holds a
//! signature of one of those voters is two votes by one voter in one term:
//! an [`EquivocationEvidence`] (verifiable offline) is queued for the host
//! ([`CertifiedElection::poll_evidence`]) and the voter's later grants are
//! treated as [`EquivocationPolicy`] says.

use super::*;
use crate::auth::{
    EquivocationEvidence, IdentityKey, PublicIdentity, QcBuilder, QuorumCertificate, QuorumError, SignedVote, VoteKind,
    VoteStatement, VoterKeys, VoterTable,
};
use alloc::vec::Vec as AllocVec;

/// Attachment tag: nothing.
pub const ATTACH_NONE: u8 = 0;
/// Attachment tag: a signed vote follows.
pub const ATTACH_VOTE: u8 = 1;
/// Attachment tag: a quorum certificate follows.
pub const ATTACH_CERTIFICATE: u8 = 2;

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
    /// Equivocators by voter index, with the term they equivocated in.
    equivocators: AllocVec<(usize, u64)>,
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
            EquivocationPolicy::IgnoreForTerm => self.equivocators.iter().any(|&(v, t)| v == voter && t == term),
            EquivocationPolicy::IgnoreForever => self.equivocators.iter().any(|&(v, _)| v == voter),
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

    /// A message without attachment: anything but a grant.
    fn check_plain(&self, msg: Msg, _from: usize) -> Result<Option<(TermProof, QuorumCertificate)>, CertReject> {
        match msg {
            Msg::PreVoteResp(VoteResponse { granted: true, .. })
            | Msg::VoteResp(VoteResponse { granted: true, .. }) => Err(CertReject::MissingVote),
            _ => Ok(None),
        }
    }

    /// A grant with the voter's signed vote: verified, then collected.
    fn check_vote(
        &mut self,
        msg: Msg,
        from: usize,
        sender: &NodeId,
        bytes: &[u8],
    ) -> Result<Option<(TermProof, QuorumCertificate)>, CertReject> {
        let vote = SignedVote::decode(bytes).map_err(|_| CertReject::MalformedAttachment)?;
        let (kind, r) = match msg {
            Msg::PreVoteResp(r) if r.granted => (VoteKind::PreVote, r),
            Msg::VoteResp(r) if r.granted => (VoteKind::Vote, r),
            _ => return Err(CertReject::WrongVote),
        };
        let s = &vote.statement;
        if s.kind != kind || s.term != r.term || s.candidate != *self.election.id() || s.voter != *sender {
            return Err(CertReject::WrongVote);
        }
        let key = self.voters.voter_key(from).ok_or(CertReject::BadVoteSignature)?;
        vote.verify(&self.cluster, &key).map_err(|_| CertReject::BadVoteSignature)?;
        if self.ignores(from, r.term) {
            return Err(CertReject::Equivocator);
        }
        let builder = match kind {
            VoteKind::PreVote => self.pre_votes.as_mut(),
            VoteKind::Vote => self.votes.as_mut(),
        };
        if let Some(b) = builder {
            // Another term or a duplicate: the election ignores it as well.
            let _ = b.push_verified(&vote, &self.voters);
        }
        Ok(None)
    }

    /// A certificate: verified, and it must claim what the message claims.
    fn check_certificate(
        &mut self,
        msg: Msg,
        sender: &NodeId,
        bytes: &[u8],
    ) -> Result<Option<(TermProof, QuorumCertificate)>, CertReject> {
        let qc = QuorumCertificate::decode(bytes).map_err(|_| CertReject::MalformedAttachment)?;
        qc.verify(&self.cluster, &self.voters, self.quorum()).map_err(|e| match e {
            QuorumError::Truncated | QuorumError::Malformed | QuorumError::Oversized { .. } => {
                CertReject::MalformedAttachment
            }
            _ => CertReject::BadCertificate,
        })?;
        let term = msg.term();
        let claim = match msg {
            Msg::Vote(_) => qc.check_claim(VoteKind::PreVote, term, sender),
            Msg::Heartbeat(_) => qc.check_claim(VoteKind::Vote, term, sender),
            Msg::PreVoteResp(_) | Msg::VoteResp(_) | Msg::HeartbeatResp(_) if qc.term() == term => Ok(()),
            _ => Err(QuorumError::WrongTerm),
        };
        claim.map_err(|_| CertReject::WrongClaim)?;
        let kind = match qc.kind() {
            VoteKind::PreVote => ProofKind::PreVote,
            VoteKind::Vote => ProofKind::Leader,
        };
        self.detect_equivocation(&qc);
        Ok(Some((TermProof { kind, term: qc.term(), candidate: qc.candidate().clone() }, qc)))
    }

    /// A leader certificate of this node's campaign term for another
    /// candidate, signed by a voter whose vote this node holds: evidence.
    fn detect_equivocation(&mut self, qc: &QuorumCertificate) {
        let Some(b) = self.votes.as_ref() else { return };
        let Ok(mine) = b.finish(1) else { return };
        if qc.kind() != VoteKind::Vote || qc.term() != mine.term() || qc.candidate() == mine.candidate() {
            return;
        }
        let both = qc.signers() & mine.signers();
        for index in 0..self.voters.len().min(64) {
            if both & (1u64 << index) == 0 || self.equivocators.iter().any(|&(v, t)| v == index && t == qc.term()) {
                continue;
            }
            let Some((voter, _)) = self.voters.entries().get(index) else { continue };
            let sig = |c: &QuorumCertificate| {
                let at = (c.signers() & ((1u64 << index) - 1)).count_ones() as usize;
                c.signatures().get(at).copied()
            };
            let (Some(a), Some(b)) = (sig(&mine), sig(qc)) else { continue };
            let vote = |c: &QuorumCertificate, signature| SignedVote {
                statement: VoteStatement {
                    kind: VoteKind::Vote,
                    term: c.term(),
                    candidate: c.candidate().clone(),
                    voter: voter.clone(),
                },
                signature,
            };
            if let Some(e) = EquivocationEvidence::new(vote(&mine, a), vote(qc, b)) {
                self.equivocators.push((index, qc.term()));
                if self.evidence.is_full() {
                    let _ = self.evidence.pop_front();
                    self.evidence_dropped = self.evidence_dropped.saturating_add(1);
                }
                let _ = self.evidence.push_back(e);
            }
        }
    }

    /// Keeps a verified certificate the election accepted, if it is for the current term.
    fn keep(&mut self, qc: QuorumCertificate) {
        if qc.term() != self.election.term() {
            return;
        }
        if qc.kind() == VoteKind::Vote && self.election.leader() == Some(qc.candidate()) {
            self.leader_qc = Some(qc.clone());
        }
        if self.term_qc.as_ref().is_none_or(|t| t.term() != qc.term()) {
            self.term_qc = Some(qc);
        }
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
            let mut buf = alloc::vec![0u8; v.encoded_len()];
            if let Ok(n) = v.encode(&mut buf) {
                buf.truncate(n);
                *attachment = alloc::vec![ATTACH_VOTE];
                attachment.extend_from_slice(&buf);
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
        Some(CertifiedTransmit { transmit: t, attachment })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{authority, identity_of};
    use std::collections::VecDeque;
    use std::format;
    use std::vec;
    use std::vec::Vec;

    type C = CertifiedElection<8, 64, 8>;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn names(n: usize) -> Vec<std::string::String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    fn voters(n: usize) -> Vec<(NodeId, PublicIdentity)> {
        names(n).iter().map(|s| (id(s), identity_of(s).public())).collect()
    }

    fn cluster_key() -> PublicIdentity {
        authority().public()
    }

    fn node(n: usize, i: usize, policy: EquivocationPolicy) -> C {
        let config = ElectionConfig {
            fault_model: FaultModel::Byzantine { f: ((n - 1) / 3) as u32 },
            seed: i as u64 + 1,
            ..ElectionConfig::default()
        };
        let name = format!("n{i}");
        C::new(config, id(&name), identity_of(&name), cluster_key(), &voters(n), HardState::default(), Instant::ZERO)
            .unwrap()
            .with_policy(policy)
    }

    fn signed(kind: VoteKind, term: u64, candidate: &str, voter: &str) -> Vec<u8> {
        let v = VoteStatement { kind, term, candidate: id(candidate), voter: id(voter) }
            .signed(&identity_of(voter), &cluster_key());
        let mut buf = vec![0u8; v.encoded_len()];
        let n = v.encode(&mut buf).unwrap();
        let mut out = vec![ATTACH_VOTE];
        out.extend_from_slice(&buf[..n]);
        out
    }

    fn attach_qc(qc: &QuorumCertificate) -> Vec<u8> {
        let mut buf = vec![0u8; qc.encoded_len()];
        let n = qc.encode(&mut buf).unwrap();
        let mut out = vec![ATTACH_CERTIFICATE];
        out.extend_from_slice(&buf[..n]);
        out
    }

    /// A certificate of `kind` for `candidate` in `term` signed by `signers`, over `n` voters.
    fn qc(kind: VoteKind, term: u64, candidate: &str, signers: &[&str], n: usize) -> QuorumCertificate {
        let mut b = QuorumCertificate::builder(kind, term, id(candidate));
        let vs = voters(n);
        for s in signers {
            let v = VoteStatement { kind, term, candidate: id(candidate), voter: id(s) }
                .signed(&identity_of(s), &cluster_key());
            b.push(&v, &cluster_key(), vs.as_slice()).unwrap();
        }
        b.finish(1).unwrap()
    }

    fn env(from: &str, body: Body) -> Envelope {
        Envelope::new(id(from), body)
    }

    /// Delivers every message with its attachment until quiet; returns the refusals.
    fn run(nodes: &mut [C], now: Instant) -> Vec<CertReject> {
        let mut refused = Vec::new();
        let mut q: VecDeque<(usize, usize, Envelope, Vec<u8>)> = VecDeque::new();
        loop {
            for i in 0..nodes.len() {
                while nodes[i].poll_hard_state().is_some() {}
                while let Some(t) = nodes[i].poll_transmit() {
                    let to: Vec<usize> = match &t.transmit.to {
                        Some(to) => vec![nodes.iter().position(|n| n.election().id() == to).unwrap()],
                        None => (0..nodes.len()).filter(|&j| j != i).collect(),
                    };
                    for j in to {
                        q.push_back((i, j, t.transmit.envelope.clone(), t.attachment.clone()));
                    }
                }
            }
            let Some((_, to, e, a)) = q.pop_front() else { break };
            if let Err(r) = nodes[to].step(now, &e, &a).unwrap() {
                refused.push(r);
            }
        }
        refused
    }

    type Snapshot = (Role, u64, Option<NodeId>, Option<NodeId>, usize, Option<QuorumCertificate>);

    fn snapshot(c: &C) -> Snapshot {
        let e = c.election();
        (
            e.role(),
            e.term(),
            e.leader().cloned(),
            e.voted_for().cloned(),
            e.pending_transmits(),
            c.leader_certificate().cloned(),
        )
    }

    #[test]
    fn four_voters_elect_a_certified_leader() {
        let mut nodes: Vec<C> = (0..4).map(|i| node(4, i, EquivocationPolicy::default())).collect();
        nodes[0].campaign(Instant::ZERO).unwrap();
        assert!(run(&mut nodes, Instant::ZERO).is_empty());
        let qc = nodes[0].leader_certificate().cloned().expect("the leader holds its certificate");
        assert_eq!((qc.kind(), qc.term(), qc.candidate()), (VoteKind::Vote, 1, &id("n0")));
        qc.verify(&cluster_key(), voters(4).as_slice(), 3).unwrap();
        for n in &nodes[1..] {
            assert_eq!(n.election().leader(), Some(&id("n0")));
            assert_eq!(n.leader_certificate(), Some(&qc), "followers keep the leader's certificate");
        }
        // Everyone acknowledged: the next heartbeats go bare, until the
        // election timeout passes and the certificate rides along once more.
        let heartbeat = |nodes: &mut Vec<C>, at: Instant| {
            nodes[0].tick(at);
            let t = nodes[0].poll_transmit().unwrap();
            assert!(matches!(t.transmit.envelope.body, Body::LeaderHeartbeat(_)));
            for n in nodes[1..].iter_mut() {
                assert_eq!(n.step(at, &t.transmit.envelope, &t.attachment).unwrap(), Ok(()));
            }
            assert!(run(nodes, at).is_empty());
            t.attachment[0]
        };
        assert_eq!(heartbeat(&mut nodes, Instant::from_millis(100)), ATTACH_NONE);
        assert_eq!(heartbeat(&mut nodes, Instant::from_millis(1000)), ATTACH_CERTIFICATE);
        assert_eq!(heartbeat(&mut nodes, Instant::from_millis(1100)), ATTACH_NONE);
        // 7 voters, f = 2: quorum 5.
        let mut nodes: Vec<C> = (0..7).map(|i| node(7, i, EquivocationPolicy::default())).collect();
        nodes[3].campaign(Instant::ZERO).unwrap();
        assert!(run(&mut nodes, Instant::ZERO).is_empty());
        assert!(nodes[3].election().is_leader());
        assert!(nodes[3].leader_certificate().unwrap().signer_count() >= 5);
    }

    /// Every bad input of issue 14, through the node: refused, counted, nothing changed.
    #[test]
    fn bad_certificates_change_nothing() {
        let now = Instant::from_secs(5); // past any lease
        let hb = |from: &str, term| env(from, Body::LeaderHeartbeat(LeaderHeartbeat { term }));
        let rv = |from: &str, term| env(from, Body::RequestVote(VoteRequest { term, progress: None }));
        let good = qc(VoteKind::Vote, 2, "n1", &["n1", "n2", "n3"], 4);
        let mut forged = attach_qc(&good);
        let last = forged.len() - 1;
        forged[last] ^= 1; // one signature bit
        // A voter's signature replaced by a non-voter's on the same statement.
        let outsider = {
            let mut b = QuorumCertificate::builder(VoteKind::Vote, 2, id("n1"));
            let mut vs = voters(4);
            vs[3].1 = identity_of("x").public();
            for (s, k) in [("n1", "n1"), ("n2", "n2"), ("n3", "x")] {
                let v = VoteStatement { kind: VoteKind::Vote, term: 2, candidate: id("n1"), voter: id(s) }
                    .signed(&identity_of(k), &cluster_key());
                b.push(&v, &cluster_key(), vs.as_slice()).unwrap();
            }
            attach_qc(&b.finish(3).unwrap())
        };
        // Signer index 5 of a 6-voter set: no voter here.
        let unknown = attach_qc(&qc(VoteKind::Vote, 2, "n1", &["n1", "n2", "n5"], 6));
        let short = attach_qc(&qc(VoteKind::Vote, 2, "n1", &["n1", "n2"], 4));
        // A duplicate signer: the bitmap names each voter once, so counting
        // one twice means repeating its signature beyond the bitmap (n1, n2
        // and n2 again, for a quorum of three).
        let mut duplicate = short.clone();
        duplicate.extend_from_slice(&short[short.len() - 64..]);
        let mut truncated = attach_qc(&good);
        truncated.truncate(truncated.len() - 10);
        let mut oversized = attach_qc(&good);
        oversized.extend(core::iter::repeat_n(0u8, crate::auth::MAX_QC_LEN));
        let mut trailing = attach_qc(&good);
        trailing.push(0);
        let cases: Vec<(&str, Envelope, Vec<u8>, CertReject)> = vec![
            ("forged", hb("n1", 2), forged, CertReject::BadCertificate),
            ("non-voter key", hb("n1", 2), outsider, CertReject::BadCertificate),
            ("unknown signer", hb("n1", 2), unknown, CertReject::BadCertificate),
            ("below quorum", hb("n1", 2), short, CertReject::BadCertificate),
            ("duplicate signer", hb("n1", 2), duplicate, CertReject::MalformedAttachment),
            ("truncated", hb("n1", 2), truncated, CertReject::MalformedAttachment),
            ("oversized", hb("n1", 2), oversized, CertReject::MalformedAttachment),
            ("trailing", hb("n1", 2), trailing, CertReject::MalformedAttachment),
            ("wrong term", hb("n1", 3), attach_qc(&good), CertReject::WrongClaim),
            ("wrong candidate", hb("n2", 2), attach_qc(&good), CertReject::WrongClaim),
            ("wrong kind", rv("n1", 2), attach_qc(&good), CertReject::WrongClaim),
            ("replayed old certificate", hb("n1", 7), attach_qc(&good), CertReject::WrongClaim),
            ("unknown tag", hb("n1", 2), vec![9, 1, 2], CertReject::MalformedAttachment),
            ("bare tag with bytes", hb("n1", 2), vec![ATTACH_NONE, 1], CertReject::MalformedAttachment),
        ];
        let mut m = node(4, 0, EquivocationPolicy::default());
        let before = snapshot(&m);
        for (i, (what, e, a, reason)) in cases.iter().enumerate() {
            assert_eq!(m.step(now, e, a).unwrap(), Err(*reason), "{what}");
            assert_eq!(snapshot(&m), before, "{what}");
            assert_eq!(m.poll_hard_state(), None, "{what}");
            let total: u64 = CertReject::ALL.iter().map(|r| m.rejected(*r)).sum();
            assert_eq!(total, i as u64 + 1, "{what}: counted");
        }
        // The genuine certificate is accepted.
        assert_eq!(m.step(now, &hb("n1", 2), &attach_qc(&good)).unwrap(), Ok(()));
        assert_eq!(m.election().leader(), Some(&id("n1")));
        assert_eq!(m.leader_certificate(), Some(&good));
    }

    #[test]
    fn grants_need_the_voters_own_signature() {
        let now = Instant::from_secs(5);
        let mut m = node(4, 0, EquivocationPolicy::default());
        m.campaign(now).unwrap();
        while m.poll_transmit().is_some() {}
        let grant = |from: &str| env(from, Body::PreVoteResponse(VoteResponse { term: 1, granted: true }));
        let before = snapshot(&m);
        let mut bad_sig = signed(VoteKind::PreVote, 1, "n0", "n1");
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 1;
        for (what, e, a, reason) in [
            ("no signature", grant("n1"), vec![ATTACH_NONE], CertReject::MissingVote),
            ("another voter's", grant("n1"), signed(VoteKind::PreVote, 1, "n0", "n2"), CertReject::WrongVote),
            ("a vote, not a pre-vote", grant("n1"), signed(VoteKind::PreVote, 2, "n0", "n1"), CertReject::WrongVote),
            ("another candidate", grant("n1"), signed(VoteKind::PreVote, 1, "n3", "n1"), CertReject::WrongVote),
            ("bad signature", grant("n1"), bad_sig, CertReject::BadVoteSignature),
            (
                "truncated",
                grant("n1"),
                signed(VoteKind::PreVote, 1, "n0", "n1")[..20].to_vec(),
                CertReject::MalformedAttachment,
            ),
        ] {
            assert_eq!(m.step(now, &e, &a).unwrap(), Err(reason), "{what}");
            assert_eq!(snapshot(&m), before, "{what}");
        }
        // One genuine grant counted once, however often it arrives.
        let ok = signed(VoteKind::PreVote, 1, "n0", "n1");
        for _ in 0..3 {
            assert_eq!(m.step(now, &grant("n1"), &ok).unwrap(), Ok(()));
        }
        assert_eq!(m.election().role(), Role::PreCandidate, "n0 and n1: two of a quorum of three");
        assert_eq!(m.step(now, &grant("n2"), &signed(VoteKind::PreVote, 1, "n0", "n2")).unwrap(), Ok(()));
        assert_eq!(m.election().role(), Role::Candidate);
        // Its vote request carries the pre-vote certificate of n0, n1, n2.
        while m.poll_hard_state().is_some() {}
        let t = m.poll_transmit().unwrap();
        assert_eq!(t.transmit.envelope.body, Body::RequestVote(VoteRequest { term: 1, progress: None }));
        assert_eq!(t.attachment[0], ATTACH_CERTIFICATE);
        let pre = QuorumCertificate::decode(&t.attachment[1..]).unwrap();
        assert_eq!((pre.kind(), pre.term(), pre.signers()), (VoteKind::PreVote, 1, 0b0111));
    }

    #[test]
    fn a_double_voter_is_caught_and_ignored() {
        let mut a = caught(EquivocationPolicy::IgnoreForTerm);
        let now = Instant::from_secs(5);
        let vote = |t| env("n3", Body::VoteResponse(VoteResponse { term: t, granted: true }));
        // The policy: n3's grants are refused for the rest of term 1.
        assert_eq!(
            a.step(now, &vote(1), &signed(VoteKind::Vote, 1, "n0", "n3")).unwrap(),
            Err(CertReject::Equivocator)
        );
        assert_eq!(a.rejected(CertReject::Equivocator), 1);
        assert_eq!(a.step(now, &vote(2), &signed(VoteKind::Vote, 2, "n0", "n3")).unwrap(), Ok(()), "term 2 is new");
        // For good.
        let mut a = caught(EquivocationPolicy::IgnoreForever);
        assert_eq!(
            a.step(now, &vote(2), &signed(VoteKind::Vote, 2, "n0", "n3")).unwrap(),
            Err(CertReject::Equivocator)
        );
        // Reported only.
        let mut a = caught(EquivocationPolicy::KeepCounting);
        assert_eq!(a.step(now, &vote(1), &signed(VoteKind::Vote, 1, "n0", "n3")).unwrap(), Ok(()));
        assert_eq!(a.rejected(CertReject::Equivocator), 0);
    }

    /// n3 votes for n0 and n1 in term 1; n0 sees n1's leader certificate and
    /// reports n3. Returns n0.
    fn caught(policy: EquivocationPolicy) -> C {
        let now = Instant::from_secs(5);
        let (mut a, mut b) = (node(4, 0, policy), node(4, 1, EquivocationPolicy::default()));
        // Both pre-campaign for term 1 with pre-votes from n2 and the liar n3.
        for (m, me) in [(&mut a, "n0"), (&mut b, "n1")] {
            m.campaign(now).unwrap();
            for v in ["n2", "n3"] {
                let e = env(v, Body::PreVoteResponse(VoteResponse { term: 1, granted: true }));
                assert_eq!(m.step(now, &e, &signed(VoteKind::PreVote, 1, me, v)).unwrap(), Ok(()));
            }
            assert_eq!(m.election().role(), Role::Candidate);
        }
        // n3 votes for both; honest n2 only for n1.
        let vote = |v: &str| env(v, Body::VoteResponse(VoteResponse { term: 1, granted: true }));
        assert_eq!(a.step(now, &vote("n3"), &signed(VoteKind::Vote, 1, "n0", "n3")).unwrap(), Ok(()));
        for v in ["n2", "n3"] {
            assert_eq!(b.step(now, &vote(v), &signed(VoteKind::Vote, 1, "n1", v)).unwrap(), Ok(()));
        }
        assert!(b.election().is_leader() && !a.election().is_leader());
        // n1's heartbeat with its certificate reaches n0: n3's two votes meet.
        while b.poll_hard_state().is_some() {}
        let hb = core::iter::from_fn(|| b.poll_transmit())
            .find(|t| matches!(t.transmit.envelope.body, Body::LeaderHeartbeat(_)))
            .unwrap();
        assert_eq!(a.step(now, &hb.transmit.envelope, &hb.attachment).unwrap(), Ok(()));
        assert_eq!(a.election().leader(), Some(&id("n1")), "n0 concedes to the certified leader");
        let e = a.poll_evidence().expect("evidence");
        assert_eq!((e.voter(), e.term()), (&id("n3"), 1));
        e.verify(&cluster_key(), &identity_of("n3").public()).unwrap();
        let (x, y) = e.votes();
        assert_eq!((&x.statement.candidate, &y.statement.candidate), (&id("n0"), &id("n1")));
        assert!(a.poll_evidence().is_none(), "one record per equivocation");
        a
    }

    #[test]
    fn a_lagging_node_catches_up_from_a_certified_refusal() {
        let now = Instant::from_secs(5);
        let mut nodes: Vec<C> = (0..4).map(|i| node(4, i, EquivocationPolicy::default())).collect();
        nodes[0].campaign(now).unwrap();
        assert!(run(&mut nodes[..3], now).is_empty()); // n3 hears nothing
        assert_eq!(nodes[3].election().term(), 0);
        // n3 times out and asks for pre-votes for term 1; n1 is at term 1 and
        // refuses with a certificate for term 1, which n3 adopts.
        nodes[3].campaign(now + Duration::from_secs(10)).unwrap();
        let later = now + Duration::from_secs(10);
        let t = nodes[3].poll_transmit().unwrap();
        nodes[1].step(later, &t.transmit.envelope, &t.attachment).unwrap().unwrap();
        let answer = nodes[1].poll_transmit().unwrap();
        assert_eq!(answer.attachment[0], ATTACH_CERTIFICATE);
        nodes[3].step(later, &answer.transmit.envelope, &answer.attachment).unwrap().unwrap();
        assert_eq!(nodes[3].election().term(), 1);
    }
}
