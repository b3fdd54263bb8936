"""The old API's classes are native classes under their old names, and still
behave as Python classes do: subclassable with any ``__init__``, extra
attributes, weak references, cycles collected, log records as before, and
no Python frame on the hot calls."""

from __future__ import annotations

import gc
import inspect
import logging
import sys
import weakref
from typing import Any, Callable, Dict, List, Tuple

import pytest

import pouw_netops
from pouw_netops import (
    CrashRecoveryManager,
    InvalidStateError,
    LeaderElectionManager,
    MessageHistoryCompressor,
    NetworkMessage,
    NetworkOperationsManager,
    NodeHealthMetrics,
    VPNMeshTopologyManager,
    WorkerReplacementManager,
    _native,
)

T0 = 1_700_000_000.0

# Each class with the arguments of a plain instance.
CLASSES: List[Tuple[type, Tuple[Any, ...]]] = [
    (LeaderElectionManager, ("s1", ["s1", "s2", "s3"])),
    (CrashRecoveryManager, ("me",)),
    (MessageHistoryCompressor, ("me",)),
    (WorkerReplacementManager, ("me",)),
    (VPNMeshTopologyManager, ("me",)),
    (NetworkOperationsManager, ("s1", "supervisor", ["s1"])),
]


@pytest.mark.parametrize("cls", [c for c, _ in CLASSES], ids=lambda c: c.__name__)
def test_the_public_name_binds_the_native_class(cls: type) -> None:
    assert getattr(_native, cls.__name__) is cls
    assert getattr(pouw_netops, cls.__name__) is cls
    assert cls.__module__ == "pouw_netops"
    assert cls.__doc__ and inspect.signature(cls).parameters


@pytest.mark.parametrize("cls, args", CLASSES, ids=lambda c: getattr(c, "__name__", ""))
def test_a_subclass_with_its_own_init_and_attributes(cls: type, args: Tuple[Any, ...]) -> None:
    class Mine(cls):  # type: ignore[valid-type,misc]
        def __init__(self, label: str) -> None:
            super().__init__(*args)
            self.label = label

    m = Mine("x")
    assert m.label == "x" and isinstance(m, cls)
    assert repr(m).startswith(cls.__name__ + "(")
    ref = weakref.ref(m)
    m.me = m  # a cycle through the instance's __dict__
    m.node_id = m  # and through a native field
    del m
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize(
    "cls, call",
    [
        (LeaderElectionManager, lambda m: m.request_vote("s2", 1, now=T0)),
        (CrashRecoveryManager, lambda m: m.heartbeat("n", now=T0)),
        (MessageHistoryCompressor, lambda m: m.add_message(NetworkMessage("t", "s", T0, {}), now=T0)),
        (WorkerReplacementManager, lambda m: m.task_workers("t")),
        (VPNMeshTopologyManager, lambda m: m.leave_mesh("n", now=T0)),
    ],
    ids=lambda c: getattr(c, "__name__", ""),
)
def test_a_subclass_that_skips_init_gets_invalid_state(cls: type, call: Callable[[Any], Any]) -> None:
    class Lazy(cls):  # type: ignore[valid-type,misc]
        def __init__(self) -> None:
            pass

    with pytest.raises(InvalidStateError, match="__init__ was not called"):
        call(Lazy())


def test_hot_calls_run_no_python_frame() -> None:
    """The hot calls are native methods: a profiler sees no Python function
    called under them (the floor benchmark measures their cost)."""
    e = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    c = CrashRecoveryManager("me")
    h = MessageHistoryCompressor("me")
    lead = LeaderElectionManager("solo", ["solo"], now=T0)
    lead.start_election(now=T0)
    metrics = NodeHealthMetrics("n", T0, 0.05, 0.99, 0.95, 0.3, 0.4, 0.5)
    message = NetworkMessage("gradient_update", "w1", T0, {"loss": 0.5})
    python_calls: List[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name != "profile":
            python_calls.append(frame.f_code.co_qualname)

    sys.setprofile(profile)
    try:
        e.request_vote("s2", 1, now=T0)
        e.receive_heartbeat("s2", 1, now=T0)
        lead.heartbeat(now=T0 + 1)
        c.heartbeat("n", now=T0)
        c.update_node_health("n", metrics, now=T0 + 1)
        h.add_message(message, now=T0)
    finally:
        sys.setprofile(None)
    assert python_calls == []


def test_log_records_keep_their_loggers_and_words(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pouw_netops")
    e = LeaderElectionManager("solo", ["solo"], now=T0)
    e.start_election(now=T0)
    h = MessageHistoryCompressor("me")
    h.add_message(NetworkMessage("t", "s", T0, {}), now=T0)
    batch = h.compress_message_batch(now=T0)
    w = WorkerReplacementManager("me")
    w.register_worker_pool("train", ["w1"])
    w.assign_workers_to_task("t1", "train", 1, 0, now=T0)
    mesh = VPNMeshTopologyManager("me")
    mesh.establish_tunnel("ghost", now=T0)
    got: Dict[str, List[str]] = {}
    for r in caplog.records:
        got.setdefault(r.name, []).append(f"{r.levelname} {r.getMessage()}")
    assert batch is not None
    assert got == {
        "pouw_netops.election": ["INFO solo: starting an election for term 1"],
        "pouw_netops.history": [f"DEBUG me: sealed batch {batch.batch_id} of 1 messages"],
        "pouw_netops.workers": ["INFO me: task t1 got 1 workers and 0 backups"],
        "pouw_netops.mesh": ["ERROR me: cannot establish a tunnel to unknown node ghost"],
    }


def test_the_operations_loop_is_still_a_coroutine_function() -> None:
    assert inspect.iscoroutinefunction(NetworkOperationsManager.start_operations)
    assert inspect.iscoroutinefunction(NetworkOperationsManager.stop_operations)
