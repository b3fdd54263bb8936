"""Leader election: the old API's ``LeaderElectionManager`` against a reference
model of Raft's vote rules, and the sans-IO ``Election`` exchanging real bytes,
including the Rust golden vectors."""

from __future__ import annotations

import dataclasses
import pathlib
import random
from typing import Dict, List, Optional, Set

import pytest

from pouw_netops import (
    DecodeError,
    Election,
    InvalidArgumentError,
    LeaderElectionManager,
    LeaderElectionState,
    LeaderElectionVote,
    NotFoundError,
)
from pouw_netops.wire import decode_envelope

from helpers import ELECTION_STATUS_KEYS

T0 = 1_700_000_000.0
VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"


def golden(name: str) -> bytes:
    return bytes.fromhex((VECTORS / f"{name}.hex").read_text().strip())


# --- the old API ----------------------------------------------------------


def test_enum_and_data_class_match_old_api():
    assert [s.value for s in LeaderElectionState] == ["follower", "candidate", "leader"]
    assert [f.name for f in dataclasses.fields(LeaderElectionVote)] == ["voter_id", "candidate_id", "term", "timestamp"]


def test_defaults_and_initial_state():
    m = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    assert (m.node_id, m.state, m.current_term, m.voted_for, m.leader_id) == ("s1", LeaderElectionState.FOLLOWER, 0, None, None)
    assert (m.election_timeout, m.heartbeat_interval) == (5.0, 1.0)
    assert m.received_votes == set() and m.vote_history == []
    status = m.get_election_status(now=T0 + 2)
    assert list(status) == ELECTION_STATUS_KEYS
    assert status["state"] == "follower" and status["time_since_last_heartbeat"] == pytest.approx(2.0)


def test_a_candidate_wins_with_a_majority_and_records_the_votes():
    m = LeaderElectionManager("s1", ["s1", "s2", "s3", "s4", "s5"], now=T0)
    assert m.start_election(now=T0 + 1)
    assert (m.state, m.current_term, m.voted_for, m.received_votes) == (LeaderElectionState.CANDIDATE, 1, "s1", {"s1"})
    assert not m.receive_vote_response("s2", True, now=T0 + 1.1)
    assert not m.receive_vote_response("s2", True, now=T0 + 1.1), "a repeated vote counts once"
    assert m.receive_vote_response("s3", True, now=T0 + 1.2)
    assert m.state is LeaderElectionState.LEADER and m.leader_id == "s1"
    assert m.received_votes == {"s1", "s2", "s3"}
    assert m.vote_history == [LeaderElectionVote("s2", "s1", 1, T0 + 1.1), LeaderElectionVote("s3", "s1", 1, T0 + 1.2)]
    assert m.get_election_status(now=T0 + 2)["is_leader"]
    assert not m.start_election(now=T0 + 2), "a leader does not start an election"


def test_a_quorum_of_refusals_ends_the_campaign():
    m = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    m.start_election(now=T0)
    assert not m.receive_vote_response("s2", False, now=T0)
    assert m.state is LeaderElectionState.CANDIDATE
    assert not m.receive_vote_response("s3", False, now=T0)
    assert m.state is LeaderElectionState.FOLLOWER and m.current_term == 1


def test_single_supervisor_elects_itself():
    m = LeaderElectionManager("solo", ["solo"], now=T0)
    assert m.start_election(now=T0)
    assert m.state is LeaderElectionState.LEADER


def test_timeout_is_randomized_between_e_and_2e():
    for i in range(20):
        m = LeaderElectionManager(f"s{i}", [f"s{i}", "x", "y"], now=T0)
        assert not m.check_election_timeout(now=T0 + 4.999)
        assert m.check_election_timeout(now=T0 + 10.0)
        assert m.state is LeaderElectionState.FOLLOWER, "the check changes nothing (old API)"
        assert m.start_election(now=T0 + 10.0)
        assert m.state is LeaderElectionState.CANDIDATE and m.current_term == 1


def test_heartbeats_hold_off_the_timeout_and_step_down_works():
    m = LeaderElectionManager("s2", ["s1", "s2", "s3"], now=T0)
    for k in range(1, 30):
        assert m.receive_heartbeat("s1", 1, now=T0 + k)
        assert not m.check_election_timeout(now=T0 + k + 0.5)
    assert (m.leader_id, m.current_term) == ("s1", 1)
    assert not m.receive_heartbeat("s3", 0, now=T0 + 31), "a stale term is refused"
    m.start_election(now=T0 + 32)
    m.receive_vote_response("s1", True, now=T0 + 32)
    assert m.state is LeaderElectionState.LEADER
    m.step_down(now=T0 + 33)
    assert m.state is LeaderElectionState.FOLLOWER and m.leader_id is None


