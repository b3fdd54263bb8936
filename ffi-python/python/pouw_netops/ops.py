"""``NetworkOperationsManager``: the old API's coordinator of the five managers.

As in the old API it owns one instance of each Layer 1 manager and, between
:meth:`start_operations` and :meth:`stop_operations`, runs a periodic loop on
the running asyncio loop (crash detection, election timeout, tunnel health,
history compression). It sends nothing: for real networking use :class:`pouw_netops.Node`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, List, Optional

from .crash_recovery import CrashRecoveryManager
from .election import LeaderElectionManager
from .history import MessageHistoryCompressor
from .mesh import VPNMeshTopologyManager
from .workers import WorkerReplacementManager

__all__ = ["NetworkOperationsManager"]

logger = logging.getLogger("pouw_netops.ops")


class NetworkOperationsManager:
    """One node's managers; ``leader_election`` exists only for a ``"supervisor"`` given ``supervisor_nodes``.

    ``tick_interval`` (seconds, default 1.0) is how often the loop runs.
    """

    def __init__(
        self,
        node_id: str,
        role: str,
        supervisor_nodes: Optional[List[str]] = None,
        *,
        tick_interval: float = 1.0,
    ) -> None:
        self.node_id = node_id
        self.role = role
        self.supervisor_nodes = list(supervisor_nodes or [])
        self.tick_interval = tick_interval
        self.crash_recovery = CrashRecoveryManager(node_id)
        self.worker_replacement = WorkerReplacementManager(node_id)
        self.message_compressor = MessageHistoryCompressor(node_id)
        self.vpn_mesh = VPNMeshTopologyManager(node_id)
        self.leader_election: Optional[LeaderElectionManager] = None
        if role == "supervisor" and self.supervisor_nodes:
            self.leader_election = LeaderElectionManager(node_id, self.supervisor_nodes)
        self.is_running = False
        self.ticks = 0
        self._task: Optional[asyncio.Task[None]] = None

    def tick(self, *, now: Optional[float] = None) -> None:
        """One round of the loop at ``now``: crash detection (each crashed node
        handled as the old API did, see :meth:`handle_node_crash`), election
        timeout, tunnel health, compression."""
        now = time.time() if now is None else now
        for node in self.crash_recovery.detect_crashes(now=now):
            self.handle_node_crash(node, now=now)
        election = self.leader_election
        if election is not None and election.check_election_timeout(now=now):
            election.start_election(now=now)
        self.vpn_mesh.monitor_tunnel_health(now=now)
        if len(self.message_compressor.message_buffer) >= self.message_compressor.compression_threshold:
            self.message_compressor.compress_message_batch(now=now)
        self.ticks += 1

    def handle_node_crash(self, crashed_node_id: str, *, now: Optional[float] = None) -> None:
        """What the old API's loop did for a crashed node: start its recovery,
        give each task it was a primary of to a backup, and take it out of the mesh."""
        logger.warning("%s: handling the crash of node %s", self.node_id, crashed_node_id)
        self.crash_recovery.initiate_recovery(crashed_node_id, now=now)
        tasks = [t for w, t in self.worker_replacement.worker_assignments.items() if w == crashed_node_id]
        for task_id in tasks:
            self.worker_replacement.replace_failed_worker(crashed_node_id, task_id, now=now)
        self.vpn_mesh.leave_mesh(crashed_node_id, now=now)

    async def _run(self) -> None:
        while self.is_running:
            self.tick()
            await asyncio.sleep(self.tick_interval)

    async def start_operations(self) -> None:
        """Starts the loop as a task on the running asyncio loop (no-op when already running)."""
        if self.is_running:
            return
        self.is_running = True
        self._task = asyncio.get_running_loop().create_task(self._run())
        logger.info("%s: network operations started", self.node_id)

    async def stop_operations(self) -> None:
        """Stops the loop and waits for it to end."""
        self.is_running = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        logger.info("%s: network operations stopped", self.node_id)

    def get_network_status(self) -> Dict[str, Any]:
        """The old API's report: ``node_id, role, is_running, crash_recovery, worker_replacement,
        message_compression, vpn_mesh`` and, on a supervisor, ``leader_election``."""
        status: Dict[str, Any] = {
            "node_id": self.node_id,
            "role": self.role,
            "is_running": self.is_running,
            "crash_recovery": self.crash_recovery.get_network_health_summary(),
            "worker_replacement": self.worker_replacement.get_worker_utilization_stats(),
            "message_compression": self.message_compressor.get_compression_stats(),
            "vpn_mesh": self.vpn_mesh.get_mesh_topology(),
        }
        if self.leader_election is not None:
            status["leader_election"] = self.leader_election.get_election_status()
        return status

    def __repr__(self) -> str:
        return f"NetworkOperationsManager(node_id={self.node_id!r}, role={self.role!r})"
