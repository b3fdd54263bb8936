"""``pouw_netops``: network operations for Proof-of-Useful-Work nodes, backed by a Rust core.

Two layers:

* the old ``pouw.network.operations`` API, same names and shapes, so a node
  switches by changing an import: :class:`CrashRecoveryManager`,
  :class:`LeaderElectionManager`, :class:`WorkerReplacementManager`,
  :class:`MessageHistoryCompressor`, :class:`VPNMeshTopologyManager` and their
  enums and data classes;
  every time-dependent method takes an optional keyword ``now`` in seconds
  (default ``time.time()``);
  and the coordinator :class:`NetworkOperationsManager`;
* sans-IO building blocks that never read a clock: :class:`Node` (a whole node:
  bytes in, bytes out, typed events), :class:`PhiAccrualDetector`,
  :class:`Election` (bytes in, bytes out) and the wire format in :mod:`pouw_netops.wire`;
* the cluster's credentials in :mod:`pouw_netops.identity`: identity keys,
  certificates from an :class:`Authority`, revocation lists;
* the Byzantine election's proofs in :mod:`pouw_netops.quorum`: signed votes,
  quorum certificates, equivocation evidence verifiable offline;
* :mod:`pouw_netops.aio`: a :class:`Node` on a UDP socket under asyncio
  (timers, hard state persisted to a file, archived history to a directory,
  events as an async iterator).

Logging goes through ``logging.getLogger("pouw_netops")`` and its children.

Errors derive from :class:`NetOpsError`.
"""

from __future__ import annotations

from . import aio, identity, quorum, wire
from ._errors import (
    AttemptsExhaustedError,
    AuthenticationError,
    CapacityError,
    CredentialError,
    DecodeError,
    InsufficientWorkersError,
    InvalidArgumentError,
    InvalidStateError,
    NetOpsError,
    NotFoundError,
)
from ._native import Election, PanicException, PhiAccrualDetector, __version__
from ._types import (
    CompressedMessageBatch,
    CrashRecoveryEvent,
    LeaderElectionState,
    LeaderElectionVote,
    NetworkMessage,
    NodeHealthMetrics,
    NodeStatus,
)
from .crash_recovery import CrashRecoveryManager
from .election import LeaderElectionManager
from .history import MessageHistoryCompressor
from .identity import Authority
from .mesh import VPNMeshTopologyManager
from .node import Node, NodeEvent
from .ops import NetworkOperationsManager
from .workers import WorkerReplacementManager

__all__ = [
    "__version__",
    "AttemptsExhaustedError",
    "AuthenticationError",
    "Authority",
    "CapacityError",
    "CredentialError",
    "CompressedMessageBatch",
    "CrashRecoveryEvent",
    "CrashRecoveryManager",
    "DecodeError",
    "Election",
    "InsufficientWorkersError",
    "InvalidArgumentError",
    "InvalidStateError",
    "LeaderElectionManager",
    "LeaderElectionState",
    "LeaderElectionVote",
    "MessageHistoryCompressor",
    "NetOpsError",
    "NetworkMessage",
    "NetworkOperationsManager",
    "Node",
    "NodeEvent",
    "NodeHealthMetrics",
    "NodeStatus",
    "NotFoundError",
    "PanicException",
    "PhiAccrualDetector",
    "VPNMeshTopologyManager",
    "WorkerReplacementManager",
    "aio",
    "wire",
]
