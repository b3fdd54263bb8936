"""Signed votes, quorum certificates and equivocation evidence: the proofs of
the Byzantine fault model of the supervisors' election.

A voter signs each vote (or pre-vote grant) with its identity key; a *quorum
certificate* is a quorum of such signatures for one candidate in one term
(kind ``"vote"``: a leader certificate; ``"pre_vote"``: the justification of an
election in that term), half-aggregated into one (format v2: every signer's
nonce and one aggregate scalar, ``32 * (signers + 1)`` bytes of signature). Two votes of one voter in one term for two candidates
are *equivocation evidence*, which anyone holding the cluster's authority
public key and the voter's public key verifies offline: a host can hand it to
the chain.

Voters are given as ``(node id, identity public key)`` pairs, in any order
(certificates name signers by position in ascending id order). Everything is
encoded and checked by the Rust core.

    vote = sign_vote(seed, authority_public, "vote", 7, "s1", "s2")
    cert = build_quorum_certificate([v1, v2, v3], authority_public, voters, quorum=3)
    verify_quorum_certificate(cert, authority_public, voters, quorum=3).candidate   # 's1'
    evidence = build_equivocation(vote_for_s1, vote_for_s3)
    verify_equivocation(evidence, authority_public, public_key(seed)).voter         # 's2'

Failures raise :class:`~pouw_netops.AuthenticationError` (a signature that does
not verify, a certificate's aggregate signature that does not verify, which
names no signer, a signer outside the voter set), :class:`~pouw_netops.DecodeError`
(malformed, truncated or oversized bytes; too few signers or no equivocation:
``kind`` ``"verify_failed"``), :class:`~pouw_netops.InvalidArgumentError` (a bad
key, kind, quorum or voter list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Literal, Tuple

from . import _native

__all__ = [
    "EquivocationInfo",
    "QuorumCertificateInfo",
    "VoteInfo",
    "build_equivocation",
    "build_quorum_certificate",
    "inspect_vote",
    "sign_vote",
    "verify_equivocation",
    "verify_quorum_certificate",
]

VoteKind = Literal["pre_vote", "vote"]


@dataclass(frozen=True)
class VoteInfo:
    """What a signed vote says (decoded, not verified)."""

    kind: str
    term: int
    candidate: str
    voter: str


@dataclass(frozen=True)
class QuorumCertificateInfo:
    """A verified quorum certificate: ``signers`` in ascending id order;
    ``digest`` is SHA-256 of its encoding. Check ``kind``, ``term`` and
    ``candidate`` against what you expect."""

    kind: str
    term: int
    candidate: str
    signers: Tuple[str, ...]
    digest: bytes


@dataclass(frozen=True)
class EquivocationInfo:
    """A verified equivocation: ``voter`` voted for both ``candidates``
    (ascending) in ``term``."""

    voter: str
    term: int
    candidates: Tuple[str, str]


def _voters(voters: Iterable[Tuple[str, bytes]]) -> List[Tuple[str, bytes]]:
    return [(str(node_id), bytes(key)) for node_id, key in voters]


def sign_vote(seed: bytes, authority: bytes, kind: VoteKind, term: int, candidate: str, voter: str) -> bytes:
    """``voter``'s ``kind`` vote for ``candidate`` in ``term``, signed with the
    identity key ``seed`` in the cluster of authority public key ``authority``, encoded."""
    return _native.sign_vote(seed, authority, kind, term, candidate, voter)


def inspect_vote(data: bytes) -> VoteInfo:
    """The fields of an encoded signed vote (not verified)."""
    return VoteInfo(*_native.inspect_vote(data))


def build_quorum_certificate(
    votes: Iterable[bytes], authority: bytes, voters: Iterable[Tuple[str, bytes]], quorum: int
) -> bytes:
    """The encoded certificate of ``votes`` (signed votes of one kind, term
    and candidate; each is verified, a voter counts once) once at least
    ``quorum`` of ``voters`` signed, their signatures half-aggregated."""
    return _native.build_quorum_certificate(list(votes), authority, _voters(voters), quorum)


def verify_quorum_certificate(
    data: bytes, authority: bytes, voters: Iterable[Tuple[str, bytes]], quorum: int
) -> QuorumCertificateInfo:
    """Verifies an encoded quorum certificate: at least ``quorum`` distinct
    ``voters`` signed it, their aggregate signature valid in the cluster of
    ``authority``."""
    kind, term, candidate, signers, digest = _native.verify_quorum_certificate(
        data, authority, _voters(voters), quorum
    )
    return QuorumCertificateInfo(kind, term, candidate, tuple(signers), digest)


def build_equivocation(first: bytes, second: bytes) -> bytes:
    """The canonical equivocation record of two encoded signed votes (any
    order); :class:`~pouw_netops.DecodeError` if they are not an equivocation."""
    return _native.build_equivocation(first, second)


def verify_equivocation(data: bytes, authority: bytes, voter_key: bytes) -> EquivocationInfo:
    """Verifies an encoded equivocation record offline, from the authority's
    public key and the voter's identity public key alone."""
    voter, term, first, second = _native.verify_equivocation(data, authority, voter_key)
    return EquivocationInfo(voter, term, (first, second))
