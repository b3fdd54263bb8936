"""Signed votes, quorum certificates and equivocation evidence through
``pouw_netops.quorum``: the committed golden vectors verify (and their
signatures check against an independent RFC 8032 verifier, and the
certificate's half-aggregated signature against an independent
recomputation, over the layouts documented in ``core/src/auth/quorum.rs`` and
``verify.rs``), certificates and evidence
built here verify, and each bad input the Byzantine election names is refused."""

from __future__ import annotations

import hashlib
import pathlib
import struct
from typing import List, Tuple

import pytest

from reference import ed25519_halfagg_verify, ed25519_verify

from pouw_netops import AuthenticationError, DecodeError, InvalidArgumentError
from pouw_netops.identity import public_key
from pouw_netops.quorum import (
    build_equivocation,
    build_quorum_certificate,
    inspect_vote,
    sign_vote,
    verify_equivocation,
    verify_quorum_certificate,
)

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
AUTHORITY = public_key(bytes([0xA0]) * 32)
SEEDS = {f"supervisor-{i}": bytes([0x50 + i]) * 32 for i in range(1, 5)}
# Given in reverse order on purpose: the library sorts voters by id.
VOTERS: List[Tuple[str, bytes]] = [(n, public_key(s)) for n, s in reversed(sorted(SEEDS.items()))]


def vector(name: str) -> bytes:
    return bytes.fromhex((VECTORS / f"{name}.hex").read_text().strip())


def vote(kind: str, term: int, candidate: str, voter: str) -> bytes:
    return sign_vote(SEEDS[voter], AUTHORITY, kind, term, candidate, voter)  # type: ignore[arg-type]


def statement(kind: str, term: int, candidate: str, voter: str) -> bytes:
    """What a voter signs, from the documented layout (not from the code)."""
    label = {"pre_vote": b"pouw-netops/pre-vote/v1", "vote": b"pouw-netops/vote/v1"}[kind]
    c, v = candidate.encode(), voter.encode()
    return label + b"\x00" + AUTHORITY + struct.pack("<Q", term) + bytes([len(c)]) + c + bytes([len(v)]) + v


def test_golden_certificate_verifies_and_matches_the_documented_layout() -> None:
    data = vector("quorum_certificate")
    info = verify_quorum_certificate(data, AUTHORITY, VOTERS, 3)
    assert (info.kind, info.term, info.candidate) == ("vote", 12, "supervisor-3")
    assert info.signers == ("supervisor-1", "supervisor-3", "supervisor-4")
    assert info.digest == hashlib.sha256(data).digest()
    # Parse it by hand: version, kind, term, candidate, bitmap, nonces, s.
    assert data[0] == 2 and data[1] == 2
    (term,) = struct.unpack_from("<Q", data, 2)
    clen = data[10]
    candidate = data[11 : 11 + clen].decode()
    blen = data[11 + clen]
    bitmap = int.from_bytes(data[12 + clen : 12 + clen + blen], "little")
    nonces, s = data[12 + clen + blen : -32], data[-32:]
    ordered = sorted(SEEDS)
    signers = [ordered[i] for i in range(len(ordered)) if bitmap >> i & 1]
    assert len(nonces) == 32 * len(signers)

    def items(kind: str, term: int) -> List[Tuple[bytes, bytes, bytes, int]]:
        """(R_i, A_i, M_i, z_i) with the weights of the documented transcript."""
        t = hashlib.sha512(b"pouw-netops/qc-halfagg/v1")
        t.update(bytes([1 if kind == "pre_vote" else 2]) + struct.pack("<Q", term) + bytes([clen]) + candidate.encode() + struct.pack("<Q", bitmap))
        for i, name in enumerate(signers):
            r, v = nonces[32 * i : 32 * (i + 1)], name.encode()
            d = hashlib.sha512(b"pouw-netops/qc-halfagg/signer/v1" + r + public_key(SEEDS[name]) + bytes([len(v)]) + v)
            t.update(d.digest()[:32])
        head = t.digest()
        return [
            (
                nonces[32 * i : 32 * (i + 1)],
                public_key(SEEDS[name]),
                statement(kind, term, candidate, name),
                int.from_bytes(hashlib.sha512(head + struct.pack("<Q", i)).digest(), "little"),
            )
            for i, name in enumerate(signers)
        ]

    assert ed25519_halfagg_verify(items("vote", term), s)
    # Not as pre-votes, not for another term, not with another s or R order.
    assert not ed25519_halfagg_verify(items("pre_vote", term), s)
    assert not ed25519_halfagg_verify(items("vote", term + 1), s)
    assert not ed25519_halfagg_verify(items("vote", term), (int.from_bytes(s, "little") + 1).to_bytes(32, "little"))
    swapped = items("vote", term)
    swapped[0], swapped[1] = (swapped[1][0], *swapped[0][1:]), (swapped[0][0], *swapped[1][1:])
    assert not ed25519_halfagg_verify(swapped, s)


