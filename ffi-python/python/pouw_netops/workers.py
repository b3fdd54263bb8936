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

The class is native (``ffi-python/src/workers.rs``); the live containers are
the classes below, which it makes once per instance. It logs through
``logging.getLogger("pouw_netops.workers")``. Subclassable.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, List, Mapping, MutableMapping, MutableSequence
from typing import Union, overload

from . import _native
from ._live import LiveList, _Refusing
from ._native import WorkerReplacementManager

__all__ = ["WorkerReplacementManager"]


def _history_view(core: _native.WorkerCore) -> LiveList[Dict[str, Any]]:
    """``WorkerReplacementManager.replacement_history``: the core's replacements as dicts, live and read-only."""

    def records() -> List[Dict[str, Any]]:
        return [
            {
                "timestamp": at,
                "task_id": task,
                "failed_worker": failed,
                "replacement_worker": replacement,
                "remaining_backups": backups,
            }
            for at, task, failed, replacement, backups in core.history()
        ]

    return LiveList(records, _HISTORY_READ_ONLY)


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
