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
//! # Fault models
//!
//! [`ElectionConfig::fault_model`] says which faults the election survives.
//!
//! * [`FaultModel::CrashOnly`] (the default): voters crash and restart but
//!   never lie. A quorum is a majority, `q = floor(N/2) + 1`; messages carry
//!   no proof. Two majorities of `N` voters share `2q - N >= 1` voters, and
//!   a voter votes once per term, so a term has at most one leader. But with
//!   an odd `N` they may share exactly one voter (`N = 5`, `q = 3`:
//!   `2q - N = 1`): if that one voter votes twice (a lying supervisor
//!   holding a valid key), two leaders win the same term.
//! * [`FaultModel::Byzantine`] `{ f }`: up to `f` voters may lie. A quorum is
//!   `q = ceil((N + f + 1) / 2)`, so two quorums share `2q - N >= f + 1`
//!   voters: at least one honest voter, who votes once per term, is in both,
//!   and a term still has at most one leader. A quorum of honest voters must
//!   exist even when the `f` liars stay silent, `N - f >= q`, which holds
//!   exactly when `N >= 3f + 1` (else the configuration is refused:
//!   [`ElectionError::Config`]); with `N = 4, f = 1`, `q = 3`; `N = 7, f = 2`,
//!   `q = 5`. At most [`MAX_BYZANTINE_VOTERS`] voters, and PreVote must be on.
//!
//!   In Byzantine mode every change of term or leader is backed by a quorum
//!   certificate that the host verified and passed with the message
//!   ([`LeaderElectionManager::step_with_proof`] with a [`TermProof`]):
//!   a `RequestVote` for a higher term `T` needs its sender's pre-vote
//!   certificate for `T`, a leader heartbeat its sender's leader certificate
//!   for its term (unless it comes from the leader this node already follows
//!   in that term), a response (a refusal from a node ahead) a certificate,
//!   any candidate's, for its term. An honest node grants
//!   a pre-vote only for the term after its own, so a pre-vote certificate
//!   for `T` needs `q - f >= f + 1` honest voters at `T - 1`: a liar cannot
//!   inflate terms, and they never saturate. Everything else is dropped and
//!   counted ([`ElectionStats::uncertified`]). Signing votes and building and
//!   verifying certificates is the host's part (`auth::quorum`); this module
//!   trusts the [`TermProof`] it is given.
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

#[cfg(feature = "alloc")]
mod certified;
mod error;
mod messages;
mod state;
mod stats;

#[cfg(feature = "alloc")]
pub use certified::{
    ATTACH_CERTIFICATE, ATTACH_DISCLOSURE, ATTACH_NONE, ATTACH_VOTE, CertReject, CertifiedElection, CertifiedTransmit,
};
pub use error::ElectionError;
pub use stats::{ElectionStats, ElectionStatus, VoteRecord};

use messages::Msg;
use state::{Peer, State};

use crate::error::{CapacityError, ConfigError};
use crate::id::NodeId;
use crate::rng::Rng;
use crate::storage::{Deque, Vec};
use crate::time::{Duration, Instant, MonotonicClock};
use crate::wire::{Body, Envelope, HeartbeatResponse, LeaderHeartbeat, VoteRequest, VoteResponse};
#[cfg(feature = "alloc")] // for `certified`, through `use super::*`
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

/// Which faults the election tolerates (see the [module documentation](self#fault-models)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FaultModel {
    /// Voters crash but never lie: majority quorums, no certificates (the default).
    #[default]
    CrashOnly,
    /// Up to `f` voters may lie (double-vote, inflate terms, claim leadership):
    /// quorums of `ceil((N + f + 1) / 2)` of the `N` voters, `N >= 3f + 1`,
    /// `N <= MAX_BYZANTINE_VOTERS`, PreVote on, and every term change backed
    /// by a certificate the host verified (see [`TermProof`]).
    Byzantine {
        /// The number of lying voters tolerated.
        f: u32,
    },
}

/// The most voters a Byzantine-mode election supports: a quorum certificate
/// names its signers in a 64-bit set ([`crate::auth::MAX_QC_SIGNERS`]).
pub const MAX_BYZANTINE_VOTERS: usize = crate::auth::MAX_QC_SIGNERS;

impl FaultModel {
    /// Votes needed to win among `voters`: a majority (`N / 2 + 1`) when
    /// crash-only, `ceil((N + f + 1) / 2)` with `f` Byzantine voters.
    pub const fn quorum(self, voters: usize) -> usize {
        match self {
            FaultModel::CrashOnly => voters / 2 + 1,
            // ceil((N + f + 1) / 2) = (N + f + 2) / 2, saturating for absurd inputs.
            FaultModel::Byzantine { f } => voters.saturating_add(f as usize).saturating_add(2) / 2,
        }
    }

    /// Whether this is a Byzantine model.
    pub const fn is_byzantine(self) -> bool {
        matches!(self, FaultModel::Byzantine { .. })
    }

