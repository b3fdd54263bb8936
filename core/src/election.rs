//! `LeaderElectionManager`: log-less Raft leader election among supervisors, with
//! PreVote and CheckQuorum, following the rules of etcd-io/raft and tikv/raft-rs.
//!
//! It follows the crate's [sans-IO contract](crate#the-sans-io-contract): time,
//! method kinds, drain order, errors and capacity.
//!
//! Roles and transitions:
//!
//! ```text
//!  Follower --timeout--> PreCandidate --pre-vote quorum--> Candidate --vote quorum--> Leader
//!      ^  (PreVote off: Follower --timeout--> Candidate)        |                        |
//!      +---- higher term, a leader's heartbeat, a lost (pre-)vote, CheckQuorum, step_down --+
//! ```
//!
//! * The election timeout is drawn uniformly from `[E, 2E)` with the caller's seed
//!   and re-drawn on every reset of the election timer (role or term change, a
//!   leader's heartbeat, a granted vote).
//! * Every message obeys the term rules: a higher term turns the receiver into a
//!   follower of that term (pre-vote traffic never changes a term), a lower term is
//!   ignored, or answered with the local term where that frees the sender
//!   (a stale leader's heartbeat, a pre-vote).
//! * A node that heard from a live leader within `E` (a leader always counts) ignores
//!   (pre-)vote requests of higher terms while PreVote or CheckQuorum is on: a
//!   partitioned node that rejoins cannot depose a healthy leader.
//! * With CheckQuorum, a leader that has not heard from a quorum (itself included)
//!   within `E` steps down.
//!
//! Sans-IO: inputs are [`LeaderElectionManager::tick`], [`LeaderElectionManager::campaign`],
//! [`LeaderElectionManager::step`] (or the direct-call helpers); outputs are drained
//! in this order after every input:
//!
//! 1. [`LeaderElectionManager::poll_hard_state`]: when `(term, voted_for)` changed,
//!    the host must persist it **before** sending anything. Until it is drained,
//!    [`LeaderElectionManager::poll_transmit`] yields nothing, so a vote grant never
//!    leaves before the vote is on disk.
//! 2. [`LeaderElectionManager::poll_transmit`]: messages in the order they were produced.
//! 3. [`LeaderElectionManager::poll_timeout`]: when to call `tick` next.

use crate::error::{CapacityError, ConfigError};
use crate::id::NodeId;
use crate::rng::Rng;
use crate::storage::{Deque, Vec};
use crate::time::{Duration, Instant, MonotonicClock};
use crate::wire::{Body, Envelope, HeartbeatResponse, LeaderHeartbeat, VoteRequest, VoteResponse};
use core::fmt;
use serde::{Deserialize, Serialize};

/// A node's role in the election.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows the leader of its term (or waits for one).
    Follower,
    /// Asks for pre-votes before starting a real election (PreVote).
    PreCandidate,
    /// Asks for votes in a new term.
    Candidate,
    /// Won its term's election.
    Leader,
}

