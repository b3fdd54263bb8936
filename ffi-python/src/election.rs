//! Raft leader election among supervisors (`preset::large`, up to 4096 voters,
//! built in place on the heap), with float-second times.
//!
//! `Election` is public as the sans-IO Layer 2 class: bytes in through `step`,
//! bytes out through `poll_transmit`. The old API's `LeaderElectionManager`
//! (`pouw_netops/election.py`) drives the same class through its direct-call
//! helpers and discards the messages, which the old API never sent.

use crate::errors::{core_error, id_error};
use crate::time::{duration, instant};
use pouw_netops::preset::large;
use pouw_netops::{ElectionConfig, Envelope, HardState, NodeId};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

fn node_id(s: &str, what: &str) -> PyResult<NodeId> {
    NodeId::new(s).map_err(|e| id_error(what, e))
}

/// A hard state as `(term, voted_for)`.
fn hard_state_tuple(h: &HardState) -> (u64, Option<String>) {
    (h.term, h.voted_for.as_ref().map(|v| v.as_str().to_owned()))
}

/// One node's Raft leader election (PreVote and CheckQuorum as in etcd), sans-IO.
#[pyclass(name = "Election", module = "pouw_netops._native")]
pub struct PyElection {
    inner: Box<large::LeaderElectionManager>,
    /// Whether the election timer runs: from construction when `now` was given,
    /// else from the first input (so the class works in any time base).
    started: bool,
    /// A timeout set by the test hook before the timer started, applied when it starts.
    pending_timeout: Option<pouw_netops::Duration>,
}

impl PyElection {
    /// Starts the election timer at the first input when no `now` was given at construction.
    fn start(&mut self, now: pouw_netops::Instant) {
        if !self.started {
            self.started = true;
            // A follower of term 0 stepping down changes nothing but restarts its timer at `now`.
            self.inner.step_down(now);
            if let Some(t) = self.pending_timeout.take() {
                self.inner.set_randomized_timeout(t);
            }
        }
    }

    fn input_time(&mut self, now: Option<f64>) -> PyResult<pouw_netops::Instant> {
        let now = instant(now)?;
        self.start(now);
        Ok(now)
    }

    /// An old-API direct call about another voter `peer` (the `what` argument):
    /// `False`, without an exception, for this node itself or when the core
    /// refuses (e.g. a voter outside the set); the output is dropped, as the
    /// old API sent nothing.
    fn api_peer_call<E>(
        &mut self,
        now: Option<f64>,
        peer: &str,
        what: &str,
        call: impl FnOnce(&mut large::LeaderElectionManager, pouw_netops::Instant, &NodeId) -> Result<bool, E>,
    ) -> PyResult<bool> {
        let now = self.input_time(now)?;
        if peer == self.inner.id().as_str() {
            return Ok(false);
        }
        let peer = node_id(peer, what)?;
        let answer = call(&mut self.inner, now, &peer).unwrap_or(false);
        self.inner.discard_output();
        Ok(answer)
    }
}

