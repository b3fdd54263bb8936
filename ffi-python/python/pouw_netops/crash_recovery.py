"""``CrashRecoveryManager``: the old API's class over the Rust core's manager.

The core (phi-accrual detection, the status machine, events) decides everything;
this class converts. The containers the old API kept as attributes are live
views of the core: ``failed_nodes.add(n)`` marks ``n`` failed in the core (and
``initiate_recovery(n)`` then starts its recovery), ``suspected_nodes.discard(n)``
brings it back online; ``node_metrics[n] = metrics`` records a health report
and ``del node_metrics[n]`` forgets the node. The old configuration attributes
(``phi_threshold``, ``heartbeat_timeout``, ``heartbeat_interval``,
``sampling_window``) read and write the core's detector settings.
"""

from __future__ import annotations

import logging
from typing import (
    AbstractSet,
    Any,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    MutableMapping,
    MutableSet,
    Optional,
    Tuple,
    TypeVar,
    overload,
)

from . import _native
from ._errors import NotFoundError
from ._fast import bind_native
from ._types import CrashRecoveryEvent, NodeHealthMetrics, NodeStatus

__all__ = ["CrashRecoveryManager"]

logger = logging.getLogger("pouw_netops.crash_recovery")

_STATUS = {s.value: s for s in NodeStatus}


_N = TypeVar("_N", int, float)


class _DetectorSetting(Generic[_N]):
    """An old configuration attribute of the manager, live: read from its core's
    detector setting ``name`` and assigned through ``configure(name=...)``."""

    def __init__(self, name: str, convert: Callable[[Any], _N], doc: str) -> None:
        self.name = name
        self.convert: Callable[[Any], _N] = convert
        self.__doc__ = doc

    @overload
    def __get__(self, obj: None, owner: Any) -> "_DetectorSetting[_N]": ...
    @overload
    def __get__(self, obj: CrashRecoveryManager, owner: Any) -> _N: ...
    def __get__(self, obj: Optional[CrashRecoveryManager], owner: Any) -> Any:
        if obj is None:
            return self
        return getattr(obj._core, self.name)

    def __set__(self, obj: CrashRecoveryManager, value: _N) -> None:
        setting: Dict[str, Any] = {self.name: self.convert(value)}
        obj._core.configure(**setting)


class CrashRecoveryManager:
    """Tracks the health of up to 4096 nodes and detects their crashes.

    ``failure_detector_threshold`` is the phi level at which a silent node is
    judged crashed (phi 10 ≈ a 10⁻¹⁰ chance that it is merely late). A node is
    suspected at half that level, or when its metrics are unhealthy.

    Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
    """

    def __init__(self, node_id: str, failure_detector_threshold: float = 10.0) -> None:
        self.node_id = node_id
        self._core = _native.CrashRecoveryCore(float(failure_detector_threshold))
        self._suspected = _StatusSet(self._core, ("suspected",), "suspected")
        self._failed = _StatusSet(self._core, ("offline", "failed"), "offline")
        self._recovering = _StatusSet(self._core, ("recovering",), "recovering")
        self._metrics = _MetricsMap(self)
        # The hot calls go straight to the native methods (no Python frame).
        bind_native(self, CrashRecoveryManager, update_node_health=self._core.update_metrics, heartbeat=self._core.heartbeat)

    # --- the old configuration attributes, live ---------------------------

    failure_detector_threshold = _DetectorSetting(
        "threshold", float, "The phi level at which a silent node is judged crashed (the core's threshold)."
    )
    phi_threshold = _DetectorSetting(
        "threshold",
        float,
        """The same threshold as :attr:`failure_detector_threshold` (the old API had two,
        and used this one); assigning either changes the core's detector.""",
    )
    heartbeat_timeout = _DetectorSetting(
        "acceptable_pause",
        float,
        """Silence tolerated beyond the usual heartbeat interval, in seconds: the
        detector's acceptable heartbeat pause (default 3 s), added to the mean interval.""",
    )
    heartbeat_interval = _DetectorSetting(
        "first_estimate",
        float,
        """The heartbeat interval assumed for a node before its intervals are
        measured, in seconds (the detector's first estimate, default 1 s).""",
    )
    sampling_window = _DetectorSetting(
        "max_sample_size", int, "How many heartbeat intervals per node the detector keeps (at most 100)."
    )

    # --- the old API -------------------------------------------------------

    def update_node_health(self, node_id: str, metrics: NodeHealthMetrics, *, now: Optional[float] = None) -> None:
        """Records a heartbeat from ``node_id`` carrying ``metrics``, at ``now``.

        The heartbeat's arrival time is ``now``; ``metrics.last_heartbeat`` and
        ``metrics.status`` are outputs of the manager (see ``node_metrics``),
        not inputs. Raises ``InvalidArgumentError`` for a metric outside [0, 1]
        and ``CapacityError`` when 4096 nodes are already tracked.
        """
        self._core.update_metrics(node_id, metrics, now)

    def detect_crashes(self, *, now: Optional[float] = None) -> List[str]:
        """Sweeps every node at ``now``; returns the nodes newly found crashed (each reported once)."""
        crashed = self._core.detect_crashes(now)
        for node in crashed:
            logger.warning("%s: crash detected for node %s", self.node_id, node)
        return crashed

    def initiate_recovery(
        self, node_id: str, recovery_strategy: str = "automatic", *, now: Optional[float] = None
    ) -> bool:
        """Starts recovering a suspected, crashed or failed node.

        ``recovery_strategy`` is ``"automatic"``, ``"restart"`` or ``"replace"``.
        Returns ``False`` when the node is unknown, online, already recovering,
        or out of attempts (three per outage; it is then failed).
        """
        started = self._core.initiate_recovery(node_id, recovery_strategy, now)
        if started:
            logger.info("%s: recovery of %s started (%s)", self.node_id, node_id, recovery_strategy)
        return started

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
    def node_metrics(self) -> MutableMapping[str, NodeHealthMetrics]:
        """Node → its last metrics, heartbeat time and status, live: assigning
        ``node_metrics[n] = m`` is :meth:`update_node_health` at the current time,
        ``del node_metrics[n]`` is :meth:`remove_node`. Each value read is a copy."""
        return self._metrics

    @node_metrics.setter
    def node_metrics(self, value: Dict[str, NodeHealthMetrics]) -> None:
        _replace(self._metrics, value)

    @property
    def suspected_nodes(self) -> MutableSet[str]:
        """Nodes currently suspected, live: ``add(n)`` marks ``n`` suspected,
        ``discard(n)`` (``remove``, ``clear``, …) brings a suspected node back online."""
        return self._suspected

    @suspected_nodes.setter
    def suspected_nodes(self, value: AbstractSet[str]) -> None:
        _replace(self._suspected, value)

    @property
    def failed_nodes(self) -> MutableSet[str]:
        """Nodes crashed (``OFFLINE``) or whose recovery failed (``FAILED``), live:
        ``add(n)`` marks ``n`` crashed (``OFFLINE``; a node never heard from is
        registered), so :meth:`initiate_recovery` accepts it; ``discard(n)`` brings it back online."""
        return self._failed

    @failed_nodes.setter
    def failed_nodes(self, value: AbstractSet[str]) -> None:
        _replace(self._failed, value)

    @property
    def recovering_nodes(self) -> MutableSet[str]:
        """Nodes being recovered, live: ``add(n)`` starts an automatic recovery of
        ``n`` (no attempt used), ``discard(n)`` ends it with the node online."""
        return self._recovering

    @recovering_nodes.setter
    def recovering_nodes(self, value: AbstractSet[str]) -> None:
        _replace(self._recovering, value)

    @property
    def last_heartbeats(self) -> Dict[str, float]:
        """Node → when its last heartbeat arrived, in seconds (a snapshot)."""
        return {t[0]: t[2] for t in self._core.nodes()}

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


