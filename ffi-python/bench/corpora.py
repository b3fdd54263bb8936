"""``add_message`` and reading back, on both PoUW corpora, in one run.

    python ffi-python/bench/corpora.py [--repeat 5] [--wall]

``floor``: ``floor.py``'s corpus (a counter, ``1/(i+1)`` to 17 digits, a task
name and an 8-hex-digit hash: the columnar body stays about 0.76 of raw).
``issue``: ``history_size.py``'s generator (``iteration``, a 4-decimal
``loss``, ``node``: about 6 body bytes per message). For each: the cost of one
``add_message`` over 50,000 messages sealed every 1,000 at zlib level 6 and 1,
over 20,000 into a history that never seals, and reading the 50 batches back
to dicts (``decompress_batch``) against ``pickle.loads`` of the same dicts.
Each figure is the best of ``--repeat`` runs, in this thread's CPU time (or
wall time with ``--wall``), with the garbage collector off as in ``timeit``.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import random
import time
from typing import Callable, List

from pouw_netops import MessageHistoryCompressor, NetworkMessage

T0 = 1_700_000_000.0


def floor_corpus(n: int = 50_000) -> List[NetworkMessage]:
    kinds = ["gradient_update", "heartbeat", "task_assignment", "new_block"]
    return [
        NetworkMessage(
            kinds[i % 4],
            f"worker-{i % 64:02d}",
            T0 + i * 0.01,
            {"iteration": i, "loss": 1.0 / (i + 1), "task_id": f"task-{i % 8}", "gradient_hash": f"{i * 2654435761 % 2**32:08x}"},
        )
        for i in range(n)
    ]


def issue_corpus(n: int = 50_000) -> List[NetworkMessage]:
    rng = random.Random(42)
    types = ["GRADIENT_UPDATE", "HEARTBEAT", "NEW_BLOCK", "TASK_ASSIGN"]
    return [
        NetworkMessage(
            rng.choice(types),
            f"worker_{rng.randrange(64):03d}",
            T0 + i // 10,
            {"iteration": i, "loss": round(rng.random(), 4), "node": rng.randrange(64)},
        )
        for i in range(n)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--wall", action="store_true")
    args = ap.parse_args()
    clock: Callable[[], float] = time.perf_counter if args.wall else time.thread_time
    gc.disable()

    def best(f: Callable[[], object]) -> float:
        runs = []
        for _ in range(args.repeat):
            t = clock()
            f()
            runs.append(clock() - t)
        return min(runs)

    print(f"{'wall' if args.wall else 'thread CPU'} time, best of {args.repeat}")
    for name, msgs in (("floor", floor_corpus()), ("issue", issue_corpus())):

        def adds(level: int, seal: bool = True) -> None:
            kw = {} if seal else {"compression_threshold": 10**6, "max_batch_size": 10**6}
            add = MessageHistoryCompressor("b", compression_level=level, **kw).add_message
            for m in msgs if seal else msgs[:20_000]:
                add(m, now=T0)

        a6 = best(lambda: adds(6)) / len(msgs)
        a1 = best(lambda: adds(1)) / len(msgs)
        a0 = best(lambda: adds(6, seal=False)) / 20_000
        h = MessageHistoryCompressor("r")
        for m in msgs:
            h.add_message(m, now=T0)
        batches = list(h.compressed_batches)
        pickles = [pickle.dumps(h.decompress_batch(b)) for b in batches]
        read = best(lambda: [h.decompress_batch(b) for b in batches])
        unpickle = best(lambda: [pickle.loads(p) for p in pickles])
        print(
            f"{name}: add_message level 6 {a6 * 1e9:.0f} ns, level 1 {a1 * 1e9:.0f} ns, without sealing {a0 * 1e9:.0f} ns; "
            f"read 50 batches {read * 1e3:.1f} ms, pickle.loads {unpickle * 1e3:.1f} ms ({read / unpickle:.2f}x)"
        )


if __name__ == "__main__":
    main()
