"""``CrashRecoveryManager`` (and its enums and data classes) against the old API's
shapes and against the reference phi model."""

from __future__ import annotations

import dataclasses
import time

import pytest

import pouw_netops
from pouw_netops import (
    CapacityError,
    CrashRecoveryEvent,
    CrashRecoveryManager,
    NodeHealthMetrics,
    NodeStatus,
    NotFoundError,
)
from helpers import HEALTH_FIELDS, beat
from reference import ReferencePhi, healthy

T0 = 1_700_000_000.0


def test_enum_values_match_old_api():
    assert [s.value for s in NodeStatus] == ["online", "offline", "suspected", "recovering", "failed"]
    assert NodeStatus("suspected") is NodeStatus.SUSPECTED


def test_data_class_fields_match_old_api(metrics):
    names = [f.name for f in dataclasses.fields(NodeHealthMetrics)]
    assert names == HEALTH_FIELDS
    assert metrics().status is NodeStatus.ONLINE
    assert [f.name for f in dataclasses.fields(CrashRecoveryEvent)] == ["node_id", "event_type", "timestamp", "metadata"]


@pytest.mark.parametrize(
    "age,rt,sr,cpu,mem",
    [
        (0.0, 0.1, 0.99, 0.1, 0.1),
        (29.999, 0.1, 0.99, 0.1, 0.1),
        (30.0, 0.1, 0.99, 0.1, 0.1),
        (1.0, 4.999, 0.81, 0.89, 0.89),
        (1.0, 5.0, 0.99, 0.1, 0.1),
        (1.0, 0.1, 0.8, 0.1, 0.1),
        (1.0, 0.1, 0.99, 0.9, 0.1),
        (1.0, 0.1, 0.99, 0.1, 0.9),
    ],
)
def test_is_healthy_follows_old_thresholds(metrics, age, rt, sr, cpu, mem):
    m = metrics(last_heartbeat=T0, response_time=rt, success_rate=sr, cpu_usage=cpu, memory_usage=mem)
    assert m.is_healthy(now=T0 + age) == healthy(T0 + age, T0, rt, sr, cpu, mem)


def test_is_healthy_defaults_to_wall_clock(metrics):
    assert metrics(last_heartbeat=time.time()).is_healthy()
    assert not metrics(last_heartbeat=time.time() - 60).is_healthy()


def test_crash_is_reported_once_when_reference_phi_crosses_threshold(metrics):
    threshold = 10.0
    m = CrashRecoveryManager("me", failure_detector_threshold=threshold)
    ref = ReferencePhi(threshold=threshold)
    last = beat(m, "a", T0, 20)
    for i in range(20):
        ref.heartbeat(round((T0 + i) * 1e6))
    reported_at = None
    suspected_at = None
    step = 0.01
    for k in range(1, 3000):
        now = last + k * step
        crashed = m.detect_crashes(now=now)
        ref_phi = ref.phi(round(now * 1e6))
        if suspected_at is None and "a" in m.suspected_nodes:
            suspected_at = now
            assert ref_phi >= threshold / 2 - 1e-6
        if crashed:
            assert crashed == ["a"]
            assert reported_at is None, "crash reported twice"
            reported_at = now
            assert ref_phi >= threshold - 1e-6
        elif reported_at is None:
            assert ref_phi < threshold + 1e-6
    assert suspected_at is not None and reported_at is not None and suspected_at < reported_at
    # Detected within one sweep step of the reference crossing.
    assert ref.phi(round((reported_at - step) * 1e6)) < threshold
    assert m.failed_nodes == {"a"}
    assert m.status("a") is NodeStatus.OFFLINE
    assert m.node_metrics["a"].status is NodeStatus.OFFLINE


