"""The sans-IO ``Node`` (Layer 2) and the old API's ``NetworkOperationsManager``.

An in-memory cluster of ``Node``s (3 supervisors, 5 workers), each holding a
certificate from one ``Authority``, exchanges the real (authenticated) bytes
each node hands out: it must elect exactly one leader, assign a submitted task,
move a stopped worker's role to another worker, and elect a new leader when the
leader stops. Forged, replayed, foreign and expired datagrams are refused,
change nothing and are counted by reason.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import pathlib
from typing import Dict, List, Optional, Set, Tuple

import pytest

from credentials import AUTHORITY, T0, credentials
from helpers import NETWORK_STATUS_KEYS

from pouw_netops import (
    AuthenticationError,
    CredentialError,
    DecodeError,
    InvalidArgumentError,
    InvalidStateError,
    NetOpsError,
    NetworkOperationsManager,
    Node,
    NodeEvent,
)
from pouw_netops.identity import Authority, inspect_certificate, wireguard_public_key
from pouw_netops.node import AssignmentReceived, LeaderElected, WorkerReplaced
from pouw_netops.wire import decode_sealed

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
SUPERVISORS = ["s1", "s2", "s3"]
WORKERS = ["w1", "w2", "w3", "w4", "w5"]


class Cluster:
    """Nodes on a lossless in-memory network with a virtual clock; a dead node neither sends nor receives."""

    def __init__(self, supervisors: List[str] = SUPERVISORS, workers: List[str] = WORKERS, **config: object) -> None:
        self.now = T0
        self.supervisors = supervisors
        self.nodes: Dict[str, Node] = {}
        for i, s in enumerate(supervisors):
            self.nodes[s] = Node(s, "supervisor", supervisors, seed=i + 1, **credentials(s, "supervisor"), **config)
        for w in workers:
            self.nodes[w] = Node(w, "worker", supervisors, **credentials(w, "worker"), **config)
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
            batch: List[Tuple[str, str, bytes]] = []
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
                assert dest != src
                if dest in self.alive:
                    self.nodes[dest].handle_message(self.now, data)
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
        return [s for s in self.supervisors if s in self.alive and self.nodes[s].is_leader]


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


def supervisor(node_id: str = "s1", supervisors: List[str] = SUPERVISORS, seed: int = 1) -> Node:
    return Node(node_id, "supervisor", supervisors, seed=seed, **credentials(node_id, "supervisor"))


def test_every_transmit_is_sealed_for_one_node() -> None:
    s = supervisor()
    assert s.poll_timeout() is None
    s.start(T0)
    s.tick(T0 + 30.0)  # past the election timeout: a pre-vote campaign starts (no hard-state change)
    while s.poll_hard_state() is not None:
        pass
    seen: Set[str] = set()
    kinds: Set[str] = set()
    while (t := s.poll_transmit()) is not None:
        dest, data = t
        seen.add(dest)
        env = decode_sealed(data)
        kinds.add(env["kind"])
        assert env["version"] == 2 and env["sender"] == "s1" and env["epoch"] == 1
        assert env["auth"] in ("mac", "signed")
        if env["kind"] == "membership":
            # An announcement carries the sender's own certificate.
            assert env["joining"] is True and inspect_certificate(env["certificate"]).node_id == "s1"
    # Election messages go to each other supervisor by name; nothing goes to itself.
    assert seen == {"s2", "s3"} and "pre_vote" in kinds


def test_poll_archived_hands_over_nothing_before_the_archive_fills() -> None:
    s = supervisor()
    assert s.poll_archived() is None
    s.start(T0)
    s.tick(T0 + 1.0)
    # A graceful stop seals the open history batch; it is retained, not archived,
    # so nothing is handed over yet and nothing was dropped.
    s.stop(T0 + 2.0)
    assert s.poll_archived() is None
    assert s.status(T0 + 2.0)["counters"].get("history_dropped", 0) == 0


def test_v1_envelopes_are_refused_as_malformed() -> None:
    s = supervisor("supervisor-1", ["supervisor-1", "supervisor-2"])
    s.start(T0)
    for name in ("membership", "heartbeat"):
        with pytest.raises(DecodeError):
            s.handle_message(T0 + 1.0, bytes.fromhex((VECTORS / f"{name}.hex").read_text().strip()))
    counters = s.status(T0 + 1.0)["counters"]
    assert counters["messages_received"] == 0
    assert counters["rejected"]["malformed"] == 2
    assert set(counters["rejected"]) >= {"bad_tag", "bad_signature", "replayed", "unknown_sender", "expired"}


def test_a_datagram_from_this_node_is_dropped_and_counted() -> None:
    # Its own sealed datagram, reflected back to it: dropped and counted, no error.
    w = Node("worker-7", "worker", ["supervisor-1"], **credentials("worker-7", "worker"))
    w.start(T0)
    sent = w.poll_transmit()
    assert sent is not None
    w.handle_message(T0 + 1.0, sent[1])
    counters = w.status(T0 + 1.0)["counters"]
    assert counters["self_addressed"] == 1 and counters["messages_received"] == 0


def test_errors() -> None:
    with pytest.raises(InvalidArgumentError):
        Node("s1", "boss", SUPERVISORS, **credentials("s1", "supervisor"))
    with pytest.raises(InvalidArgumentError):
        Node("s1", "supervisor", SUPERVISORS, heartbeat_intervall=1.0, **credentials("s1", "supervisor"))
    with pytest.raises(InvalidArgumentError):
        Node("s9", "supervisor", SUPERVISORS, **credentials("s9", "supervisor"))  # a supervisor outside the list
    w = Node("w1", "worker", SUPERVISORS, **credentials("w1", "worker"))
    with pytest.raises(InvalidStateError):
        w.handle_message(T0, b"")  # not running yet
    w.start(T0)
    with pytest.raises(DecodeError):
        w.handle_message(T0, b"\xff\x00garbage")
    with pytest.raises(InvalidArgumentError):
        w.submit_task(T0, "t", "train", 1)  # workers keep no task table
    with pytest.raises(NetOpsError):
        w.report_checkpoint(T0, "t", 1)  # holds no such task
    s = supervisor()
    s.start(T0)
    s.submit_task(T0, "t", "train", 1)
    with pytest.raises(InvalidArgumentError):
        s.submit_task(T0, "t", "train", 1)
    with pytest.raises(InvalidArgumentError):
        s.submit_task(T0, "u", "train", 0)
    assert s.tasks() == [("t", "train", 1, 2, None)]
    s.stop(T0 + 1.0)
    assert not s.is_running and s.poll_timeout() is None


@pytest.mark.parametrize("key, value", [("slots", 2), ("task_types", ["train"]), ("public_key", b"k" * 32)])
def test_config_keys_now_in_the_certificate_are_refused(key: str, value: object) -> None:
    with pytest.raises(InvalidArgumentError, match=key):
        Node("w1", "worker", SUPERVISORS, **credentials("w1", "worker"), **{key: value})


def test_own_credentials_are_checked() -> None:
    creds = credentials("w1", "worker")
    # A certificate for another node, role, or key; another authority; bad sizes.
    with pytest.raises(CredentialError):
        Node("w2", "worker", SUPERVISORS, **creds)
    with pytest.raises(CredentialError):
        Node("w1", "supervisor", ["w1"], **creds)
    with pytest.raises(NetOpsError):
        Node("w1", "worker", SUPERVISORS, **{**creds, "identity": bytes(32)})
    with pytest.raises(AuthenticationError):
        Node("w1", "worker", SUPERVISORS, **{**creds, "authority": Authority(bytes(32)).public_key})
    with pytest.raises(InvalidArgumentError, match="identity"):
        Node("w1", "worker", SUPERVISORS, **{**creds, "identity": b"short"})
    with pytest.raises(DecodeError):
        Node("w1", "worker", SUPERVISORS, **{**creds, "certificate": creds["certificate"][:-1]})
    w = Node("w1", "worker", SUPERVISORS, **creds)
    mine = w.certificate()
    assert mine == inspect_certificate(creds["certificate"])
    assert (mine.node_id, mine.role, mine.slots, mine.pools) == ("w1", "worker", 1, ("train",))


class Pair:
    """A one-supervisor cluster (``s1``) with worker ``w1``, both admitted to each other."""

    def __init__(self) -> None:
        self.now = T0
        self.s = Node("s1", "supervisor", ["s1"], seed=1, **credentials("s1", "supervisor"))
        self.w = Node("w1", "worker", ["s1"], **credentials("w1", "worker"))
        self.s.start(self.now)
        self.w.start(self.now)
        self.exchange()
        assert [m.node_id for m in self.s.members()] == ["w1"]
        assert [m.node_id for m in self.w.members()] == ["s1"]

    def exchange(self) -> None:
        nodes = {"s1": self.s, "w1": self.w}
        moved = True
        while moved:
            moved = False
            for n in nodes.values():
                while n.poll_hard_state() is not None:
                    pass
                while (t := n.poll_transmit()) is not None:
                    nodes[t[0]].handle_message(self.now, t[1])
                    moved = True
                while n.poll_event() is not None:
                    pass

    def from_worker(self, kind: str = "heartbeat") -> bytes:
        """The worker's next ``kind`` message to the supervisor, not delivered."""
        for _ in range(100):
            self.now += 0.5
            self.w.tick(self.now)
            found = None
            while (t := self.w.poll_transmit()) is not None:
                if found is None and t[0] == "s1" and decode_sealed(t[1])["kind"] == kind:
                    found = t[1]
            if found is not None:
                return found
        raise AssertionError(f"no {kind} from w1")


