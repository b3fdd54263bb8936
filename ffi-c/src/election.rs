//! Election types of the coordinator: its parameters
//! (`pn_ops_config.election`) and the hard state a supervisor persists.

use crate::convert::{node_id, pn_node_id, us};
use crate::result::pn_result;
use pouw_netops::election::{EquivocationPolicy, FaultModel};
use pouw_netops::{ElectionConfig, HardState};

/// Election parameters (the jitter's seed is `pn_ops_new`'s; votes go only to
/// candidates whose task table is at least as far as the voter's).
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
    /// A `pn_equivocation_policy` value (default `PN_EQUIVOCATION_IGNORE_FOR_TERM`).
    pub equivocation: u32,
}

/// (Byzantine mode) what becomes of a voter's later grants once it was caught equivocating.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_equivocation_policy {
    /// They still count.
    PN_EQUIVOCATION_KEEP_COUNTING = 0,
    /// They are refused for the rest of the term it equivocated in.
    PN_EQUIVOCATION_IGNORE_FOR_TERM = 1,
    /// They are refused for the life of the handle.
    PN_EQUIVOCATION_IGNORE_FOREVER = 2,
}

crate::convert::mirror_enum!(in EquivocationPolicy => pn_equivocation_policy {
    KeepCounting => PN_EQUIVOCATION_KEEP_COUNTING,
    IgnoreForTerm => PN_EQUIVOCATION_IGNORE_FOR_TERM,
    IgnoreForever => PN_EQUIVOCATION_IGNORE_FOREVER,
});

impl From<&ElectionConfig> for pn_leader_election_config {
    fn from(e: &ElectionConfig) -> Self {
        pn_leader_election_config {
            election_timeout_us: e.election_timeout.total_micros(),
            heartbeat_interval_us: e.heartbeat_interval.total_micros(),
            pre_vote: e.pre_vote,
            check_quorum: e.check_quorum,
            equivocation: pn_equivocation_policy::from(e.equivocation) as u32,
        }
    }
}

/// The core's election parameters from `c`, with the jitter `seed` and `f`
/// Byzantine voters tolerated (0: crash-only). An unknown equivocation policy
/// is `PN_ERR_INVALID_CONFIG`.
pub fn election_config(c: &pn_leader_election_config, seed: u64, f: u32) -> Result<ElectionConfig, pn_result> {
    let equivocation = pn_equivocation_policy::core_of(c.equivocation).ok_or(pn_result::PN_ERR_INVALID_CONFIG)?;
    Ok(ElectionConfig {
        election_timeout: us(c.election_timeout_us),
        heartbeat_interval: us(c.heartbeat_interval_us),
        pre_vote: c.pre_vote,
        check_quorum: c.check_quorum,
        seed,
        fault_model: if f == 0 { FaultModel::CrashOnly } else { FaultModel::Byzantine { f } },
        equivocation,
        ..ElectionConfig::default()
    })
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
