"""``WorkerReplacementManager`` against the old API's shapes and a reference
model of assignment and failover among equally healthy one-slot workers."""

from __future__ import annotations

import random
from typing import Dict, List, Optional, Set, Tuple

import pytest

from pouw_netops import (
    CapacityError,
    InsufficientWorkersError,
    InvalidArgumentError,
    InvalidStateError,
    NetOpsError,
    NotFoundError,
    WorkerReplacementManager,
)

T0 = 1_700_000_000.0


def test_assignment_shapes_and_attributes():
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w3", "w1", "w2", "w4", "w5"])
    assert m.worker_pools == {"train": ["w3", "w1", "w2", "w4", "w5"]}
    primaries, backups = m.assign_workers_to_task("t1", "train", 2, now=T0)
    assert (primaries, backups) == (["w1", "w2"], ["w3", "w4"])
    assert m.worker_assignments == {"w1": "t1", "w2": "t1"}
    assert m.backup_workers == {"t1": ["w3", "w4"]}
    stats = m.get_worker_utilization_stats(now=T0)
    assert stats == {
        "total_workers": 5,
        "assigned_workers": 2,
        "backup_workers": 2,
        "utilization_rate": 4 / 5,
        "active_tasks": 1,
        "recent_replacements": 0,
    }


def test_refused_assignments_raise_by_kind_and_change_nothing():
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w1", "w2"])
    with pytest.raises(InsufficientWorkersError) as info:  # too few free workers
        m.assign_workers_to_task("t1", "train", 3)
    assert info.value.kind == "capacity_exceeded"
    assert isinstance(info.value, CapacityError) and isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match=r"^No worker pool found for task type: infer$") as lookup:
        m.assign_workers_to_task("t1", "infer", 1)  # no such pool
    assert isinstance(lookup.value, NotFoundError) and isinstance(lookup.value, LookupError)
    assert lookup.value.kind == "not_found"
    assert m.worker_assignments == {} and m.backup_workers == {}
    with pytest.raises(ValueError):
        m.assign_workers_to_task("t1", "train", 0, 0)  # no primaries
    m.assign_workers_to_task("t1", "train", 1, 0)
    with pytest.raises(InvalidStateError):
        m.assign_workers_to_task("t1", "train", 1, 0)  # already assigned
    with pytest.raises(InvalidArgumentError):
        m.register_worker_pool("train", [""])  # an empty id


def test_failover_promotes_a_backup_and_quarantines_the_failed_worker():
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w1", "w2", "w3", "w4"])
    m.assign_workers_to_task("t1", "train", 1, 2, now=T0)  # w1 | w2 w3
    assert m.replace_failed_worker("w1", "t1", now=T0 + 1) == "w2"
    assert m.worker_assignments == {"w2": "t1"}
    assert m.backup_workers == {"t1": ["w3", "w4"]}, "the pool refills the backups"
    (record,) = m.replacement_history
    assert record == {
        "timestamp": T0 + 1,
        "task_id": "t1",
        "failed_worker": "w1",
        "replacement_worker": "w2",
        "remaining_backups": 2,
    }
    assert m.get_worker_utilization_stats(now=T0 + 2)["recent_replacements"] == 1
    assert m.get_worker_utilization_stats(now=T0 + 3601 + 60)["recent_replacements"] == 0
    # w1 is quarantined: not given new work until it recovers.
    m.release_task_workers("t1")
    assert m.assign_workers_to_task("t2", "train", 3, 0, now=T0 + 3) == (["w2", "w3", "w4"], [])
    m.release_task_workers("t2")
    m.recover_worker("w1", now=T0 + 4)
    assert m.assign_workers_to_task("t3", "train", 1, 0, now=T0 + 5) == (["w1"], [])


def test_replace_unknown_returns_none_and_release_unknown_is_silent():
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w1"])
    assert m.replace_failed_worker("w1", "nope") is None
    assert m.replace_failed_worker("ghost", "nope") is None
    m.release_task_workers("nope")