def without_rejections(status: Dict[str, object]) -> Dict[str, object]:
    counters = dict(status["counters"])  # type: ignore[call-overload]
    del counters["rejected"]
    return {**status, "counters": counters}


def assert_refused(node: Node, now: float, data: bytes, error: type, reason: str) -> None:
    """``data`` is refused with ``error``, counted under ``reason``, and changes nothing else."""
    before = node.status(now)
    members = node.members()
    with pytest.raises(error) as info:
        node.handle_message(now, data)
    assert type(info.value) is error
    after = node.status(now)
    assert without_rejections(after) == without_rejections(before)
    assert node.members() == members
    counts = {r: after["counters"]["rejected"][r] - c for r, c in before["counters"]["rejected"].items()}
    assert counts == {r: (1 if r == reason else 0) for r in counts}


def test_a_forged_datagram_is_refused_and_changes_nothing() -> None:
    p = Pair()
    data = p.from_worker()
    assert decode_sealed(data)["auth"] == "mac"
    for at in (len(data) - 1, len(data) - 20):  # the tag, then the body
        forged = bytearray(data)
        forged[at] ^= 0x01
        assert_refused(p.s, p.now, bytes(forged), AuthenticationError, "bad_tag")
    # The genuine datagram is still new: the forgeries moved no replay window.
    p.s.handle_message(p.now, data)


