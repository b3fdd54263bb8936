"""Helpers shared by the tests of the old API's classes."""

from __future__ import annotations

from typing import Any

from pouw_netops import CrashRecoveryManager, NodeHealthMetrics


# The old API's field and key names, as its users read them.
HEALTH_FIELDS = [
    "node_id",
    "last_heartbeat",
    "response_time",
    "success_rate",
    "task_completion_rate",
    "bandwidth_utilization",
    "cpu_usage",
    "memory_usage",
    "status",
]
ELECTION_STATUS_KEYS = [
    "node_id",
    "state",
    "current_term",
    "leader_id",
    "voted_for",
    "is_leader",
    "vote_count",
    "election_in_progress",
    "time_since_last_heartbeat",
]
NETWORK_STATUS_KEYS = {
    "node_id",
    "role",
    "is_running",
    "crash_recovery",
    "worker_replacement",
    "message_compression",
    "vpn_mesh",
    "leader_election",
}

# A healthy idle node's figures (the keyword arguments of ``encode_heartbeat``).
HEALTHY_FIGURES: dict[str, float] = dict(
    response_time=0.05,
    success_rate=0.99,
    task_completion_rate=0.95,
    bandwidth_utilization=0.3,
    cpu_usage=0.4,
    memory_usage=0.5,
)


def healthy_metrics(node_id: str = "n", **overrides: Any) -> NodeHealthMetrics:
    """A healthy node's figures (``last_heartbeat`` 0 unless given), with overrides."""
    fields: dict[str, Any] = dict(node_id=node_id, last_heartbeat=0.0, **HEALTHY_FIGURES)
    fields.update(overrides)
    return NodeHealthMetrics(**fields)


def beat(m: CrashRecoveryManager, node: str, start: float, count: int, every: float = 1.0) -> float:
    """``count`` health updates of ``node`` with healthy figures, ``every``
    seconds from ``start``; returns the last time."""
    t = start
    for i in range(count):
        t = start + i * every
        m.update_node_health(node, healthy_metrics(node), now=t)
    return t