    /// Checks the model against `voters` voters: with `f` Byzantine voters
    /// `N >= 3f + 1` and `N <= MAX_BYZANTINE_VOTERS`.
    pub fn validate(self, voters: usize) -> Result<(), ConfigError> {
        match self {
            FaultModel::CrashOnly => Ok(()),
            FaultModel::Byzantine { f } => {
                let need = (f as usize).saturating_mul(3).saturating_add(1);
                if voters < need {
                    return Err(ConfigError::new("fault_model", "at least 3f + 1 voters for f Byzantine voters"));
                }
                if voters > MAX_BYZANTINE_VOTERS {
                    return Err(ConfigError::new("fault_model", "at most 64 voters in Byzantine mode"));
                }
                Ok(())
            }
        }
    }
}

/// The kind of quorum certificate a [`TermProof`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProofKind {
    /// A quorum of signed pre-vote grants for `candidate` in `term`: justifies
    /// its `RequestVote` for `term`.
    PreVote,
    /// A quorum of signed votes for `candidate` in `term`: it leads `term`.
    Leader,
}

/// A quorum certificate the host verified (signatures, distinct configured
/// signers, the quorum of the fault model) and attached to one message, as
/// the election sees it. The election trusts it: verifying it is the host's
/// (the coordinator's gate's) job.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TermProof {
    /// Pre-vote or leader certificate.
    pub kind: ProofKind,
    /// The term it certifies.
    pub term: u64,
    /// The candidate it certifies (must be the message's sender to count).
    pub candidate: NodeId,
}

crate::error::named_enum! {
    /// What happens to a voter's grants after it was caught equivocating.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum EquivocationPolicy("equivocation policy") {
        /// Its grants still count (the evidence is only reported).
        KeepCounting = "keep_counting",
        /// Its grants are refused for the rest of the term it equivocated in.
        #[default]
        IgnoreForTerm = "ignore_for_term",
        /// Its grants are refused for good (until the host builds a new node).
        IgnoreForever = "ignore_forever",
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
    /// Which faults to tolerate (default [`FaultModel::CrashOnly`]).
    pub fault_model: FaultModel,
    /// (Byzantine fault model) what happens to a voter's later grants once it
    /// was caught voting for two candidates in one term (default: refused for
    /// the rest of that term). The evidence is reported whatever the policy.
    pub equivocation: EquivocationPolicy,
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
            fault_model: FaultModel::CrashOnly,
            equivocation: EquivocationPolicy::IgnoreForTerm,
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
        if self.fault_model.is_byzantine() && !self.pre_vote {
            // A RequestVote must carry a pre-vote certificate for its term.
            return Err(ConfigError::new("pre_vote", "on in Byzantine mode"));
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
        self.state.config.fault_model.validate(self.peers.len())?;
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

    /// Votes needed to win: a majority of the voters when crash-only,
    /// `ceil((N + f + 1) / 2)` with `f` Byzantine voters (see [`FaultModel::quorum`]).
    pub fn quorum(&self) -> usize {
        self.state.config.fault_model.quorum(self.peers.len())
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

    /// Changes the election timeout `E` and the heartbeat interval `H` of a
    /// running node (the same rules as at construction: `0 < H < E`). The
    /// current timer keeps its start and gets a timeout drawn from the new
    /// `[E, 2E)`; a leader's next heartbeat is due at most `H` from now.
    /// An invalid pair changes nothing.
    pub fn set_timing(
        &mut self,
        now: Instant,
        election_timeout: Duration,
        heartbeat_interval: Duration,
    ) -> Result<(), ConfigError> {
        let config = ElectionConfig { election_timeout, heartbeat_interval, ..self.state.config };
        config.validate()?;
        let now = self.state.clock.observe(now);
        self.state.config = config;
        self.redraw_timeout();
        let due = now + heartbeat_interval;
        if self.state.heartbeat_due > due {
            self.state.heartbeat_due = due;
        }
        Ok(())
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
    /// In Byzantine mode this is [`LeaderElectionManager::step_with_proof`]
    /// without a certificate.
    pub fn step(&mut self, now: Instant, envelope: &Envelope) -> Result<(), ElectionError> {
        self.step_with_proof(now, envelope, None)
    }

    /// Handles one message from another voter with the quorum certificate the
    /// host verified and found attached to it, if any. In crash-only mode the
    /// proof is ignored. In Byzantine mode a message that would change this
    /// node's term or leader without matching proof is dropped and counted in
    /// [`ElectionStats::uncertified`] (see the [module documentation](self#fault-models)).
    pub fn step_with_proof(
        &mut self,
        now: Instant,
        envelope: &Envelope,
        proof: Option<&TermProof>,
    ) -> Result<(), ElectionError> {
        let now = self.state.clock.observe(now);
        let msg = Msg::from_body(&envelope.body).ok_or(ElectionError::NotAnElectionMessage)?;
        let from = self.voter_index(&envelope.sender)?;
        if self.state.config.fault_model.is_byzantine() && !self.justified(from, msg, proof) {
            self.state.stats.uncertified = self.state.stats.uncertified.saturating_add(1);
            return Ok(());
        }
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

    /// Drops every queued message and the pending hard-state mark without
    /// building envelopes, for hosts that send nothing (the old direct-call
    /// API); returns how many messages were dropped. O(1).
    pub fn discard_output(&mut self) -> usize {
        self.state.hard_state_dirty = false;
        let n = self.outbox.len();
        self.outbox.clear();
        n
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
}

#[cfg(test)]
mod tests;