def test_a_replayed_datagram_is_refused_and_changes_nothing() -> None:
    p = Pair()
    data = p.from_worker()
    p.s.handle_message(p.now, data)
    assert_refused(p.s, p.now, data, AuthenticationError, "replayed")
    with pytest.raises(AuthenticationError) as info:
        p.s.handle_message(p.now, data)
    assert info.value.kind == "replayed"
    assert p.s.status(p.now)["counters"]["rejected"]["replayed"] == 2


def test_a_strangers_datagram_is_refused() -> None:
    p = Pair()
    # w2 holds a valid certificate but s1 never admitted it (its announcement was lost).
    w2 = Node("w2", "worker", ["s1"], **credentials("w2", "worker"))
    w2.start(p.now)
    w2.tick(p.now + 5.0)
    sent = []
    while (t := w2.poll_transmit()) is not None:
        if t[0] == "s1" and decode_sealed(t[1])["kind"] != "membership":
            sent.append(t[1])
    assert sent
    assert_refused(p.s, p.now, sent[0], AuthenticationError, "unknown_sender")


def test_an_expired_certificate_is_refused() -> None:
    p = Pair()
    # w3's certificate ran out an hour ago; its clock (unix_at_zero=0) is behind, so it started.
    old = int(T0) - 7200
    w3 = Node("w3", "worker", ["s1"], **credentials("w3", "worker", not_before=old - 3600, not_after=old + 3600))
    w3.start(float(old))
    hello = [t[1] for t in iter(w3.poll_transmit, None) if t[0] == "s1"]
    assert hello and decode_sealed(hello[0])["kind"] == "membership"
    assert_refused(p.s, p.now, hello[0], CredentialError, "expired")
    assert [m.node_id for m in p.s.members()] == ["w1"]