def test_golden_evidence_verifies_offline() -> None:
    data = vector("quorum_equivocation")
    info = verify_equivocation(data, AUTHORITY, public_key(SEEDS["supervisor-2"]))
    assert (info.voter, info.term, info.candidates) == ("supervisor-2", 12, ("supervisor-1", "supervisor-3"))
    with pytest.raises(AuthenticationError):
        verify_equivocation(data, AUTHORITY, public_key(SEEDS["supervisor-1"]))
    with pytest.raises(AuthenticationError):
        verify_equivocation(data, public_key(b"\x99" * 32), public_key(SEEDS["supervisor-2"]))


def test_signed_vote_matches_the_reference() -> None:
    v = vote("pre_vote", 12, "supervisor-3", "supervisor-1")
    assert v == vector("quorum_signed_vote")
    info = inspect_vote(v)
    assert (info.kind, info.term, info.candidate, info.voter) == ("pre_vote", 12, "supervisor-3", "supervisor-1")
    msg = statement("pre_vote", 12, "supervisor-3", "supervisor-1")
    assert ed25519_verify(public_key(SEEDS["supervisor-1"]), msg, v[-64:])


def certificate(term: int = 5, candidate: str = "supervisor-2", signers: Tuple[int, ...] = (1, 2, 4)) -> bytes:
    votes = [vote("vote", term, candidate, f"supervisor-{i}") for i in signers]
    return build_quorum_certificate(votes, AUTHORITY, VOTERS, len(signers))


def test_built_certificate_verifies() -> None:
    data = certificate()
    info = verify_quorum_certificate(data, AUTHORITY, dict(VOTERS).items(), 3)
    assert (info.kind, info.term, info.candidate) == ("vote", 5, "supervisor-2")
    assert info.signers == ("supervisor-1", "supervisor-2", "supervisor-4")
    # Vote order does not matter: one certificate.
    votes = [vote("vote", 5, "supervisor-2", f"supervisor-{i}") for i in (4, 1, 2)]
    assert build_quorum_certificate(votes, AUTHORITY, VOTERS, 3) == data


def test_forged_certificate_is_refused() -> None:
    data = bytearray(certificate())
    data[-1] ^= 1
    with pytest.raises(AuthenticationError, match="aggregate"):
        verify_quorum_certificate(bytes(data), AUTHORITY, VOTERS, 3)
    with pytest.raises(AuthenticationError):
        verify_quorum_certificate(certificate(), public_key(b"\x99" * 32), VOTERS, 3)


def test_certificate_for_another_term_or_candidate_is_refused() -> None:
    data = bytearray(certificate())
    data[2] ^= 1  # term 5 -> 4, signatures kept
    with pytest.raises(AuthenticationError):
        verify_quorum_certificate(bytes(data), AUTHORITY, VOTERS, 3)
    data = bytearray(certificate())
    data[22] = ord("3")  # supervisor-2 -> supervisor-3
    with pytest.raises(AuthenticationError):
        verify_quorum_certificate(bytes(data), AUTHORITY, VOTERS, 3)
    # Votes for another candidate do not join the certificate.
    votes = [vote("vote", 5, "supervisor-2", "supervisor-1"), vote("vote", 5, "supervisor-3", "supervisor-2")]
    with pytest.raises(Exception) as info:
        build_quorum_certificate(votes, AUTHORITY, VOTERS, 2)
    assert getattr(info.value, "kind", None) == "credential_rejected"


