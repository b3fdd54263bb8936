"""``pouw_netops.identity``: keys, certificates and revocation lists, checked
against the core's committed vectors (tests/vectors/auth_*.hex)."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from pouw_netops import (
    AuthenticationError,
    CapacityError,
    CredentialError,
    DecodeError,
    InvalidArgumentError,
    NetOpsError,
)
from pouw_netops.identity import (
    Authority,
    CertificateInfo,
    generate_key,
    inspect_certificate,
    public_key,
    verify_certificate,
)

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
AUTHORITY_SEED = bytes([0xA0]) * 32
WORKER_SEED = bytes([0x77]) * 32
NOW = 1_710_000_000


def golden(name: str) -> bytes:
    return bytes.fromhex((VECTORS / f"{name}.hex").read_text().strip())


def worker_7(authority: Authority, **overrides: object) -> bytes:
    """core/tests/auth_golden.rs::worker_certificate, issued from Python."""
    fields: dict = dict(
        identity_public=public_key(WORKER_SEED),
        wg_key=bytes([0x42]) * 32,
        slots=4,
        pools=["train", "infer"],
        endpoints=["203.0.113.7:51820", "[2001:db8::7]:51820"],
        serial=3,
        not_before=1_700_000_000,
        not_after=1_731_536_000,
    )
    fields.update(overrides)
    return authority.issue("worker-7", "worker", **fields)


def test_generated_keys_are_32_random_bytes() -> None:
    a, b = generate_key(), generate_key()
    assert len(a) == len(b) == 32 and a != b
    assert public_key(a) == public_key(a) and len(public_key(a)) == 32 and public_key(a) != public_key(b)
    assert Authority(a).public_key == public_key(a) and Authority(a).seed == a
    assert Authority().public_key != Authority().public_key


def test_python_issues_the_rust_certificate_bytes() -> None:
    assert worker_7(Authority(AUTHORITY_SEED)) == golden("auth_certificate")


def test_inspect_reads_every_field() -> None:
    info = inspect_certificate(golden("auth_certificate"))
    assert info == CertificateInfo(
        node_id="worker-7",
        role="worker",
        identity=public_key(WORKER_SEED),
        wg_key=bytes([0x42]) * 32,
        endpoints=("203.0.113.7:51820", "[2001:db8::7]:51820"),
        slots=4,
        pools=("train", "infer"),
        serial=3,
        not_before=1_700_000_000,
        not_after=1_731_536_000,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.slots = 5  # type: ignore[misc]


def test_round_trip_with_defaults() -> None:
    authority = Authority(generate_key())
    seed = generate_key()
    cert = authority.issue("s1", "supervisor", identity_public=public_key(seed), not_before=0, not_after=10)
    info = inspect_certificate(cert)
    assert (info.node_id, info.role, info.identity, info.serial) == ("s1", "supervisor", public_key(seed), 1)
    assert (info.slots, info.pools, info.endpoints, len(info.wg_key)) == (0, (), (), 32)
    # The placeholder WireGuard key is the core's, derived from the node id alone.
    again = Authority().issue("s1", "supervisor", identity_public=public_key(seed), not_before=0, not_after=10)
    assert inspect_certificate(again).wg_key == info.wg_key


def test_verify_accepts_and_refuses_with_the_right_class() -> None:
    cert = golden("auth_certificate")
    authority = Authority(AUTHORITY_SEED).public_key
    assert verify_certificate(cert, authority, NOW, "worker", "worker-7") == inspect_certificate(cert)
    # Another authority: not authentic, and not a credential problem.
    with pytest.raises(AuthenticationError) as info:
        verify_certificate(cert, Authority(bytes(32)).public_key, NOW)
    assert type(info.value) is AuthenticationError and info.value.kind == "unauthenticated"
    # Authentic but not acceptable.
    for unix_now, role, node_id in [
        (1_731_536_000, None, None),  # expired (not_after is exclusive)
        (1_699_999_999, None, None),  # not yet valid
        (NOW, "supervisor", None),
        (NOW, None, "worker-8"),
    ]:
        with pytest.raises(CredentialError) as cinfo:
            verify_certificate(cert, authority, unix_now, role, node_id)
        assert cinfo.value.kind == "credential_rejected"
    forged = bytearray(cert)
    forged[10] ^= 1
    with pytest.raises(NetOpsError):
        verify_certificate(bytes(forged), authority, NOW)
    with pytest.raises(DecodeError):
        inspect_certificate(cert[:-1])
    with pytest.raises(DecodeError):
        inspect_certificate(b"")


def test_python_issues_the_rust_revocation_bytes() -> None:
    authority = Authority(AUTHORITY_SEED)
    assert authority.revoke(5, [("worker-7", 2), ("worker-9", None)]) == golden("auth_revocation")


def test_bad_arguments() -> None:
    authority = Authority(AUTHORITY_SEED)
    with pytest.raises(InvalidArgumentError, match="32 bytes"):
        public_key(b"short")
    with pytest.raises(InvalidArgumentError):
        Authority(b"x" * 33)
    with pytest.raises(InvalidArgumentError, match="wg_key"):
        worker_7(authority, wg_key=b"k")
    with pytest.raises(CapacityError):
        worker_7(authority, pools=["a", "b", "c", "d", "e"])
    with pytest.raises(InvalidArgumentError):
        worker_7(authority, pools=["train", "train"])
    with pytest.raises(InvalidArgumentError):
        worker_7(authority, endpoints=["203.0.113.7:0"])
    with pytest.raises(InvalidArgumentError):
        worker_7(authority, not_before=10, not_after=5)
    with pytest.raises(InvalidArgumentError, match="supervisor, worker"):
        authority.issue("w", "boss", identity_public=public_key(WORKER_SEED), not_before=0, not_after=1)
    with pytest.raises(DecodeError):  # the core classifies a duplicate entry as malformed
        authority.revoke(1, [("w", None), ("w", None)])
