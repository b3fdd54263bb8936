"""The hot calls of the old API against the floor: a no-op native method
call (``_native.Noop().call(a, b, now=t)``) measured in the same run.

    python ffi-python/bench/floor.py [--cpu]

Each figure is the median over repeated ``timeit`` runs of the mean cost of
one call, the loop and the argument expressions included (the floor pays the
same). Goals: ``request_vote``, ``receive_heartbeat`` and
``heartbeat`` at most 3x the floor; ``update_node_health`` with a freshly
built ``NodeHealthMetrics`` at most 1 us; ``add_message`` of a PoUW-sized
message at most 1 us with sealing included; reading 50,000 archived messages
back to dicts no slower than ``pickle.loads`` of the same dicts.

Rows with an absolute goal are timed in alternation with a no-op native call
(``noop("n", now=t)``), reported as their floor: absolute times scale with the
machine's load, and the floor tells by how much (about 0.1 us when quiet).
"""

from __future__ import annotations

import itertools
import os
import pickle
import statistics
import sys
import time
import timeit
import zlib
from typing import Any, Callable, List, Optional, Tuple

import pouw_netops
from pouw_netops import (
    CrashRecoveryManager,
    LeaderElectionManager,
    MessageHistoryCompressor,
    NetworkMessage,
    NodeHealthMetrics,
    _native,
)

T0 = 1_700_000_000.0
REPEAT = 21
# `--cpu`: time in this thread's CPU time instead of wall time. On a loaded
# machine wall time counts the time other processes hold the core; CPU time
# does not (it still pays for their cache pollution).
TIMER = time.thread_time if "--cpu" in sys.argv else timeit.default_timer


def per_call(stmt: Callable[[], Any], number: int, repeat: int = REPEAT) -> float:
    return statistics.median(timeit.repeat(stmt, number=number, repeat=repeat, timer=TIMER)) / number