class RaftVoteModel:
    """Raft's rules for terms, votes and heartbeats (as in etcd: no vote for a
    candidate while a leader of the term is known), written from the paper."""

    def __init__(self, me: str, voters: List[str]) -> None:
        self.me, self.voters = me, voters
        self.term, self.voted_for, self.leader = 0, None, None  # type: (int, Optional[str], Optional[str])
        self.role = "follower"
        self.granted: Set[str] = set()
        self.rejected: Set[str] = set()

    def _newer(self, term: int) -> None:
        if term > self.term:
            self.term, self.voted_for, self.leader, self.role = term, None, None, "follower"

    def start_election(self) -> bool:
        if self.role == "leader":
            return False
        self.term += 1
        self.voted_for, self.leader, self.role = self.me, None, "candidate"
        self.granted, self.rejected = {self.me}, set()
        return True

    def request_vote(self, c: str, t: int) -> bool:
        if c == self.me or c not in self.voters or t < self.term:
            return False
        self._newer(t)
        if self.voted_for == c or (self.voted_for is None and self.leader is None):
            self.voted_for = c
            return True
        return False

    def receive_heartbeat(self, l: str, t: int) -> bool:
        if l == self.me or t < self.term:
            return False
        self._newer(t)
        self.role, self.leader = "follower", l
        return True

    def receive_vote_response(self, v: str, granted: bool) -> bool:
        if self.role != "candidate" or v == self.me or v in self.granted | self.rejected:
            return False
        (self.granted if granted else self.rejected).add(v)
        quorum = len(self.voters) // 2 + 1
        if len(self.granted) >= quorum:
            self.role, self.leader = "leader", self.me
            return True
        if len(self.rejected) >= quorum:
            self.role = "follower"
        return False


@pytest.mark.parametrize("seed", range(40))
def test_old_api_follows_raft_vote_rules(seed):
    rng = random.Random(seed)
    voters = ["a", "b", "c", "d", "e"]
    m = LeaderElectionManager("a", voters, now=T0)
    ref = RaftVoteModel("a", voters)
    t = T0
    for step in range(60):
        t += 0.01  # never reaches the 5 s timeout
        op = rng.random()
        other = rng.choice(voters[1:])
        term = max(ref.term + rng.randint(-1, 2), 1)  # term 0 is never valid on the wire
        if op < 0.15:
            got, want = m.start_election(now=t), ref.start_election()
        elif op < 0.5:
            got, want = m.request_vote(other, term, now=t), ref.request_vote(other, term)
        elif op < 0.75:
            if ref.role == "leader" and term <= ref.term:
                continue  # two leaders in one term cannot happen in Raft
            got, want = m.receive_heartbeat(other, term, now=t), ref.receive_heartbeat(other, term)
        else:
            granted = rng.random() < 0.7
            got, want = m.receive_vote_response(other, granted, now=t), ref.receive_vote_response(other, granted)
        assert got == want, (seed, step, op)
        assert (m.current_term, m.voted_for, m.leader_id, m.state.value) == (ref.term, ref.voted_for, ref.leader, ref.role)


# --- the sans-IO Election -------------------------------------------------


def deliver(nodes: Dict[str, Election], now: float, dropped: Set[str] = frozenset()) -> int:
    """Moves every queued message (hard state read first) until all outboxes are empty."""
    moved = 0
    progress = True
    while progress:
        progress = False
        for name, node in nodes.items():
            node.hard_state()
            while (out := node.poll_transmit()) is not None:
                to, data = out
                progress = True
                moved += 1
                if name in dropped:
                    continue
                for dest in [to] if to is not None else [n for n in nodes if n != name]:
                    if dest not in dropped:
                        nodes[dest].step(now, data)
    return moved


def run_cluster(nodes: Dict[str, Election], start: float, until: float, dropped: Set[str] = frozenset()) -> float:
    t = start
    while t < until:
        t = round(t + 0.01, 6)
        for name, node in nodes.items():
            if name not in dropped:
                node.tick(t)
        deliver(nodes, t, dropped)
    return t


def leaders(nodes: Dict[str, Election], dropped: Set[str] = frozenset()) -> List[str]:
    return [n for n, e in nodes.items() if e.role == "leader" and n not in dropped]


@pytest.mark.parametrize("seed", range(5))
def test_three_python_nodes_elect_exactly_one_leader_over_bytes(seed):
    names = ["n1", "n2", "n3"]
    nodes = {n: Election(n, names, seed=seed * 10 + i, now=0.0) for i, n in enumerate(names)}
    t = run_cluster(nodes, 0.0, 3.0)
    assert len(leaders(nodes)) == 1
    leader = leaders(nodes)[0]
    term = nodes[leader].term
    assert all(e.leader_id == leader and e.term == term for e in nodes.values())
    # The leader dies: the other two elect a new one in a later term.
    t = run_cluster(nodes, t, t + 4.0, dropped={leader})
    survivors = leaders(nodes, dropped={leader})
    assert len(survivors) == 1 and survivors[0] != leader
    assert nodes[survivors[0]].term > term


