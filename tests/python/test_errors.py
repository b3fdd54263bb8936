"""The exception a core error raises follows from its kind alone, the same
classification the C API's result codes come from."""

from __future__ import annotations

import pathlib
from typing import Callable, Dict, Type

import pytest

import pouw_netops
from pouw_netops import (
    AttemptsExhaustedError,
    AuthenticationError,
    CapacityError,
    CredentialError,
    CrashRecoveryManager,
    DecodeError,
    Election,
    InvalidArgumentError,
    InvalidStateError,
    NetOpsError,
    NotFoundError,
    VPNMeshTopologyManager,
    WorkerReplacementManager,
)
from credentials import credentials

from pouw_netops import _native
from pouw_netops.identity import Authority, verify_certificate
from pouw_netops.wire import decode_envelope

T0 = 1_700_000_000.0
HEARTBEAT = bytes.fromhex((pathlib.Path(__file__).resolve().parents[1] / "vectors" / "heartbeat.hex").read_text().strip())

# What each kind means to a C caller (pn_result in include/pouw_netops.h):
# the Python class must be the one of the same family.
C_CODES = {
    "invalid_argument": "PN_ERR_INVALID_ARGUMENT",
    "invalid_id": "PN_ERR_INVALID_ID",
    "invalid_config": "PN_ERR_INVALID_CONFIG",
    "invalid_metric": "PN_ERR_INVALID_METRIC",
    "not_found": "PN_ERR_NOT_FOUND",
    "capacity_exceeded": "PN_ERR_CAPACITY_EXCEEDED",
    "buffer_too_small": "PN_ERR_BUFFER_TOO_SMALL",
    "malformed": "PN_ERR_DECODE",
    "empty": "PN_ERR_DECODE_EMPTY",
    "unsupported_version": "PN_ERR_DECODE_VERSION",
    "truncated": "PN_ERR_DECODE_TRUNCATED",
    "unknown_kind": "PN_ERR_DECODE_UNKNOWN_KIND",
    "trailing_bytes": "PN_ERR_DECODE_TRAILING_BYTES",
    "too_large": "PN_ERR_DECODE_TOO_LARGE",
    "invalid_state": "PN_ERR_INVALID_STATE",
    "attempts_exhausted": "PN_ERR_ATTEMPTS_EXHAUSTED",
    "unauthenticated": "PN_ERR_UNAUTHENTICATED",
    "replayed": "PN_ERR_REPLAYED",
    "credential_rejected": "PN_ERR_CREDENTIAL_REJECTED",
    "verify_failed": "PN_ERR_VERIFY_FAILED",
}

CLASS_OF_C_FAMILY: Dict[str, Type[NetOpsError]] = {
    "PN_ERR_INVALID": InvalidArgumentError,
    "PN_ERR_BUFFER": InvalidArgumentError,
    "PN_ERR_NOT_FOUND": NotFoundError,
    "PN_ERR_CAPACITY": CapacityError,
    "PN_ERR_DECODE": DecodeError,
    "PN_ERR_INVALID_STATE": InvalidStateError,
    "PN_ERR_ATTEMPTS": AttemptsExhaustedError,
    "PN_ERR_UNAUTHENTICATED": AuthenticationError,
    "PN_ERR_REPLAYED": AuthenticationError,
    "PN_ERR_CREDENTIAL": CredentialError,
    "PN_ERR_VERIFY": DecodeError,
}


def c_family_class(code: str) -> Type[NetOpsError]:
    """The class of the longest family prefix of a C code."""
    prefix = max((p for p in CLASS_OF_C_FAMILY if code.startswith(p)), key=len)
    return CLASS_OF_C_FAMILY[prefix]


def test_every_kind_maps_to_an_exported_class_that_agrees_with_c():
    table = dict(_native.error_classes())
    assert len(table) == len(_native.error_classes()), "each kind once"
    assert set(table) == set(C_CODES), "the same kinds as the C API"
    for kind, name in table.items():
        cls = getattr(pouw_netops, name)
        assert issubclass(cls, NetOpsError), kind
        assert cls is c_family_class(C_CODES[kind]), kind


def test_old_except_clauses_keep_working():
    assert issubclass(InvalidStateError, InvalidArgumentError) and issubclass(InvalidStateError, ValueError)
    assert issubclass(AttemptsExhaustedError, InvalidStateError)
    # The old API raised ValueError for a task type without a pool.
    assert issubclass(NotFoundError, LookupError) and issubclass(NotFoundError, ValueError)
    # Authentication failures are not bad arguments: the bytes were well formed.
    assert issubclass(CredentialError, AuthenticationError) and not issubclass(AuthenticationError, ValueError)


def _raise(f: Callable[[], object]) -> NetOpsError:
    with pytest.raises(NetOpsError) as info:
        f()
    return info.value


def test_representative_failures_raise_the_class_their_kind_names(metrics):
    classes = {kind: getattr(pouw_netops, name) for kind, name in _native.error_classes()}
    mesh = VPNMeshTopologyManager("me", "10.0.0.0/30")
    mesh.join_mesh({"node_id": "me"})
    workers = WorkerReplacementManager("sup")
    workers.register_worker_pool("train", ["w1", "w2"])
    workers.assign_workers_to_task("t", "train", 1, 0)
    crash = CrashRecoveryManager("me")
    leader = Election("solo", [], now=0.0)
    leader.tick(0.0)
    cases = {
        "not_found": lambda: crash.status("ghost"),
        "invalid_metric": lambda: crash.update_node_health("a", metrics("a", cpu_usage=2.0), now=T0),
        "invalid_id": lambda: crash.update_node_health("", metrics(), now=T0),
        "capacity_exceeded": lambda: mesh.join_mesh({"node_id": "x"}),
        "invalid_state": lambda: mesh.join_mesh({"node_id": "me"}),
        "empty": lambda: decode_envelope(b""),
        "unsupported_version": lambda: decode_envelope(b"\x02" + HEARTBEAT[1:]),
        "trailing_bytes": lambda: decode_envelope(HEARTBEAT + b"\x00"),
    }
    for kind, fail in cases.items():
        e = _raise(fail)
        assert e.kind == kind, (kind, e)
        assert type(e) is classes[kind], (kind, type(e))
    creds = credentials("s1", "supervisor")
    e = _raise(lambda: pouw_netops.Node("s1", "supervisor", ["s1"], phi_threshold=0.0, **creds))
    assert (e.kind, type(e)) == ("invalid_config", InvalidArgumentError), "the core checks the range"
    cert, authority = creds["certificate"], creds["authority"]
    e = _raise(lambda: verify_certificate(cert, Authority(bytes(32)).public_key, int(T0)))
    assert (e.kind, type(e)) == ("unauthenticated", AuthenticationError)
    e = _raise(lambda: verify_certificate(cert, authority, 2 * int(T0)))
    assert (e.kind, type(e)) == ("credential_rejected", CredentialError)
    assert leader.campaign(1.0) is None, "campaign on the leader is a no-op (etcd, raft-rs)"
    e = _raise(lambda: workers.assign_workers_to_task("t", "train", 1, 0))
    assert (e.kind, type(e)) == ("invalid_state", InvalidStateError)

