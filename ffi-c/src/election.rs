//! Election types of the coordinator: its parameters
//! (`pn_ops_config.election`) and the hard state a supervisor persists.

use crate::convert::{node_id, pn_node_id, us};
use crate::result::pn_result;
use pouw_netops::election::{always_up_to_date, height_at_least};
use pouw_netops::{ElectionConfig, HardState};

/// Election parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_leader_election_config {
    /// Base election timeout E, microseconds; timeouts are drawn from [E, 2E) (default 1 s).
    pub election_timeout_us: u64,
    /// Leader heartbeat interval, microseconds; below E (default 100 ms).
    pub heartbeat_interval_us: u64,
    /// Run a pre-vote round before every election (default true).
    pub pre_vote: bool,
    /// A leader steps down when it has not heard from a quorum within E (default true).
    pub check_quorum: bool,
    /// Seed of the timeout jitter; give every node its own (default 0).
    pub seed: u64,
    /// Grant votes only to candidates whose progress (`pn_leader_election_set_progress`)
    /// is at least this node's (default false: every candidate is up to date).
    pub progress_check: bool,
}

impl From<&pn_leader_election_config> for ElectionConfig {
    fn from(c: &pn_leader_election_config) -> Self {
        ElectionConfig {
            election_timeout: us(c.election_timeout_us),
            heartbeat_interval: us(c.heartbeat_interval_us),
            pre_vote: c.pre_vote,
            check_quorum: c.check_quorum,
            seed: c.seed,
            up_to_date: if c.progress_check { height_at_least } else { always_up_to_date },
            fault_model: pouw_netops::election::FaultModel::CrashOnly,
            ..ElectionConfig::default()
        }
    }
}

/// The state a host persists before sending anything, and restores after a restart.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_hard_state {
    /// The current term.
    pub term: u64,
    /// Whether `voted_for` is set.
    pub has_vote: bool,
    /// The candidate voted for in `term` (length 0 without a vote).
    pub voted_for: pn_node_id,
}

/// A hard state the caller passed in: `voted_for` (if `has_vote`) must be a
/// valid node id (`PN_ERR_INVALID_ID` otherwise).
impl TryFrom<&pn_hard_state> for HardState {
    type Error = pn_result;

    fn try_from(h: &pn_hard_state) -> Result<Self, pn_result> {
        let voted_for = if h.has_vote {
            let v = &h.voted_for;
            // SAFETY: the array of a live struct; `node_id` rejects a `len` past it first.
            Some(unsafe { node_id(v.bytes.as_ptr().cast(), v.len) }?)
        } else {
            None
        };
        Ok(HardState { term: h.term, voted_for })
    }
}

impl From<&HardState> for pn_hard_state {
    fn from(h: &HardState) -> Self {
        pn_hard_state {
            term: h.term,
            has_vote: h.voted_for.is_some(),
            voted_for: pn_node_id::from_opt(h.voted_for.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A restored hard state converts both ways; a vote for a bad id is refused.
    #[test]
    fn hard_state_round_trips_and_refuses_a_bad_vote() {
        let h = HardState { term: 7, voted_for: Some(pouw_netops::NodeId::new("s2").unwrap()) };
        assert_eq!(HardState::try_from(&pn_hard_state::from(&h)), Ok(h));
        let none = pn_hard_state { term: 3, has_vote: false, voted_for: pn_node_id::from_text("ignored") };
        assert_eq!(HardState::try_from(&none), Ok(HardState { term: 3, voted_for: None }));
        let empty = pn_hard_state { has_vote: true, voted_for: pn_node_id::EMPTY, ..none };
        assert_eq!(HardState::try_from(&empty), Err(pn_result::PN_ERR_INVALID_ID));
        let too_long = pn_hard_state { voted_for: pn_node_id { len: usize::MAX, ..pn_node_id::EMPTY }, ..empty };
        assert_eq!(HardState::try_from(&too_long), Err(pn_result::PN_ERR_INVALID_ID));
    }
}
