//! The checks of a received attachment ([`CertifiedElection::step`]): a
//! grant must carry the sender's own signature on exactly that grant, a
//! certificate must verify and claim what its message claims; and what a
//! passing certificate leaves behind (equivocation evidence, the newest
//! certificate per term). A failing check returns its [`CertReject`] and
//! changes nothing.

use super::*;

impl<const V: usize, const O: usize, const H: usize> CertifiedElection<V, O, H> {
    /// A message without attachment: anything but a grant.
    pub(super) fn check_plain(
        &self,
        msg: Msg,
        _from: usize,
    ) -> Result<Option<(TermProof, QuorumCertificate)>, CertReject> {
        match msg {
            Msg::PreVoteResp(VoteResponse { granted: true, .. })
            | Msg::VoteResp(VoteResponse { granted: true, .. }) => Err(CertReject::MissingVote),
            _ => Ok(None),
        }
    }

    /// A grant with the voter's signed vote: verified, then collected.
    pub(super) fn check_vote(
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
    pub(super) fn check_certificate(
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
    /// candidate, signed by a voter whose vote this node holds: that voter
    /// equivocated. The certificate carries no full signature of its
    /// signers (they are half-aggregated, `auth::quorum`), so the voter is
    /// marked for [`EquivocationPolicy`] on this node's own proof (its vote
    /// here, the verified aggregate there), and its vote for this node is
    /// disclosed to that leader, which can make the transferable
    /// [`EquivocationEvidence`] (see the module documentation).
    fn detect_equivocation(&mut self, qc: &QuorumCertificate) {
        let Some(b) = self.votes.as_ref() else { return };
        if qc.kind() != VoteKind::Vote || qc.term() != b.term() || qc.candidate() == b.candidate() {
            return;
        }
        let both = qc.signers() & b.signers();
        if both == 0 {
            return;
        }
        for index in 0..self.voters.len().min(64) {
            if both & (1u64 << index) != 0 {
                self.mark_equivocator(index, qc.term(), false);
            }
        }
        // Each time the certificate comes while no disclosure to its leader
        // is under way, the round starts again: a lost one is sent again.
        // (The leader attaches it until every voter acknowledged its term,
        // and again after every election timeout.)
        let pending = self.disclose.as_ref().is_some_and(|(l, t, _)| l == qc.candidate() && *t == qc.term());
        if !pending {
            self.disclose = Some((qc.candidate().clone(), qc.term(), both));
        }
    }

    /// A disclosed vote on a heartbeat response: another voter's signed vote
    /// for the sender. If this node holds that voter's vote for itself in
    /// the same term (the builder its certificate came from), the two are an
    /// equivocation: the record is queued for the host, once per voter and
    /// term. A vote that is not the voter's valid vote for the sender is
    /// refused like a bad grant; a valid one this node cannot pair changes
    /// nothing.
    pub(super) fn check_disclosure(
        &mut self,
        msg: Msg,
        sender: &NodeId,
        bytes: &[u8],
    ) -> Result<Option<(TermProof, QuorumCertificate)>, CertReject> {
        let vote = SignedVote::decode(bytes).map_err(|_| CertReject::MalformedAttachment)?;
        let s = &vote.statement;
        if !matches!(msg, Msg::HeartbeatResp(_))
            || s.kind != VoteKind::Vote
            || s.candidate != *sender
            || s.candidate == *self.election.id()
        {
            return Err(CertReject::WrongVote);
        }
        let index = self.index_of(&s.voter).ok_or(CertReject::WrongVote)?;
        let key = self.voters.voter_key(index).ok_or(CertReject::BadVoteSignature)?;
        vote.verify(&self.cluster, &key).map_err(|_| CertReject::BadVoteSignature)?;
        let Some(mine) = self.votes.as_ref().filter(|b| b.term() == s.term && b.candidate() == self.election.id())
        else {
            return Ok(None);
        };
        let Some(signature) = mine.signature_of(index) else { return Ok(None) };
        let statement = VoteStatement { candidate: mine.candidate().clone(), ..s.clone() };
        let term = s.term;
        if let Some(e) = EquivocationEvidence::new(SignedVote { statement, signature }, vote)
            && self.mark_equivocator(index, term, true)
        {
            if self.evidence.is_full() {
                let _ = self.evidence.pop_front();
                self.evidence_dropped = self.evidence_dropped.saturating_add(1);
            }
            let _ = self.evidence.push_back(e);
        }
        Ok(None)
    }

    /// Marks voter `index` as an equivocator in `term` (`recorded`: with an
    /// evidence record made here). Returns whether a record is newly due:
    /// `recorded` and none was made for this voter and term yet. One entry
    /// per voter, for the latest term it was caught in (the table is bounded
    /// by the voters): a catch in an older term changes nothing and is due
    /// no record (grants of an older term count nowhere any more).
    pub(super) fn mark_equivocator(&mut self, index: usize, term: u64, recorded: bool) -> bool {
        match self.equivocators.iter_mut().find(|e| e.voter == index) {
            Some(e) if e.term == term => {
                let due = recorded && !e.recorded;
                e.recorded |= recorded;
                due
            }
            Some(e) if e.term < term => {
                (e.term, e.recorded) = (term, recorded);
                recorded
            }
            Some(_) => false,
            None => {
                self.equivocators.push(Equivocator { voter: index, term, recorded });
                recorded
            }
        }
    }

    /// Keeps a verified certificate the election accepted, if it is for the current term.
    pub(super) fn keep(&mut self, qc: QuorumCertificate) {
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
}
