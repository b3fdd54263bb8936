"""Live views of a core's state for the old API's container attributes.

Each view reads the core on every access (so it never goes stale); the
mutations that have a meaning in the core are passed to callbacks, and every
other one raises ``TypeError`` with the reason and the method to use.

A view's write cannot take ``now``: it happens at the manager's own time
(:func:`own_time`), so a manager driven on a simulated clock stays on it.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Mapping, NoReturn, Optional, Protocol, Sequence, TypeVar
from typing import Union, overload

_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")


class _Clocked(Protocol):
    @property
    def own_now(self) -> Optional[float]: ...


def own_time(core: _Clocked) -> Dict[str, float]:
    """The ``now=`` keyword for a write that cannot take one: the manager's own
    time, the latest ``now`` it was given (``core.own_now``); none (so
    ``time.time()``) if it was never given one. Left out rather than ``None``
    so a subclass method written without ``now`` is still called as before."""
    now = core.own_now
    return {} if now is None else {"now": now}


class _Refusing:
    """``TypeError`` with ``_why`` for every mutation a dict or list allows."""

    __slots__ = ()
    _why: str

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(self._why)

    append = extend = insert = remove = pop = popitem = clear = update = setdefault = _refuse


class LiveMap(_Refusing, Mapping[_K, _V]):
    """A mapping read through ``read`` on every access; ``self[k] = v`` calls
    ``store(k, v)`` and ``del self[k]`` calls ``delete(k)`` when given, else
    both raise ``TypeError(why)``."""

    __slots__ = ("_read", "_store", "_delete", "_why")

    def __init__(
        self,
        read: Callable[[], Dict[_K, _V]],
        why: str,
        store: Optional[Callable[[_K, _V], None]] = None,
        delete: Optional[Callable[[_K], object]] = None,
    ) -> None:
        self._read = read
        self._why = why
        self._store = store
        self._delete = delete

    def __getitem__(self, key: _K) -> _V:
        return self._read()[key]

    def __setitem__(self, key: _K, value: _V) -> None:
        if self._store is None:
            self._refuse()
        self._store(key, value)

    def __delitem__(self, key: _K) -> None:
        if self._delete is None:
            self._refuse()
        if key not in self._read():
            raise KeyError(key)
        self._delete(key)

    def __contains__(self, key: object) -> bool:
        return key in self._read()

    def __iter__(self) -> Iterator[_K]:
        return iter(list(self._read()))

    def __len__(self) -> int:
        return len(self._read())

    def __repr__(self) -> str:
        return repr(self._read())


class LiveList(_Refusing, Sequence[_T]):
    """A list read through ``read`` on every access; ``append(x)`` (and
    ``extend``) calls ``add(x)`` when given, which may store ``x`` in another
    form; every other mutation raises ``TypeError(why)``."""

    __slots__ = ("_read", "_add", "_why")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, read: Callable[[], List[_T]], why: str, add: Optional[Callable[[Any], object]] = None) -> None:
        self._read = read
        self._why = why
        self._add = add

    @overload
    def __getitem__(self, i: int) -> _T: ...
    @overload
    def __getitem__(self, i: slice) -> List[_T]: ...
    def __getitem__(self, i: Union[int, slice]) -> Union[_T, List[_T]]:
        return self._read()[i]

    def __setitem__(self, i: Any, value: Any) -> NoReturn:
        self._refuse()

    def __delitem__(self, i: Any) -> NoReturn:
        self._refuse()

    def __iter__(self) -> Iterator[_T]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def append(self, item: Any) -> None:  # type: ignore[override]
        if self._add is None:
            self._refuse()
        self._add(item)

    def extend(self, items: Any) -> None:  # type: ignore[override]
        for item in items:
            self.append(item)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, LiveList)):
            return self._read() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._read())
