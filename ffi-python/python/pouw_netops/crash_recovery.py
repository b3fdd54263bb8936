"""``CrashRecoveryManager``: the old API's class over the Rust core's manager.

The core (phi-accrual detection, the status machine, events) decides everything;
this class converts. Attributes the old API kept as mutable containers
(``node_metrics``, ``suspected_nodes``, …) are computed from the core's state
on each access: they are snapshots, and changing them changes nothing.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

from . import _native
from ._types import CrashRecoveryEvent, NodeHealthMetrics, NodeStatus

__all__ = ["CrashRecoveryManager"]

_STATUS = {s.value: s for s in NodeStatus}


class CrashRecoveryManager:
    """Tracks the health of up to 4096 nodes and detects their crashes.

    ``failure_detector_threshold`` is the phi level at which a silent node is
    judged crashed (phi 10 ≈ a 10⁻¹⁰ chance that it is merely late). A node is
    suspected at half that level, or when its metrics are unhealthy.

    Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
    """

    def __init__(self, node_id: str, failure_detector_threshold: float = 10.0) -> None:
        self.node_id = node_id
        self.failure_detector_threshold = failure_detector_threshold
        self._core = _native.CrashRecoveryCore(float(failure_detector_threshold))

    # --- the old API -------------------------------------------------------

    def update_node_health(self, node_id: str, metrics: NodeHealthMetrics, *, now: Optional[float] = None) -> None:
        """Records a heartbeat from ``node_id`` carrying ``metrics``, at ``now``.

        The heartbeat's arrival time is ``now``; ``metrics.last_heartbeat`` and
        ``metrics.status`` are outputs of the manager (see ``node_metrics``),
        not inputs. Raises ``InvalidArgumentError`` for a metric outside [0, 1]
        and ``CapacityError`` when 4096 nodes are already tracked.
        """
        m = metrics
        self._core.update_node_health(
            node_id,
            m.response_time,
            m.success_rate,
            m.task_completion_rate,
            m.bandwidth_utilization,
            m.cpu_usage,
            m.memory_usage,
            now,
        )

    def detect_crashes(self, *, now: Optional[float] = None) -> List[str]:
        """Sweeps every node at ``now``; returns the nodes newly found crashed (each reported once)."""
        return self._core.detect_crashes(now)

    def initiate_recovery(
        self, node_id: str, recovery_strategy: str = "automatic", *, now: Optional[float] = None
    ) -> bool:
        """Starts recovering a suspected, crashed or failed node.

        ``recovery_strategy`` is ``"automatic"``, ``"restart"`` or ``"replace"``.
        Returns ``False`` when the node is unknown, online, already recovering,
        or out of attempts (three per outage; it is then failed).
        """
        return self._core.initiate_recovery(node_id, recovery_strategy, now)

    def get_network_health_summary(self, *, now: Optional[float] = None) -> Dict[str, Any]:
        """Counts by status, the online ratio and the crashes of the last hour.

        ``failed_nodes`` counts crashed nodes (status ``OFFLINE``) and nodes
        whose recovery failed (``FAILED``), as the old API's failed set did.
        """
        s = self._core.summary(now)
        return {
            "total_nodes": s["total_nodes"],
            "online_nodes": s["online_nodes"],
            "suspected_nodes": s["suspected_nodes"],
            "failed_nodes": s["offline_nodes"] + s["failed_nodes"],
            "recovering_nodes": s["recovering_nodes"],
            "network_health_ratio": s["network_health_ratio"],
            "recent_crashes": s["recent_crashes"],
        }

    @property
    def node_metrics(self) -> Dict[str, NodeHealthMetrics]:
        """Every tracked node's last metrics, heartbeat time and status (a snapshot)."""
        return {t[0]: _metrics(t) for t in self._core.nodes()}

    @property
    def suspected_nodes(self) -> Set[str]:
        """Nodes currently suspected (a snapshot)."""
        return set(self._core.ids_with_status("suspected"))

    @property
    def failed_nodes(self) -> Set[str]:
        """Nodes crashed (``OFFLINE``) or whose recovery failed (``FAILED``) (a snapshot)."""
        return set(self._core.ids_with_status("offline", "failed"))

    @property
    def recovering_nodes(self) -> Set[str]:
        """Nodes being recovered (a snapshot)."""
        return set(self._core.ids_with_status("recovering"))

    @property
    def recovery_events(self) -> List[CrashRecoveryEvent]:
        """The retained events (the last 1024), oldest first."""
        return self.events()

    # --- beyond the old API ------------------------------------------------

    def heartbeat(self, node_id: str, *, now: Optional[float] = None) -> None:
        """Records a bare heartbeat (metrics unchanged) from ``node_id`` at ``now``."""
        self._core.heartbeat(node_id, now)

    def status(self, node_id: str) -> NodeStatus:
        """The node's status; ``NotFoundError`` if it is not tracked."""
        return _STATUS[self._core.status(node_id)]

    def phi(self, node_id: str, *, now: Optional[float] = None) -> float:
        """The node's phi at ``now``; ``NotFoundError`` if it is not tracked."""
        return self._core.phi(node_id, now)

    def is_node_healthy(self, node_id: str, *, now: Optional[float] = None) -> bool:
        """Whether the node's last heartbeat and metrics meet the health thresholds at ``now``."""
        return self._core.is_healthy(node_id, now)

    def remove_node(self, node_id: str) -> None:
        """Forgets ``node_id`` (its events stay); ``NotFoundError`` if it is not tracked."""
        self._core.remove_node(node_id)

    def events(self, since: int = 0) -> List[CrashRecoveryEvent]:
        """Retained events whose ``metadata["seq"]`` is at least ``since``, oldest first.

        A consumer that passes ``next_event_seq`` from its previous call reads each event once.
        """
        out = []
        for seq, at, node, kind, meta in self._core.events(since):
            meta["seq"] = seq
            out.append(CrashRecoveryEvent(node, kind, at, meta))
        return out

    @property
    def next_event_seq(self) -> int:
        """The sequence number the next event will get."""
        return self._core.next_event_seq

    @property
    def capacity(self) -> int:
        """How many nodes can be tracked."""
        return self._core.capacity

    def __len__(self) -> int:
        return len(self._core)

    def __repr__(self) -> str:
        return (
            f"CrashRecoveryManager(node_id={self.node_id!r}, "
            f"failure_detector_threshold={self.failure_detector_threshold!r}, nodes={len(self)})"
        )


def _metrics(t: Any) -> NodeHealthMetrics:
    node, status, last, rt, sr, tcr, bw, cpu, mem, _attempts = t
    return NodeHealthMetrics(node, last, rt, sr, tcr, bw, cpu, mem, _STATUS[status])