def main() -> None:
    # (name, seconds, floor seconds or None, goal)
    rows: List[Tuple[str, float, Optional[float], Optional[str]]] = []
    noop = _native.Noop().call

    def pair(name: str, make: Callable[[Callable[..., Any]], Callable[[], Any]], number: int) -> None:
        """Times ``make(real)`` and ``make(noop)`` in alternating runs (so load
        changes hit both alike): the same argument expressions, the same loop,
        only the callee differs. Medians of each."""
        real_stmt, floor_stmt = make(real_fn[0]), make(noop)
        reals, floors = [], []
        for _ in range(REPEAT):
            reals.append(timeit.timeit(real_stmt, number=number // 4, timer=TIMER) / (number // 4))
            floors.append(timeit.timeit(floor_stmt, number=number // 4, timer=TIMER) / (number // 4))
        rows.append((name, statistics.median(reals), statistics.median(floors), "3x"))

    real_fn: List[Callable[..., Any]] = [noop]

    def timed(name: str, stmt: Callable[[], Any], number: int, goal: Optional[str], repeat: int = REPEAT) -> float:
        """Times ``stmt`` for a goal in absolute time, alternating run by run
        with one no-op native call (``noop("n", now=T0)``), whose median is
        reported as the row's floor: the load figure to scale the absolute
        time by (about 0.1 us on a quiet machine)."""
        floor_stmt = lambda: noop("n", now=T0)  # noqa: E731
        reals, floors = [], []
        for _ in range(repeat):
            reals.append(timeit.timeit(stmt, number=number // 4, timer=TIMER) / (number // 4))
            floors.append(timeit.timeit(floor_stmt, number=number // 4, timer=TIMER) / (number // 4))
        secs = statistics.median(reals)
        rows.append((name, secs, statistics.median(floors), goal))
        return secs

    # request_vote: a follower granting ever-newer terms (each call a real grant).
    e = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    terms = itertools.count(1)
    real_fn[0] = e.request_vote
    pair("request_vote (grant, new term each call)", lambda f: lambda: f("s2", next(terms), now=T0), 200_000)
    real_fn[0] = e.request_vote
    pair("request_vote (from itself: refused, no exception)", lambda f: lambda: f("s1", 1, now=T0), 200_000)
    # receive_heartbeat: a follower hearing its leader of the current term.
    fol = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    fol.receive_heartbeat("s2", 1, now=T0)
    hticks = itertools.count()
    real_fn[0] = fol.receive_heartbeat
    pair("receive_heartbeat (leader of the current term)", lambda f: lambda: f("s2", 1, now=T0 + next(hticks) * 1e-3), 200_000)
    # LeaderElectionManager.heartbeat: a leader's timer round (the floor gets one
    # positional argument more: Noop needs one).
    lead = LeaderElectionManager("s1", ["s1"], now=T0)
    lead.start_election(now=T0)
    lticks = itertools.count()
    reals, floors = [], []
    for _ in range(REPEAT):
        reals.append(timeit.timeit(lambda: lead.heartbeat(now=T0 + next(lticks) * 1e-3), number=50_000, timer=TIMER) / 50_000)
        floors.append(timeit.timeit(lambda: noop(None, now=T0 + next(lticks) * 1e-3), number=50_000, timer=TIMER) / 50_000)
    rows.append(("LeaderElectionManager.heartbeat (leader's timer round)", statistics.median(reals), statistics.median(floors), "3x"))
    # CrashRecoveryManager.heartbeat: round robin over 1000 tracked nodes.
    m = CrashRecoveryManager("bench")
    ids = [f"worker-{i:04d}" for i in range(1000)]
    for k in range(3):
        for n in ids:
            m.heartbeat(n, now=T0 + k)
    cyc = itertools.cycle(ids).__next__
    bticks = itertools.count()
    real_fn[0] = m.heartbeat
    pair("CrashRecoveryManager.heartbeat (1000 tracked)", lambda f: lambda: f(cyc(), now=T0 + 3 + next(bticks) * 1e-4), 200_000)

    # update_node_health with a freshly built NodeHealthMetrics each call.
    uticks = itertools.count()

    def update() -> None:
        n = cyc()
        m.update_node_health(n, NodeHealthMetrics(n, T0, 0.05, 0.99, 0.95, 0.3, 0.4, 0.5), now=T0 + 10 + next(uticks) * 1e-4)

    timed("update_node_health (fresh NodeHealthMetrics built in the call)", update, 100_000, "1us")
    timed(
        "  of which: NodeHealthMetrics(...) alone",
        lambda: NodeHealthMetrics("n", T0, 0.05, 0.99, 0.95, 0.3, 0.4, 0.5),
        100_000,
        None,
    )

    # add_message of PoUW-sized messages (gradient updates), sealing every 1000 included.
    kinds = ["gradient_update", "heartbeat", "task_assignment", "new_block"]
    msgs = [
        NetworkMessage(
            kinds[i % 4],
            f"worker-{i % 64:02d}",
            T0 + i * 0.01,
            {"iteration": i, "loss": 1.0 / (i + 1), "task_id": f"task-{i % 8}", "gradient_hash": f"{i * 2654435761 % 2**32:08x}"},
        )
        for i in range(50_000)
    ]
    for level in (6, 1):
        h = MessageHistoryCompressor("bench", compression_level=level)
        nxt = itertools.cycle(msgs).__next__
        timed(
            f"add_message (PoUW-sized, sealing every 1000 included, zlib level {level})",
            lambda: h.add_message(nxt(), now=T0),
            50_000,
            "1us",
            repeat=11,
        )
    # The same adds into a history that never seals (10,000 messages, under the 4 MiB batch cap).
    def adds_only() -> float:
        hq = MessageHistoryCompressor("bench", compression_threshold=10**6, max_batch_size=10**6)
        add = hq.add_message
        batch = msgs[:10_000]
        start = TIMER()
        for msg in batch:
            add(msg, now=T0)
        return (TIMER() - start) / len(batch)

    rows.append(("  of which: add_message without sealing", statistics.median(adds_only() for _ in range(7)), None, None))

    # Reading archived history back: 50,000 messages in 50 batches, to dicts,
    # against pickle.loads of the same dicts (pickled per batch, as the old API stored them).
    full = MessageHistoryCompressor("read")
    for msg in msgs:
        full.add_message(msg, now=T0)
    batches = full.compressed_batches
    assert sum(b.message_count for b in batches) == 50_000
    dicts = [full.decompress_batch(b) for b in batches]
    pickles = [pickle.dumps(d) for d in dicts]
    decode = full.decompress_batch
    t_ours = per_call(lambda: [decode(b) for b in batches], 1, repeat=11)
    t_pickle = per_call(lambda: [pickle.loads(p) for p in pickles], 1, repeat=11)
    rows.append(("read 50,000 archived messages to dicts (decompress_batch x50, checked)", t_ours, None, None))
    rows.append(("pickle.loads of the same 50,000 dicts (x50)", t_pickle, None, None))
    # What the old API's decompress_batch did: zlib.decompress, then pickle.loads.
    zpickles = [zlib.compress(p, 6) for p in pickles]
    t_old = per_call(lambda: [pickle.loads(zlib.decompress(z)) for z in zpickles], 1, repeat=11)
    rows.append(("zlib.decompress + pickle.loads (the old API's read) (x50)", t_old, None, None))

    clock = "thread CPU time" if TIMER is not timeit.default_timer else "wall time"
    print(f"pouw_netops {pouw_netops.__version__}, Python {sys.version.split()[0]}, {clock}, load average {os.getloadavg()}")
    print()
    print("| call | median per call | floor (same args, no-op native) | × floor | goal |")
    print("|---|---:|---:|---:|---|")
    for name, secs, floor, goal in rows:
        if goal == "3x" and floor is not None:
            verdict = f"≤ 3× floor {'✅' if secs <= 3 * floor else '❌'}"
        elif goal == "1us":
            verdict = f"≤ 1 µs {'✅' if secs <= 1e-6 else '❌'}"
        else:
            verdict = "–"
        unit = f"{secs * 1e3:.1f} ms" if secs > 1e-3 else f"{secs * 1e9:.0f} ns"
        f_text = "–" if floor is None else f"{floor * 1e9:.0f} ns"
        ratio = "–" if floor is None else f"{secs / floor:.2f}"
        print(f"| `{name}` | {unit} | {f_text} | {ratio} | {verdict} |")
    print()
    print(f"archived read / pickle.loads: {t_ours / t_pickle:.2f} (goal ≤ 1.00 {'✅' if t_ours <= t_pickle else '❌'})")
    print(f"archived read / (zlib.decompress + pickle.loads): {t_ours / t_old:.2f}")


if __name__ == "__main__":
    main()