def test_pre_vote_campaign_then_real_election_message_kinds():
    a = Election("a", ["b", "c"], now=0.0)
    a.campaign(0.0)
    assert a.role == "pre_candidate" and a.term == 0
    to, data = a.poll_transmit()
    assert to is None and decode_envelope(data)["kind"] == "pre_vote"
    assert decode_envelope(data)["term"] == 1
    b = Election("b", ["a", "c"], now=0.0)
    b.step(0.1, data)
    _, reply = b.poll_transmit()
    assert decode_envelope(reply)["kind"] == "pre_vote_response" and decode_envelope(reply)["granted"]
    a.step(0.2, reply)
    assert a.role == "candidate" and a.term == 1
    assert a.poll_transmit() is None, "the vote request waits until the new hard state is read"
    assert a.hard_state() == (1, "a")
    _, req = a.poll_transmit()
    assert decode_envelope(req)["kind"] == "request_vote"


def test_without_pre_vote_campaign_is_a_real_election():
    a = Election("a", ["b", "c"], pre_vote=False, now=0.0)
    a.campaign(0.0)
    assert a.role == "candidate" and a.term == 1 and a.voted_for == "a"


def test_python_node_answers_rust_vectors_with_rust_bytes():
    # A Rust node's pre-vote (supervisor-2, term 7): the answer is the Rust vector byte for byte.
    s1 = Election("supervisor-1", ["supervisor-2"], now=0.0)
    s1.step(1.0, golden("election_pre_vote"))
    to, data = s1.poll_transmit()
    assert to == "supervisor-2" and data == golden("election_pre_vote_response")
    assert s1.term == 0, "pre-vote traffic never changes a term"
    # A Rust leader's heartbeat of term 300: acknowledged with the Rust bytes once the term is persisted.
    s1.step(2.0, golden("election_leader_heartbeat"))
    assert (s1.term, s1.leader_id, s1.role) == (300, "supervisor-2", "follower")
    assert s1.hard_state() == (300, None)
    to, data = s1.poll_transmit()
    assert to == "supervisor-2" and data == golden("election_heartbeat_response")


def test_python_node_handles_a_rust_vote_request():
    s1 = Election("supervisor-1", ["supervisor-2"], now=0.0)
    s1.step(1.0, golden("election_request_vote"))
    assert s1.hard_state() == (300, "supervisor-2")
    _, data = s1.poll_transmit()
    d = decode_envelope(data)
    assert (d["sender"], d["kind"], d["term"], d["granted"]) == ("supervisor-1", "vote_response", 300, True)


def test_step_errors_are_mapped():
    e = Election("a", ["b"], now=0.0)
    with pytest.raises(DecodeError):
        e.step(0.0, b"\x01garbage")
    with pytest.raises(NotFoundError):
        e.step(0.0, golden("election_pre_vote"))  # from supervisor-2, not a voter
    with pytest.raises(InvalidArgumentError):
        Election("a", ["b"], election_timeout=0.1, heartbeat_interval=0.1)
    hb = Election("worker-7", ["x"], now=0.0)
    with pytest.raises(InvalidArgumentError):
        hb.step(0.0, golden("heartbeat"))  # from itself, and not an election message
    leader = Election("solo", [], now=0.0)
    leader.tick(0.0)
    assert leader.role == "leader"
    leader.campaign(1.0)  # a no-op on the leader (etcd, raft-rs), no error
    assert leader.role == "leader"


def test_poll_timeout_and_randomized_timeout_hook():
    e = Election("a", ["b", "c"], election_timeout=1.0, now=10.0)
    assert 11.0 <= e.poll_timeout() < 12.0
    e.set_randomized_election_timeout(1.5)
    assert e.poll_timeout() == pytest.approx(11.5)
    e.tick(11.49)
    assert e.role == "follower"
    e.tick(11.5)
    assert e.role == "pre_candidate"


def test_without_now_the_timer_starts_at_the_first_input_in_any_time_base():
    for base in [0.0, 1_000.0, T0]:
        e = Election("a", ["b", "c"], election_timeout=1.0)
        assert e.poll_timeout() is None
        e.tick(base)
        assert e.role == "follower", "no campaign at the first tick, whatever the time base"
        timeout = e.poll_timeout()
        assert timeout is not None and base + 1.0 <= timeout < base + 2.0
    hooked = Election("a", ["b", "c"])
    hooked.set_randomized_election_timeout(1.25)
    hooked.tick(50.0)
    assert hooked.poll_timeout() == pytest.approx(51.25)
