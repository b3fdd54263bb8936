"""Message history v2 against the old implementation's format, in one run.

The reference corpus of the issue: 50,000 PoUW-like messages (``msg_type`` one
of four, ``sender_id`` one of 64 workers, ``timestamp`` rising by one every 10
messages, ``data`` with ``iteration``, a 4-decimal ``loss`` and ``node``), from
``random.Random(42)``. The old format is ``pickle`` plus ``zlib`` per
1,000-message batch; ours is ``MessageHistoryCompressor`` sealing every 1,000
messages (batch bytes = header + zlib stream).

Reports, all measured here:
  * bytes: pickle+zlib level 9 against our batches (goal: at most 0.70x);
  * speed: messages per second of pickle+zlib level 6 against our
    ``add_message`` (batch sealing included), best of ``--repeat`` runs taken
    alternately, in wall time and in this thread's CPU time (the machine is
    shared; everything here runs on the calling thread);
  * reading back: ``zlib.decompress`` + ``pickle.loads`` against
    ``decompress_batch`` (dicts built in Rust).

    .venv/bin/python ffi-python/bench/history_size.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import pickle
import random
import time
import zlib
from typing import Any, Dict, List, Tuple

from pouw_netops import MessageHistoryCompressor, NetworkMessage

T0 = 1_700_000_000
TYPES = ["GRADIENT_UPDATE", "HEARTBEAT", "NEW_BLOCK", "TASK_ASSIGN"]


def corpus(n: int = 50_000, seed: int = 42) -> List[Dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "msg_type": rng.choice(TYPES),
            "sender_id": f"worker_{rng.randrange(64):03d}",
            "timestamp": T0 + i // 10,
            "data": {"iteration": i, "loss": round(rng.random(), 4), "node": rng.randrange(64)},
        }
        for i in range(n)
    ]


def chunks(msgs: List[Any], n: int = 1000) -> List[List[Any]]:
    return [msgs[i : i + n] for i in range(0, len(msgs), n)]


def best_pair(f: Any, g: Any, repeat: int) -> Tuple[Tuple[float, float], Tuple[float, float]]:
    """(wall, CPU) best times of f and of g, run alternately."""
    runs: Dict[int, List[Tuple[float, float]]] = {0: [], 1: []}
    for _ in range(repeat):
        for k, h in ((0, f), (1, g)):
            w, c = time.perf_counter(), time.thread_time()
            h()
            runs[k].append((time.perf_counter() - w, time.thread_time() - c))

    def pick(k: int) -> Tuple[float, float]:
        return (min(r[0] for r in runs[k]), min(r[1] for r in runs[k]))

    return pick(0), pick(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    msgs = corpus()
    n = len(msgs)
    batches = chunks(msgs)
    objs = [NetworkMessage(m["msg_type"], m["sender_id"], m["timestamp"], m["data"]) for m in msgs]

    raw_pickle = sum(len(pickle.dumps(b)) for b in batches)
    ref9 = sum(len(zlib.compress(pickle.dumps(b), 9)) for b in batches)
    ref6 = sum(len(zlib.compress(pickle.dumps(b), 6)) for b in batches)

    def ours_run() -> MessageHistoryCompressor:
        h = MessageHistoryCompressor("bench", compression_threshold=1000)
        add = h.add_message
        for m in objs:
            add(m, now=T0)
        return h

    h = ours_run()
    sealed = h.compressed_batches
    assert sum(b.message_count for b in sealed) == n and len(h.message_buffer) == 0
    ours = sum(len(b.header) + len(b.compressed_data) for b in sealed)
    stats = h.get_compression_stats()

    def ref_run() -> None:
        for b in batches:
            zlib.compress(pickle.dumps(b), 6)

    (t_ref, c_ref), (t_ours, c_ours) = best_pair(ref_run, ours_run, args.repeat)

    blobs = [zlib.compress(pickle.dumps(b), 6) for b in batches]

    def ref_read() -> None:
        for z in blobs:
            pickle.loads(zlib.decompress(z))

    def ours_read() -> None:
        for b in sealed:
            h.decompress_batch(b)

    assert h.decompress_batch(sealed[3]) == [dict(m, timestamp=float(m["timestamp"])) for m in batches[3]]
    (r_ref, _), (r_ours, _) = best_pair(ref_read, ours_read, args.repeat)

    print(f"corpus: {n} messages, pickle {raw_pickle:,} bytes raw, our records {stats['total_raw_bytes']:,} bytes raw")
    print(f"bytes: pickle+zlib 9 {ref9:,}  pickle+zlib 6 {ref6:,}  ours {ours:,}  ratio ours/pickle+zlib9 {ours / ref9:.3f}")
    print(
        f"speed, wall: pickle+zlib 6 {n / t_ref:,.0f} msg/s  ours add+seal {n / t_ours:,.0f} msg/s"
        f"  ratio ours/ref {t_ref / t_ours:.2f}x"
    )
    print(
        f"speed, CPU:  pickle+zlib 6 {n / c_ref:,.0f} msg/s  ours add+seal {n / c_ours:,.0f} msg/s"
        f"  ratio ours/ref {c_ref / c_ours:.2f}x"
    )
    print(
        f"read: zlib.decompress+pickle.loads {n / r_ref:,.0f} msg/s  ours decompress_batch {n / r_ours:,.0f} msg/s"
        f"  ratio {r_ref / r_ours:.2f}x"
    )


if __name__ == "__main__":
    main()