impl Role {
    /// The lowercase name used by the Python API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre_candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

crate::error::names!(
    Role,
    "election role",
    "follower, pre_candidate, candidate, leader",
    [Follower, PreCandidate, Candidate, Leader]
);

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller's "is the candidate up to date" check: `(candidate's progress, local progress) -> grant?`.
pub type UpToDateCheck = fn(candidate: Option<u64>, local: Option<u64>) -> bool;

/// The default check: every candidate is up to date.
pub fn always_up_to_date(_candidate: Option<u64>, _local: Option<u64>) -> bool {
    true
}

/// A check for chain heights: the candidate must be at least as far as the local
/// node; a node that knows no height of its own accepts anyone, a candidate without
/// a height is behind any known height.
pub fn height_at_least(candidate: Option<u64>, local: Option<u64>) -> bool {
    match (candidate, local) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(c), Some(l)) => c >= l,
    }
}

/// Election parameters. See each field for its default.
#[derive(Clone, Copy, Debug)]
pub struct ElectionConfig {
    /// `E`: the base election timeout; timeouts are drawn from `[E, 2E)` (default 1 s).
    pub election_timeout: Duration,
    /// `H`: the leader's heartbeat interval; must be below `E` (default 100 ms).
    pub heartbeat_interval: Duration,
    /// Run a pre-vote round before every election (default on).
    pub pre_vote: bool,
    /// A leader steps down when it has not heard from a quorum within `E` (default on).
    pub check_quorum: bool,
    /// Seed of the timeout jitter; give every node its own (default 0).
    pub seed: u64,
    /// Decides whether a candidate is up to date (default: always).
    pub up_to_date: UpToDateCheck,
}

impl Default for ElectionConfig {
    fn default() -> Self {
        ElectionConfig {
            election_timeout: Duration::from_secs(1),
            heartbeat_interval: Duration::from_millis(100),
            pre_vote: true,
            check_quorum: true,
            seed: 0,
            up_to_date: always_up_to_date,
        }
    }
}

impl ElectionConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.heartbeat_interval == Duration::ZERO {
            return Err(ConfigError::new("heartbeat_interval", "greater than zero"));
        }
        if self.election_timeout <= self.heartbeat_interval {
            return Err(ConfigError::new("election_timeout", "greater than heartbeat_interval"));
        }
        // [E, 2E) must be representable.
        if self.election_timeout.total_micros() > u64::MAX / 4 {
            return Err(ConfigError::new("election_timeout", "below u64::MAX / 4 microseconds"));
        }
        Ok(())
    }
}

/// The state a host must persist before releasing a vote, and restore after a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HardState {
    /// The current term.
    pub term: u64,
    /// The candidate voted for in `term`, if any.
    pub voted_for: Option<NodeId>,
}

/// One message for the host to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Transmit {
    /// The destination voter; `None` means every voter except this node.
    pub to: Option<NodeId>,
    /// The message.
    pub envelope: Envelope,
}

/// One granted real vote: given by this node, or received by it as a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteRecord {
    /// The node that voted.
    pub voter: NodeId,
    /// The node voted for.
    pub candidate: NodeId,
    /// The term of the vote.
    pub term: u64,
    /// When this node granted or counted it.
    pub at: Instant,
}

/// Election counters since construction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ElectionStats {
    /// Pre-vote rounds started.
    pub pre_votes_started: u64,
    /// Real elections started (term increments by this node).
    pub elections_started: u64,
    /// Elections this node won.
    pub elections_won: u64,
    /// Elections this node lost (a quorum refused, or another leader or a higher term appeared).
    pub elections_lost: u64,
    /// Elections that timed out with neither a winning nor a losing quorum.
    pub split_votes: u64,
    /// Pre-vote requests this node refused or ignored.
    pub pre_votes_rejected: u64,
    /// Times this node stopped being leader.
    pub step_downs: u64,
    /// Times the leader this node knows changed to another node.
    pub leader_changes: u64,
    /// From the start of the last decided election (pre-vote included) to its outcome.
    pub last_election_duration: Option<Duration>,
    /// Messages dropped because the outbox was full.
    pub dropped_transmits: u64,
    /// Vote records pushed out of the history ring by newer ones.
    pub dropped_vote_records: u64,
}

/// A snapshot of the node's election state (the Python API's `get_status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionStatus {
    /// This node.
    pub node_id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term.
    pub term: u64,
    /// The leader it knows in this term.
    pub leader: Option<NodeId>,
    /// Whom it voted for in this term.
    pub voted_for: Option<NodeId>,
    /// Whether it is the leader.
    pub is_leader: bool,
    /// Votes granted in the current (pre-)campaign, its own included; 0 outside campaigns.
    pub vote_count: usize,
    /// Whether it is a pre-candidate or candidate.
    pub election_in_progress: bool,
    /// Time since the last leader heartbeat received (or, as leader, sent); `None` if never.
    pub time_since_last_heartbeat: Option<Duration>,
}

