"""``pouw_netops``: network operations for Proof-of-Useful-Work nodes, backed by a Rust core.

Two layers:

* the old ``pouw.network.operations`` API, same names and shapes, so a node
  switches by changing an import: :class:`CrashRecoveryManager`,
  :class:`NodeStatus`, :class:`NodeHealthMetrics`, :class:`CrashRecoveryEvent`;
  every time-dependent method takes an optional keyword ``now`` in seconds
  (default ``time.time()``);
* sans-IO building blocks that never read a clock: :class:`PhiAccrualDetector`
  and the wire format in :mod:`pouw_netops.wire`.

Errors derive from :class:`NetOpsError`.
"""

from __future__ import annotations

from . import wire
from ._errors import CapacityError, DecodeError, InvalidArgumentError, NetOpsError, NotFoundError
from ._native import PanicException, PhiAccrualDetector, __version__
from ._types import CrashRecoveryEvent, NodeHealthMetrics, NodeStatus
from .crash_recovery import CrashRecoveryManager

__all__ = [
    "__version__",
    "CapacityError",
    "CrashRecoveryEvent",
    "CrashRecoveryManager",
    "DecodeError",
    "InvalidArgumentError",
    "NetOpsError",
    "NodeHealthMetrics",
    "NodeStatus",
    "NotFoundError",
    "PanicException",
    "PhiAccrualDetector",
    "wire",
]
