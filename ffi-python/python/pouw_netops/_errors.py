"""The exception hierarchy of ``pouw_netops``.

Everything the package raises for a bad input derives from :class:`NetOpsError`.
Where the old pure-Python API raised ``ValueError`` (or a lookup failed), the
class also derives from that built-in, so existing ``except ValueError`` code
keeps working after the switch.

Which class a core error raises follows from its kind alone (the core's
``ErrorKind``, the same classification the C API's result codes come from); the
exception's ``kind`` attribute names it (``"not_found"``, ``"invalid_state"``, …).
``_native.error_classes()`` lists every kind with its class.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "NetOpsError",
    "CapacityError",
    "InsufficientWorkersError",
    "NotFoundError",
    "DecodeError",
    "InvalidArgumentError",
    "InvalidStateError",
    "AttemptsExhaustedError",
    "AuthenticationError",
    "CredentialError",
]


class NetOpsError(Exception):
    """Base class of every error raised by ``pouw_netops``."""

    kind: Optional[str] = None
    """The core's error kind (``"not_found"``, …); ``None`` for errors raised by the Python layer."""


class CapacityError(NetOpsError):
    """A fixed-capacity table is full, or a finite resource (overlay addresses, free
    workers) is used up; nothing was changed. Not a ``ValueError``: the input was fine."""


class InsufficientWorkersError(CapacityError, ValueError):
    """Fewer free workers than an assignment needs; nothing was assigned. Also a
    ``ValueError``, which the old API raised (with the same message)."""

    kind: Optional[str] = "capacity_exceeded"


class NotFoundError(NetOpsError, LookupError, ValueError):
    """The named node, task, pool or tunnel is not known.

    Also a ``ValueError`` because the old API raised one for a task type without a pool.
    """


class DecodeError(NetOpsError, ValueError):
    """Bytes are not a valid wire message (truncated, unknown kind, bad field, trailing bytes)."""


class InvalidArgumentError(NetOpsError, ValueError):
    """An argument is malformed or out of range (an empty or too long id, a metric outside [0, 1], …)."""


class InvalidStateError(InvalidArgumentError):
    """The operation does not apply in the current state (already joined or assigned, not running, …).

    An :class:`InvalidArgumentError` because that is what these errors raised before
    the core classified them.
    """


class AttemptsExhaustedError(InvalidStateError):
    """The node has used all its recovery attempts and is now failed."""


class AuthenticationError(NetOpsError):
    """A message or credential is not from whom it claims: a bad signature or
    authentication tag, a sender that is not an admitted member, or a replay
    (``kind`` is ``"unauthenticated"`` or ``"replayed"``). Not a ``ValueError``:
    the bytes were well formed."""


class CredentialError(AuthenticationError):
    """A correctly signed certificate or revocation list is not acceptable: signed
    by another authority, expired or not yet valid, revoked, for another role or
    node, or older than the one already held."""
