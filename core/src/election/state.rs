//! The state machine: roles, timers, campaigns, vote counting and the outbox.

use super::*;

/// What the manager knows about one voter.
#[derive(Clone, Debug)]
pub(super) struct Peer {
    pub(super) id: NodeId,
    /// Its answer in the current (pre-)campaign.
    pub(super) vote: Option<bool>,
    /// Heard from since the leader's last quorum check.
    pub(super) active: bool,
}

/// Everything except the fixed-capacity tables.
#[derive(Clone, Debug)]
pub(super) struct State {
    pub(super) config: ElectionConfig,
    pub(super) id: NodeId,
    pub(super) me: usize,
    pub(super) clock: MonotonicClock,
    rng: Rng,
    pub(super) role: Role,
    pub(super) term: u64,
    pub(super) voted_for: Option<NodeId>,
    pub(super) leader: Option<usize>,
    pub(super) hard_state_dirty: bool,
    pub(super) progress: Option<u64>,
    /// When the election timer was last reset (for a leader: its last quorum check).
    pub(super) reset_at: Instant,
    pub(super) randomized_timeout: Duration,
    pub(super) heartbeat_due: Instant,
    pub(super) last_heartbeat: Option<Instant>,
    pub(super) granted: usize,
    rejected: usize,
    campaign_started: Option<Instant>,
    pub(super) stats: ElectionStats,
}
impl<const V: usize, const O: usize, const H: usize> LeaderElectionManager<V, O, H> {
    // ----- the state machine -----

    pub(super) fn voter_index(&self, id: &NodeId) -> Result<usize, ElectionError> {
        if *id == self.state.id {
            return Err(ElectionError::FromSelf);
        }
        self.peers.binary_search_by(|p| p.id.cmp(id)).map_err(|_| ElectionError::UnknownVoter(id.clone()))
    }

    pub(super) fn peer_id(&self, i: usize) -> Option<&NodeId> {
        self.peers.get(i).map(|p| &p.id)
    }

    /// Restarts the election timer with a fresh timeout drawn from `[E, 2E)`.
    pub(super) fn reset_timer(&mut self, now: Instant) {
        let s = &mut self.state;
        let e = s.config.election_timeout.total_micros();
        s.reset_at = now;
        s.randomized_timeout = Duration::from_micros(s.rng.in_range(e, e.saturating_mul(2)));
    }

    /// Draws a fresh timeout from `[E, 2E)` without restarting the timer.
    pub(super) fn redraw_timeout(&mut self) {
        let s = &mut self.state;
        let e = s.config.election_timeout.total_micros();
        s.randomized_timeout = Duration::from_micros(s.rng.in_range(e, e.saturating_mul(2)));
    }

    /// Whether a live leader was heard from within `E` (the leader lease).
    pub(super) fn in_lease(&self, now: Instant) -> bool {
        let s = &self.state;
        (s.config.pre_vote || s.config.check_quorum)
            && (s.role == Role::Leader || (s.leader.is_some() && now < s.reset_at + s.config.election_timeout))
    }

    pub(super) fn set_leader(&mut self, leader: Option<usize>) {
        let s = &mut self.state;
        if leader.is_some() && leader != s.leader {
            s.stats.leader_changes = s.stats.leader_changes.saturating_add(1);
        }
        s.leader = leader;
    }

    fn reset_votes(&mut self) {
        for p in self.peers.iter_mut() {
            p.vote = None;
        }
        self.state.granted = 0;
        self.state.rejected = 0;
    }

    fn end_campaign(&mut self, now: Instant) {
        if let Some(start) = self.state.campaign_started.take() {
            self.state.stats.last_election_duration = Some(now.saturating_duration_since(start));
        }
    }

    pub(super) fn become_follower(&mut self, now: Instant, term: u64, leader: Option<usize>) {
        let s = &mut self.state;
        match s.role {
            Role::Leader => s.stats.step_downs = s.stats.step_downs.saturating_add(1),
            Role::Candidate => {
                s.stats.elections_lost = s.stats.elections_lost.saturating_add(1);
                self.end_campaign(now);
            }
            Role::PreCandidate | Role::Follower => {}
        }
        let s = &mut self.state;
        if term != s.term {
            s.term = term;
            s.voted_for = None;
            s.hard_state_dirty = true;
        }
        s.role = Role::Follower;
        s.campaign_started = None;
        self.reset_votes();
        self.set_leader(leader);
        if leader.is_some() {
            self.state.last_heartbeat = Some(now);
        }
        self.reset_timer(now);
    }

    /// Starts a pre-vote round (`pre`) or a real election.
    pub(super) fn hup(&mut self, now: Instant, pre: bool) {
        if self.state.role == Role::Leader {
            return;
        }
        if pre {
            self.become_pre_candidate(now);
        } else {
            self.become_candidate(now);
        }
    }

