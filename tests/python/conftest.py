"""Shared fixtures: the suite runs against the installed ``pouw_netops`` wheel."""

from __future__ import annotations

import pytest

import pouw_netops


@pytest.fixture
def metrics():
    """A factory of healthy metrics, with overrides."""

    def make(node_id: str = "n", **overrides) -> pouw_netops.NodeHealthMetrics:
        fields = dict(
            node_id=node_id,
            last_heartbeat=0.0,
            response_time=0.05,
            success_rate=0.99,
            task_completion_rate=0.95,
            bandwidth_utilization=0.3,
            cpu_usage=0.4,
            memory_usage=0.5,
        )
        fields.update(overrides)
        return pouw_netops.NodeHealthMetrics(**fields)

    return make
