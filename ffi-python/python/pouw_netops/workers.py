"""``WorkerReplacementManager``: the old API's class over the core's worker pools.

The core picks workers (one task slot each; a backup reserves its slot), fails
them over to a backup or the best pool worker, and quarantines failed workers.
With no health feed every worker ranks the same: the least-loaded, then the
lowest id, goes first. The old API's container attributes are live views of
the core, read on each access: ``worker_pools`` writes through (its lists'
``append``/``remove``/``del`` add workers to and take them out of the pool,
``worker_pools[t] = [...]`` registers, ``del worker_pools[t]`` removes the
pool); ``worker_assignments``, ``backup_workers`` and ``replacement_history``
are read-only, and mutating them raises ``TypeError`` saying which method to use.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, Iterator, List, Mapping, MutableMapping, MutableSequence, Optional
from typing import Sequence, Tuple, Union, overload

from . import _native
from ._errors import InsufficientWorkersError
from ._live import LiveList, _Refusing
from .crash_recovery import _replace

__all__ = ["WorkerReplacementManager"]

logger = logging.getLogger("pouw_netops.workers")


class WorkerReplacementManager:
    """Worker pools per task type, primary and backup assignment, failover (up to 4096 workers and tasks).

    Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
    """

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._core = _native.WorkerCore()
        self._pools = _PoolsMap(self._core)
        self._assignments = _AssignmentsMap(self._core)
        self._backups = _BackupsMap(self._core)
        self._history = LiveList(self._history_records, _HISTORY_READ_ONLY)

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
    def worker_pools(self) -> MutableMapping[str, "_PoolList"]:
        """Task type → its workers, live, pools in registration order (a removed
        pool's place going to the next new one).

        ``worker_pools[t] = ids`` is :meth:`register_worker_pool`; ``del
        worker_pools[t]`` removes the pool and its members (``InvalidStateError``
        while a task of that type has workers). Each pool reads as a live list:
        ``append``/``extend``/``insert`` add a worker to the pool (one slot if
        new), ``remove``/``del``/``pop`` take one out (its running roles stay).
        The list is in the core's worker-table order (the order workers became
        known), whatever position a worker is inserted at.
        """
        return self._pools

    @worker_pools.setter
    def worker_pools(self, value: Mapping[str, Sequence[str]]) -> None:
        _replace(self._pools, value)

    @property
    def worker_assignments(self) -> Mapping[str, str]:
        """Primary worker → its task, live and read-only (see :data:`_ASSIGNMENTS_READ_ONLY`)."""
        return self._assignments

    @worker_assignments.setter
    def worker_assignments(self, value: Any) -> None:
        raise TypeError(_ASSIGNMENTS_READ_ONLY)

    @property
    def backup_workers(self) -> Mapping[str, List[str]]:
        """Task → its backups, live and read-only; each value read is a copy."""
        return self._backups

    @backup_workers.setter
    def backup_workers(self, value: Any) -> None:
        raise TypeError(_BACKUPS_READ_ONLY)

    @property
    def replacement_history(self) -> Sequence[Dict[str, Any]]:
        """The last 1024 replacements, oldest first, live and read-only: ``timestamp,
        task_id, failed_worker, replacement_worker, remaining_backups``."""
        return self._history

    @replacement_history.setter
    def replacement_history(self, value: Any) -> None:
        raise TypeError(_HISTORY_READ_ONLY)

    # --- beyond the old API ------------------------------------------------

    def recover_worker(self, worker_id: str, *, now: Optional[float] = None) -> int:
        """Lifts ``worker_id``'s quarantine and refills short tasks; the roles filled."""
        return self._core.recover(worker_id, now)

    def task_workers(self, task_id: str) -> Optional[Tuple[List[str], List[str]]]:
        """``(primaries, backups)`` of ``task_id``, or ``None`` if it has no workers."""
        t = self._core.task(task_id)
        return None if t is None else (t[1], t[2])

    def _history_records(self) -> List[Dict[str, Any]]:
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

    def __repr__(self) -> str:
        return f"WorkerReplacementManager(node_id={self.node_id!r})"


_ASSIGNMENTS_READ_ONLY = (
    "worker_assignments is read-only: the core picks a task's primaries (a free slot, "
    "not quarantined) in assign_workers_to_task, and a primary leaves its task through "
    "replace_failed_worker (its place goes to a backup) or release_task_workers, so a "
    "task is never left short or given a busy worker"
)
_BACKUPS_READ_ONLY = (
    "backup_workers is read-only: a backup holds a reserved slot the core chooses in "
    "assign_workers_to_task and refills in replace_failed_worker; release_task_workers frees them"
)
_HISTORY_READ_ONLY = "replacement_history is read-only: it is the core's record of the replacements that happened"


def _ids(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value.encode()) <= 64


