"""Identity keys, certificates and revocation lists of an authenticated cluster.

A cluster is its authority's public key. Every node holds an identity key (a
32-byte seed its host keeps secret) and a certificate from the authority that
names the node, its role, its identity public key, its WireGuard key,
endpoints, task slots and pools, a serial and a validity period (UNIX
seconds). :class:`Node` takes the three: ``identity``, ``certificate`` and
``authority``.

The core never draws randomness: :func:`generate_key` draws from
``os.urandom``. :class:`Authority` signs certificates and revocation lists on
the spot, for tests and small deployments; an operator of a larger cluster
keeps the authority's seed offline and issues certificates there.

    authority = Authority()
    seed = generate_key()
    cert = authority.issue("w1", "worker", identity_public=public_key(seed),
                           slots=2, pools=["train"], not_before=now, not_after=now + 86400)
    inspect_certificate(cert).pools   # ('train',)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from . import _native

__all__ = [
    "Authority",
    "CertificateInfo",
    "generate_key",
    "public_key",
    "inspect_certificate",
    "verify_certificate",
    "wireguard_public_key",
]

KEY_LEN = 32

# What the native module returns for a certificate, in CertificateInfo field order.
_CertTuple = Tuple[str, str, bytes, bytes, List[str], int, List[str], int, int, int]


def generate_key() -> bytes:
    """A new identity key: 32 bytes from ``os.urandom`` (keep them secret)."""
    return os.urandom(KEY_LEN)


def public_key(seed: bytes) -> bytes:
    """The 32-byte public key of the identity key ``seed``."""
    return _native.identity_public_key(seed)


def wireguard_public_key(private_key: bytes) -> bytes:
    """The 32-byte WireGuard public key of the 32-byte WireGuard ``private_key``
    (``wg pubkey``, raw): what a node's certificate carries as ``wg_key``."""
    return _native.wireguard_public_key(private_key)


@dataclass(frozen=True)
class CertificateInfo:
    """What a certificate says (``not_before`` / ``not_after`` in UNIX seconds;
    ``identity`` and ``wg_key`` are 32-byte public keys)."""

    node_id: str
    role: str
    identity: bytes
    wg_key: bytes
    endpoints: Tuple[str, ...]
    slots: int
    pools: Tuple[str, ...]
    serial: int
    not_before: int
    not_after: int

    @classmethod
    def _from_native(cls, t: _CertTuple) -> CertificateInfo:
        node_id, role, identity, wg_key, endpoints, slots, pools, serial, not_before, not_after = t
        return cls(node_id, role, identity, wg_key, tuple(endpoints), slots, tuple(pools), serial, not_before, not_after)


def inspect_certificate(data: bytes) -> CertificateInfo:
    """The fields of an encoded certificate, decoded but NOT verified
    (``DecodeError`` if malformed). Use :func:`verify_certificate` to trust them."""
    return CertificateInfo._from_native(_native.inspect_certificate(data))


def verify_certificate(
    data: bytes,
    authority: bytes,
    unix_now: int,
    role: Optional[str] = None,
    node_id: Optional[str] = None,
) -> CertificateInfo:
    """The fields of ``data`` if ``authority`` (a public key) signed it, it is
    valid at ``unix_now`` and for ``role`` / ``node_id`` when given.

    Raises :class:`AuthenticationError` when another authority signed it,
    :class:`CredentialError` when it is expired, not yet valid, or for another
    role or node, :class:`DecodeError` when malformed. Revocations are not
    checked here (a node applies its own list)."""
    return CertificateInfo._from_native(_native.verify_certificate(data, authority, unix_now, role, node_id))


class Authority:
    """A cluster authority: signs certificates and revocation lists.

    ``seed`` is the authority's 32-byte identity key; ``None`` generates one
    (:func:`generate_key`). Its :attr:`public_key` is the cluster's identity,
    the ``authority`` every node is given."""

    def __init__(self, seed: Optional[bytes] = None) -> None:
        self._seed = generate_key() if seed is None else bytes(seed)
        self._public = public_key(self._seed)

    @property
    def public_key(self) -> bytes:
        """The authority's 32-byte public key."""
        return self._public

    @property
    def seed(self) -> bytes:
        """The authority's secret 32-byte seed (store it to issue more later)."""
        return self._seed

    def issue(
        self,
        node_id: str,
        role: str,
        *,
        identity_public: bytes,
        wg_key: Optional[bytes] = None,
        slots: int = 0,
        pools: Iterable[str] = (),
        endpoints: Iterable[str] = (),
        serial: int = 1,
        not_before: int,
        not_after: int,
    ) -> bytes:
        """An encoded certificate for ``node_id`` in ``role`` (``"supervisor"``
        or ``"worker"``) carrying its identity public key. ``wg_key`` is its
        32-byte WireGuard public key (``None``: the core's placeholder for the
        node); ``endpoints`` are ``host:port`` strings (at most 4); ``pools``
        at most 4 task types; a higher ``serial`` replaces a lower one;
        valid from ``not_before`` up to (not including) ``not_after``, UNIX seconds."""
        return _native.issue_certificate(
            self._seed,
            node_id,
            role,
            identity_public,
            wg_key=wg_key,
            slots=slots,
            pools=list(pools),
            endpoints=list(endpoints),
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )

    def revoke(self, sequence: int, entries: Sequence[Tuple[str, Optional[int]]]) -> bytes:
        """An encoded revocation list number ``sequence`` (higher than the last
        one issued) revoking each ``(node_id, serial)``; a ``None`` serial
        revokes every certificate of the node. Nodes take it with
        :meth:`Node.apply_revocations`."""
        return _native.issue_revocations(self._seed, sequence, [(n, s) for n, s in entries])

    def __repr__(self) -> str:
        return f"Authority(public_key={self._public.hex()!r})"
