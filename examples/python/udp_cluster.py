"""A cluster of ``pouw_netops.Node``s on real UDP sockets, in one asyncio process.

Three supervisors and four workers each bind a UDP socket on 127.0.0.1 (port
chosen by the OS) and exchange datagrams through ``Node``: bytes in with
``handle_message``, bytes out from ``poll_transmit`` (each to the node it
names). The cluster is authenticated: at start one ``Authority`` issues every
node a certificate for its own fresh identity key, so every datagram is MAC'd
or signed and anything else is refused. The script waits for a
leader, submits a task, stops one of its primary workers (the leader moves its
role to the backup), then stops the leader (the other supervisors elect a new
one), and exits by itself: status 0 when all of that was seen within
``--duration`` seconds, 1 otherwise.

    python examples/python/udp_cluster.py [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from typing import Dict, List, Optional, Tuple

from pouw_netops import NetOpsError, Node, NodeEvent
from pouw_netops.identity import Authority, generate_key, public_key
from pouw_netops.node import LeaderElected, WorkerReplaced

SUPERVISORS = ["s1", "s2", "s3"]
WORKERS = ["w1", "w2", "w3", "w4"]
# Faster than the defaults so the demonstration takes seconds, not minutes.
CONFIG = dict(heartbeat_interval=0.2, sweep_interval=0.1, election_timeout=0.6, election_heartbeat_interval=0.1)


def now() -> float:
    """The nodes' clock: monotonic seconds (``Node``'s default ``unix_at_zero`` maps it to UNIX time)."""
    return time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Peer(asyncio.DatagramProtocol):
    """One node: its socket, its ``Node`` and the task that drives its timers."""

    def __init__(self, node: Node, book: Dict[str, Tuple[str, int]], events: "asyncio.Queue[Tuple[str, NodeEvent]]") -> None:
        self.node = node
        self.book = book
        self.events = events
        self.transport: Optional[asyncio.DatagramTransport] = None
        self.wake = asyncio.Event()
        self.alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Tuple[str, int]) -> None:
        if not self.alive:
            return
        try:
            self.node.handle_message(now(), data)
        except NetOpsError as e:  # not authentic, replayed, malformed...: refused and counted
            log(f"{self.node.node_id}: refused a datagram: {e}")
        self.flush()

    def flush(self) -> None:
        """Drains the node in the documented order: hard state, transmits, events."""
        node = self.node
        while node.poll_hard_state() is not None:
            pass  # a real supervisor writes (term, voted_for) to disk here, before sending
        while (t := node.poll_transmit()) is not None:
            dest, data = t  # sealed for `dest` alone
            if self.transport is not None and dest in self.book:
                self.transport.sendto(data, self.book[dest])
        while (e := node.poll_event()) is not None:
            self.events.put_nowait((node.node_id, e))

    async def run(self) -> None:
        while self.alive:
            timeout = self.node.poll_timeout()
            delay = 0.05 if timeout is None else max(0.0, min(timeout - now(), 0.05))
            await asyncio.sleep(delay)
            if not self.alive:
                break
            self.node.tick(now())
            self.flush()

    def kill(self) -> None:
        """Stops abruptly, as a crash would: no goodbye, the socket closes."""
        self.alive = False
        if self.transport is not None:
            self.transport.close()


async def main(duration: float) -> int:
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + duration
    book: Dict[str, Tuple[str, int]] = {}
    events: "asyncio.Queue[Tuple[str, NodeEvent]]" = asyncio.Queue()
    peers: Dict[str, Peer] = {}
    # The cluster's authority, for this run only; a real cluster keeps its seed
    # offline and hands each node its identity key and certificate.
    authority = Authority()
    unix = int(time.time())
    # The boot epoch must grow with every start of a node: this demo keeps no
    # state, so the UNIX time serves.
    epoch = unix
    for i, nid in enumerate(SUPERVISORS + WORKERS):
        role = "supervisor" if nid in SUPERVISORS else "worker"
        identity = generate_key()
        certificate = authority.issue(
            nid,
            role,
            identity_public=public_key(identity),
            slots=0 if role == "supervisor" else 1,
            pools=() if role == "supervisor" else ("train",),
            not_before=unix - 60,
            not_after=unix + 3600,
        )
        node = Node(
            nid,
            role,
            SUPERVISORS,
            identity=identity,
            certificate=certificate,
            authority=authority.public_key,
            epoch=epoch,
            seed=i + 1,
            **CONFIG,  # type: ignore[arg-type]
        )
        transport, peer = await loop.create_datagram_endpoint(
            functools.partial(Peer, node, book, events), local_addr=("127.0.0.1", 0)
        )
        book[nid] = transport.get_extra_info("sockname")[:2]
        peers[nid] = peer
    log("nodes: " + ", ".join(f"{n}@{book[n][1]}" for n in book))
    for p in peers.values():
        p.node.start(now())
        p.flush()
    runners = [asyncio.create_task(p.run()) for p in peers.values()]

    def leader() -> Optional[str]:
        live = [s for s in SUPERVISORS if peers[s].alive]
        leaders = [s for s in live if peers[s].node.is_leader]
        if len(leaders) == 1 and all(peers[n].node.leader_id == leaders[0] for n in peers if peers[n].alive):
            return leaders[0]
        return None

    seen: List[NodeEvent] = []

    async def wait_for(cond, what: str) -> bool:  # type: ignore[no-untyped-def]
        while not cond():
            if time.monotonic() > deadline:
                log(f"TIMEOUT waiting for {what}")
                return False
            try:
                observer, e = await asyncio.wait_for(events.get(), 0.05)
                seen.append(e)
                if isinstance(e, (LeaderElected, WorkerReplaced)):
                    log(f"{observer} sees {e.kind} of {e.node}: {e.details}")
            except asyncio.TimeoutError:
                pass
        return True

    ok = await wait_for(lambda: leader() is not None, "a leader")
    if ok:
        first = leader()
        assert first is not None
        log(f"LEADER {first}")
        lead = peers[first].node
        lead.submit_task(now(), "t1", "train", 2, 1)
        peers[first].flush()
        ok = await wait_for(lambda: (lambda p: p is not None and len(p[0]) == 2 and len(p[1]) == 1)(
            lead.task_workers("t1")), "the task to be assigned")
    if ok:
        placed = lead.task_workers("t1")
        assert placed is not None
        primaries, backups = placed
        log(f"ASSIGNED t1 primaries={primaries} backups={backups}")
        victim = primaries[0]
        log(f"KILL worker {victim}")
        peers[victim].kill()
        ok = await wait_for(lambda: any(isinstance(e, WorkerReplaced) and e.node == victim for e in seen),
                            "the worker failover")
    if ok:
        r = next(e for e in seen if isinstance(e, WorkerReplaced) and e.node == victim)
        log(f"FAILOVER {victim} -> {r.details['replacement']} (task {r.details['task']})")
        assert first is not None
        log(f"KILL leader {first}")
        peers[first].kill()
        ok = await wait_for(lambda: leader() not in (None, first), "a new leader")
    if ok:
        log(f"RE-ELECTED {leader()}")
    for p in peers.values():
        p.alive = False
        if p.transport is not None:
            p.transport.close()
    await asyncio.gather(*runners, return_exceptions=True)
    refused = sum(sum(p.node.status(now())["counters"]["rejected"].values()) for p in peers.values())
    log(f"refused datagrams: {refused}")
    log("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="give up after this many seconds")
    sys.exit(asyncio.run(main(parser.parse_args().duration)))
