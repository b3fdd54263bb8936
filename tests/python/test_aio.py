"""``pouw_netops.aio``: a real cluster on 127.0.0.1 UDP sockets, on the
monotonic clock. Three supervisors and two workers; a worker is killed and its
role fails over to the backup, then the leader is killed and the others elect
a new one. Hard state and epochs are persisted in files."""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import time
from typing import Callable, Dict, List, Optional, Tuple

import pytest

from credentials import credentials

from pouw_netops import Node, NodeEvent, aio
from pouw_netops.node import LeaderElected, WorkerReplaced

SUPERVISORS = ["s1", "s2", "s3"]
WORKERS = ["w1", "w2"]
# Fast timers: the whole scenario takes a few seconds. The detector's pause and
# the election timeout leave room for event-loop stalls of a loaded machine
# (CI shares its cores): a stall longer than the pause makes a live node look
# dead, and the scenario then fails over or re-elects where it should not.
FAST = dict(
    heartbeat_interval=0.05,
    sweep_interval=0.05,
    election_timeout=0.6,
    election_heartbeat_interval=0.05,
    leader_notice_interval=0.2,
    task_table_interval=0.1,
    acceptable_heartbeat_pause=0.4,
    min_std_deviation=0.02,
    first_heartbeat_estimate=0.05,
    lease_timeout=1.0,
)


def make_node(node_id: str, epoch: int, seed: int, **config: object) -> Node:
    role = "supervisor" if node_id in SUPERVISORS else "worker"
    unix = int(time.time())
    creds = credentials(node_id, role, not_before=unix - 60, not_after=unix + 3600, epoch=epoch)
    del creds["unix_at_zero"]  # the default maps time.monotonic() to UNIX time
    return Node(node_id, role, SUPERVISORS, seed=seed, **creds, **{**FAST, **config})  # type: ignore[arg-type]


async def until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_five_nodes_fail_over_a_worker_and_re_elect_after_the_leader_dies(tmp_path: pathlib.Path, caplog):
    # DEBUG: a refused datagram is logged with its reason, for the assertion below.
    caplog.set_level(logging.DEBUG, logger="pouw_netops.aio")

    async def scenario() -> None:
        peers: Dict[str, Tuple[str, int]] = {}
        runners: Dict[str, aio.NodeRunner] = {}
        for i, nid in enumerate(SUPERVISORS + WORKERS):
            state = tmp_path / nid
            node = make_node(nid, aio.next_epoch(state), seed=i + 1)
            runners[nid] = await aio.serve(
                node, ("127.0.0.1", 0), peers, state_dir=state, archive_dir=state / "archive"
            )
            peers[nid] = runners[nid].address
        seen: List[Tuple[str, NodeEvent]] = []

        async def collect(nid: str, r: aio.NodeRunner) -> None:
            async for e in r.events():
                seen.append((nid, e))

        collectors = [asyncio.create_task(collect(n, r)) for n, r in runners.items()]

        # Datagrams start flowing before every peer's address is in the book:
        # the nodes' timers retry until all of them are admitted.
        await until(lambda: aio.agreed_leader(runners) is not None, 30, "a leader")
        first = aio.agreed_leader(runners)
        assert first is not None
        lead = runners[first].node
        lead.submit_task(time.monotonic(), "t1", "train", 1, 1)
        await until(lambda: (lead.task_workers("t1") or ([], []))[1] != [], 30, "t1 with a primary and a backup")
        placed = lead.task_workers("t1")
        assert placed is not None
        (victim,), (backup,) = placed

        runners[victim].abort()
        await until(
            lambda: any(isinstance(e, WorkerReplaced) and e.node == victim for _, e in seen), 30, "the failover"
        )
        replaced = next(e for _, e in seen if isinstance(e, WorkerReplaced) and e.node == victim)
        assert (replaced.task, replaced.replacement, replaced.from_backup) == ("t1", backup, True), seen

        runners[first].abort()
        await until(lambda: aio.agreed_leader(runners) not in (None, first), 30, "a new leader")
        second = aio.agreed_leader(runners)
        assert second in SUPERVISORS and second != first
        elected = [e for _, e in seen if isinstance(e, LeaderElected) and e.node == second]
        assert elected and elected[-1].term > 0

        # The new leader's hard state reached its file before it sent anything
        # as leader: the persisted term is the term it leads.
        state = json.loads((tmp_path / second / "hard_state.json").read_text())
        assert state["term"] >= elected[-1].term
        assert aio.load_hard_state(tmp_path / second) == (state["term"], state["voted_for"])
        refusals = [r.getMessage() for r in caplog.records if "refused a datagram" in r.getMessage()]
        assert sum(r.refused for r in runners.values()) == 0, refusals

        for r in runners.values():
            await r.close()
        await asyncio.wait_for(asyncio.gather(*collectors), 5)

    asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert any("worker_replaced" in m for m in messages), "failover logged at INFO"
    assert any("leader_elected" in m for m in messages)


def test_agreed_leader_needs_one_leader_that_every_open_runner_follows():
    from types import SimpleNamespace

    def runner(leads: bool, follows: Optional[str], closed: bool = False) -> SimpleNamespace:
        return SimpleNamespace(closed=closed, node=SimpleNamespace(is_leader=leads, leader_id=follows))

    settled = {"s1": runner(True, "s1"), "s2": runner(False, "s1"), "w1": runner(False, "s1")}
    assert aio.agreed_leader(settled) == "s1"
    assert aio.agreed_leader({}) is None
    assert aio.agreed_leader({**settled, "w1": runner(False, None)}) is None, "w1 follows nobody yet"
    assert aio.agreed_leader({**settled, "w1": runner(False, "s2")}) is None, "w1 follows another node"
    assert aio.agreed_leader({**settled, "s2": runner(True, "s2")}) is None, "two nodes lead"
    assert aio.agreed_leader({**settled, "s2": runner(True, "s2", closed=True)}) == "s1", "a closed runner is left out"
    assert aio.agreed_leader({**settled, "s1": runner(True, "s1", closed=True)}) is None, "the leader's runner closed"


