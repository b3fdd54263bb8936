//! Messages: decoding them, the step that handles each, and the direct-call helpers.

use super::*;

/// An election message without its envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Msg {
    PreVote(VoteRequest),
    PreVoteResp(VoteResponse),
    Vote(VoteRequest),
    VoteResp(VoteResponse),
    Heartbeat(LeaderHeartbeat),
    HeartbeatResp(HeartbeatResponse),
}

impl Msg {
    pub(super) fn from_body(body: &Body) -> Option<Msg> {
        Some(match body {
            Body::PreVote(r) => Msg::PreVote(*r),
            Body::PreVoteResponse(r) => Msg::PreVoteResp(*r),
            Body::RequestVote(r) => Msg::Vote(*r),
            Body::VoteResponse(r) => Msg::VoteResp(*r),
            Body::LeaderHeartbeat(h) => Msg::Heartbeat(*h),
            Body::HeartbeatResponse(h) => Msg::HeartbeatResp(*h),
            _ => return None,
        })
    }

    pub(super) fn into_body(self) -> Body {
        match self {
            Msg::PreVote(r) => Body::PreVote(r),
            Msg::PreVoteResp(r) => Body::PreVoteResponse(r),
            Msg::Vote(r) => Body::RequestVote(r),
            Msg::VoteResp(r) => Body::VoteResponse(r),
            Msg::Heartbeat(h) => Body::LeaderHeartbeat(h),
            Msg::HeartbeatResp(h) => Body::HeartbeatResponse(h),
        }
    }

    pub(super) fn term(&self) -> u64 {
        match self {
            Msg::PreVote(r) | Msg::Vote(r) => r.term,
            Msg::PreVoteResp(r) | Msg::VoteResp(r) => r.term,
            Msg::Heartbeat(h) => h.term,
            Msg::HeartbeatResp(h) => h.term,
        }
    }
}
impl<const V: usize, const O: usize, const H: usize> LeaderElectionManager<V, O, H> {
    // ----- direct-call helpers (the Python node API) -----

    /// Starts a real election at once (no pre-vote): term + 1, a vote for itself,
    /// vote requests to the outbox (released once the new hard state is drained).
    /// Returns the new term.
    pub fn start_election(&mut self, now: Instant) -> Result<u64, ElectionError> {
        let now = self.state.clock.observe(now);
        if self.state.role == Role::Leader {
            return Err(ElectionError::AlreadyLeader);
        }
        self.hup(now, false);
        Ok(self.state.term)
    }

    /// Handles a vote request from `candidate` for `term` (with no progress value)
    /// and returns whether the vote is granted. The answer is returned, not queued;
    /// persist [`LeaderElectionManager::hard_state`] before sending it.
    pub fn request_vote(&mut self, now: Instant, candidate: &NodeId, term: u64) -> Result<bool, ElectionError> {
        let now = self.state.clock.observe(now);
        let from = self.voter_index(candidate)?;
        let reply = self.process(now, from, Msg::Vote(VoteRequest { term, progress: None }));
        Ok(matches!(reply, Some(Body::VoteResponse(VoteResponse { granted: true, .. }))))
    }

    /// Counts `voter`'s answer to this node's current (pre-)campaign; returns whether
    /// this node just became leader.
    pub fn receive_vote_response(
        &mut self,
        now: Instant,
        voter: &NodeId,
        granted: bool,
    ) -> Result<bool, ElectionError> {
        let now = self.state.clock.observe(now);
        let from = self.voter_index(voter)?;
        let term = self.state.term;
        let msg = match self.state.role {
            Role::PreCandidate => {
                Msg::PreVoteResp(VoteResponse { term: if granted { term.saturating_add(1) } else { term }, granted })
            }
            Role::Candidate => Msg::VoteResp(VoteResponse { term, granted }),
            Role::Follower | Role::Leader => return Ok(false),
        };
        let _ = self.process(now, from, msg);
        Ok(self.state.role == Role::Leader)
    }

    /// Handles a heartbeat from `leader` of `term`; returns whether it was accepted
    /// (this node now follows `leader` in `term`). The acknowledgement is not queued.
    pub fn receive_heartbeat(&mut self, now: Instant, leader: &NodeId, term: u64) -> Result<bool, ElectionError> {
        let now = self.state.clock.observe(now);
        let from = self.voter_index(leader)?;
        let _ = self.process(now, from, Msg::Heartbeat(LeaderHeartbeat { term }));
        let s = &self.state;
        Ok(s.role == Role::Follower && s.leader == Some(from) && s.term == term)
    }

    /// Runs the timers like [`LeaderElectionManager::tick`]; returns whether an
    /// election (or pre-vote round) was started because the timeout passed.
    pub fn check_election_timeout(&mut self, now: Instant) -> bool {
        let now = self.state.clock.observe(now);
        self.tick_at(now)
    }

