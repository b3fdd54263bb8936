"""A cluster of ``pouw_netops.Node``\\ s on real UDP sockets, in one asyncio process.

Three supervisors and four workers each run on ``pouw_netops.aio``: a UDP
socket on 127.0.0.1 (port chosen by the OS), timers on the monotonic clock,
the hard state persisted to a file before anything is sent, evicted history
batches written to a directory, events as an async iterator. The cluster is
authenticated: one ``Authority`` issues every node a certificate for its own
fresh identity key, so every datagram is MAC'd or signed and anything else is
refused. The script waits for a leader, submits a task, kills one of its
primary workers (the leader moves its role to the backup), then kills the
leader (the other supervisors elect a new one), and exits by itself: status 0
when all of that was seen within ``--duration`` seconds, 1 otherwise.

    python examples/python/udp_cluster.py [--duration 30] [--state-dir DIR] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from typing import Callable, Dict, List, Tuple

from pouw_netops import Node, NodeEvent, aio
from pouw_netops.identity import Authority, generate_key, public_key
from pouw_netops.node import LeaderElected, WorkerReplaced

SUPERVISORS = ["s1", "s2", "s3"]
WORKERS = ["w1", "w2", "w3", "w4"]
# Faster than the defaults so the demonstration takes seconds, not minutes. The
# detector's acceptable pause and first estimate follow the short heartbeats:
# with the defaults (3 s and 1 s) a silent worker is noticed after ~7 s.
HEARTBEAT = 0.2

log = logging.getLogger("udp_cluster")


def make_node(authority: Authority, node_id: str, epoch: int, seed: int) -> Node:
    """A node with a fresh identity key and a one-hour certificate from ``authority``."""
    role = "supervisor" if node_id in SUPERVISORS else "worker"
    unix = int(time.time())  # certificate validity is in UNIX seconds
    identity = generate_key()
    certificate = authority.issue(
        node_id,
        role,
        identity_public=public_key(identity),
        slots=0 if role == "supervisor" else 1,
        pools=() if role == "supervisor" else ("train",),
        not_before=unix - 60,
        not_after=unix + 3600,
    )
    # ``now`` is time.monotonic() throughout (aio's clock); Node's default
    # ``unix_at_zero`` maps it to UNIX time for the certificate checks.
    return Node(
        node_id,
        role,
        SUPERVISORS,
        identity=identity,
        certificate=certificate,
        authority=authority.public_key,
        epoch=epoch,
        seed=seed,
        heartbeat_interval=HEARTBEAT,
        sweep_interval=0.1,
        election_timeout=0.6,
        election_heartbeat_interval=0.1,
        acceptable_heartbeat_pause=0.4,
        first_heartbeat_estimate=HEARTBEAT,
        min_std_deviation=0.05,
    )


async def main(duration: float, state_dir: str) -> int:
    deadline = time.monotonic() + duration
    peers: Dict[str, Tuple[str, int]] = {}
    runners: Dict[str, aio.NodeRunner] = {}
    # The cluster's authority, for this run only; a real cluster keeps its seed
    # offline and hands each node its identity key and certificate.
    authority = Authority()
    for i, nid in enumerate(SUPERVISORS + WORKERS):
        node_dir = f"{state_dir}/{nid}"
        # The boot epoch grows with every start and is on disk before anything is sent.
        node = make_node(authority, nid, aio.next_epoch(node_dir), seed=i + 1)
        runners[nid] = await aio.serve(node, ("127.0.0.1", 0), peers, state_dir=node_dir, archive_dir=f"{node_dir}/archive")
        peers[nid] = runners[nid].address
    log.info("nodes: %s", ", ".join(f"{n}@{a[1]}" for n, a in peers.items()))

    seen: List[NodeEvent] = []

    async def collect(nid: str, runner: aio.NodeRunner) -> None:
        async for e in runner.events():
            seen.append(e)
            if isinstance(e, (LeaderElected, WorkerReplaced)):
                log.info("%s sees %s of %s: %s", nid, e.kind, e.node, e.details)

    collectors = [asyncio.create_task(collect(n, r)) for n, r in runners.items()]

    async def wait_for(cond: Callable[[], bool], what: str) -> bool:
        while not cond():
            if time.monotonic() > deadline:
                log.error("TIMEOUT waiting for %s", what)
                return False
            await asyncio.sleep(0.05)
        return True

    def assigned(node: Node) -> bool:
        placed = node.task_workers("t1")
        return placed is not None and len(placed[0]) == 2 and len(placed[1]) == 1

    ok = await wait_for(lambda: aio.agreed_leader(runners) is not None, "a leader")
    first = aio.agreed_leader(runners)
    victim = ""
    if ok and first is not None:
        log.info("LEADER %s", first)
        lead = runners[first].node
        lead.submit_task(time.monotonic(), "t1", "train", 2, 1)
        ok = await wait_for(lambda: assigned(lead), "the task to be assigned")
        placed = lead.task_workers("t1")
        if ok and placed is not None:
            primaries, backups = placed
            log.info("ASSIGNED t1 primaries=%s backups=%s", primaries, backups)
            victim = primaries[0]
            log.info("KILL worker %s", victim)
            runners[victim].abort()
            ok = await wait_for(
                lambda: any(isinstance(e, WorkerReplaced) and e.node == victim for e in seen), "the worker failover"
            )
    if ok and first is not None:
        r = next(e for e in seen if isinstance(e, WorkerReplaced) and e.node == victim)
        assert isinstance(r, WorkerReplaced)
        log.info("FAILOVER %s -> %s (task %s)", victim, r.replacement, r.task)
        log.info("KILL leader %s", first)
        runners[first].abort()
        ok = await wait_for(lambda: aio.agreed_leader(runners) not in (None, first), "a new leader")
    if ok:
        log.info("RE-ELECTED %s", aio.agreed_leader(runners))
    for runner in runners.values():
        await runner.close()
    await asyncio.gather(*collectors)
    log.info("refused datagrams: %d", sum(r.refused for r in runners.values()))
    log.info("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="give up after this many seconds")
    parser.add_argument("--state-dir", help="where nodes keep their state (default: a temporary directory)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the nodes' own messages too")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stdout, format="[%(asctime)s] %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("pouw_netops").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    if args.state_dir:
        sys.exit(asyncio.run(main(args.duration, args.state_dir)))
    with tempfile.TemporaryDirectory(prefix="udp_cluster.") as tmp:
        sys.exit(asyncio.run(main(args.duration, tmp)))
