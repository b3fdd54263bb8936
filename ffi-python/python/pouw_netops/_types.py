"""Enums and data classes of the old API, with the same names, fields and values."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict

from . import _native

__all__ = [
    "NodeStatus",
    "NodeHealthMetrics",
    "CrashRecoveryEvent",
    "LeaderElectionState",
    "LeaderElectionVote",
    "NetworkMessage",
    "CompressedMessageBatch",
]


class NodeStatus(Enum):
    """Where a node stands in the crash-recovery status machine."""

    ONLINE = "online"
    OFFLINE = "offline"
    SUSPECTED = "suspected"
    RECOVERING = "recovering"
    FAILED = "failed"


@dataclass
class _NodeHealthMetricsFields:
    """The old data class, kept for its dataclass metadata only (see :class:`NodeHealthMetrics`)."""

    node_id: str
    last_heartbeat: float
    response_time: float
    success_rate: float
    task_completion_rate: float
    bandwidth_utilization: float
    cpu_usage: float
    memory_usage: float
    status: NodeStatus = NodeStatus.ONLINE


NodeHealthMetrics = _native.NodeHealthMetrics
"""The health figures of one node; times in seconds, rates and usages in [0, 1].

The native class itself (built on every ``update_node_health``, so it must be
cheap: no Python layer) that behaves as the old data class: the same fields,
positional or by keyword, mutable, compared field by field, and
``dataclasses.fields``, ``asdict``, ``replace`` and pickling work (the
dataclass metadata is attached below). ``is_healthy(now=None)`` uses the
core's thresholds, the same as the old API's: last heartbeat younger than
30 s, success rate above 0.8, response time below 5 s, CPU and memory usage
below 0.9. Subclassable.
"""


def _as_dataclass(cls: type, fields: type) -> None:
    """Gives the native ``cls`` the dataclass metadata of ``fields`` (so the
    ``dataclasses`` functions treat it as the old data class)."""
    setattr(cls, "__dataclass_fields__", getattr(fields, "__dataclass_fields__"))
    setattr(cls, "__dataclass_params__", getattr(fields, "__dataclass_params__"))
    setattr(cls, "__module__", __name__.rpartition(".")[0])


_as_dataclass(NodeHealthMetrics, _NodeHealthMetricsFields)


@dataclass
class CrashRecoveryEvent:
    """Something that happened to a node: a status change, a crash, a recovery step.

    ``event_type`` is one of ``status_changed``, ``crash_detected``,
    ``recovery_started``, ``recovery_completed``, ``recovery_failed``;
    ``metadata`` holds its details (``from``/``to``/``phi``, ``phi``/``silence``,
    ``strategy``/``attempt``, ``strategy``/``took``, ``strategy``/``reason``) and
    the event's sequence number ``seq``.
    """

    node_id: str
    event_type: str
    timestamp: float
    metadata: Dict[str, Any] = field(default_factory=dict)


class LeaderElectionState(Enum):
    """A supervisor's role in the leader election."""

    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass
class LeaderElectionVote:
    """One granted vote: ``voter_id`` voted for ``candidate_id`` in ``term`` at ``timestamp`` (seconds)."""

    voter_id: str
    candidate_id: str
    term: int
    timestamp: float


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _json_bytes(data: Any) -> bytes:
    """``data`` as compact JSON bytes through the ``json`` module (the native encoder's fallback)."""
    return _encode(data).encode()


def _now_seconds() -> int:
    return int(time.time())


@dataclass
class _NetworkMessageFields:
    """The old data class, kept for its dataclass metadata only (see :class:`NetworkMessage`)."""

    msg_type: str
    sender_id: str
    timestamp: float = field(default_factory=_now_seconds)
    data: Dict[str, Any] = field(default_factory=dict)


NetworkMessage = _native.NetworkMessage
"""A message a node saw: its type, sender, time in seconds (default: now, whole
seconds) and a JSON-serializable ``data`` dict (default: a new empty one).

The native class itself (built for every ``add_message``) that behaves as the
old data class, as :class:`NodeHealthMetrics` does. The history stores
``data`` as compact JSON bytes (``json.dumps(data, separators=(",", ":"))``).
Subclassable.
"""

_as_dataclass(NetworkMessage, _NetworkMessageFields)


@dataclass
class CompressedMessageBatch:
    """A sealed batch of messages.

    ``compressed_data`` is a standard zlib stream (``zlib.decompress`` reads it;
    it holds the postcard-encoded records). ``compression_ratio`` is compressed
    bytes (header included) over raw bytes: lower is better. ``header`` (beyond
    the old API) is the batch's fixed binary header, which ``decompress_batch``
    needs to check the records; ``header + compressed_data`` are the batch's bytes
    as the Rust and C APIs exchange them.
    """

    batch_id: str
    start_time: float
    end_time: float
    message_count: int
    compressed_data: bytes
    compression_ratio: float
    header: bytes = field(default=b"", repr=False, compare=False)
