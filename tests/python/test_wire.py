"""Bytes interop: Python reads the Rust golden vectors and writes the same bytes."""

from __future__ import annotations

import pathlib

import pytest

from pouw_netops import DecodeError, InvalidArgumentError
from pouw_netops.identity import inspect_certificate
from pouw_netops.wire import decode_envelope, decode_sealed, encode_heartbeat

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"


def golden(name: str) -> bytes:
    return bytes.fromhex((VECTORS / f"{name}.hex").read_text().strip())


# The envelope of core/tests/golden.rs::heartbeat_vector, restated.
HEARTBEAT = dict(
    sender="worker-7",
    sequence=42,
    sent_at=1_700_000_000.123456,
    response_time=0.035,
    success_rate=0.97,
    task_completion_rate=0.9,
    bandwidth_utilization=0.25,
    cpu_usage=0.5,
    memory_usage=0.625,
)


def test_python_decodes_the_rust_heartbeat_vector():
    d = decode_envelope(golden("heartbeat"))
    assert d["version"] == 1 and d["kind"] == "heartbeat"
    assert d["sent_at_micros"] == 1_700_000_000_123_456
    for key, value in HEARTBEAT.items():
        assert d[key] == value, key


# Every other committed vector, with the fields core/tests/golden.rs gives it.
OTHER_VECTORS = {
    "election_pre_vote": ("supervisor-2", "pre_vote", {"term": 7, "progress": 123_456}),
    "election_pre_vote_response": ("supervisor-1", "pre_vote_response", {"term": 7, "granted": True}),
    "election_request_vote": ("supervisor-2", "request_vote", {"term": 300, "progress": None}),
    "election_vote_response": ("supervisor-1", "vote_response", {"term": 301, "granted": False}),
    "election_leader_heartbeat": ("supervisor-2", "leader_heartbeat", {"term": 300}),
    "election_heartbeat_response": ("supervisor-1", "heartbeat_response", {"term": 300}),
    "link_state": ("worker-7", "link_state", {"sequence": 300}),
    "task_assignment": (
        "supervisor-1",
        "task_assignment",
        {"term": 1, "task": "task-42", "task_type": "train", "role": "primary", "checkpoint_sequence": 1_000},
    ),
    "task_release": ("supervisor-1", "task_release", {"task": "task-42"}),
    "checkpoint_report": ("worker-7", "checkpoint_report", {"task": "task-42", "checkpoint_sequence": 1_001}),
    "table_report": ("supervisor-3", "table_report", {"term": 300, "part": 1, "parts": 3}),
}


@pytest.mark.parametrize("name", sorted(OTHER_VECTORS))
def test_python_decodes_every_rust_vector(name):
    sender, kind, fields = OTHER_VECTORS[name]
    d = decode_envelope(golden(name))
    assert (d["sender"], d["kind"]) == (sender, kind)
    for key, value in fields.items():
        assert d[key] == value, key


def test_membership_carries_joining_and_a_certificate():
    d = decode_envelope(golden("membership"))
    assert (d["sender"], d["kind"], d["joining"]) == ("worker-3", "membership", True)
    assert d["certificate"] == golden("auth_certificate")
    assert inspect_certificate(d["certificate"]).node_id == "worker-7"
    assert set(d) == {"version", "sender", "kind", "joining", "certificate"}
    leave = decode_envelope(golden("membership_leave"))
    assert (leave["sender"], leave["joining"], leave["certificate"]) == ("supervisor-1", False, b"")


def test_sealed_envelopes_are_split_without_verifying():
    d = decode_sealed(golden("auth_envelope_mac"))
    assert (d["version"], d["auth"], d["sender"], d["epoch"], d["counter"]) == (2, "mac", "worker-7", 3, 42)
    assert d["recipient_epoch"] == 5
    assert d["kind"] == "heartbeat"
    for key, value in HEARTBEAT.items():
        if key != "sender":
            assert d[key] == value, key
    s = decode_sealed(golden("auth_envelope_signed"))
    assert (s["auth"], s["sender"], s["epoch"], s["counter"], s["kind"], s["term"]) == (
        "signed",
        "supervisor-1",
        1,
        0,
        "leader_notice",
        7,
    )
    # A v1 envelope is not a sealed one, and the reverse.
    with pytest.raises(DecodeError):
        decode_sealed(golden("heartbeat"))
    with pytest.raises(DecodeError):
        decode_envelope(golden("auth_envelope_mac"))
    with pytest.raises(DecodeError):
        decode_sealed(golden("auth_envelope_mac")[:20])


def test_link_state_links_are_decoded():
    d = decode_envelope(golden("link_state"))
    assert d["links"] == [
        {"neighbor": "worker-2", "latency": 0.012345, "up": True},
        {"neighbor": "worker-9", "latency": 0.25, "up": False},
    ]


def test_python_encodes_the_rust_bytes():
    fields = dict(HEARTBEAT)
    sender, sequence, sent_at = fields.pop("sender"), fields.pop("sequence"), fields.pop("sent_at")
    assert encode_heartbeat(sender, sequence, sent_at, **fields) == golden("heartbeat")


def test_round_trip_with_defaults():
    data = encode_heartbeat("node-α", 7, 12.5)
    d = decode_envelope(data)
    assert (d["sender"], d["sequence"], d["sent_at"], d["success_rate"], d["cpu_usage"]) == ("node-α", 7, 12.5, 1.0, 0.0)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b"",
        lambda b: b[:-1],
        lambda b: b + b"\x00",
        lambda b: b"\x02" + b[1:],
        lambda b: b[:1] + bytes([65]) + b"a" * 80,
        lambda b: b"\x01" * (64 * 1024 + 1),
    ],
    ids=["empty", "truncated", "trailing", "version", "oversized-id", "too-large"],
)
def test_malformed_bytes_raise_decode_error(mutate):
    with pytest.raises(DecodeError) as info:
        decode_envelope(mutate(golden("heartbeat")))
    assert isinstance(info.value, ValueError)


def test_out_of_range_metric_on_the_wire_is_rejected():
    data = bytearray(golden("heartbeat"))
    # The last f32 is memory_usage (0.625 = 00 00 20 3f), before the leading term
    # (0), the empty list of held roles and no echo; make it 2.0 (00 00 00 40).
    assert bytes(data[-7:-3]) == bytes([0, 0, 0x20, 0x3F])
    data[-7:-3] = bytes([0, 0, 0, 0x40])
    # The core reports the metric, as the C API does (PN_ERR_INVALID_METRIC).
    with pytest.raises(InvalidArgumentError) as info:
        decode_envelope(bytes(data))
    assert info.value.kind == "invalid_metric" and not isinstance(info.value, DecodeError)


def test_checkpoints_carry_their_primarys_signature():
    d = decode_envelope(golden("checkpoint_report"))
    assert isinstance(d["signature"], bytes) and len(d["signature"]) == 64
    t = decode_envelope(golden("task_table"))
    assert [e["checkpoint_primary"] for e in t["tasks"]] == ["worker-7", None]


def test_a_table_report_decodes_as_the_task_table_vectors_entries():
    r = decode_envelope(golden("table_report"))
    t = decode_envelope(golden("task_table"))
    assert r["tasks"] == t["tasks"] and len(r["tasks"]) == 2