/// Errors of the election manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElectionError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// More voters than the capacity `V`; nothing was built.
    TooManyVoters(CapacityError<NodeId>),
    /// This node is not in its own voter set.
    NotAVoter(NodeId),
    /// The message comes from a node outside the voter set; it was ignored.
    UnknownVoter(NodeId),
    /// The message claims to come from this node; it was ignored.
    FromSelf,
    /// The message is not a leader-election message; it was ignored.
    NotAnElectionMessage,
    /// The operation needs a node that is not the leader.
    AlreadyLeader,
}

impl fmt::Display for ElectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElectionError::Config(e) => e.fmt(f),
            ElectionError::TooManyVoters(e) => write!(f, "cannot add voter {}: {e}", e.rejected),
            ElectionError::NotAVoter(n) => write!(f, "node {n} is not in its own voter set"),
            ElectionError::UnknownVoter(n) => write!(f, "node {n} is not a voter"),
            ElectionError::FromSelf => f.write_str("message claims to come from this node"),
            ElectionError::NotAnElectionMessage => f.write_str("not a leader-election message"),
            ElectionError::AlreadyLeader => f.write_str("this node is already the leader"),
        }
    }
}

impl core::error::Error for ElectionError {}

impl crate::error::Classify for ElectionError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            ElectionError::Config(e) => e.kind(),
            ElectionError::TooManyVoters(e) => e.kind(),
            ElectionError::NotAVoter(_) | ElectionError::FromSelf | ElectionError::NotAnElectionMessage => {
                ErrorKind::InvalidArgument
            }
            ElectionError::UnknownVoter(_) => ErrorKind::NotFound,
            ElectionError::AlreadyLeader => ErrorKind::InvalidState,
        }
    }
}

impl From<ConfigError> for ElectionError {
    fn from(e: ConfigError) -> Self {
        ElectionError::Config(e)
    }
}

/// An election message without its envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    PreVote(VoteRequest),
    PreVoteResp(VoteResponse),
    Vote(VoteRequest),
    VoteResp(VoteResponse),
    Heartbeat(LeaderHeartbeat),
    HeartbeatResp(HeartbeatResponse),
}