    fn become_pre_candidate(&mut self, now: Instant) {
        let s = &mut self.state;
        s.role = Role::PreCandidate;
        s.stats.pre_votes_started = s.stats.pre_votes_started.saturating_add(1);
        let request = VoteRequest { term: s.term.saturating_add(1), progress: s.progress };
        self.open_round(now, Body::PreVote(request));
    }

    fn become_candidate(&mut self, now: Instant) {
        let s = &mut self.state;
        s.role = Role::Candidate;
        s.term = s.term.saturating_add(1);
        s.voted_for = Some(s.id.clone());
        s.hard_state_dirty = true;
        s.stats.elections_started = s.stats.elections_started.saturating_add(1);
        let request = VoteRequest { term: s.term, progress: s.progress };
        self.open_round(now, Body::RequestVote(request));
    }

    /// Opens a round of a (pre-)campaign: forgets the leader and the votes of
    /// the last round, restarts the timer, sends `request` to every voter and
    /// counts this node's own vote.
    fn open_round(&mut self, now: Instant, request: Body) {
        self.state.campaign_started.get_or_insert(now);
        self.set_leader(None);
        self.reset_votes();
        self.reset_timer(now);
        self.send(None, request);
        let me = self.state.me;
        self.poll(now, me, true);
    }

    fn become_leader(&mut self, now: Instant) {
        let s = &mut self.state;
        s.role = Role::Leader;
        s.stats.elections_won = s.stats.elections_won.saturating_add(1);
        self.end_campaign(now);
        let me = self.state.me;
        self.set_leader(Some(me));
        self.reset_votes();
        self.state.reset_at = now;
        for (i, p) in self.peers.iter_mut().enumerate() {
            p.active = i == me;
        }
        self.broadcast_heartbeat(now);
    }

    pub(super) fn broadcast_heartbeat(&mut self, now: Instant) {
        let term = self.state.term;
        self.state.heartbeat_due = now + self.state.config.heartbeat_interval;
        self.state.last_heartbeat = Some(now);
        self.send(None, Body::LeaderHeartbeat(LeaderHeartbeat { term }));
    }

    /// Records `from`'s answer in the current campaign and acts on a quorum.
    pub(super) fn poll(&mut self, now: Instant, from: usize, granted: bool) {
        let Some(peer) = self.peers.get_mut(from) else {
            return;
        };
        if peer.vote.is_some() {
            return;
        }
        peer.vote = Some(granted);
        let s = &mut self.state;
        if granted {
            s.granted = s.granted.saturating_add(1);
            if s.role == Role::Candidate && from != s.me {
                let record = VoteRecord { voter: peer.id.clone(), candidate: s.id.clone(), term: s.term, at: now };
                self.record_vote(record);
            }
        } else {
            s.rejected = s.rejected.saturating_add(1);
        }
        let quorum = self.quorum();
        if self.state.granted >= quorum {
            match self.state.role {
                Role::PreCandidate => self.become_candidate(now),
                Role::Candidate => self.become_leader(now),
                Role::Follower | Role::Leader => {}
            }
        } else if self.state.rejected >= quorum {
            let term = self.state.term;
            self.become_follower(now, term, None);
        }
    }

    pub(super) fn send(&mut self, to: Option<usize>, body: Body) {
        if to.is_none() && self.peers.len() <= 1 {
            return; // A broadcast with nobody to hear it.
        }
        let Some(msg) = Msg::from_body(&body) else { return };
        // Only a refusal by a node still at term 0 carries term 0. The wire rejects
        // term 0 (`WireError::ZeroTerm`) and receivers ignore it, so it is not sent.
        if msg.term() == 0 {
            return;
        }
        if to.is_some_and(|i| self.peer_id(i).is_none()) {
            return;
        }
        if self.outbox.push_back((to, msg)).is_err() {
            self.state.stats.dropped_transmits = self.state.stats.dropped_transmits.saturating_add(1);
        }
    }
}

impl State {
    pub(super) fn new(config: ElectionConfig, id: NodeId, hard_state: HardState) -> Self {
        State {
            rng: Rng::new(config.seed),
            config,
            id,
            me: 0,
            clock: MonotonicClock::new(),
            role: Role::Follower,
            term: hard_state.term,
            voted_for: hard_state.voted_for,
            leader: None,
            hard_state_dirty: false,
            progress: None,
            reset_at: Instant::ZERO,
            randomized_timeout: config.election_timeout,
            heartbeat_due: Instant::ZERO,
            last_heartbeat: None,
            granted: 0,
            rejected: 0,
            campaign_started: None,
            stats: ElectionStats::default(),
        }
    }
}
