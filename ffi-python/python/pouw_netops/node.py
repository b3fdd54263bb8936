"""``Node``: one node's network operations, sans-IO (Layer 2).

The host owns the sockets and the clock. It calls :meth:`Node.handle_message`
with every datagram received and :meth:`Node.tick` when :meth:`Node.poll_timeout`
says, then drains, in this order: :meth:`Node.poll_hard_state` (persist it
before sending), :meth:`Node.poll_transmit`, :meth:`Node.poll_event`.

The cluster is authenticated: a node is built with its identity key, its
certificate from the cluster authority and the authority's public key (see
:mod:`pouw_netops.identity`). Every message it sends is sealed for one
recipient, so ``poll_transmit`` returns ``(node_id, bytes)``: send the bytes to
that node. A datagram that is not authentic, replayed, from a stranger or with
a certificate not accepted is refused with an exception, changes nothing and is
counted in ``status(now)["counters"]["rejected"]`` by reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, Generic, List, Optional, Sequence, Tuple, Type, TypeVar, Union, overload

from . import _native
from .identity import CertificateInfo

__all__ = [
    "Node",
    "NodeEvent",
    "NodeStatusChanged",
    "CrashDetected",
    "RecoveryStarted",
    "RecoveryCompleted",
    "RecoveryFailed",
    "NodeLeft",
    "WorkerReplaced",
    "TaskAssigned",
    "TaskDegraded",
    "TaskRestored",
    "AssignmentReceived",
    "AssignmentReleased",
    "LeaseExpired",
    "LeaderElected",
    "SteppedDown",
    "BatchCompressed",
    "BatchArchived",
    "TunnelUp",
    "TunnelDown",
    "RouteChanged",
    "Equivocation",
]


@dataclass(frozen=True)
class NodeEvent:
    """Something that happened at a node: ``kind`` (snake case), when (``at``, seconds),
    about which node (``node``; this node for its own role changes) and the kind's ``details``."""

    kind: str
    at: float
    node: str
    details: Dict[str, Any] = field(default_factory=dict)


_T = TypeVar("_T")


class _Detail(Generic[_T]):
    """A typed, read-only attribute of an event subclass: one key of its ``details``."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    @overload
    def __get__(self, obj: None, owner: Any) -> "_Detail[_T]": ...
    @overload
    def __get__(self, obj: NodeEvent, owner: Any) -> _T: ...
    def __get__(self, obj: Optional[NodeEvent], owner: Any) -> Any:
        if obj is None:
            return self
        return obj.details[self.key]


_Checkpoint = Optional[Tuple[int, bytes]]


class NodeStatusChanged(NodeEvent):
    """A peer's health status changed (``from_status``, ``to_status``)."""

    from_status = _Detail[str]("from_status")
    to_status = _Detail[str]("to_status")


class CrashDetected(NodeEvent):
    """A peer fell silent past the phi threshold (``silence`` in seconds)."""

    silence = _Detail[float]("silence")


class RecoveryStarted(NodeEvent):
    """A recovery of the peer began (``attempt``, from 1)."""

    attempt = _Detail[int]("attempt")


class RecoveryCompleted(NodeEvent):
    """The peer is healthy again (``took`` seconds)."""

    took = _Detail[float]("took")


class RecoveryFailed(NodeEvent):
    """The peer did not recover in time."""


class NodeLeft(NodeEvent):
    """The peer left gracefully."""


class WorkerReplaced(NodeEvent):
    """(Leader) ``node`` failed; its ``role`` in ``task`` went to ``replacement`` (``from_backup``, ``checkpoint``)."""

    task = _Detail[str]("task")
    replacement = _Detail[str]("replacement")
    role = _Detail[str]("role")
    from_backup = _Detail[bool]("from_backup")
    checkpoint = _Detail[_Checkpoint]("checkpoint")


class TaskAssigned(NodeEvent):
    """(Leader) ``node`` was given ``role`` in ``task`` (starting at ``checkpoint``)."""

    task = _Detail[str]("task")
    role = _Detail[str]("role")
    checkpoint = _Detail[_Checkpoint]("checkpoint")


class TaskDegraded(NodeEvent):
    """(Leader) ``task`` has ``primaries`` of the ``required`` primaries."""

    task = _Detail[str]("task")
    primaries = _Detail[int]("primaries")
    required = _Detail[int]("required")


class TaskRestored(NodeEvent):
    """(Leader) ``task`` has all its primaries again."""

    task = _Detail[str]("task")