class _PoolList(MutableSequence[str]):
    """The workers of one pool, read from the core on every access; mutations
    add workers to or take them out of the pool. Once the pool is removed the
    list reads as empty and a mutation raises ``KeyError``."""

    __slots__ = ("_core", "_type")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, core: _native.WorkerCore, task_type: str) -> None:
        self._core = core
        self._type = task_type

    def _members(self) -> List[str]:
        return self._core.pool(self._type) or []

    def _set(self, members: List[str]) -> None:
        if self._core.pool(self._type) is None:
            raise KeyError(self._type)
        self._core.register_pool(self._type, members)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> List[str]: ...
    def __getitem__(self, i: Union[int, slice]) -> Union[str, List[str]]:
        return self._members()[i]

    @overload
    def __setitem__(self, i: int, worker: str) -> None: ...
    @overload
    def __setitem__(self, i: slice, worker: Iterable[str]) -> None: ...
    def __setitem__(self, i: Union[int, slice], worker: Union[str, Iterable[str]]) -> None:
        members = self._members()
        members[i] = worker  # type: ignore[index,assignment]
        self._set(members)

    def __delitem__(self, i: Union[int, slice]) -> None:
        members = self._members()
        del members[i]
        self._set(members)

    def __len__(self) -> int:
        return len(self._members())

    def __iter__(self) -> Iterator[str]:
        return iter(self._members())

    def __contains__(self, worker: object) -> bool:
        return worker in self._members()

    def insert(self, index: int, worker: str) -> None:
        """Adds ``worker`` to the pool (its place in the list is the core's, not ``index``)."""
        if self._core.pool(self._type) is None:
            raise KeyError(self._type)
        self._core.add_worker(self._type, worker)

    def remove(self, worker: str) -> None:
        """Takes ``worker`` out of the pool; ``ValueError`` if it is not in it, as for a list."""
        if worker not in self:
            raise ValueError(f"{worker!r} is not in the pool of {self._type!r}")
        self._core.remove_worker(self._type, worker)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _PoolList):
            return self._members() == other._members()
        if isinstance(other, list):
            return self._members() == other
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._members())


class _PoolsMap(MutableMapping[str, _PoolList]):
    """Task type → a live list of its pool's workers."""

    __slots__ = ("_core",)

    def __init__(self, core: _native.WorkerCore) -> None:
        self._core = core

    def __getitem__(self, task_type: str) -> _PoolList:
        if task_type not in self:
            raise KeyError(task_type)
        return _PoolList(self._core, task_type)

    def __setitem__(self, task_type: str, workers: Iterable[str]) -> None:
        self._core.register_pool(task_type, list(workers))

    def __delitem__(self, task_type: str) -> None:
        if task_type not in self:
            raise KeyError(task_type)
        self._core.remove_pool(task_type)

    def __contains__(self, task_type: object) -> bool:
        return isinstance(task_type, str) and _ids(task_type) and self._core.pool(task_type) is not None

    def __iter__(self) -> Iterator[str]:
        return iter([t for t, _ in self._core.pools()])

    def __len__(self) -> int:
        return len(self._core.pools())

    def __repr__(self) -> str:
        return repr(dict(self._core.pools()))


class _ReadOnly(_Refusing):
    """``TypeError`` with the reason for every mutation a dict would allow."""

    __slots__ = ()
    __setitem__ = __delitem__ = _Refusing._refuse


class _AssignmentsMap(_ReadOnly, Mapping[str, str]):
    """Primary worker → its task, read from the core on every access."""

    __slots__ = ("_core",)
    _why = _ASSIGNMENTS_READ_ONLY

    def __init__(self, core: _native.WorkerCore) -> None:
        self._core = core

    def __getitem__(self, worker: str) -> str:
        tasks = self._core.primary_tasks(worker) if _ids(worker) else []
        if not tasks:
            raise KeyError(worker)
        return tasks[0]

    def __iter__(self) -> Iterator[str]:
        return iter([w for _, _, primaries, _ in self._core.tasks() for w in primaries])

    def __len__(self) -> int:
        return sum(len(primaries) for _, _, primaries, _ in self._core.tasks())

    def __repr__(self) -> str:
        return repr(dict(self))


class _BackupsMap(_ReadOnly, Mapping[str, List[str]]):
    """Task → a copy of its backups, read from the core on every access."""

    __slots__ = ("_core",)
    _why = _BACKUPS_READ_ONLY

    def __init__(self, core: _native.WorkerCore) -> None:
        self._core = core

    def __getitem__(self, task_id: str) -> List[str]:
        t = self._core.task(task_id) if _ids(task_id) else None
        if t is None:
            raise KeyError(task_id)
        return t[2]

    def __iter__(self) -> Iterator[str]:
        return iter([task for task, _, _, _ in self._core.tasks()])

    def __len__(self) -> int:
        return len(self._core.tasks())

    def __repr__(self) -> str:
        return repr(dict(self))
