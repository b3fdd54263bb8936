"""``LeaderElectionManager``: the old API's class over the core's Raft election.

The old API elected a leader by direct calls (``start_election``,
``request_vote``, …) and left sending to the caller; this class keeps that
shape. It runs the core without PreVote and CheckQuorum (the old behaviour: a
timeout starts a real election at once, a leader stays leader until it meets
a higher term or steps down) and discards the messages the core would send.
For real networking use the sans-IO :class:`pouw_netops.Election`.
"""

from __future__ import annotations

import logging
import time
import zlib
from typing import Any, Dict, List, Optional, Sequence, Set

from . import _native
from ._fast import bind_native
from ._types import LeaderElectionState, LeaderElectionVote

__all__ = ["LeaderElectionManager"]

logger = logging.getLogger("pouw_netops.election")

_STATE = {
    "follower": LeaderElectionState.FOLLOWER,
    # Never reached with PreVote off; a pre-candidate is campaigning.
    "pre_candidate": LeaderElectionState.CANDIDATE,
    "candidate": LeaderElectionState.CANDIDATE,
    "leader": LeaderElectionState.LEADER,
}


class LeaderElectionManager:
    """Raft leader election among ``supervisor_nodes`` (this node is added if missing; up to 4096).

    ``election_timeout`` (5 s) and ``heartbeat_interval`` (1 s) are the old API's
    defaults; each node waits a timeout drawn from [5 s, 10 s), seeded by its id.
    Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
    """

    def __init__(
        self,
        node_id: str,
        supervisor_nodes: Sequence[str],
        *,
        election_timeout: float = 5.0,
        heartbeat_interval: float = 1.0,
        now: Optional[float] = None,
    ) -> None:
        self.node_id = node_id
        self.supervisor_nodes = list(supervisor_nodes)
        self._created = time.time() if now is None else now
        self._core = _native.Election(
            node_id,
            self.supervisor_nodes,
            election_timeout=election_timeout,
            heartbeat_interval=heartbeat_interval,
            pre_vote=False,
            check_quorum=False,
            seed=zlib.crc32(node_id.encode()),
            now=now,
        )
        # The hot calls go straight to the native methods (no Python frame).
        core = self._core
        bind_native(
            self,
            LeaderElectionManager,
            request_vote=core.api_request_vote,
            receive_vote_response=core.api_receive_vote_response,
            receive_heartbeat=core.api_receive_heartbeat,
            check_election_timeout=core.api_election_timed_out,
            heartbeat=core.api_heartbeat,
        )

    # --- the old API -------------------------------------------------------

    def start_election(self, *, now: Optional[float] = None) -> bool:
        """Becomes a candidate of the next term and votes for itself; ``False`` if already leader.

        A single supervisor wins at once.
        """
        started = self._core.api_start_election(now)
        if started:
            logger.info("%s: starting an election for term %d", self.node_id, self._core.term)
        return started

    def request_vote(self, candidate_id: str, candidate_term: int, *, now: Optional[float] = None) -> bool:
        """Whether this node grants its vote to ``candidate_id`` for ``candidate_term``.

        Raft's rules: a lower term is refused, a higher term makes this node a
        follower of it, and one vote per term. A candidate outside the
        supervisor set (or this node itself) is refused.
        """
        return self._core.api_request_vote(candidate_id, candidate_term, now)

    def receive_vote_response(self, voter_id: str, granted: bool, *, now: Optional[float] = None) -> bool:
        """Counts ``voter_id``'s answer to this node's campaign; ``True`` when it just became leader."""
        return self._core.api_receive_vote_response(voter_id, granted, now)

    def receive_heartbeat(self, leader_id: str, leader_term: int, *, now: Optional[float] = None) -> bool:
        """Handles ``leader_id``'s heartbeat for ``leader_term``; ``True`` if this node now follows it."""
        return self._core.api_receive_heartbeat(leader_id, leader_term, now)

    def check_election_timeout(self, *, now: Optional[float] = None) -> bool:
        """Whether no leader was heard within the (randomized) election timeout,
        this node not being the leader. Changes nothing, as in the old API: call
        :meth:`start_election` to campaign (:class:`NetworkOperationsManager`'s
        loop does)."""
        return self._core.api_election_timed_out(now)

    def step_down(self, *, now: Optional[float] = None) -> None:
        """Gives up leadership (or a campaign) and becomes a follower of the current term."""
        self._core.api_step_down(now)

    def heartbeat(self, *, now: Optional[float] = None) -> bool:
        """(Beyond the old API) runs the timers at ``now`` as a leader's heartbeat
        round would (the messages are dropped); whether this node is the leader."""
        return self._core.api_heartbeat(now)

    def get_election_status(self, *, now: Optional[float] = None) -> Dict[str, Any]:
        """``node_id, state, current_term, leader_id, voted_for, is_leader, vote_count,
        election_in_progress, time_since_last_heartbeat``.

        ``vote_count`` is ``len(received_votes)``; ``time_since_last_heartbeat`` is in
        seconds, since creation if no heartbeat was ever seen.
        """
        s = self._core.status(now)
        if s["time_since_last_heartbeat"] is None:
            t = time.time() if now is None else now
            s["time_since_last_heartbeat"] = max(t - self._created, 0.0)
        s["state"] = _STATE[s["state"]].value
        s["vote_count"] = len(self.received_votes)
        return s

    @property
    def state(self) -> LeaderElectionState:
        """This node's role."""
        return _STATE[self._core.role]

    @property
    def current_term(self) -> int:
        """The current term."""
        return self._core.term

    @property
    def voted_for(self) -> Optional[str]:
        """The candidate this node voted for in the current term."""
        return self._core.voted_for

    @property
    def leader_id(self) -> Optional[str]:
        """The leader this node knows in the current term."""
        return self._core.leader_id

    @property
    def received_votes(self) -> Set[str]:
        """Voters (itself included) that granted this node's candidacy in the current term (a snapshot)."""
        if self.state is LeaderElectionState.FOLLOWER:
            return set()
        term = self._core.term
        votes = {v for v, c, t, _ in self._core.vote_history() if c == self.node_id and t == term}
        if self._core.voted_for == self.node_id:
            votes.add(self.node_id)
        return votes

    @property
    def vote_history(self) -> List[LeaderElectionVote]:
        """Granted votes, given or received, oldest first (the last 1024)."""
        return [LeaderElectionVote(v, c, t, at) for v, c, t, at in self._core.vote_history()]

    @property
    def election_timeout(self) -> float:
        """The base election timeout in seconds (timeouts are drawn from [E, 2E)).

        Assignable, as in the old API: the running timer gets a timeout drawn
        from the new range. Raft needs the heartbeat interval below it: a
        timeout not above :attr:`heartbeat_interval` brings the interval down
        to a fifth of it (the old defaults' ratio). ``InvalidArgumentError``
        (nothing changes) for a timeout that is not positive.
        """
        return self._core.election_timeout

    @election_timeout.setter
    def election_timeout(self, value: float) -> None:
        value = float(value)
        h = self._core.heartbeat_interval
        self._core.set_timing(value, h if h < value else value / 5)

    @property
    def heartbeat_interval(self) -> float:
        """The leader's heartbeat interval in seconds; assignable, below :attr:`election_timeout`."""
        return self._core.heartbeat_interval

    @heartbeat_interval.setter
    def heartbeat_interval(self, value: float) -> None:
        self._core.set_timing(self._core.election_timeout, float(value))

    @property
    def is_leader_active(self) -> bool:
        """Whether this node is the leader (the old API's flag)."""
        return self._core.role == "leader"

    def __repr__(self) -> str:
        return (
            f"LeaderElectionManager(node_id={self.node_id!r}, state={self.state.value!r}, "
            f"term={self.current_term}, leader_id={self.leader_id!r})"
        )
