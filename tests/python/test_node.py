"""The sans-IO ``Node`` (Layer 2) and the old API's ``NetworkOperationsManager``.

An in-memory cluster of ``Node``s (3 supervisors, 5 workers) exchanges the
real bytes each node hands out: it must elect exactly one leader, assign a
submitted task, move a stopped worker's role to another worker, and elect a
new leader when the leader stops.
"""

from __future__ import annotations

import asyncio
import pathlib
from typing import Dict, List, Optional, Set, Tuple

import pytest

from pouw_netops import (
    DecodeError,
    InvalidArgumentError,
    NetOpsError,
    NetworkOperationsManager,
    Node,
    NodeEvent,
)
from pouw_netops.node import AssignmentReceived, LeaderElected, WorkerReplaced
from pouw_netops.wire import decode_envelope

T0 = 1_700_000_000.0
VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
SUPERVISORS = ["s1", "s2", "s3"]
WORKERS = ["w1", "w2", "w3", "w4", "w5"]


class Cluster:
    """Nodes on a lossless in-memory network with a virtual clock; a dead node neither sends nor receives."""

    def __init__(self) -> None:
        self.now = T0
        self.nodes: Dict[str, Node] = {}
        for i, s in enumerate(SUPERVISORS):
            self.nodes[s] = Node(s, "supervisor", SUPERVISORS, seed=i + 1)
        for w in WORKERS:
            self.nodes[w] = Node(w, "worker", SUPERVISORS, task_types=["train"])
        self.alive: Set[str] = set(self.nodes)
        self.events: List[NodeEvent] = []
        self.hard_states: Dict[str, Tuple[int, Optional[str]]] = {}
        for n in self.nodes.values():
            n.start(self.now)

    def kill(self, node_id: str) -> None:
        self.alive.discard(node_id)

    def drain(self) -> int:
        """Delivers everything queued until the network is quiet; returns messages delivered."""
        delivered = 0
        while True:
            batch: List[Tuple[str, Optional[str], bytes]] = []
            for nid in sorted(self.alive):
                node = self.nodes[nid]
                while (hs := node.poll_hard_state()) is not None:
                    self.hard_states[nid] = hs
                while (t := node.poll_transmit()) is not None:
                    batch.append((nid, t[0], t[1]))
                while (e := node.poll_event()) is not None:
                    self.events.append(e)
            if not batch:
                return delivered
            for src, dest, data in batch:
                targets = [dest] if dest is not None else [n for n in sorted(self.nodes) if n != src]
                for d in targets:
                    assert d != src
                    if d in self.alive:
                        self.nodes[d].handle_message(self.now, data)
                        delivered += 1

    def run(self, seconds: float, step: float = 0.05) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now += step
            for nid in sorted(self.alive):
                node = self.nodes[nid]
                timeout = node.poll_timeout()
                assert timeout is not None
                if timeout <= self.now:
                    node.tick(self.now)
            self.drain()

    def run_until(self, cond, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        end = self.now + limit
        while not cond():
            assert self.now < end, "condition not reached in virtual time"
            self.run(0.25)

    def leaders(self) -> List[str]:
        return [s for s in SUPERVISORS if s in self.alive and self.nodes[s].is_leader]


def agreed_leader(c: Cluster) -> Optional[str]:
    leaders = c.leaders()
    if len(leaders) != 1:
        return None
    lead = leaders[0]
    if all(c.nodes[n].leader_id == lead for n in c.alive):
        return lead
    return None


def test_cluster_elects_assigns_and_fails_over() -> None:
    c = Cluster()
    c.run_until(lambda: agreed_leader(c) is not None)
    leader = agreed_leader(c)
    assert leader is not None
    # Exactly one leader, and every live node follows it.
    assert c.leaders() == [leader]
    elected = [e for e in c.events if isinstance(e, LeaderElected) and e.node == leader]
    assert elected and elected[-1].details["term"] >= 1
    # The persisted hard state of the leader names itself for its term.
    term, voted_for = c.hard_states[leader]
    assert voted_for == leader and term == elected[-1].details["term"]

    lead = c.nodes[leader]
    lead.submit_task(c.now, "t1", "train", 2, 1)

    def held(w: str) -> List[str]:
        return [role for (task, _, role, _) in c.nodes[w].held_tasks() if task == "t1"]

    c.run_until(lambda: sum(len(held(w)) for w in WORKERS) == 3)
    placed = lead.task_workers("t1")
    assert placed is not None
    primaries, backups = placed
    assert len(primaries) == 2 and len(backups) == 1
    assert set(primaries).isdisjoint(backups) and set(primaries) | set(backups) <= set(WORKERS)
    # Every worker holds exactly the role the leader placed it in.
    for w in WORKERS:
        expected = ["primary"] if w in primaries else ["backup"] if w in backups else []
        assert held(w) == expected, w
    received = {e.node for e in c.events if isinstance(e, AssignmentReceived) and e.details["task"] == "t1"}
    assert received == set(primaries) | set(backups)

    # A primary stops (crashes): the leader moves its role to the backup.
    failed = primaries[0]
    c.kill(failed)
    c.run_until(lambda: any(isinstance(e, WorkerReplaced) and e.node == failed for e in c.events))
    replaced = [e for e in c.events if isinstance(e, WorkerReplaced) and e.node == failed][0]
    assert replaced.details["task"] == "t1"
    assert replaced.details["role"] == "primary"
    assert replaced.details["replacement"] == backups[0] and replaced.details["from_backup"] is True
    c.run(2.0)
    now_placed = lead.task_workers("t1")
    assert now_placed is not None
    assert failed not in now_placed[0] and backups[0] in now_placed[0] and len(now_placed[0]) == 2
    assert held(backups[0]) == ["primary"]

    # The leader stops: the other two supervisors elect a new one in a higher term.
    c.kill(leader)
    c.run_until(lambda: agreed_leader(c) not in (None, leader))
    new_leader = agreed_leader(c)
    assert new_leader in SUPERVISORS and new_leader != leader
    assert c.hard_states[new_leader][0] > term


def test_destinations_are_node_ids_or_broadcast() -> None:
    s = Node("s1", "supervisor", SUPERVISORS, seed=1)
    assert s.poll_timeout() is None
    s.start(T0)
    s.tick(T0 + 30.0)  # past the election timeout: a pre-vote campaign starts (no hard-state change)
    while s.poll_hard_state() is not None:
        pass
    seen: Set[Optional[str]] = set()
    while (t := s.poll_transmit()) is not None:
        dest, data = t
        seen.add(dest)
        env = decode_envelope(data)
        assert env["sender"] == "s1"
        # Election messages go to each other supervisor by name; nothing goes to itself.
        if env["kind"] in ("pre_vote", "request_vote"):
            assert dest in ("s2", "s3")
    assert None in seen and {"s2", "s3"} <= seen and "s1" not in seen


def test_poll_archived_hands_over_nothing_before_the_archive_fills() -> None:
    s = Node("s1", "supervisor", SUPERVISORS, seed=1)
    assert s.poll_archived() is None
    s.start(T0)
    s.tick(T0 + 1.0)
    # A graceful stop seals the open history batch; it is retained, not archived,
    # so nothing is handed over yet and nothing was dropped.
    s.stop(T0 + 2.0)
    assert s.poll_archived() is None
    assert s.status(T0 + 2.0)["counters"].get("history_dropped", 0) == 0


def test_golden_vectors_are_understood() -> None:
    s = Node("supervisor-1", "supervisor", ["supervisor-1", "supervisor-2"])
    s.start(T0)
    for name in ("membership", "heartbeat"):
        s.handle_message(T0 + 1.0, bytes.fromhex((VECTORS / f"{name}.hex").read_text().strip()))
    counters = s.status(T0 + 1.0)["counters"]
    assert counters["messages_received"] == 2
    assert counters["decode_errors"] == 0 and counters["messages_ignored"] == 0
    assert s.status(T0 + 1.0)["crash_recovery"]["total_nodes"] >= 1


def test_a_datagram_from_this_node_is_dropped_and_counted() -> None:
    # The heartbeat vector's sender is "worker-7": to a node of that name it is self-addressed.
    w = Node("worker-7", "worker", ["supervisor-1"], task_types=["train"])
    w.start(T0)
    w.handle_message(T0 + 1.0, bytes.fromhex((VECTORS / "heartbeat.hex").read_text().strip()))
    counters = w.status(T0 + 1.0)["counters"]
    assert counters["self_addressed"] == 1 and counters["messages_received"] == 0


def test_errors() -> None:
    with pytest.raises(InvalidArgumentError):
        Node("s1", "boss", SUPERVISORS)
    with pytest.raises(InvalidArgumentError):
        Node("s1", "supervisor", SUPERVISORS, heartbeat_intervall=1.0)
    with pytest.raises(InvalidArgumentError):
        Node("s9", "supervisor", SUPERVISORS)  # a supervisor outside the list
    w = Node("w1", "worker", SUPERVISORS)
    with pytest.raises(InvalidArgumentError):
        w.handle_message(T0, b"")  # not running yet
    w.start(T0)
    with pytest.raises(DecodeError):
        w.handle_message(T0, b"\xff\x00garbage")
    with pytest.raises(InvalidArgumentError):
        w.submit_task(T0, "t", "train", 1)  # workers keep no task table
    with pytest.raises(NetOpsError):
        w.report_checkpoint(T0, "t", 1)  # holds no such task
    s = Node("s1", "supervisor", SUPERVISORS)
    s.start(T0)
    s.submit_task(T0, "t", "train", 1)
    with pytest.raises(InvalidArgumentError):
        s.submit_task(T0, "t", "train", 1)
    with pytest.raises(InvalidArgumentError):
        s.submit_task(T0, "u", "train", 0)
    assert s.tasks() == [("t", "train", 1, 2, None)]
    s.stop(T0 + 1.0)
    assert not s.is_running and s.poll_timeout() is None


def test_network_operations_manager_start_stop() -> None:
    async def main() -> Tuple[bool, bool, int, Dict[str, object]]:
        m = NetworkOperationsManager("s1", "supervisor", SUPERVISORS, tick_interval=0.01)
        await m.start_operations()
        running = m.is_running
        await asyncio.sleep(0.1)
        await m.stop_operations()
        ticks = m.ticks
        await asyncio.sleep(0.05)
        assert m.ticks == ticks  # the loop really stopped
        return running, m.is_running, ticks, m.get_network_status()

    running, after, ticks, status = asyncio.run(main())
    assert running and not after and ticks >= 2
    assert set(status) == {
        "node_id",
        "role",
        "is_running",
        "crash_recovery",
        "worker_replacement",
        "message_compression",
        "vpn_mesh",
        "leader_election",
    }
    assert status["is_running"] is False


def test_network_operations_manager_worker_has_no_election() -> None:
    m = NetworkOperationsManager("w1", "worker", SUPERVISORS)
    assert m.leader_election is None
    assert "leader_election" not in m.get_network_status()
    m.worker_replacement.register_worker_pool("train", ["a", "b"])
    assert m.get_network_status()["worker_replacement"]["total_workers"] == 2


def test_udp_cluster_example() -> None:
    import subprocess
    import sys

    script = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "udp_cluster.py"
    r = subprocess.run([sys.executable, str(script), "--duration", "25"], capture_output=True, text=True, timeout=60)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    for marker in ("LEADER ", "ASSIGNED t1", "FAILOVER ", "RE-ELECTED ", "OK"):
        assert marker in out, out