def test_a_certificate_from_another_authority_is_refused() -> None:
    p = Pair()
    other = Authority(bytes([7]) * 32)
    assert other.public_key != AUTHORITY.public_key
    w4 = Node("w4", "worker", ["s1"], **credentials("w4", "worker", authority=other))
    w4.start(p.now)
    hello = [t[1] for t in iter(w4.poll_transmit, None) if t[0] == "s1"]
    assert hello
    assert_refused(p.s, p.now, hello[0], AuthenticationError, "wrong_authority")


def test_revocation_removes_a_member() -> None:
    p = Pair()
    with pytest.raises(AuthenticationError):
        p.s.apply_revocations(Authority(bytes([7]) * 32).revoke(1, [("w1", None)]))
    assert [m.node_id for m in p.s.members()] == ["w1"]
    assert p.s.apply_revocations(AUTHORITY.revoke(1, [("w1", None)])) == 1
    assert p.s.members() == []
    with pytest.raises(CredentialError):
        p.s.apply_revocations(AUTHORITY.revoke(1, [("w2", 3)]))  # not newer
    with pytest.raises(AuthenticationError):
        p.s.handle_message(p.now, p.from_worker())


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
    assert set(status) == NETWORK_STATUS_KEYS
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


def test_a_node_renders_its_own_wireguard_config_with_its_certificates_key() -> None:
    keys = {n: hashlib.sha256(b"wireguard " + n.encode()).digest() for n in ("s1", "w1")}
    public = {n: wireguard_public_key(k) for n, k in keys.items()}
    s = Node("s1", "supervisor", ["s1"], seed=1, **credentials("s1", "supervisor", wg_key=public["s1"]))
    w = Node("w1", "worker", ["s1"], **credentials("w1", "worker", wg_key=public["w1"]))
    nodes = {"s1": s, "w1": w}
    now = T0
    s.start(now)
    w.start(now)
    w.set_endpoint("198.51.100.7:51820")
    for _ in range(40):  # heartbeats both ways (each echoes the other's), then a tunnel check
        now += 0.25
        for n in nodes.values():
            n.tick(now)
            while n.poll_hard_state() is not None:
                pass
        moved = True
        while moved:
            moved = False
            for n in nodes.values():
                while (t := n.poll_transmit()) is not None:
                    nodes[t[0]].handle_message(now + 0.002, t[1])
                    moved = True
                while n.poll_event() is not None:
                    pass
    assert w.certificate().wg_key == public["w1"]
    b64 = {n: base64.b64encode(k).decode() for n, k in {**keys, **{n + "_pub": p for n, p in public.items()}}.items()}
    conf = s.render_wireguard(keys["s1"], listen_port=51820)
    assert f"PrivateKey = {b64['s1']}" in conf and "Address" in conf
    assert f"PublicKey = {b64['w1_pub']}" in conf
    # w1's signed endpoint record moved its endpoint.
    assert "Endpoint = 198.51.100.7:51820" in conf
    setconf = s.render_wireguard(b64["s1"], format="setconf")
    assert f"PrivateKey = {b64['s1']}" in setconf and "Address" not in setconf
    # Another key than the certificate's: refused, nothing rendered.
    with pytest.raises(InvalidArgumentError):
        s.render_wireguard(keys["w1"])
    with pytest.raises(InvalidArgumentError):
        s.render_wireguard(keys["s1"], format="wg")
    with pytest.raises(InvalidArgumentError):
        w.set_endpoint("no port")
    # Both measured the round trip from the echoed heartbeat timestamps.
    rtt = s.peer_rtt("w1")
    # (2 ms each way, less what the peer held it: 2 to 4 ms, by delivery order.)
    assert rtt is not None and 0.0019 < rtt[0] < 0.0041
    assert w.peer_rtt("s1") is not None and s.peer_rtt("nobody") is None
    # The host reports WireGuard's own handshakes (`wg show wg0 latest-handshakes`).
    text = f"{b64['w1_pub']}\t{int(now) - 5}\n{b64['s1_pub']}\t{int(now)}\nnot a handshake line\n"
    report = s.record_latest_handshakes(now, int(now), text)
    assert report["recorded"] == 1 and report["unknown_peers"] == 1 and report["malformed"] == 1
    # The same report again records nothing new.
    assert s.record_latest_handshakes(now, int(now), text)["unchanged"] == 1