class AssignmentReceived(NodeEvent):
    """(Worker) this node was given ``role`` in ``task`` (resuming at ``checkpoint``)."""

    task = _Detail[str]("task")
    role = _Detail[str]("role")
    checkpoint = _Detail[_Checkpoint]("checkpoint")


class AssignmentReleased(NodeEvent):
    """(Worker) this node no longer works on ``task``."""

    task = _Detail[str]("task")


class LeaseExpired(NodeEvent):
    """(Worker) the lease on this node's role in ``task`` ran out: nothing was heard
    from the leader that gave it for ``lease_timeout``, so the work stops."""

    task = _Detail[str]("task")


class LeaderElected(NodeEvent):
    """``node`` leads ``term``."""

    term = _Detail[int]("term")


class SteppedDown(NodeEvent):
    """This node stopped leading ``term``."""

    term = _Detail[int]("term")


class BatchCompressed(NodeEvent):
    """The open history buffer was sealed into batch ``batch_id``."""

    batch_id = _Detail[int]("batch_id")


class BatchArchived(NodeEvent):
    """``count`` history batches left memory."""

    count = _Detail[int]("count")


class TunnelUp(NodeEvent):
    """The tunnel to ``node`` is up."""


class TunnelDown(NodeEvent):
    """The tunnel to ``node`` went ``state`` (stale or down)."""

    state = _Detail[str]("state")


class RouteChanged(NodeEvent):
    """The next hop towards ``node`` is now ``next_hop`` (``None``: unreachable)."""

    next_hop = _Detail[Optional[str]]("next_hop")


class Equivocation(NodeEvent):
    """Supervisor ``node`` signed votes for two candidates in ``term``;
    ``evidence`` is the canonical record of both signed statements, verifiable
    offline with :func:`pouw_netops.quorum.verify_equivocation` (Byzantine mode)."""

    term = _Detail[int]("term")
    evidence = _Detail[bytes]("evidence")


_EVENTS: Dict[str, Type[NodeEvent]] = {
    "node_status_changed": NodeStatusChanged,
    "crash_detected": CrashDetected,
    "recovery_started": RecoveryStarted,
    "recovery_completed": RecoveryCompleted,
    "recovery_failed": RecoveryFailed,
    "node_left": NodeLeft,
    "worker_replaced": WorkerReplaced,
    "task_assigned": TaskAssigned,
    "task_degraded": TaskDegraded,
    "task_restored": TaskRestored,
    "assignment_received": AssignmentReceived,
    "assignment_released": AssignmentReleased,
    "lease_expired": LeaseExpired,
    "leader_elected": LeaderElected,
    "stepped_down": SteppedDown,
    "batch_compressed": BatchCompressed,
    "batch_archived": BatchArchived,
    "tunnel_up": TunnelUp,
    "tunnel_down": TunnelDown,
    "route_changed": RouteChanged,
    "equivocation": Equivocation,
}