impl Msg {
    fn from_body(body: &Body) -> Option<Msg> {
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

    fn into_body(self) -> Body {
        match self {
            Msg::PreVote(r) => Body::PreVote(r),
            Msg::PreVoteResp(r) => Body::PreVoteResponse(r),
            Msg::Vote(r) => Body::RequestVote(r),
            Msg::VoteResp(r) => Body::VoteResponse(r),
            Msg::Heartbeat(h) => Body::LeaderHeartbeat(h),
            Msg::HeartbeatResp(h) => Body::HeartbeatResponse(h),
        }
    }

    fn term(&self) -> u64 {
        match self {
            Msg::PreVote(r) | Msg::Vote(r) => r.term,
            Msg::PreVoteResp(r) | Msg::VoteResp(r) => r.term,
            Msg::Heartbeat(h) => h.term,
            Msg::HeartbeatResp(h) => h.term,
        }
    }
}

/// What the manager knows about one voter.
#[derive(Clone, Debug)]
struct Peer {
    id: NodeId,
    /// Its answer in the current (pre-)campaign.
    vote: Option<bool>,
    /// Heard from since the leader's last quorum check.
    active: bool,
}

/// Everything except the fixed-capacity tables.
#[derive(Clone, Debug)]
struct State {
    config: ElectionConfig,
    id: NodeId,
    me: usize,
    clock: MonotonicClock,
    rng: Rng,
    role: Role,
    term: u64,
    voted_for: Option<NodeId>,
    leader: Option<usize>,
    hard_state_dirty: bool,
    progress: Option<u64>,
    /// When the election timer was last reset (for a leader: its last quorum check).
    reset_at: Instant,
    randomized_timeout: Duration,
    heartbeat_due: Instant,
    last_heartbeat: Option<Instant>,
    granted: usize,
    rejected: usize,
    campaign_started: Option<Instant>,
    stats: ElectionStats,
}

/// Raft leader election for one node among up to `V` voters, with an outbox of `O`
/// messages and a history of the last `H` granted votes.
pub struct LeaderElectionManager<const V: usize, const O: usize, const H: usize> {
    state: State,
    /// Sorted by id: lookups are binary searches, iteration order is deterministic.
    peers: Vec<Peer, V>,
    /// Queued messages in compact form (destination voter index, message); the
    /// envelope is built when the host polls, so the outbox stays small.
    outbox: Deque<(Option<usize>, Msg), O>,
    history: Deque<VoteRecord, H>,
}

impl<const V: usize, const O: usize, const H: usize> LeaderElectionManager<V, O, H> {
    /// A follower at term 0 with no vote, among `voters` (which must include `id`;
    /// duplicates are ignored), its election timer started at `now`. Building the
    /// sorted voter table is O(V log V) for sorted input, O(V²) moves at worst.
    ///
    /// With `alloc` the tables are allocated here, once, at full capacity;
    /// without it they are inline.
    pub fn new(config: ElectionConfig, id: NodeId, voters: &[NodeId], now: Instant) -> Result<Self, ElectionError> {
        Self::restore(config, id, voters, HardState::default(), now)
    }

    /// A follower restored from a persisted `hard_state` (after a restart): it keeps
    /// its term and vote, so it never votes twice in one term.
    pub fn restore(
        config: ElectionConfig,
        id: NodeId,
        voters: &[NodeId],
        hard_state: HardState,
        now: Instant,
    ) -> Result<Self, ElectionError> {
        config.validate()?;
        let mut m = LeaderElectionManager {
            state: State::new(config, id, hard_state),
            peers: Vec::new(),
            outbox: Deque::new(),
            history: Deque::new(),
        };
        m.init(voters, now)?;
        Ok(m)
    }

    /// [`LeaderElectionManager::new`] in a box (see [`LeaderElectionManager::restore_boxed`]).
    #[cfg(feature = "alloc")]
    pub fn new_boxed(
        config: ElectionConfig,
        id: NodeId,
        voters: &[NodeId],
        now: Instant,
    ) -> Result<alloc::boxed::Box<Self>, ElectionError> {
        Self::restore_boxed(config, id, voters, HardState::default(), now)
    }

    /// [`LeaderElectionManager::restore`] in a box. With `alloc` the voter
    /// table, outbox and vote history are heap blocks already, so the struct
    /// moved into the box is small whatever the capacities.
    #[cfg(feature = "alloc")]
    pub fn restore_boxed(
        config: ElectionConfig,
        id: NodeId,
        voters: &[NodeId],
        hard_state: HardState,
        now: Instant,
    ) -> Result<alloc::boxed::Box<Self>, ElectionError> {
        Self::restore(config, id, voters, hard_state, now).map(alloc::boxed::Box::new)
    }

    /// Fills the voter table and starts the election timer.
    fn init(&mut self, voters: &[NodeId], now: Instant) -> Result<(), ElectionError> {
        for v in voters {
            if let Err(pos) = self.peers.binary_search_by(|p| p.id.cmp(v)) {
                let peer = Peer { id: v.clone(), vote: None, active: false };
                if self.peers.insert(pos, peer).is_err() {
                    return Err(ElectionError::TooManyVoters(CapacityError::new(v.clone(), V)));
                }
            }
        }
        let id = &self.state.id;
        self.state.me =
            self.peers.binary_search_by(|p| p.id.cmp(id)).map_err(|_| ElectionError::NotAVoter(id.clone()))?;
        let now = self.state.clock.observe(now);
        self.reset_timer(now);
        Ok(())
    }