    /// The Raft step function: term rules first, then the message itself. Returns the reply, if any.
    pub(super) fn process(&mut self, now: Instant, from: usize, msg: Msg) -> Option<Body> {
        let term = msg.term();
        let local = self.state.term;
        if term == 0 {
            return None;
        }
        if term > local {
            if matches!(msg, Msg::PreVote(_) | Msg::Vote(_)) && self.in_lease(now) {
                // A live leader exists: ignore the disruptive request.
                if matches!(msg, Msg::PreVote(_)) {
                    self.count_pre_vote_rejected();
                }
                return None;
            }
            match msg {
                Msg::PreVote(_) | Msg::PreVoteResp(VoteResponse { granted: true, .. }) => {}
                Msg::Heartbeat(_) => self.become_follower(now, term, Some(from)),
                _ => self.become_follower(now, term, None),
            }
        } else if term < local {
            return match msg {
                // Tell a stale leader about the newer term so it steps down.
                Msg::Heartbeat(_) if self.state.config.pre_vote || self.state.config.check_quorum => {
                    Some(Body::HeartbeatResponse(HeartbeatResponse { term: local }))
                }
                Msg::PreVote(_) => {
                    self.count_pre_vote_rejected();
                    Some(Body::PreVoteResponse(VoteResponse { term: local, granted: false }))
                }
                _ => None,
            };
        }
        match msg {
            Msg::PreVote(r) | Msg::Vote(r) => Some(self.handle_vote_request(now, from, msg, r)),
            Msg::PreVoteResp(r) => {
                // A grant answers the pre-campaign for the next term only: one
                // for this term is stale (a pre-campaign of the term before,
                // answered late, or replayed by a liar) and is no grant now.
                // Counted, it let a node campaign without a pre-vote quorum
                // for its term, and so without the certificate that
                // Byzantine mode needs to prove it.
                let stale_grant = r.granted && r.term != self.state.term.saturating_add(1);
                if self.state.role == Role::PreCandidate && !stale_grant {
                    self.poll(now, from, r.granted);
                }
                None
            }
            Msg::VoteResp(r) => {
                if self.state.role == Role::Candidate {
                    self.poll(now, from, r.granted);
                }
                None
            }
            Msg::Heartbeat(_) => {
                if self.state.role == Role::Leader {
                    // Another leader of our own term cannot exist; ignore.
                    return None;
                }
                if self.state.role == Role::Follower {
                    self.set_leader(Some(from));
                    self.reset_timer(now);
                    self.state.last_heartbeat = Some(now);
                } else {
                    // A (pre-)candidate concedes to the leader of its term.
                    self.become_follower(now, term, Some(from));
                }
                Some(Body::HeartbeatResponse(HeartbeatResponse { term: self.state.term }))
            }
            Msg::HeartbeatResp(_) => {
                if self.state.role == Role::Leader
                    && let Some(p) = self.peers.get_mut(from)
                {
                    p.active = true;
                }
                None
            }
        }
    }

    /// Byzantine mode: whether `msg` from voter `from` may change what it
    /// would change. A term above this node's needs proof: a `RequestVote`
    /// a pre-vote certificate of its sender for that term, a leader heartbeat
    /// a leader certificate of its sender for that term; a response raises the
    /// term only with a certificate (any candidate's) for that term (a number
    /// alone proves nothing; the certificate lets a lagging node catch up), and a
    /// pre-vote may only ask for the next term (so a pre-vote certificate for
    /// term `T` needs honest voters at `T - 1`: terms cannot be inflated and
    /// never saturate). A heartbeat of the current term needs a leader
    /// certificate unless it comes from the leader this node already follows.
    pub(super) fn justified(&self, from: usize, msg: Msg, proof: Option<&TermProof>) -> bool {
        let s = &self.state;
        let term = msg.term();
        let Some(sender) = self.peer_id(from) else { return false };
        let proves =
            |kind: ProofKind| proof.is_some_and(|p| p.kind == kind && p.term == term && p.candidate == *sender);
        match msg {
            Msg::PreVote(_) => term <= s.term.saturating_add(1),
            Msg::PreVoteResp(r) if r.granted => term <= s.term.saturating_add(1),
            // A refusal from a node ahead: any certificate for its term (a
            // pre-vote quorum agreed to start it) lets a lagging node catch up.
            Msg::PreVoteResp(_) | Msg::VoteResp(_) | Msg::HeartbeatResp(_) => {
                term <= s.term || proof.is_some_and(|p| p.term == term)
            }
            Msg::Vote(_) => term <= s.term || proves(ProofKind::PreVote),
            Msg::Heartbeat(_) => {
                term < s.term
                    || s.role == Role::Leader && term == s.term
                    || term == s.term && s.leader == Some(from)
                    || proves(ProofKind::Leader)
            }
        }
    }

    fn count_pre_vote_rejected(&mut self) {
        self.state.stats.pre_votes_rejected = self.state.stats.pre_votes_rejected.saturating_add(1);
    }

    fn handle_vote_request(&mut self, now: Instant, from: usize, msg: Msg, r: VoteRequest) -> Body {
        let pre = matches!(msg, Msg::PreVote(_));
        let s = &self.state;
        let Some(candidate) = self.peers.get(from).map(|p| p.id.clone()) else {
            return Body::VoteResponse(VoteResponse { term: s.term, granted: false });
        };
        let can_vote = s.voted_for.as_ref() == Some(&candidate)
            || (s.voted_for.is_none() && s.leader.is_none())
            || (pre && r.term > s.term);
        if can_vote && (s.config.up_to_date)(r.progress, s.progress) {
            if pre {
                return Body::PreVoteResponse(VoteResponse { term: r.term, granted: true });
            }
            let s = &mut self.state;
            if s.voted_for.is_none() {
                s.voted_for = Some(candidate.clone());
                s.hard_state_dirty = true;
            }
            let record = VoteRecord { voter: s.id.clone(), candidate, term: r.term, at: now };
            self.record_vote(record);
            self.reset_timer(now);
            Body::VoteResponse(VoteResponse { term: r.term, granted: true })
        } else {
            let term = self.state.term;
            if pre {
                self.count_pre_vote_rejected();
                Body::PreVoteResponse(VoteResponse { term, granted: false })
            } else {
                Body::VoteResponse(VoteResponse { term, granted: false })
            }
        }
    }
}