class Node:
    """One node (``role`` ``"supervisor"`` or ``"worker"``) among ``supervisors``, sans-IO; times in seconds.

    Credentials (see :mod:`pouw_netops.identity`): ``identity`` is this node's
    32-byte identity key (its secret seed), ``certificate`` its encoded
    certificate from the cluster authority (it must name ``node_id``, ``role``
    and ``identity``'s public key; its slots, pools, WireGuard key and
    endpoints are the node's), ``authority`` the authority's 32-byte public key.

    ``epoch`` is this boot's epoch: the host must persist a higher one than
    the last at every start, before anything is sent, so peers can tell a
    restart from a replay (a counter in a file, or the UNIX time in seconds
    when the clock is trusted).

    ``unix_at_zero`` is the UNIX time (seconds) at time 0 of the clock the
    host passes as ``now``: certificate validity is checked at
    ``unix_at_zero + now``. The default, ``time.time() - time.monotonic()``,
    fits a host that passes ``time.monotonic()``; a host passing UNIX times
    (``time.time()``) passes ``unix_at_zero=0``.

    ``seed`` seeds the election jitter. ``**config`` overrides defaults (seconds
    for intervals): ``heartbeat_interval`` (1), ``sweep_interval`` (0.25),
    ``tunnel_check_interval`` (5), ``leader_notice_interval`` (5),
    ``task_table_interval`` (1), ``membership_interval`` (30),
    ``history_flush_interval`` (60), ``election_timeout``,
    ``election_heartbeat_interval``, ``pre_vote``, ``check_quorum``,
    ``record_heartbeats``, ``lease_timeout`` (6: a worker's role ends this long after the
    leader that gave it was last heard, with a :class:`LeaseExpired` event),
    ``follower_heartbeat_every`` (1: heartbeats between a follower supervisor and a
    worker go every this many intervals, both ways; the leader keeps the full rate;
    set it alike on every node), and the
    failure detector's knobs: ``phi_threshold`` (8), ``acceptable_heartbeat_pause``
    (3: silence tolerated on top of the mean heartbeat interval; with short
    heartbeat intervals it dominates detection time, so lower it with them),
    ``min_std_deviation`` (0.1), ``first_heartbeat_estimate`` (1: the interval
    assumed before any is measured) and ``max_sample_size`` (intervals kept). An unknown key raises :class:`InvalidArgumentError`, and so do
    ``slots``, ``task_types``, ``public_key`` and ``endpoint``, which now come from the
    certificate.
    Sized for clusters of up to 4096 nodes (tens of MiB per node).
    """

    def __init__(
        self,
        node_id: str,
        role: str,
        supervisors: Sequence[str],
        *,
        identity: bytes,
        certificate: bytes,
        authority: bytes,
        epoch: int,
        unix_at_zero: Optional[int] = None,
        seed: int = 0,
        **config: Any,
    ) -> None:
        if unix_at_zero is None:
            unix_at_zero = max(0, int(time.time() - time.monotonic()))
        self._core = _native.NodeCore(
            node_id,
            role,
            list(supervisors),
            identity=identity,
            certificate=certificate,
            authority=authority,
            epoch=epoch,
            unix_at_zero=unix_at_zero,
            seed=seed,
            config=config or None,
        )

    def start(self, now: float) -> None:
        """Starts (or restarts) at ``now``: announces the node; a supervisor starts its election."""
        self._core.start(now)

    def stop(self, now: float) -> None:
        """Stops gracefully: a leader steps down and peers are told the node leaves."""
        self._core.stop(now)

    def handle_message(self, now: float, data: bytes) -> None:
        """Handles one received datagram. A refused one changes nothing, is
        counted by reason and raises: :class:`AuthenticationError` (a bad tag or
        signature, an unknown sender, a replay: ``kind`` ``"unauthenticated"``
        or ``"replayed"``), :class:`CredentialError` (a certificate that is
        expired, revoked, for another role or node, or stale), :class:`DecodeError`

        A datagram that claims to come from this node (reflected or forged) is
        dropped without an error and counted in ``status()["counters"]["self_addressed"]``.
        """
        self._core.handle_message(now, data)

    def tick(self, now: float) -> None:
        """Runs every timer due at ``now``."""
        self._core.tick(now)

    def submit_task(self, now: float, task_id: str, task_type: str, required: int, backups: int = 2) -> None:
        """(Supervisor) adds a task; the leader assigns it as soon as enough workers are known."""
        self._core.submit_task(now, task_id, task_type, required, backups)

    def report_checkpoint(self, now: float, task_id: str, sequence: int, digest: Optional[bytes] = None) -> None:
        """(Worker) reports progress on a task this node is primary of (``digest``: 32 bytes)."""
        self._core.report_checkpoint(now, task_id, sequence, digest)

    def poll_hard_state(self) -> Optional[Tuple[int, Optional[str]]]:
        """``(term, voted_for)`` to persist before sending anything, when it changed."""
        return self._core.poll_hard_state()

    def restore_hard_state(self, term: int, voted_for: Optional[str] = None) -> None:
        """Restores a persisted hard state after a restart (applies at the next ``start``)."""
        self._core.restore_hard_state(term, voted_for)

    def poll_transmit(self) -> Optional[Tuple[str, bytes]]:
        """The next ``(node_id, bytes)`` to send to that node, or ``None``."""
        return self._core.poll_transmit()

    def apply_revocations(self, data: bytes) -> int:
        """Takes a newer revocation list from the authority (:meth:`Authority.revoke`):
        the members it revokes leave at once. Returns how many left. One not
        signed by the authority raises :class:`AuthenticationError`, an older one
        :class:`CredentialError`; either changes nothing."""
        return self._core.apply_revocations(data)

    def certificate(self) -> CertificateInfo:
        """This node's own certificate."""
        return CertificateInfo._from_native(self._core.certificate())

    def render_wireguard(
        self,
        private_key: Union[bytes, str],
        *,
        listen_port: Optional[int] = None,
        format: str = "wg-quick",
        placeholder_keys: bool = False,
    ) -> str:
        """This node's own WireGuard configuration: ``format`` ``"wg-quick"``
        (with ``Address``) or ``"setconf"`` (what ``wg setconf`` reads). Its
        peers carry the WireGuard keys and endpoints of their certificates (or
        of their signed endpoint records), ``AllowedIPs`` the destinations
        routed through each. ``private_key`` (32 raw bytes, or the base64 that
        ``wg genkey`` prints) must be the private half of this node's
        certificate's WireGuard key, else :class:`InvalidArgumentError`; it is
        written into the text and kept nowhere else. A peer with a placeholder
        public key raises :class:`InvalidStateError` unless ``placeholder_keys``
        (then it is written under a ``# WARNING`` comment)."""
        return self._core.render_wireguard(
            private_key, listen_port=listen_port, format=format, placeholder_keys=placeholder_keys
        )

    def set_endpoint(self, endpoint: str) -> None:
        """This node moved to tunnel ``endpoint`` (``host:port``): it signs a
        record of it with a sequence number newer than any before (the boot
        epoch is its high half) and sends it; peers that hold this node's
        certificate take it. An unparsable endpoint raises :class:`InvalidArgumentError`."""
        self._core.set_endpoint(endpoint)

    def record_latest_handshakes(self, now: float, unix_now: int, text: str) -> Dict[str, int]:
        """What ``wg show <interface> latest-handshakes`` printed on this host at
        ``now`` (``unix_now``: the host's UNIX time in seconds). From the first
        report on, tunnel health follows these handshakes (rekey at 120 s, down
        at 180 s) instead of heartbeats, and a peer the control plane declares
        crashed keeps its tunnel and routes while its handshakes keep the tunnel
        up. Returns counts of what the text held (``recorded``, ``unchanged``,
        ``never``, ``unknown_peers``, ``malformed``, ``changed``)."""
        return self._core.record_latest_handshakes(now, unix_now, text)

    def peer_rtt(self, peer: str) -> Optional[Tuple[float, float]]:
        """The smoothed round-trip time to ``peer`` and its variation, in
        seconds (RFC 6298, from the heartbeat timestamps the two echo); the
        latency its tunnel routes with. ``None`` before the first sample."""
        return self._core.peer_rtt(peer)

    def members(self) -> List[CertificateInfo]:
        """The admitted peers' (verified) certificates, in admission order."""
        return [CertificateInfo._from_native(t) for t in self._core.members()]

    def poll_event(self) -> Optional[NodeEvent]:
        """The next event (a :class:`NodeEvent` subclass per kind), oldest first, or ``None``."""
        e = self._core.poll_event()
        if e is None:
            return None
        kind, at, node, details = e
        return _EVENTS.get(kind, NodeEvent)(kind, at, node, details)

    def poll_archived(self) -> Optional[bytes]:
        """The next history batch evicted from memory (batch bytes: header + zlib
        stream), now the host's to store; ``None`` when there is none. Drain it
        after events, or the node counts dropped batches once its archive fills."""
        return self._core.poll_archived()

    def poll_timeout(self) -> Optional[float]:
        """When :meth:`tick` must next be called, in seconds; ``None`` when stopped."""
        return self._core.poll_timeout()

    def status(self, now: float) -> Dict[str, Any]:
        """A snapshot: ``node_id, role, running, is_leader, leader_id, leader_term, tasks,
        crash_recovery, election, counters``; ``counters["rejected"]`` maps every
        reason a datagram can be refused for (``"bad_tag"``, ``"replayed"``,
        ``"unknown_sender"``, ``"expired"``, ...) to how many were."""
        return self._core.status(now)

    @property
    def node_id(self) -> str:
        """This node."""
        return self._core.node_id

    @property
    def role(self) -> str:
        """``"supervisor"`` or ``"worker"``."""
        return self._core.role

    @property
    def is_running(self) -> bool:
        """Between :meth:`start` and :meth:`stop`."""
        return self._core.is_running

    @property
    def is_leader(self) -> bool:
        """Whether this node is the elected leader."""
        return self._core.is_leader

    @property
    def leader_id(self) -> Optional[str]:
        """The leader this node follows, if any."""
        return self._core.leader_id

    def tasks(self) -> List[Tuple[str, str, int, int, Optional[int]]]:
        """(Supervisor) the task table: ``(task, task_type, required, backups, checkpoint sequence)``."""
        return self._core.tasks()

    def held_tasks(self) -> List[Tuple[str, str, str, str]]:
        """(Worker) roles held: ``(task, task_type, role, from supervisor)``."""
        return self._core.held_tasks()

    def task_workers(self, task_id: str) -> Optional[Tuple[List[str], List[str]]]:
        """(Leader) ``(primaries, backups)`` of a task, or ``None``."""
        return self._core.task_workers(task_id)

    def __repr__(self) -> str:
        return f"Node(node_id={self.node_id!r}, role={self.role!r})"