def test_higher_threshold_detects_later(metrics):
    low, high = CrashRecoveryManager("me", 6.0), CrashRecoveryManager("me", 16.0)
    for m in (low, high):
        beat(m, "a", T0, 10)
    when = {}
    for k in range(1, 2000):
        now = T0 + 9 + k * 0.01
        for name, m in (("low", low), ("high", high)):
            if name not in when and m.detect_crashes(now=now):
                when[name] = now
    assert when["low"] < when["high"]


def test_unhealthy_metrics_make_a_node_suspected(metrics):
    m = CrashRecoveryManager("me")
    m.update_node_health("hot", metrics("hot", cpu_usage=0.95), now=T0)
    m.update_node_health("ok", metrics("ok"), now=T0)
    assert m.detect_crashes(now=T0 + 0.1) == []
    assert m.suspected_nodes == {"hot"}
    assert m.node_metrics["ok"].status is NodeStatus.ONLINE


def test_node_metrics_is_a_live_view_of_core_state(metrics):
    m = CrashRecoveryManager("me")
    m.update_node_health("a", metrics("a", success_rate=0.95, cpu_usage=0.25), now=T0 + 3.5)
    live = m.node_metrics
    assert set(live) == {"a"}
    a = live["a"]
    assert (a.node_id, a.last_heartbeat, a.success_rate, a.cpu_usage) == ("a", T0 + 3.5, 0.95, 0.25)
    # A value read is a copy: changing it changes nothing in the core.
    a.cpu_usage = 0.99
    assert m.node_metrics["a"].cpu_usage == 0.25
    # The mapping itself writes through: clearing it forgets every node.
    live.clear()
    assert set(m.node_metrics) == set() and len(m) == 0


def test_now_defaults_to_time_time(metrics):
    m = CrashRecoveryManager("me")
    before = time.time()
    m.update_node_health("a", metrics("a"))
    after = time.time()
    assert before - 1e-6 <= m.node_metrics["a"].last_heartbeat <= after + 1e-6


def test_recovery_cycle_and_events(metrics):
    m = CrashRecoveryManager("me")
    last = beat(m, "a", T0, 10)
    assert m.initiate_recovery("a", now=last) is False  # online: nothing to recover
    assert m.initiate_recovery("ghost", now=last) is False  # unknown
    assert m.detect_crashes(now=last + 120) == ["a"]
    assert m.initiate_recovery("a", "restart", now=last + 121) is True
    assert m.recovering_nodes == {"a"} and m.failed_nodes == set()
    assert m.initiate_recovery("a", now=last + 121) is False  # already recovering
    m.update_node_health("a", metrics("a"), now=last + 122)
    m.update_node_health("a", metrics("a"), now=last + 123)
    assert m.status("a") is NodeStatus.ONLINE
    types = [e.event_type for e in m.recovery_events]
    assert types == [
        "status_changed",  # online → offline
        "crash_detected",
        "status_changed",  # offline → recovering
        "recovery_started",
        "status_changed",  # recovering → online
        "recovery_completed",
    ]
    ev = m.recovery_events
    assert ev[0].metadata["from"] == "online" and ev[0].metadata["to"] == "offline"
    assert ev[1].metadata["silence"] == pytest.approx(120.0)
    assert ev[3].metadata == {"strategy": "restart", "attempt": 1, "seq": 3}
    assert ev[5].metadata["took"] == pytest.approx(2.0)
    assert [e.metadata["seq"] for e in ev] == list(range(6))
    assert all(isinstance(e, CrashRecoveryEvent) and e.node_id == "a" for e in ev)
    # Reading from a remembered sequence number yields only newer events.
    assert [e.metadata["seq"] for e in m.events(since=4)] == [4, 5]
    assert m.next_event_seq == 6


def test_unknown_strategy_is_a_value_error(metrics):
    m = CrashRecoveryManager("me")
    beat(m, "a", T0, 3)
    m.detect_crashes(now=T0 + 100)
    with pytest.raises(ValueError):
        m.initiate_recovery("a", "pray", now=T0 + 101)
    assert m.failed_nodes == {"a"}