#[pymethods]
impl PyElection {
    /// A follower at term 0 among `voters` (this node is added if missing); times
    /// in seconds. The election timer starts at `now`, or at the first input
    /// (`tick`, `step`, `campaign`, a direct call) when `now` is not given.
    #[new]
    #[pyo3(signature = (
        node_id, voters, *, election_timeout = 1.0, heartbeat_interval = 0.1, pre_vote = true, check_quorum = true,
        seed = 0, now = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        node_id: &str,
        voters: Vec<String>,
        election_timeout: f64,
        heartbeat_interval: f64,
        pre_vote: bool,
        check_quorum: bool,
        #[pyo3(from_py_with = crate::args::u64_arg)] seed: u64,
        now: Option<f64>,
    ) -> PyResult<Self> {
        let id = self::node_id(node_id, "node_id")?;
        let mut ids = Vec::with_capacity(voters.len() + 1);
        ids.push(id.clone());
        for v in &voters {
            ids.push(self::node_id(v, "voter")?);
        }
        let config = ElectionConfig {
            election_timeout: duration(election_timeout, "election_timeout")?,
            heartbeat_interval: duration(heartbeat_interval, "heartbeat_interval")?,
            pre_vote,
            check_quorum,
            seed,
            ..ElectionConfig::default()
        };
        let started = now.is_some();
        let at = if started { instant(now)? } else { pouw_netops::Instant::from_micros(0) };
        let inner = large::LeaderElectionManager::new_boxed(config, id, &ids, at).map_err(core_error)?;
        Ok(PyElection { inner, started, pending_timeout: None })
    }

    /// Advances the timers to `now` (campaigns on timeout, leader heartbeats, quorum check).
    fn tick(&mut self, now: f64) -> PyResult<()> {
        let now = self.input_time(Some(now))?;
        self.inner.tick(now);
        Ok(())
    }

    /// Starts a campaign now: a pre-vote round when `pre_vote` is on, else a real
    /// election. On the leader it does nothing (as etcd and raft-rs).
    fn campaign(&mut self, now: f64) -> PyResult<()> {
        let now = self.input_time(Some(now))?;
        self.inner.campaign(now).map_err(core_error)
    }

    /// Handles one encoded message from another voter. `DecodeError` for bad bytes,
    /// `NotFoundError` for a sender outside the voter set, `InvalidArgumentError`
    /// for a message from itself or one that is not an election message.
    fn step(&mut self, now: f64, data: &[u8]) -> PyResult<()> {
        let envelope = Envelope::decode(data).map_err(core_error)?;
        let now = self.input_time(Some(now))?;
        self.inner.step(now, &envelope).map_err(core_error)
    }

    /// The next message to send as `(destination, bytes)` (`None` destination: every
    /// other voter), or `None`. Held back while a changed hard state has not been
    /// read with `hard_state()`.
    fn poll_transmit<'py>(&mut self, py: Python<'py>) -> PyResult<Option<(Option<String>, Bound<'py, PyBytes>)>> {
        let Some(t) = self.inner.poll_transmit() else { return Ok(None) };
        let bytes = t.envelope.to_vec().map_err(core_error)?;
        Ok(Some((t.to.map(|to| to.as_str().to_owned()), PyBytes::new(py, &bytes))))
    }

    /// The state to persist, `(term, voted_for)`. Reading it marks it persisted
    /// and releases the messages that waited for it: persist it before sending them.
    fn hard_state(&mut self) -> (u64, Option<String>) {
        let _ = self.inner.poll_hard_state();
        hard_state_tuple(&self.inner.hard_state())
    }

    /// When `tick` must next be called, in seconds; `None` before the timer started.
    fn poll_timeout(&self) -> Option<f64> {
        self.started.then(|| self.inner.poll_timeout().as_secs_f64())
    }

    /// Overrides the drawn election timeout (a test hook, as etcd's).
    fn set_randomized_election_timeout(&mut self, seconds: f64) -> PyResult<()> {
        let timeout = duration(seconds, "seconds")?;
        if self.started {
            self.inner.set_randomized_timeout(timeout);
        } else {
            self.pending_timeout = Some(timeout);
        }
        Ok(())
    }

    /// `"follower"`, `"pre_candidate"`, `"candidate"` or `"leader"`.
    #[getter]
    fn role(&self) -> &'static str {
        self.inner.role().as_str()
    }

    /// The current term.
    #[getter]
    fn term(&self) -> u64 {
        self.inner.term()
    }

    /// The candidate voted for in this term, if any.
    #[getter]
    fn voted_for(&self) -> Option<String> {
        self.inner.voted_for().map(|v| v.as_str().to_owned())
    }

    /// The leader known in this term, if any.
    #[getter]
    fn leader_id(&self) -> Option<String> {
        self.inner.leader().map(|v| v.as_str().to_owned())
    }

    /// This node.
    #[getter]
    fn node_id(&self) -> String {
        self.inner.id().as_str().to_owned()
    }

    /// The voters, sorted by id (this node included).
    #[getter]
    fn voters(&self) -> Vec<String> {
        self.inner.voters().map(|v| v.as_str().to_owned()).collect()
    }

    /// The base election timeout in seconds.
    #[getter]
    fn election_timeout(&self) -> f64 {
        self.inner.config().election_timeout.as_secs_f64()
    }

    /// The leader's heartbeat interval in seconds.
    #[getter]
    fn heartbeat_interval(&self) -> f64 {
        self.inner.config().heartbeat_interval.as_secs_f64()
    }

    // ----- direct calls (the old API) -----

    /// Starts a real election at once (no pre-vote); returns the new term.
    /// `InvalidArgumentError` if this node is the leader.
    #[pyo3(signature = (now = None))]
    fn start_election(&mut self, now: Option<f64>) -> PyResult<u64> {
        let now = self.input_time(now)?;
        self.inner.start_election(now).map_err(core_error)
    }

    /// Handles a vote request of `candidate` for `term`; whether the vote is granted.
    #[pyo3(signature = (candidate, term, now = None))]
    fn request_vote(
        &mut self,
        candidate: &str,
        #[pyo3(from_py_with = crate::args::u64_arg)] term: u64,
        now: Option<f64>,
    ) -> PyResult<bool> {
        let candidate = node_id(candidate, "candidate_id")?;
        let now = self.input_time(now)?;
        self.inner.request_vote(now, &candidate, term).map_err(core_error)
    }

    /// Counts `voter`'s answer to the current campaign; whether this node just became leader.
    #[pyo3(signature = (voter, granted, now = None))]
    fn receive_vote_response(&mut self, voter: &str, granted: bool, now: Option<f64>) -> PyResult<bool> {
        let voter = node_id(voter, "voter_id")?;
        let now = self.input_time(now)?;
        self.inner.receive_vote_response(now, &voter, granted).map_err(core_error)
    }

    /// Handles a heartbeat of `leader` for `term`; whether it was accepted.
    #[pyo3(signature = (leader, term, now = None))]
    fn receive_heartbeat(
        &mut self,
        leader: &str,
        #[pyo3(from_py_with = crate::args::u64_arg)] term: u64,
        now: Option<f64>,
    ) -> PyResult<bool> {
        let leader = node_id(leader, "leader_id")?;
        let now = self.input_time(now)?;
        self.inner.receive_heartbeat(now, &leader, term).map_err(core_error)
    }

    /// Runs the timers; whether a campaign started because the timeout passed.
    #[pyo3(signature = (now = None))]
    fn check_election_timeout(&mut self, now: Option<f64>) -> PyResult<bool> {
        let now = self.input_time(now)?;
        Ok(self.inner.check_election_timeout(now))
    }

    /// Gives up leadership (or a campaign): follower of the current term without a leader.
    #[pyo3(signature = (now = None))]
    fn step_down(&mut self, now: Option<f64>) -> PyResult<()> {
        let now = self.input_time(now)?;
        self.inner.step_down(now);
        Ok(())
    }

    /// Drops every queued message and the pending hard-state mark (for hosts
    /// that, like the old API, send nothing); returns how many messages were dropped.
    fn discard_output(&mut self) -> usize {
        self.inner.discard_output()
    }

    /// Changes the election timeout and heartbeat interval (seconds) of the
    /// running election; the current timer gets a timeout drawn from the new
    /// range. `InvalidArgumentError` (nothing changes) unless `0 < heartbeat_interval < election_timeout`.
    #[pyo3(signature = (election_timeout, heartbeat_interval, now = None))]
    fn set_timing(&mut self, election_timeout: f64, heartbeat_interval: f64, now: Option<f64>) -> PyResult<()> {
        let e = duration(election_timeout, "election_timeout")?;
        let h = duration(heartbeat_interval, "heartbeat_interval")?;
        let now = self.input_time(now)?;
        self.inner.set_timing(now, e, h).map_err(crate::errors::config_error)
    }

    // ----- the old API's direct calls: no exception for a refusal, output dropped -----

    /// `start_election`, then the output dropped; `False` on the leader.
    #[pyo3(signature = (now = None))]
    fn api_start_election(&mut self, now: Option<f64>) -> PyResult<bool> {
        let now = self.input_time(now)?;
        let ok = self.inner.start_election(now).is_ok();
        self.inner.discard_output();
        Ok(ok)
    }

    /// `request_vote`, then the output dropped; `False` (no exception) for a
    /// candidate outside the voter set or this node itself.
    #[pyo3(signature = (candidate_id, candidate_term, now = None))]
    fn api_request_vote(
        &mut self,
        candidate_id: &str,
        #[pyo3(from_py_with = crate::args::u64_arg)] candidate_term: u64,
        now: Option<f64>,
    ) -> PyResult<bool> {
        self.api_peer_call(now, candidate_id, "candidate_id", |e, now, c| e.request_vote(now, c, candidate_term))
    }

    /// `receive_vote_response`, then the output dropped; `False` for a voter outside the set or itself.
    #[pyo3(signature = (voter_id, granted, now = None))]
    fn api_receive_vote_response(&mut self, voter_id: &str, granted: bool, now: Option<f64>) -> PyResult<bool> {
        self.api_peer_call(now, voter_id, "voter_id", |e, now, v| e.receive_vote_response(now, v, granted))
    }

    /// `receive_heartbeat`, then the output dropped; `False` for a leader outside the set or itself.
    #[pyo3(signature = (leader_id, leader_term, now = None))]
    fn api_receive_heartbeat(
        &mut self,
        leader_id: &str,
        #[pyo3(from_py_with = crate::args::u64_arg)] leader_term: u64,
        now: Option<f64>,
    ) -> PyResult<bool> {
        self.api_peer_call(now, leader_id, "leader_id", |e, now, l| e.receive_heartbeat(now, l, leader_term))
    }

    /// `check_election_timeout`, then the output dropped.
    #[pyo3(signature = (now = None))]
    fn api_check_election_timeout(&mut self, now: Option<f64>) -> PyResult<bool> {
        let now = self.input_time(now)?;
        let started = self.inner.check_election_timeout(now);
        self.inner.discard_output();
        Ok(started)
    }

    /// The old API's `check_election_timeout`: whether this node, not being the
    /// leader, has heard no leader for its (randomized) election timeout. Changes
    /// nothing: the caller starts the election (`start_election`), as the old loop did.
    #[pyo3(signature = (now = None))]
    fn api_election_timed_out(&mut self, now: Option<f64>) -> PyResult<bool> {
        let now = self.input_time(now)?;
        Ok(!self.inner.is_leader() && now >= self.inner.poll_timeout())
    }

    /// `step_down`, then the output dropped.
    #[pyo3(signature = (now = None))]
    fn api_step_down(&mut self, now: Option<f64>) -> PyResult<()> {
        let now = self.input_time(now)?;
        self.inner.step_down(now);
        self.inner.discard_output();
        Ok(())
    }

    /// A leader's heartbeat round as the old API had none: ticks at `now` and
    /// drops the output; whether this node is the leader.
    #[pyo3(signature = (now = None))]
    fn api_heartbeat(&mut self, now: Option<f64>) -> PyResult<bool> {
        let now = self.input_time(now)?;
        self.inner.tick(now);
        self.inner.discard_output();
        Ok(self.inner.is_leader())
    }

    /// A status snapshot at `now`: `node_id, state, current_term, leader_id,
    /// voted_for, is_leader, vote_count, election_in_progress, time_since_last_heartbeat`.
    #[pyo3(signature = (now = None))]
    fn status<'py>(&self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.status(instant(now)?);
        Ok(py_dict!(py;
            "node_id" => s.node_id.as_str(),
            "state" => s.role.as_str(),
            "current_term" => s.term,
            "leader_id" => s.leader.as_ref().map(NodeId::as_str),
            "voted_for" => s.voted_for.as_ref().map(NodeId::as_str),
            "is_leader" => s.is_leader,
            "vote_count" => s.vote_count,
            "election_in_progress" => s.election_in_progress,
            "time_since_last_heartbeat" => s.time_since_last_heartbeat.map(|t| t.as_secs_f64()),
        ))
    }

    /// The retained granted votes, oldest first, as `(voter, candidate, term, timestamp)`.
    fn vote_history(&self) -> Vec<(String, String, u64, f64)> {
        self.inner
            .vote_history()
            .map(|r| (r.voter.as_str().to_owned(), r.candidate.as_str().to_owned(), r.term, r.at.as_secs_f64()))
            .collect()
    }

    /// Messages dropped because the outbox was full.
    #[getter]
    fn dropped_transmits(&self) -> u64 {
        self.inner.stats().dropped_transmits
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyElection>()
}