class _StatusSet(MutableSet[str]):
    """The ids of the nodes whose status is one of ``statuses``, read from the
    core on every access; ``add`` sets a node's status to ``mark``, ``discard``
    sets a member's status to online."""

    __slots__ = ("_core", "_statuses", "_mark")

    def __init__(self, core: _native.CrashRecoveryCore, statuses: Tuple[str, ...], mark: str) -> None:
        self._core = core
        self._statuses = statuses
        self._mark = mark

    def __contains__(self, node: object) -> bool:
        if not isinstance(node, str):
            return False
        try:
            return self._core.status(node) in self._statuses
        except NotFoundError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._core.ids_with_status(*self._statuses))

    def __len__(self) -> int:
        return len(self._core.ids_with_status(*self._statuses))

    def add(self, node: str) -> None:
        if node not in self:
            self._core.set_status(node, self._mark)

    def discard(self, node: str) -> None:
        if node in self:
            self._core.set_status(node, "online")

    def __repr__(self) -> str:
        return repr(set(self))


class _MetricsMap(MutableMapping[str, NodeHealthMetrics]):
    """Node → metrics, read from the core on every access."""

    __slots__ = ("_owner",)

    def __init__(self, owner: CrashRecoveryManager) -> None:
        self._owner = owner

    def __getitem__(self, node: str) -> NodeHealthMetrics:
        try:
            return _metrics(self._owner._core.node(node))
        except NotFoundError:
            raise KeyError(node) from None

    def __setitem__(self, node: str, metrics: NodeHealthMetrics) -> None:
        self._owner.update_node_health(node, metrics)

    def __delitem__(self, node: str) -> None:
        try:
            self._owner._core.remove_node(node)
        except NotFoundError:
            raise KeyError(node) from None

    def __contains__(self, node: object) -> bool:
        if not isinstance(node, str):
            return False
        try:
            self._owner._core.status(node)
        except NotFoundError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter([t[0] for t in self._owner._core.nodes()])

    def __len__(self) -> int:
        return len(self._owner._core)

    def __repr__(self) -> str:
        return repr(dict(self))


def _replace(live: Any, value: Any) -> None:
    """``manager.attr = value``: makes the live container hold exactly ``value``."""
    if live is value:
        return
    if isinstance(live, MutableMapping):
        wanted = dict(value)
        for key in [k for k in live if k not in wanted]:
            del live[key]
        for key, metrics in wanted.items():
            live[key] = metrics
    else:
        members = set(value)
        for key in [k for k in live if k not in members]:
            live.discard(key)
        for key in members:
            live.add(key)


def _metrics(t: Any) -> NodeHealthMetrics:
    node, status, last, rt, sr, tcr, bw, cpu, mem, _attempts = t
    return NodeHealthMetrics(node, last, rt, sr, tcr, bw, cpu, mem, _STATUS[status])
