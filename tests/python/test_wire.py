"""Bytes interop: Python reads the Rust golden vectors and writes the same bytes."""

from __future__ import annotations

import pathlib

import pytest

from pouw_netops import DecodeError
from pouw_netops.wire import decode_envelope, encode_heartbeat

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
    # The last f32 is memory_usage (0.625 = 00 00 20 3f); make it 2.0 (00 00 00 40).
    data[-4:] = bytes([0, 0, 0, 0x40])
    with pytest.raises(DecodeError):
        decode_envelope(bytes(data))
