"""The exception hierarchy of ``pouw_netops``.

Everything the package raises for a bad input derives from :class:`NetOpsError`.
Where the old pure-Python API raised ``ValueError`` (or a lookup failed), the
class also derives from that built-in, so existing ``except ValueError`` code
keeps working after the switch.
"""

from __future__ import annotations

__all__ = [
    "NetOpsError",
    "CapacityError",
    "NotFoundError",
    "DecodeError",
    "InvalidArgumentError",
]


class NetOpsError(Exception):
    """Base class of every error raised by ``pouw_netops``."""


class CapacityError(NetOpsError):
    """A fixed-capacity table is full; nothing already stored was changed."""


class NotFoundError(NetOpsError, LookupError):
    """The named node (or other item) is not known."""


class DecodeError(NetOpsError, ValueError):
    """Bytes are not a valid wire message (truncated, unknown kind, bad field, trailing bytes)."""


class InvalidArgumentError(NetOpsError, ValueError):
    """An argument is malformed or out of range (an empty or too long id, a metric outside [0, 1], …)."""
