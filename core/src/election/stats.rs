//! Vote history, statistics and the status report.

use super::*;

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
    /// Byzantine mode: messages dropped because they would have changed this
    /// node's term or leader without a matching certificate (a higher term
    /// without proof, a leader heartbeat without a leader certificate, a
    /// higher term in a response, a pre-vote for a term other than the next).
    pub uncertified: u64,
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

impl<const V: usize, const O: usize, const H: usize> LeaderElectionManager<V, O, H> {
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

    pub(super) fn record_vote(&mut self, record: VoteRecord) {
        if self.history.is_full() {
            let _ = self.history.pop_front();
            self.state.stats.dropped_vote_records = self.state.stats.dropped_vote_records.saturating_add(1);
        }
        if self.history.push_back(record).is_err() {
            self.state.stats.dropped_vote_records = self.state.stats.dropped_vote_records.saturating_add(1);
        }
    }
}
