//! Raft leader election among supervisors (`preset::large`, up to 4096 voters,
//! built in place on the heap), with float-second times.
//!
//! `Election` is public as the sans-IO Layer 2 class: bytes in through `step`,
//! bytes out through `poll_transmit`. The old API's `LeaderElectionManager`
//! is the native class below (the package's name binds it): it holds an
//! `Election`, drives it through the direct-call helpers and discards the
//! messages, which the old API never sent.

use crate::errors::{core_error, id_error};
use crate::py::{Logger, cached, clear, float, not_initialized, now_or_wall};
use crate::time::{OwnTime, duration};
use pouw_netops::preset::large;
use pouw_netops::{ElectionConfig, Envelope, HardState, NodeId};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PySet, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

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
    /// The latest `now` given: the time of the old API's writes that cannot take one.
    own: OwnTime,
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
        let now = self.own.input(now)?;
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
        let mut own = OwnTime::default();
        let at = if started { own.input(now)? } else { pouw_netops::Instant::from_micros(0) };
        let inner = large::LeaderElectionManager::new_boxed(config, id, &ids, at).map_err(core_error)?;
        Ok(PyElection { inner, started, pending_timeout: None, own })
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
    fn status<'py>(&mut self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.status(self.own.input(now)?);
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
    m.add_class::<PyElection>()?;
    m.add_class::<PyLeaderElectionManager>()
}

static LOG: Logger = Logger::new("pouw_netops.election");
static STATE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static VOTE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The old API's `LeaderElectionState` value of a core role (a pre-candidate,
/// never reached with PreVote off, is campaigning: a candidate).
fn old_state(role: &str) -> &'static str {
    match role {
        "leader" => "leader",
        "follower" => "follower",
        _ => "candidate",
    }
}

/// Raft leader election among ``supervisor_nodes`` (this node is added if missing; up to 4096).
///
/// ``election_timeout`` (5 s) and ``heartbeat_interval`` (1 s) are the old API's
/// defaults; each node waits a timeout drawn from [5 s, 10 s), seeded by its id.
/// Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
/// Assigning :attr:`election_timeout` or :attr:`heartbeat_interval`, which
/// cannot take ``now``, happens at the manager's own time: the latest ``now``
/// it was given (the constructor's included), or ``time.time()`` if it was
/// never given one.
//
// The old API's class, native (`pouw_netops.LeaderElectionManager` is this
// class): the old API elected a leader by direct calls and left sending to the
// caller, so it runs an `Election` without PreVote and CheckQuorum (a timeout
// starts a real election at once, a leader stays leader until it meets a higher
// term or steps down) and discards the messages the core would send. The
// construction is in `__init__` (so a subclass's `__init__` with its own
// signature can call `super().__init__`, as with the old Python class).
#[pyclass(name = "LeaderElectionManager", module = "pouw_netops", subclass, dict, weakref)]
pub struct PyLeaderElectionManager {
    /// `None` until `__init__` ran.
    core: Option<PyElection>,
    /// When it was created (seconds): `time_since_last_heartbeat` counts from
    /// it until a heartbeat is seen.
    created: f64,
    #[pyo3(get, set)]
    node_id: Py<PyAny>,
    #[pyo3(get, set)]
    supervisor_nodes: Py<PyAny>,
}

impl PyLeaderElectionManager {
    fn core(&mut self) -> PyResult<&mut PyElection> {
        self.core.as_mut().ok_or_else(|| not_initialized("LeaderElectionManager"))
    }

    fn core_ref(&self) -> PyResult<&PyElection> {
        self.core.as_ref().ok_or_else(|| not_initialized("LeaderElectionManager"))
    }

    /// The manager's own time (see `OwnTime`), for reports made on the user's behalf.
    pub(crate) fn own_now(&self) -> Option<f64> {
        self.core.as_ref().and_then(|c| c.own.get())
    }

    fn state_of<'py>(py: Python<'py>, role: &str) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &STATE, "pouw_netops._types", "LeaderElectionState")?.call1((old_state(role),))
    }
}

