"""Credentials for test clusters: one authority, an identity key per node,
certificates valid around the tests' virtual clock (UNIX seconds)."""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Optional, Sequence

from pouw_netops.identity import Authority, public_key

T0 = 1_700_000_000.0
AUTHORITY = Authority(bytes(range(32)))
NOT_BEFORE = int(T0) - 3600
NOT_AFTER = int(T0) + 365 * 86_400


def identity_seed(node_id: str) -> bytes:
    """A fixed identity key per node id (the same across restarts)."""
    return hashlib.sha256(b"test identity " + node_id.encode()).digest()


def credentials(
    node_id: str,
    role: str,
    *,
    authority: Authority = AUTHORITY,
    pools: Sequence[str] = ("train",),
    slots: Optional[int] = None,
    serial: int = 1,
    not_before: int = NOT_BEFORE,
    not_after: int = NOT_AFTER,
    epoch: int = 1,
    wg_key: Optional[bytes] = None,
) -> Dict[str, Any]:
    """The credential keywords of ``Node(...)`` for ``node_id`` in ``role``; ``now``
    values are UNIX seconds (``unix_at_zero=0``). Workers get ``pools`` and one slot."""
    seed = identity_seed(node_id)
    worker = role == "worker"
    cert = authority.issue(
        node_id,
        role,
        identity_public=public_key(seed),
        slots=(1 if worker else 0) if slots is None else slots,
        pools=pools if worker else (),
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        wg_key=wg_key,
    )
    return dict(identity=seed, certificate=cert, authority=authority.public_key, epoch=epoch, unix_at_zero=0)
