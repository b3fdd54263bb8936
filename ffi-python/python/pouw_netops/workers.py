"""``WorkerReplacementManager``: the old API's class over the core's worker pools.

The core picks workers (one task slot each; a backup reserves its slot), fails
them over to a backup or the best pool worker, and quarantines failed workers.
With no health feed every worker ranks the same: the least-loaded, then the
lowest id, goes first. Attributes are snapshots computed on each access.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _native
from ._errors import InsufficientWorkersError

__all__ = ["WorkerReplacementManager"]

logger = logging.getLogger("pouw_netops.workers")


class WorkerReplacementManager:
    """Worker pools per task type, primary and backup assignment, failover (up to 4096 workers and tasks).

    Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
    """

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._core = _native.WorkerCore()

    # --- the old API -------------------------------------------------------

    def register_worker_pool(self, task_type: str, worker_ids: Sequence[str]) -> None:
        """Makes the pool of ``task_type`` exactly ``worker_ids`` (workers left out keep their running roles)."""
        self._core.register_pool(task_type, list(worker_ids))

    def assign_workers_to_task(
        self,
        task_id: str,
        task_type: str,
        required_workers: int,
        backup_workers: int = 2,
        *,
        now: Optional[float] = None,
    ) -> Tuple[List[str], List[str]]:
        """Gives ``task_id`` ``required_workers`` primaries and ``backup_workers`` backups.

        Returns ``(primaries, backups)``. As in the old API, a ``ValueError``
        and nothing assigned when there is no pool for ``task_type``
        (:class:`NotFoundError`, "No worker pool found for task type: T") or
        when fewer than ``required_workers + backup_workers`` workers of the
        pool are free (:class:`InsufficientWorkersError`, "Insufficient workers
        available. Required: R, Available: A"). A free worker has a free slot
        and is not quarantined; a backup holds its slot. ``InvalidStateError``
        (a ``ValueError``) when the task already has workers.
        """
        wanted = required_workers + backup_workers
        available = self._core.available(task_type)
        if available < wanted:
            raise InsufficientWorkersError(
                f"Insufficient workers available. Required: {wanted}, Available: {available}"
            )
        primaries, backups = self._core.assign(task_id, task_type, required_workers, backup_workers, now)
        logger.info("%s: task %s got %d workers and %d backups", self.node_id, task_id, len(primaries), len(backups))
        return primaries, backups

    def replace_failed_worker(self, failed_worker_id: str, task_id: str, *, now: Optional[float] = None) -> Optional[str]:
        """Replaces ``failed_worker_id`` in ``task_id``; the worker that took over, or ``None``.

        The failed worker is quarantined (no new work until :meth:`recover_worker`);
        a failed primary's place goes to a backup, else to the best pool worker,
        and the backups are refilled from the pool.
        """
        new = self._core.replace(failed_worker_id, task_id, now)
        if new is None:
            logger.error("%s: no replacement for worker %s in task %s", self.node_id, failed_worker_id, task_id)
        else:
            logger.info("%s: worker %s replaced by %s in task %s", self.node_id, failed_worker_id, new, task_id)
        return new

    def release_task_workers(self, task_id: str) -> None:
        """Frees every worker of ``task_id`` (nothing happens for an unknown task)."""
        self._core.release(task_id)

    def get_worker_utilization_stats(self, *, now: Optional[float] = None) -> Dict[str, Any]:
        """``total_workers, assigned_workers, backup_workers, utilization_rate, active_tasks, recent_replacements``.

        ``utilization_rate`` is the fraction of worker slots in use (a backup
        reserves its slot); ``recent_replacements`` counts the last hour.
        """
        s = self._core.utilization(now)
        return {
            "total_workers": s["total_workers"],
            "assigned_workers": s["assigned_workers"],
            "backup_workers": s["backup_workers"],
            "utilization_rate": s["utilization_rate"],
            "active_tasks": s["active_tasks"],
            "recent_replacements": s["replacements_last_hour"],
        }

    @property
    def worker_pools(self) -> Dict[str, List[str]]:
        """Task type → its workers (a snapshot), pools in registration order.

        Workers are listed in the core's worker-table order: the order they became
        known, a forgotten worker's place going to the next new one.
        """
        return dict(self._core.pools())

    @property
    def worker_assignments(self) -> Dict[str, str]:
        """Primary worker → its task (a snapshot)."""
        return {w: task for task, _, primaries, _ in self._core.tasks() for w in primaries}

    @property
    def backup_workers(self) -> Dict[str, List[str]]:
        """Task → its backups (a snapshot)."""
        return {task: backups for task, _, _, backups in self._core.tasks()}

    @property
    def replacement_history(self) -> List[Dict[str, Any]]:
        """The last 1024 replacements, oldest first: ``timestamp, task_id, failed_worker,
        replacement_worker, remaining_backups``."""
        return [
            {
                "timestamp": at,
                "task_id": task,
                "failed_worker": failed,
                "replacement_worker": replacement,
                "remaining_backups": backups,
            }
            for at, task, failed, replacement, backups in self._core.history()
        ]

    # --- beyond the old API ------------------------------------------------

    def recover_worker(self, worker_id: str, *, now: Optional[float] = None) -> int:
        """Lifts ``worker_id``'s quarantine and refills short tasks; the roles filled."""
        return self._core.recover(worker_id, now)

    def task_workers(self, task_id: str) -> Optional[Tuple[List[str], List[str]]]:
        """``(primaries, backups)`` of ``task_id``, or ``None`` if it has no workers."""
        for task, _, primaries, backups in self._core.tasks():
            if task == task_id:
                return primaries, backups
        return None

    def __repr__(self) -> str:
        return f"WorkerReplacementManager(node_id={self.node_id!r})"