    // ----- accessors -----

    /// The configuration.
    pub const fn config(&self) -> &ElectionConfig {
        &self.state.config
    }

    /// This node.
    pub const fn id(&self) -> &NodeId {
        &self.state.id
    }

    /// The voters, sorted by id.
    pub fn voters(&self) -> impl Iterator<Item = &NodeId> + '_ {
        self.peers.iter().map(|p| &p.id)
    }

    /// Votes needed to win: a majority of the voters.
    pub fn quorum(&self) -> usize {
        self.peers.len() / 2 + 1
    }

    /// The current role.
    pub const fn role(&self) -> Role {
        self.state.role
    }

    /// The current term.
    pub const fn term(&self) -> u64 {
        self.state.term
    }

    /// The leader known in the current term.
    pub fn leader(&self) -> Option<&NodeId> {
        self.state.leader.and_then(|i| self.peers.get(i)).map(|p| &p.id)
    }

    /// Whom this node voted for in the current term.
    pub const fn voted_for(&self) -> Option<&NodeId> {
        self.state.voted_for.as_ref()
    }

    /// Whether this node is the leader.
    pub fn is_leader(&self) -> bool {
        self.state.role == Role::Leader
    }

    /// The `(term, voted_for)` to persist; see [`LeaderElectionManager::poll_hard_state`].
    pub fn hard_state(&self) -> HardState {
        HardState { term: self.state.term, voted_for: self.state.voted_for.clone() }
    }

    /// The counters.
    pub const fn stats(&self) -> &ElectionStats {
        &self.state.stats
    }

