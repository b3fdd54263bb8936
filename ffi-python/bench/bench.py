"""Per-call cost of the Python API, measured from Python with ``timeit``.

Run against the installed package (see BENCHMARKS.md for the exact command):

    python ffi-python/bench/bench.py

Each figure is the median over repeated runs of the mean cost of one call in a
run of many calls, Python loop overhead included (so the figures are an upper
bound). ``update_node_health`` runs sweep all 1000 tracked nodes once each.
``add_message`` runs add 1000 messages each (a batch is sealed every 1000, so
compression is included); ``search_messages`` searches 50,000 messages (50
batches) for a 0.2 % time window, about 100 results; ``join_mesh`` runs join
1000 nodes each into a fresh manager. Goals come from the issue.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import timeit

import pouw_netops
from pouw_netops.identity import Authority, public_key
from pouw_netops.wire import decode_sealed
from pouw_netops import (
    CrashRecoveryManager,
    MessageHistoryCompressor,
    NetworkMessage,
    NodeHealthMetrics,
    PhiAccrualDetector,
    VPNMeshTopologyManager,
)

REPEAT = 15
T0 = 1_700_000_000.0
NODES = 1000
MESSAGES = 50_000


def per_call(fn, number: int, repeat: int = REPEAT) -> float:
    """Median seconds per call of ``fn`` (called ``number`` times per run)."""
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(runs) / number


def metrics(node: str) -> NodeHealthMetrics:
    return NodeHealthMetrics(node, T0, 0.05, 0.99, 0.95, 0.3, 0.4, 0.5)


def cluster() -> tuple[CrashRecoveryManager, list[str]]:
    m = CrashRecoveryManager("bench")
    ids = [f"worker-{i:04d}" for i in range(NODES)]
    for k in range(5):
        for n in ids:
            m.update_node_health(n, metrics(n), now=T0 + k)
    return m, ids


def main() -> None:
    rows = []

    # Each run updates every node once, in a fixed order, at increasing times.
    m, ids = cluster()
    hms = [metrics(n) for n in ids]
    rounds = itertools.count(5)

    def update_explicit() -> None:
        upd = m.update_node_health
        base = T0 + next(rounds)
        for i, (n, hm) in enumerate(zip(ids, hms)):
            upd(n, hm, now=base + i * 1e-4)

    rows.append(("update_node_health (now=…, 1000 nodes tracked)", per_call(update_explicit, 1, repeat=101) / NODES, 3e-6))

    m2, _ = cluster()

    def update_clock() -> None:
        upd = m2.update_node_health
        for n, hm in zip(ids, hms):
            upd(n, hm)

    rows.append(("update_node_health (now=None: wall clock)", per_call(update_clock, 1, repeat=101) / NODES, 3e-6))

    # One node over and over, the harness's counter and arithmetic included.
    m4, _ = cluster()
    hm = hms[1]
    ticks4 = itertools.count()
    rows.append(
        (
            "update_node_health (one node repeatedly, now=…)",
            per_call(lambda: m4.update_node_health("worker-0001", hm, now=T0 + 5 + next(ticks4) * 1e-3), 20_000),
            3e-6,
        )
    )

    m3, _ = cluster()
    rows.append(("detect_crashes over 1000 nodes (none crashed)", per_call(lambda: m3.detect_crashes(now=T0 + 4.5), 2_000), 100e-6))

    d = PhiAccrualDetector()
    ticks = itertools.count()
    rows.append(("PhiAccrualDetector.heartbeat", per_call(lambda: d.heartbeat(T0 + next(ticks)), 50_000), None))
    rows.append(("PhiAccrualDetector.phi", per_call(lambda: d.phi(T0 + 1e6), 50_000), None))

    # Message history: PoUW-like messages, one per 10 ms, from 64 senders.
    kinds = ["gradient_update", "heartbeat", "task_assignment", "new_block"]
    msgs = [
        NetworkMessage(kinds[i % 4], f"worker-{i % 64:02d}", T0 + i * 0.01, {"iteration": i, "loss": 1.0 / (i + 1)})
        for i in range(MESSAGES)
    ]
    h = MessageHistoryCompressor("bench")
    chunks = itertools.cycle(range(0, MESSAGES, 1000))

    def add_run() -> None:
        add = h.add_message
        start = next(chunks)
        for msg in msgs[start : start + 1000]:
            add(msg, now=T0)

    # Fill the history with the 50,000 messages once (the first 50 runs), then time.
    for _ in range(MESSAGES // 1000):
        add_run()
    rows.append(("add_message (1000 per run, sealing included)", per_call(add_run, 1, repeat=31) / 1000, 3e-6))

    s = MessageHistoryCompressor("bench")
    for msg in msgs:
        s.add_message(msg, now=T0)
    span = MESSAGES * 0.01
    window = span * 0.002
    starts = itertools.cycle([T0 + span * k / 97 for k in range(90)])
    found = len(s.search_messages(T0 + span / 2, T0 + span / 2 + window))

    def search() -> None:
        a = next(starts)
        s.search_messages(a, a + window)

    rows.append((f"search_messages over 50,000 messages, 0.2 % window ({found} results)", per_call(search, 20), 5e-3))

    infos = [{"node_id": f"node-{i:04d}"} for i in range(1000)]

    def join_run() -> None:
        v = VPNMeshTopologyManager("node-0000")
        join = v.join_mesh
        for info in infos:
            join(info, now=T0)

    join_run()
    t_join = per_call(join_run, 1, repeat=15) / 1000
    t_new = per_call(lambda: VPNMeshTopologyManager("node-0000"), 1, repeat=15) / 1000
    rows.append(("join_mesh (1000 joins into a fresh manager)", t_join - t_new, 5e-6))

    # Sans-IO Node: a supervisor handling a worker's heartbeat datagram (MAC check,
    # replay window, history recording and the follow-up coordination included),
    # then draining its output. Each call gets a fresh datagram: the same one
    # twice is a replay and refused.
    authority = Authority(bytes(32))

    def node(node_id: str, role: str) -> pouw_netops.Node:
        seed = bytes([len(node_id)]) + node_id.encode().ljust(31, b"\0")
        cert = authority.issue(
            node_id,
            role,
            identity_public=public_key(seed),
            slots=1 if role == "worker" else 0,
            pools=("train",) if role == "worker" else (),
            not_before=int(T0) - 60,
            not_after=int(T0) + 86_400,
        )
        return pouw_netops.Node(
            node_id,
            role,
            ["s1"],
            identity=seed,
            certificate=cert,
            authority=authority.public_key,
            epoch=1,
            unix_at_zero=0,
            heartbeat_interval=0.01,
        )

    sup, wrk = node("s1", "supervisor"), node("w1", "worker")
    sup.start(T0)
    wrk.start(T0)
    pair = {"s1": sup, "w1": wrk}
    moved = True
    while moved:  # both admit each other
        moved = False
        for n in pair.values():
            while n.poll_hard_state() is not None:
                pass
            while (t := n.poll_transmit()) is not None:
                pair[t[0]].handle_message(T0, t[1])
                moved = True
            while n.poll_event() is not None:
                pass
    beats = []
    now = T0
    while len(beats) < 20_000 * REPEAT:
        now += 0.01
        wrk.tick(now)
        while (t := wrk.poll_transmit()) is not None:
            if decode_sealed(t[1])["kind"] == "heartbeat":
                beats.append(t[1])
        while wrk.poll_event() is not None:
            pass
    next_beat = iter(beats).__next__
    hticks = itertools.count(1)

    def node_handle() -> None:
        sup.handle_message(T0 + 1.0 + next(hticks) * 1e-3, next_beat())
        while sup.poll_transmit() is not None:
            pass
        while sup.poll_event() is not None:
            pass

    rows.append(("Node.handle_message (worker heartbeat at a supervisor, output drained)", per_call(node_handle, 20_000), None))

    print(f"pouw_netops {pouw_netops.__version__}, Python {sys.version.split()[0]}")
    print()
    print("| call | median per call | goal |")
    print("|---|---:|---:|")
    for name, secs, goal in rows:
        goal_text = "–" if goal is None else f"≤ {goal * 1e6:g} µs"
        verdict = "" if goal is None else (" ✓" if secs <= goal else " ✗ (missed)")
        print(f"| `{name}` | {secs * 1e6:.2f} µs | {goal_text}{verdict} |")


if __name__ == "__main__":
    main()
