"""``CrashRecoveryManager``: the old API's class over the Rust core's manager.

The core (phi-accrual detection, the status machine, events) decides everything;
the class converts. The containers the old API kept as attributes are live
views of the core: ``failed_nodes.add(n)`` marks ``n`` failed in the core (and
``initiate_recovery(n)`` then starts its recovery), ``suspected_nodes.discard(n)``
brings it back online; ``node_metrics[n] = metrics`` records a health report
and ``del node_metrics[n]`` forgets the node. Such a write takes no ``now``: it
happens at the manager's own time, the latest ``now`` it was given (or
``time.time()`` if it was never given one). The old configuration attributes
(``phi_threshold``, ``heartbeat_timeout``, ``heartbeat_interval``,
``sampling_window``) read and write the core's detector settings.

The class is native (``ffi-python/src/crash_recovery.rs``): every call is one
native call, with no Python frame. The live containers are the classes below,
which it makes once per instance. It logs through
``logging.getLogger("pouw_netops.crash_recovery")``. Subclassable.
"""

from __future__ import annotations

from typing import Any, Iterator, MutableMapping, MutableSet, Tuple

from . import _native
from ._errors import NotFoundError
from ._live import own_time
from ._native import CrashRecoveryManager
from ._types import NodeHealthMetrics, NodeStatus

__all__ = ["CrashRecoveryManager"]

_STATUS = {s.value: s for s in NodeStatus}


class _StatusSet(MutableSet[str]):
    """The ids of the nodes whose status is one of ``statuses``, read from the
    core on every access; ``add`` sets a node's status to ``mark``, ``discard``
    sets a member's status to online, at the manager's own time."""

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
            self._core.set_status(node, self._mark, self._core.own_now)

    def discard(self, node: str) -> None:
        if node in self:
            self._core.set_status(node, "online", self._core.own_now)

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
        self._owner.update_node_health(node, metrics, **own_time(self._owner._core))

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