def test_non_voter_and_duplicate_signers_are_refused() -> None:
    data = certificate()
    three = [v for v in VOTERS if v[0] != "supervisor-4"]
    with pytest.raises(AuthenticationError, match="signer index 3"):
        verify_quorum_certificate(data, AUTHORITY, three, 3)
    # A vote signed by a key outside the voter set, in a voter's name.
    outsider = sign_vote(b"\x99" * 32, AUTHORITY, "vote", 5, "supervisor-2", "supervisor-1")
    with pytest.raises(AuthenticationError):
        build_quorum_certificate(
            [outsider, vote("vote", 5, "supervisor-2", "supervisor-2")], AUTHORITY, VOTERS, 2
        )
    # One voter twice is one signer.
    twice = [vote("vote", 5, "supervisor-2", "supervisor-1")] * 2
    with pytest.raises(InvalidArgumentError) as info:
        build_quorum_certificate(twice, AUTHORITY, VOTERS, 2)
    assert info.value.kind == "invalid_state"
    # On the wire: voter 1's nonce copied into voter 2's slot.
    raw = bytearray(certificate(signers=(1, 2)))
    raw[-64:-32] = raw[-96:-64]
    with pytest.raises(AuthenticationError):
        verify_quorum_certificate(bytes(raw), AUTHORITY, VOTERS, 2)


def test_too_few_signers_and_bad_quorums_are_refused() -> None:
    data = certificate(signers=(1, 2))
    with pytest.raises(DecodeError) as info:
        verify_quorum_certificate(data, AUTHORITY, VOTERS, 3)
    assert info.value.kind == "verify_failed"
    for quorum in (0, 5):
        with pytest.raises(InvalidArgumentError):
            verify_quorum_certificate(data, AUTHORITY, VOTERS, quorum)


def test_truncated_and_oversized_certificates_are_refused() -> None:
    data = certificate()
    for cut in (0, 1, 10, 30, len(data) - 1):
        with pytest.raises(DecodeError):
            verify_quorum_certificate(data[:cut], AUTHORITY, VOTERS, 3)
    with pytest.raises(DecodeError) as info:
        verify_quorum_certificate(data + b"\x00", AUTHORITY, VOTERS, 3)
    assert info.value.kind == "trailing_bytes"
    with pytest.raises(DecodeError) as info:
        verify_quorum_certificate(b"\x01" * 5000, AUTHORITY, VOTERS, 3)
    assert info.value.kind == "too_large"


def test_evidence_is_built_in_canonical_order_and_refuses_non_equivocations() -> None:
    a = vote("vote", 9, "supervisor-1", "supervisor-3")
    b = vote("vote", 9, "supervisor-4", "supervisor-3")
    record = build_equivocation(b, a)
    assert record == build_equivocation(a, b)
    info = verify_equivocation(record, AUTHORITY, public_key(SEEDS["supervisor-3"]))
    assert info.candidates == ("supervisor-1", "supervisor-4")
    for other in (
        a,  # the same vote
        vote("vote", 10, "supervisor-4", "supervisor-3"),  # another term
        vote("vote", 9, "supervisor-4", "supervisor-2"),  # another voter
        vote("pre_vote", 9, "supervisor-4", "supervisor-3"),  # a pre-vote grant
    ):
        with pytest.raises(DecodeError) as err:
            build_equivocation(a, other)
        assert err.value.kind == "verify_failed"
    with pytest.raises(DecodeError):
        verify_equivocation(record[:-1], AUTHORITY, public_key(SEEDS["supervisor-3"]))
    forged = bytearray(record)
    forged[-1] ^= 1
    with pytest.raises(AuthenticationError):
        verify_equivocation(bytes(forged), AUTHORITY, public_key(SEEDS["supervisor-3"]))


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError):
        sign_vote(SEEDS["supervisor-1"], AUTHORITY, "ballot", 1, "a", "b")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        sign_vote(b"short", AUTHORITY, "vote", 1, "a", "b")
    with pytest.raises(InvalidArgumentError):
        verify_quorum_certificate(certificate(), AUTHORITY, VOTERS + VOTERS[:1], 3)
    with pytest.raises(InvalidArgumentError):
        build_quorum_certificate([], AUTHORITY, VOTERS, 1)