    /// The last `H` granted votes (given by or to this node), oldest first.
    pub fn vote_history(&self) -> impl Iterator<Item = &VoteRecord> + '_ {
        self.history.iter()
    }

    /// The current randomized election timeout, in `[E, 2E)`.
    pub const fn randomized_timeout(&self) -> Duration {
        self.state.randomized_timeout
    }

    /// Test hook: sets the current randomized election timeout (until the next reset of the timer).
    pub fn set_randomized_timeout(&mut self, timeout: Duration) {
        self.state.randomized_timeout = timeout;
    }

    /// Sets this node's progress (e.g. chain height): sent in its requests and
    /// compared with candidates' by the up-to-date check.
    pub fn set_progress(&mut self, progress: Option<u64>) {
        self.state.progress = progress;
    }

    /// This node's progress.
    pub const fn progress(&self) -> Option<u64> {
        self.state.progress
    }

    /// Messages waiting in the outbox.
    pub fn pending_transmits(&self) -> usize {
        self.outbox.len()
    }

    /// A snapshot for status reports, at `now` (not clamped: only used for the heartbeat age).
    pub fn status(&self, now: Instant) -> ElectionStatus {
        let s = &self.state;
        let in_campaign = matches!(s.role, Role::PreCandidate | Role::Candidate);
        ElectionStatus {
            node_id: s.id.clone(),
            role: s.role,
            term: s.term,
            leader: self.leader().cloned(),
            voted_for: s.voted_for.clone(),
            is_leader: s.role == Role::Leader,
            vote_count: if in_campaign { s.granted } else { 0 },
            election_in_progress: in_campaign,
            time_since_last_heartbeat: s.last_heartbeat.map(|t| now.saturating_duration_since(t)),
        }
    }

    // ----- sans-IO interface -----

    /// Advances timers to `now`: a follower or (pre-)candidate whose election timeout
    /// passed campaigns (a single voter at once); a leader runs its quorum check and
    /// sends its heartbeat when due.
    pub fn tick(&mut self, now: Instant) {
        let now = self.state.clock.observe(now);
        self.tick_at(now);
    }

    fn tick_at(&mut self, now: Instant) -> bool {
        let s = &mut self.state;
        if s.role == Role::Leader {
            let e = s.config.election_timeout;
            if now >= s.reset_at + e {
                s.reset_at = now;
                if s.config.check_quorum {
                    let active = self.peers.iter().filter(|p| p.active).count();
                    if active < self.quorum() {
                        let term = self.state.term;
                        self.become_follower(now, term, None);
                        return false;
                    }
                    let me = self.state.me;
                    for (i, p) in self.peers.iter_mut().enumerate() {
                        p.active = i == me;
                    }
                }
            }
            if now >= self.state.heartbeat_due {
                self.broadcast_heartbeat(now);
            }
            false
        } else if now >= s.reset_at + s.randomized_timeout || self.peers.len() == 1 {
            if s.role == Role::Candidate {
                s.stats.split_votes = s.stats.split_votes.saturating_add(1);
            }
            self.hup(now, self.state.config.pre_vote);
            true
        } else {
            false
        }
    }

    /// Starts a campaign now, as if the election timeout had passed: a pre-vote
    /// round with PreVote on, else a real election. On the leader it does
    /// nothing (as etcd's and raft-rs's `campaign`): the leader already won.
    pub fn campaign(&mut self, now: Instant) -> Result<(), ElectionError> {
        let now = self.state.clock.observe(now);
        if self.state.role == Role::Leader {
            return Ok(());
        }
        self.hup(now, self.state.config.pre_vote);
        Ok(())
    }

    /// Handles one message from another voter. Answers go to the outbox.
    pub fn step(&mut self, now: Instant, envelope: &Envelope) -> Result<(), ElectionError> {
        let now = self.state.clock.observe(now);
        let msg = Msg::from_body(&envelope.body).ok_or(ElectionError::NotAnElectionMessage)?;
        let from = self.voter_index(&envelope.sender)?;
        if let Some(reply) = self.process(now, from, msg) {
            self.send(Some(from), reply);
        }
        Ok(())
    }

    /// Gives up leadership (or a campaign) now: the node becomes a follower of its
    /// current term without a leader, and campaigns again after a fresh timeout.
    pub fn step_down(&mut self, now: Instant) {
        let now = self.state.clock.observe(now);
        let term = self.state.term;
        self.become_follower(now, term, None);
    }

    /// The hard state to persist, once after every change. Drain it before
    /// [`LeaderElectionManager::poll_transmit`], which holds messages back until then.
    pub fn poll_hard_state(&mut self) -> Option<HardState> {
        if self.state.hard_state_dirty {
            self.state.hard_state_dirty = false;
            Some(self.hard_state())
        } else {
            None
        }
    }

    /// The next message to send, oldest first; nothing while a hard-state change
    /// is waiting to be persisted.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.state.hard_state_dirty {
            return None;
        }
        let (to, msg) = self.outbox.pop_front()?;
        let to = match to {
            Some(i) => Some(self.peer_id(i)?.clone()),
            None => None,
        };
        Some(Transmit { to, envelope: Envelope::new(self.state.id.clone(), msg.into_body()) })
    }

    /// The message [`LeaderElectionManager::poll_transmit`] would return next, left in
    /// the outbox (bindings size a caller's buffer with it before taking the message).
    pub fn peek_transmit(&self) -> Option<Transmit> {
        if self.state.hard_state_dirty {
            return None;
        }
        let (to, msg) = self.outbox.front()?;
        let to = match to {
            Some(i) => Some(self.peer_id(*i)?.clone()),
            None => None,
        };
        Some(Transmit { to, envelope: Envelope::new(self.state.id.clone(), msg.into_body()) })
    }

    /// When [`LeaderElectionManager::tick`] must next be called.
    pub fn poll_timeout(&self) -> Instant {
        let s = &self.state;
        match s.role {
            Role::Leader => {
                let check = if s.config.check_quorum { s.reset_at + s.config.election_timeout } else { Instant::MAX };
                s.heartbeat_due.min(check)
            }
            _ if self.peers.len() == 1 => s.clock.latest(),
            _ => s.reset_at + s.randomized_timeout,
        }
    }

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

    // ----- the state machine -----

    fn voter_index(&self, id: &NodeId) -> Result<usize, ElectionError> {
        if *id == self.state.id {
            return Err(ElectionError::FromSelf);
        }
        self.peers.binary_search_by(|p| p.id.cmp(id)).map_err(|_| ElectionError::UnknownVoter(id.clone()))
    }

    fn peer_id(&self, i: usize) -> Option<&NodeId> {
        self.peers.get(i).map(|p| &p.id)
    }

    /// Restarts the election timer with a fresh timeout drawn from `[E, 2E)`.
    fn reset_timer(&mut self, now: Instant) {
        let s = &mut self.state;
        let e = s.config.election_timeout.total_micros();
        s.reset_at = now;
        s.randomized_timeout = Duration::from_micros(s.rng.in_range(e, e.saturating_mul(2)));
    }

    /// Whether a live leader was heard from within `E` (the leader lease).
    fn in_lease(&self, now: Instant) -> bool {
        let s = &self.state;
        (s.config.pre_vote || s.config.check_quorum)
            && (s.role == Role::Leader || (s.leader.is_some() && now < s.reset_at + s.config.election_timeout))
    }

    fn set_leader(&mut self, leader: Option<usize>) {
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

    fn become_follower(&mut self, now: Instant, term: u64, leader: Option<usize>) {
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
    fn hup(&mut self, now: Instant, pre: bool) {
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
        s.campaign_started.get_or_insert(now);
        self.set_leader(None);
        self.reset_votes();
        self.reset_timer(now);
        let request = VoteRequest { term: self.state.term.saturating_add(1), progress: self.state.progress };
        self.send(None, Body::PreVote(request));
        let me = self.state.me;
        self.poll(now, me, true);
    }

    fn become_candidate(&mut self, now: Instant) {
        let s = &mut self.state;
        s.role = Role::Candidate;
        s.term = s.term.saturating_add(1);
        s.voted_for = Some(s.id.clone());
        s.hard_state_dirty = true;
        s.stats.elections_started = s.stats.elections_started.saturating_add(1);
        s.campaign_started.get_or_insert(now);
        self.set_leader(None);
        self.reset_votes();
        self.reset_timer(now);
        let request = VoteRequest { term: self.state.term, progress: self.state.progress };
        self.send(None, Body::RequestVote(request));
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

    fn broadcast_heartbeat(&mut self, now: Instant) {
        let term = self.state.term;
        self.state.heartbeat_due = now + self.state.config.heartbeat_interval;
        self.state.last_heartbeat = Some(now);
        self.send(None, Body::LeaderHeartbeat(LeaderHeartbeat { term }));
    }

    /// Records `from`'s answer in the current campaign and acts on a quorum.
    fn poll(&mut self, now: Instant, from: usize, granted: bool) {
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

    fn record_vote(&mut self, record: VoteRecord) {
        if self.history.is_full() {
            let _ = self.history.pop_front();
            self.state.stats.dropped_vote_records = self.state.stats.dropped_vote_records.saturating_add(1);
        }
        if self.history.push_back(record).is_err() {
            self.state.stats.dropped_vote_records = self.state.stats.dropped_vote_records.saturating_add(1);
        }
    }

    fn send(&mut self, to: Option<usize>, body: Body) {
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

    /// The Raft step function: term rules first, then the message itself. Returns the reply, if any.
    fn process(&mut self, now: Instant, from: usize, msg: Msg) -> Option<Body> {
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
                if self.state.role == Role::PreCandidate {
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

impl State {
    fn new(config: ElectionConfig, id: NodeId, hard_state: HardState) -> Self {
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

#[cfg(test)]
mod tests;