def test_next_epoch_grows_and_hard_state_survives_a_restart(tmp_path: pathlib.Path):
    assert [aio.next_epoch(tmp_path) for _ in range(3)] == [1, 2, 3]
    assert aio.load_hard_state(tmp_path) is None

    async def boot(epoch: int) -> Tuple[int, Optional[str]]:
        node = make_node("s1", epoch, seed=1, pre_vote=False)
        r = await aio.serve(node, ("127.0.0.1", 0), {}, state_dir=tmp_path)
        # Alone it cannot win (no quorum of three) but, without pre-vote, it
        # campaigns in real elections: its term grows and is persisted.
        await until(lambda: aio.load_hard_state(tmp_path) is not None, 5, "a persisted term")
        await r.close()
        state = aio.load_hard_state(tmp_path)
        assert state is not None
        return state

    term1, _ = asyncio.run(boot(aio.next_epoch(tmp_path)))
    assert term1 >= 1
    # After a restart the node resumes from the persisted term, never below it.
    term2, _ = asyncio.run(boot(aio.next_epoch(tmp_path)))
    assert term2 >= term1


def test_refused_datagrams_are_counted_and_change_nothing(tmp_path: pathlib.Path):
    async def scenario() -> None:
        node = make_node("s1", 1, seed=1)
        r = await aio.serve(node, ("127.0.0.1", 0), {})
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        for junk in (b"\x00", b"\x01\x02", bytes(200)):  # asyncio does not send b""
            transport.sendto(junk, r.address)
        await until(lambda: r.refused == 3, 5, "three refusals")
        assert sum(node.status(time.monotonic())["counters"]["rejected"].values()) == 3
        transport.close()
        await r.close()
        assert r.closed
        with pytest.raises(RuntimeError):
            r.address

    asyncio.run(scenario())


def test_detector_knobs_are_node_config():
    from pouw_netops import InvalidArgumentError

    make_node("s1", 1, seed=1, acceptable_heartbeat_pause=0.0, max_sample_size=10)
    with pytest.raises(InvalidArgumentError, match="acceptable_heartbeat_pause"):
        make_node("s1", 1, seed=1, acceptable_heartbeat_pause=-1.0)
    with pytest.raises(InvalidArgumentError):
        make_node("s1", 1, seed=1, max_sample_size=0)
    with pytest.raises(InvalidArgumentError, match="unknown config key"):
        make_node("s1", 1, seed=1, acceptable_pause=1.0)
    # Heartbeat spacing between followers and workers: at least 1.
    make_node("s1", 1, seed=1, follower_heartbeat_every=3)
    with pytest.raises(InvalidArgumentError, match="follower_heartbeat_every"):
        make_node("s1", 1, seed=1, follower_heartbeat_every=0)


class FakeNode:
    """A stand-in for ``Node`` with scripted outputs, to check the runner's drain order."""

    node_id = "fake"

    def __init__(self) -> None:
        self.hard = [(3, "s2")]
        self.transmits = [("peer", b"hello"), ("stranger", b"lost")]
        self.events: List[NodeEvent] = [NodeEvent("tunnel_up", 1.0, "peer")]
        self.archived = [b"batch-one", b"batch-two"]

    def poll_hard_state(self) -> Optional[Tuple[int, Optional[str]]]:
        return self.hard.pop(0) if self.hard else None

    def poll_transmit(self) -> Optional[Tuple[str, bytes]]:
        return self.transmits.pop(0) if self.transmits else None

    def poll_event(self) -> Optional[NodeEvent]:
        return self.events.pop(0) if self.events else None

    def poll_archived(self) -> Optional[bytes]:
        return self.archived.pop(0) if self.archived else None

    def poll_timeout(self) -> Optional[float]:
        return None

    def members(self) -> list:  # type: ignore[type-arg]
        return []


def test_drain_persists_before_sending_and_archives_batches(tmp_path: pathlib.Path):
    state_dir, archive_dir = tmp_path / "state", tmp_path / "archive"
    sent: List[Tuple[bytes, Tuple[str, int], object]] = []

    class Transport:
        def sendto(self, data: bytes, addr: Tuple[str, int]) -> None:
            sent.append((data, addr, aio.load_hard_state(state_dir)))

        def close(self) -> None:
            pass

    async def scenario() -> None:
        r = aio.NodeRunner(FakeNode(), {"peer": ("127.0.0.1", 9)}, state_dir=state_dir, archive_dir=archive_dir)  # type: ignore[arg-type]
        r._transport = Transport()  # type: ignore[assignment]
        r._drain()
        assert sent == [(b"hello", ("127.0.0.1", 9), (3, "s2"))], "the hard state was on disk before the send"
        assert r.unroutable == 1, "no address for the stranger"
        assert sorted(p.read_bytes() for p in archive_dir.iterdir()) == [b"batch-one", b"batch-two"]
        r.abort()
        assert [e.kind async for e in r.events()] == ["tunnel_up"]

    asyncio.run(scenario())