def test_summary_keys_and_counts(metrics):
    m = CrashRecoveryManager("me")
    s = m.get_network_health_summary(now=T0)
    assert list(s) == [
        "total_nodes",
        "online_nodes",
        "suspected_nodes",
        "failed_nodes",
        "recovering_nodes",
        "network_health_ratio",
        "recent_crashes",
    ]
    assert s["total_nodes"] == 0 and s["network_health_ratio"] == 0.0
    for n in ("a", "b", "c", "d"):
        beat(m, n, T0, 10)
    m.update_node_health("d", metrics("d", success_rate=0.5), now=T0 + 9)
    # "c" keeps beating; "a" and "b" go silent and crash; "d" is unhealthy.
    beat(m, "c", T0 + 10, 60)
    beat(m, "d", T0 + 10, 60)
    m.update_node_health("d", metrics("d", success_rate=0.5), now=T0 + 69)
    assert sorted(m.detect_crashes(now=T0 + 69.5)) == ["a", "b"]
    m.initiate_recovery("b", now=T0 + 69.5)
    s = m.get_network_health_summary(now=T0 + 70)
    assert s == {
        "total_nodes": 4,
        "online_nodes": 1,
        "suspected_nodes": 1,
        "failed_nodes": 1,
        "recovering_nodes": 1,
        "network_health_ratio": 0.25,
        "recent_crashes": 2,
    }
    # Crashes older than an hour are no longer recent.
    assert m.get_network_health_summary(now=T0 + 69.5 + 3700)["recent_crashes"] == 0


def test_capacity_error_changes_nothing(metrics):
    m = CrashRecoveryManager("me")
    assert m.capacity == 4096
    for i in range(m.capacity):
        m.update_node_health(f"n{i}", metrics(), now=T0)
    with pytest.raises(CapacityError):
        m.update_node_health("one-too-many", metrics(), now=T0 + 1)
    assert len(m) == 4096
    assert "one-too-many" not in m.node_metrics
    # Known nodes still accept heartbeats.
    m.update_node_health("n0", metrics(), now=T0 + 1)
    assert m.node_metrics["n0"].last_heartbeat == T0 + 1


def test_lookup_errors(metrics):
    m = CrashRecoveryManager("me")
    with pytest.raises(NotFoundError) as info:
        m.status("ghost")
    assert isinstance(info.value, LookupError) and isinstance(info.value, pouw_netops.NetOpsError)
    with pytest.raises(NotFoundError):
        m.remove_node("ghost")
    beat(m, "a", T0, 2)
    m.remove_node("a")
    assert len(m) == 0


def test_invalid_inputs_change_nothing(metrics):
    m = CrashRecoveryManager("me")
    m.update_node_health("a", metrics("a", cpu_usage=0.3), now=T0)
    for bad in (dict(cpu_usage=1.5), dict(success_rate=-0.1), dict(memory_usage=float("nan"))):
        with pytest.raises(pouw_netops.InvalidArgumentError):
            m.update_node_health("a", metrics("a", **bad), now=T0 + 1)
    for bad_id in ("", "x" * 65):
        with pytest.raises(ValueError):
            m.update_node_health(bad_id, metrics(), now=T0 + 1)
    with pytest.raises(ValueError):
        m.update_node_health("a", metrics("a"), now=float("inf"))
    a = m.node_metrics["a"]
    assert (a.last_heartbeat, a.cpu_usage, len(m)) == (T0, 0.3, 1)
    # 64 bytes of UTF-8 is the limit, not 64 characters.
    m.update_node_health("é" * 32, metrics(), now=T0)
    with pytest.raises(ValueError):
        m.update_node_health("é" * 33, metrics(), now=T0)


def test_threshold_is_validated():
    with pytest.raises(ValueError):
        CrashRecoveryManager("me", failure_detector_threshold=0.0)
    assert CrashRecoveryManager("me").failure_detector_threshold == 10.0