#[pymethods]
impl PyLeaderElectionManager {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs), text_signature = "(node_id, supervisor_nodes, *, election_timeout=5.0, heartbeat_interval=1.0, now=None)")]
    fn new(py: Python<'_>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        PyLeaderElectionManager { core: None, created: 0.0, node_id: py.None(), supervisor_nodes: py.None() }
    }

    #[pyo3(signature = (node_id, supervisor_nodes, *, election_timeout = 5.0, heartbeat_interval = 1.0, now = None))]
    fn __init__(
        &mut self,
        node_id: &Bound<'_, PyAny>,
        supervisor_nodes: &Bound<'_, PyAny>,
        election_timeout: f64,
        heartbeat_interval: f64,
        now: Option<f64>,
    ) -> PyResult<()> {
        let py = node_id.py();
        let nodes = py.get_type::<PyList>().call1((supervisor_nodes,))?;
        self.node_id = node_id.clone().unbind();
        self.supervisor_nodes = nodes.clone().unbind();
        self.created = now_or_wall(now);
        // The timeout's seed: `zlib.crc32(node_id.encode())`, as the Python class computed it.
        let encoded = node_id.call_method0("encode")?;
        let seed: u64 = py.import("zlib")?.call_method1("crc32", (encoded,))?.extract()?;
        let id = node_id.cast::<PyString>()?.to_str()?;
        self.core =
            Some(PyElection::new(id, nodes.extract()?, election_timeout, heartbeat_interval, false, false, seed, now)?);
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.node_id)?;
        visit.call(&self.supervisor_nodes)
    }

    fn __clear__(&mut self) {
        clear(&mut self.node_id);
        clear(&mut self.supervisor_nodes);
    }

    // --- the old API -------------------------------------------------------

    /// Becomes a candidate of the next term and votes for itself; ``False`` if already leader.
    ///
    /// A single supervisor wins at once.
    #[pyo3(signature = (*, now = None))]
    fn start_election(slf: &Bound<'_, Self>, now: Option<f64>) -> PyResult<bool> {
        let (started, term) = {
            let mut this = slf.try_borrow_mut()?;
            let core = this.core()?;
            let started = core.api_start_election(now)?;
            (started, core.term())
        };
        if started {
            let node_id = slf.borrow().node_id.clone_ref(slf.py());
            LOG.log(slf.py(), "info", "%s: starting an election for term %d", (node_id, term))?;
        }
        Ok(started)
    }

    /// Whether this node grants its vote to ``candidate_id`` for ``candidate_term``.
    ///
    /// Raft's rules: a lower term is refused, a higher term makes this node a
    /// follower of it, and one vote per term. A candidate outside the
    /// supervisor set (or this node itself) is refused.
    #[pyo3(signature = (candidate_id, candidate_term, *, now = None))]
    fn request_vote(
        &mut self,
        candidate_id: &str,
        #[pyo3(from_py_with = crate::args::u64_arg)] candidate_term: u64,
        now: Option<f64>,
    ) -> PyResult<bool> {
        self.core()?.api_request_vote(candidate_id, candidate_term, now)
    }

    /// Counts ``voter_id``'s answer to this node's campaign; ``True`` when it just became leader.
    #[pyo3(signature = (voter_id, granted, *, now = None))]
    fn receive_vote_response(&mut self, voter_id: &str, granted: bool, now: Option<f64>) -> PyResult<bool> {
        self.core()?.api_receive_vote_response(voter_id, granted, now)
    }

    /// Handles ``leader_id``'s heartbeat for ``leader_term``; ``True`` if this node now follows it.
    #[pyo3(signature = (leader_id, leader_term, *, now = None))]
    fn receive_heartbeat(
        &mut self,
        leader_id: &str,
        #[pyo3(from_py_with = crate::args::u64_arg)] leader_term: u64,
        now: Option<f64>,
    ) -> PyResult<bool> {
        self.core()?.api_receive_heartbeat(leader_id, leader_term, now)
    }

    /// Whether no leader was heard within the (randomized) election timeout,
    /// this node not being the leader. Changes nothing, as in the old API: call
    /// :meth:`start_election` to campaign (:class:`NetworkOperationsManager`'s
    /// loop does).
    #[pyo3(signature = (*, now = None))]
    fn check_election_timeout(&mut self, now: Option<f64>) -> PyResult<bool> {
        self.core()?.api_election_timed_out(now)
    }

    /// Gives up leadership (or a campaign) and becomes a follower of the current term.
    #[pyo3(signature = (*, now = None))]
    fn step_down(&mut self, now: Option<f64>) -> PyResult<()> {
        self.core()?.api_step_down(now)
    }

    /// (Beyond the old API) runs the timers at ``now`` as a leader's heartbeat
    /// round would (the messages are dropped); whether this node is the leader.
    #[pyo3(signature = (*, now = None))]
    fn heartbeat(&mut self, now: Option<f64>) -> PyResult<bool> {
        self.core()?.api_heartbeat(now)
    }

    /// ``node_id, state, current_term, leader_id, voted_for, is_leader, vote_count,
    /// election_in_progress, time_since_last_heartbeat``.
    ///
    /// ``vote_count`` is ``len(received_votes)``; ``time_since_last_heartbeat`` is in
    /// seconds, since creation if no heartbeat was ever seen.
    #[pyo3(signature = (*, now = None))]
    fn get_election_status<'py>(slf: &Bound<'py, Self>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let (s, created) = {
            let mut this = slf.try_borrow_mut()?;
            let created = this.created;
            (this.core()?.status(py, now)?, created)
        };
        if s.get_item("time_since_last_heartbeat")?.is_none_or(|t| t.is_none()) {
            s.set_item("time_since_last_heartbeat", (now_or_wall(now) - created).max(0.0))?;
        }
        let role: String = s.get_item("state")?.map(|r| r.extract()).transpose()?.unwrap_or_default();
        s.set_item("state", old_state(&role))?;
        s.set_item("vote_count", slf.getattr("received_votes")?.len()?)?;
        Ok(s)
    }

    /// This node's role.
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Self::state_of(py, self.core_ref()?.role())
    }

    /// The current term.
    #[getter]
    fn current_term(&self) -> PyResult<u64> {
        Ok(self.core_ref()?.term())
    }

    /// The candidate this node voted for in the current term.
    #[getter]
    fn voted_for(&self) -> PyResult<Option<String>> {
        Ok(self.core_ref()?.voted_for())
    }

    /// The leader this node knows in the current term.
    #[getter]
    fn leader_id(&self) -> PyResult<Option<String>> {
        Ok(self.core_ref()?.leader_id())
    }

    /// Voters (itself included) that granted this node's candidacy in the current term (a snapshot).
    #[getter]
    fn received_votes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PySet>> {
        let core = self.core_ref()?;
        let votes = PySet::empty(py)?;
        if old_state(core.role()) == "follower" {
            return Ok(votes);
        }
        let me = self.node_id.bind(py);
        let term = core.term();
        for (voter, candidate, t, _) in core.vote_history() {
            if t == term && me.eq(&candidate)? {
                votes.add(voter)?;
            }
        }
        if let Some(v) = core.voted_for()
            && me.eq(&v)?
        {
            votes.add(me)?;
        }
        Ok(votes)
    }

    /// Granted votes, given or received, oldest first (the last 1024).
    #[getter]
    fn vote_history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let vote = cached(py, &VOTE, "pouw_netops._types", "LeaderElectionVote")?;
        let votes = self.core_ref()?.vote_history().into_iter().map(|v| vote.call1(v)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, votes)
    }

    /// The base election timeout in seconds (timeouts are drawn from [E, 2E)).
    ///
    /// Assignable, as in the old API: the running timer gets a timeout drawn
    /// from the new range, from the manager's own time (the latest ``now`` it
    /// was given, or ``time.time()`` if never). Raft needs the heartbeat interval below it: a
    /// timeout not above :attr:`heartbeat_interval` brings the interval down
    /// to a fifth of it (the old defaults' ratio). ``InvalidArgumentError``
    /// (nothing changes) for a timeout that is not positive.
    #[getter]
    fn election_timeout(&self) -> PyResult<f64> {
        Ok(self.core_ref()?.election_timeout())
    }

    #[setter]
    fn set_election_timeout(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = float(value)?;
        let core = self.core()?;
        let h = core.heartbeat_interval();
        let now = core.own.get();
        core.set_timing(value, if h < value { h } else { value / 5.0 }, now)
    }

    /// The leader's heartbeat interval in seconds; assignable (at the manager's
    /// own time, as :attr:`election_timeout`), below :attr:`election_timeout`.
    #[getter]
    fn heartbeat_interval(&self) -> PyResult<f64> {
        Ok(self.core_ref()?.heartbeat_interval())
    }

    #[setter]
    fn set_heartbeat_interval(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = float(value)?;
        let core = self.core()?;
        let e = core.election_timeout();
        let now = core.own.get();
        core.set_timing(e, value, now)
    }

    /// Whether this node is the leader (the old API's flag).
    #[getter]
    fn is_leader_active(&self) -> PyResult<bool> {
        Ok(self.core_ref()?.role() == "leader")
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let state = slf.getattr("state")?.getattr("value")?.repr()?;
        Ok(format!(
            "LeaderElectionManager(node_id={}, state={}, term={}, leader_id={})",
            slf.getattr("node_id")?.repr()?,
            state,
            slf.getattr("current_term")?,
            slf.getattr("leader_id")?.repr()?,
        ))
    }
}