def test_re_registering_a_pool_replaces_its_members():
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w1", "w2", "w3"])
    m.register_worker_pool("train", ["w3", "w4"])
    # The core's table order: w1 and w2 are forgotten and w4 takes a freed place.
    assert m.worker_pools == {"train": ["w4", "w3"]}
    assert m.assign_workers_to_task("t", "train", 2, 0) == (["w3", "w4"], [])
    m.register_worker_pool("infer", ["w4"])
    m.register_worker_pool("train", ["w3"])
    assert m.worker_pools == {"train": ["w3"], "infer": ["w4"]}, "w4 stays in the pool it is still listed for"


class PoolModel:
    """The old API's semantics with the core's rules for equal workers: one
    slot each (a backup holds it too), the lowest free id first, a failed
    worker quarantined, a failed primary replaced by its lowest-id backup (else
    the lowest free pool worker), backups refilled from the pool."""

    def __init__(self, pool: List[str]) -> None:
        self.pool = pool
        self.busy: Dict[str, str] = {}
        self.quarantined: Set[str] = set()
        self.tasks: Dict[str, Tuple[List[str], List[str], int]] = {}

    def free(self, n: int) -> List[str]:
        return sorted(w for w in self.pool if w not in self.busy and w not in self.quarantined)[:n]

    def assign(self, task: str, required: int, backups: int) -> Optional[Tuple[List[str], List[str]]]:
        # The old API: nothing unless required + backups workers are free.
        if task in self.tasks or len(self.free(required + backups)) < required + backups:
            return None
        p = self.free(required)
        for w in p:
            self.busy[w] = task
        b = self.free(backups)
        for w in b:
            self.busy[w] = task
        self.tasks[task] = (p, b, backups)
        return list(p), list(b)

    def release(self, task: str) -> None:
        p, b, _ = self.tasks.pop(task, ([], [], 0))
        for w in p + b:
            del self.busy[w]

    def replace(self, failed: str, task: str) -> Optional[str]:
        if task not in self.tasks or failed not in self.pool:
            return None
        p, b, wanted = self.tasks[task]
        if failed not in p and failed not in b:
            return None
        self.quarantined.add(failed)
        del self.busy[failed]
        new: Optional[str] = None
        if failed in p:
            i = p.index(failed)
            if b:
                new = min(b)
                b.remove(new)
            elif self.free(1):
                new = self.free(1)[0]
                self.busy[new] = task
            if new is None:
                p.pop(i)
            else:
                p[i] = new
        else:
            b.remove(failed)
        while len(b) < wanted and self.free(1):
            w = self.free(1)[0]
            self.busy[w] = task
            b.append(w)
            if new is None and failed not in p:
                new = w
        return new


@pytest.mark.parametrize("seed", range(30))
def test_assignment_and_failover_follow_the_reference_model(seed):
    rng = random.Random(seed)
    pool = [f"w{i:02d}" for i in range(rng.randint(3, 12))]
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", pool)
    ref = PoolModel(pool)
    t = T0
    for step in range(80):
        t += 1
        op = rng.random()
        task = f"t{rng.randint(0, 4)}"
        if op < 0.4:
            req, bk = rng.randint(1, 3), rng.randint(0, 2)
            want = ref.assign(task, req, bk)
            try:
                got: Optional[Tuple[List[str], List[str]]] = m.assign_workers_to_task(task, "train", req, bk, now=t)
            except (ValueError, CapacityError):
                got = None
            assert got == want, (seed, step)
        elif op < 0.6:
            ref.release(task)
            m.release_task_workers(task)
        else:
            failed = rng.choice(pool)
            assert m.replace_failed_worker(failed, task, now=t) == ref.replace(failed, task), (seed, step)
        assert m.worker_assignments == {w: k for k, (p, _, _) in ref.tasks.items() for w in p}, (seed, step)
        assert m.backup_workers == {k: b for k, (_, b, _) in ref.tasks.items()}, (seed, step)


def test_capacity_error_is_not_a_value_error():
    assert not issubclass(CapacityError, ValueError)
