"""``MessageHistoryCompressor`` against a plain list of messages, with batches
read back by the standard ``zlib`` module."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import struct
import zlib
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pouw_netops import (
    CompressedMessageBatch,
    DecodeError,
    InvalidArgumentError,
    MessageHistoryCompressor,
    NetworkMessage,
    NotFoundError,
)
from pouw_netops.history import message_bytes, verify_consistency, verify_message

T0 = 1_700_000_000


def as_dict(m: NetworkMessage) -> Dict[str, Any]:
    return {"msg_type": m.msg_type, "sender_id": m.sender_id, "timestamp": float(m.timestamp), "data": m.data}


def corpus(n: int, seed: int = 0) -> List[NetworkMessage]:
    rng = random.Random(seed)
    out, t = [], T0
    for i in range(n):
        t += rng.choice([0, 0, 1, 2])  # non-decreasing, with ties
        kind = rng.choice(["gradient_update", "heartbeat", "task_assignment"])
        out.append(NetworkMessage(kind, f"worker-{rng.randint(0, 7)}", t, {"i": i, "loss": round(rng.random(), 4)}))
    return out


def read_back(msgs: List[NetworkMessage]) -> List[Dict[str, Any]]:
    """What ``decompress_batch`` gives for ``msgs``: each as a dict, its
    ``data`` as ``json.loads`` of the compact JSON ``add_message`` stores
    (lone surrogates pass through as the Rust writer passes them)."""
    return [
        {
            "msg_type": m.msg_type,
            "sender_id": m.sender_id,
            "timestamp": float(m.timestamp),
            "data": json.loads(json.dumps(m.data, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")),
        }
        for m in msgs
    ]


def sealed_and_read(msgs: List[NetworkMessage]) -> List[Dict[str, Any]]:
    """``msgs`` added to a new history that seals them as one batch, and
    that batch read back with ``decompress_batch``."""
    h = MessageHistoryCompressor("me", compression_threshold=len(msgs))
    for m in msgs:
        h.add_message(m, now=T0)
    (batch,) = h.compressed_batches
    result: List[Dict[str, Any]] = h.decompress_batch(batch)
    return result


def test_data_classes_match_old_api():
    assert [f.name for f in dataclasses.fields(NetworkMessage)] == ["msg_type", "sender_id", "timestamp", "data"]
    names = [f.name for f in dataclasses.fields(CompressedMessageBatch)]
    assert names[:6] == ["batch_id", "start_time", "end_time", "message_count", "compressed_data", "compression_ratio"]
    m = NetworkMessage("hb", "n")
    assert isinstance(m.timestamp, int) and m.data == {}
    assert NetworkMessage("hb", "n").data is not m.data


def test_batches_seal_at_the_threshold_and_zlib_reads_them():
    h = MessageHistoryCompressor("me", compression_threshold=100)
    msgs = corpus(250)
    for m in msgs:
        h.add_message(m, now=T0)
    batches = h.compressed_batches
    assert [b.message_count for b in batches] == [100, 100]
    assert len(h.message_buffer) == 50 and h.message_buffer == [as_dict(m) for m in msgs[200:]]
    b = batches[0]
    assert (b.start_time, b.end_time) == (msgs[0].timestamp, msgs[99].timestamp)
    # Format v2: the header (164 bytes plus the log frontier) declares the
    # columnar body the standard zlib module inflates.
    magic, version = struct.unpack_from("<4sB", b.header, 0)
    (raw_len, zlib_len) = struct.unpack_from("<II", b.header, 44)
    body_len, dict_entries, _root, log_size = struct.unpack_from("<II32sQ", b.header, 116)
    assert (magic, version, log_size) == (b"PNHB", 3, 0)
    assert len(b.header) == 164 and zlib_len == len(b.compressed_data)
    body = zlib.decompress(b.compressed_data)
    assert len(body) == body_len < raw_len
    # Senders and types once each (dictionaries), the payload keys once, in a
    # template (its texts between the numbers).
    assert body.count(b"worker-3") == 1 and body.count(b',"loss":') == 1 and body.count(b'{"i":') == 1
    assert b.compression_ratio == pytest.approx((len(b.header) + len(b.compressed_data)) / raw_len)
    assert h.decompress_batch(b) == [as_dict(m) for m in msgs[:100]]
    stats = h.get_compression_stats()
    assert list(stats) == [
        "total_messages",
        "total_compressed",
        "total_raw_bytes",
        "total_compressed_bytes",
        "average_compression_ratio",
        "current_buffer_size",
        "compressed_batches",
        "archived_batches",
        "space_saved_bytes",
        "space_saved_percentage",
    ]
    assert (stats["total_messages"], stats["total_compressed"], stats["current_buffer_size"]) == (250, 200, 50)
    assert stats["compressed_batches"] == 2 and stats["archived_batches"] == 0
    assert stats["space_saved_bytes"] == stats["total_raw_bytes"] - stats["total_compressed_bytes"] > 0


def test_compress_message_batch_seals_the_buffer():
    h = MessageHistoryCompressor("me")
    assert h.compress_message_batch(now=T0) is None
    msgs = corpus(10)
    for m in msgs:
        h.add_message(m)
    b = h.compress_message_batch(now=T0 + 100)
    assert b is not None and b.message_count == 10 and b.batch_id == "0"
    assert h.message_buffer == [] and h.decompress_batch(b) == [as_dict(m) for m in msgs]


def test_max_batch_size_caps_the_threshold():
    h = MessageHistoryCompressor("me", compression_threshold=1000, max_batch_size=7)
    for m in corpus(15):
        h.add_message(m)
    assert [b.message_count for b in h.compressed_batches] == [7, 7]


@pytest.mark.parametrize("seed", range(8))
def test_search_matches_a_filtered_list(seed):
    rng = random.Random(seed)
    msgs = corpus(1200, seed)
    h = MessageHistoryCompressor("me", compression_threshold=rng.choice([1, 50, 300, 1000]))
    for m in msgs:
        h.add_message(m, now=T0)
    lo, hi = msgs[0].timestamp, msgs[-1].timestamp
    for _ in range(20):
        a = rng.uniform(lo - 5, hi + 5)
        b = a + rng.uniform(0, (hi - lo) / 4)
        kind = rng.choice([None, "heartbeat", "gradient_update", "absent"])
        sender = rng.choice([None, "worker-3", "worker-9"])
        want = [
            as_dict(m)
            for m in msgs
            if a <= m.timestamp <= b and kind in (None, m.msg_type) and sender in (None, m.sender_id)
        ]
        assert h.search_messages(a, b, message_type=kind, sender_id=sender) == want
    assert h.search_messages(hi, lo) == []


def test_older_timestamps_are_clamped_to_the_newest():
    h = MessageHistoryCompressor("me")
    h.add_message(NetworkMessage("a", "n", T0 + 10, {}))
    h.add_message(NetworkMessage("b", "n", T0 + 5, {}))
    assert [m["timestamp"] for m in h.message_buffer] == [T0 + 10, T0 + 10]


def test_bad_records_raise_invalid_argument_and_store_nothing():
    h = MessageHistoryCompressor("me")
    for bad in [NetworkMessage("", "n", T0), NetworkMessage("t", "", T0), NetworkMessage("t" * 65, "n", T0)]:
        with pytest.raises(InvalidArgumentError):
            h.add_message(bad)
    with pytest.raises(InvalidArgumentError):
        h.add_message(NetworkMessage("t", "n", T0, {"x": "y" * 70_000}))
    with pytest.raises(TypeError):
        h.add_message(NetworkMessage("t", "n", T0, {"x": object()}))
    assert h.get_compression_stats()["total_messages"] == 0


def test_corrupt_batches_raise_decode_error():
    h = MessageHistoryCompressor("me")
    for m in corpus(20):
        h.add_message(m)
    b = h.compress_message_batch()
    assert b is not None
    flipped = bytearray(b.compressed_data)
    flipped[len(flipped) // 2] ^= 0xFF
    for broken in [
        dataclasses.replace(b, compressed_data=bytes(flipped)),
        dataclasses.replace(b, compressed_data=b.compressed_data[:-3]),
        dataclasses.replace(b, header=b.header[:10]),
        dataclasses.replace(b, header=b""),
    ]:
        with pytest.raises(DecodeError):
            h.decompress_batch(broken)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randint(0, 9 if depth < 4 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 7, 2**62, -(2**63), 2**64 + 3, rng.randint(-(10**6), 10**6)])
    if choice == 3:
        return rng.choice(
            [0.0, -0.0, 1.0, 0.1, 1e-5, 1.5e-4, 1e16, 1.5e16, 123456789012345.6, 1e300, 5e-324, -2.5, rng.random()]
            + [float("nan"), float("inf"), float("-inf"), rng.uniform(-1e20, 1e20)]
        )
    if choice in (4, 5):
        return "".join(rng.choice(['a', '"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "😀", " "]) for _ in range(rng.randint(0, 8)))
    if choice in (6, 7):
        return {"k" + str(i) + rng.choice(["", '"', "é"]): random_value(rng, depth + 1) for i in range(rng.randint(0, 4))}
    if choice == 8:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return tuple(random_value(rng, depth + 1) for _ in range(rng.randint(0, 3)))


@pytest.mark.parametrize("seed", range(20))
def test_native_json_is_byte_identical_to_the_json_module(seed):
    from pouw_netops import _native

    rng = random.Random(seed)
    for _ in range(200):
        value = {"v": random_value(rng)}
        want = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        assert _native.encode_json(value) == want, value


def test_native_json_writes_floats_as_repr_at_the_format_boundaries():
    """Floats where ``repr`` switches between positional and exponent form
    (1e-4, 1e16), with the neighbouring doubles, and the extremes."""
    import math

    from pouw_netops import _native

    values = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 0.5, 1.0, 123.0]
    for edge in [1e-6, 1e-5, 1e-4, 1e-3, 1.0, 1e15, 1e16, 1e17, 1e22, 1e100]:
        for x in [edge, math.nextafter(edge, 0.0), math.nextafter(edge, math.inf), 9.87654321 * edge, 1.5 * edge]:
            values += [x, -x]
    for x in values:
        want = json.dumps({"f": x}, separators=(",", ":")).encode()
        assert _native.encode_json({"f": x}) == want, repr(x)


def test_native_json_writes_random_doubles_and_64_bit_integers_as_json_does():
    """Doubles from random bit patterns (every exponent, both forms of
    ``repr``), reciprocals (``1e-05``-style exponents), 64-bit integers with
    their extremes, and strings with and without bytes to escape."""
    from pouw_netops import _native

    rng = random.Random(9)
    values: List[Any] = [-(2**63), 2**63 - 1, -1, 0, 10, -10, 99, 100, "", "plain", 'a"b', "a\\b", "\x00\x1f\n", "é\u2028"]
    for _ in range(20_000):
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if x == x and abs(x) != float("inf"):
            values.append(x)
        values.append(1.0 / rng.randrange(1, 10**9))
        values.append(rng.randrange(-(2**63), 2**63))
    for v in values:
        want = json.dumps({"v": v}, separators=(",", ":"), ensure_ascii=False).encode()
        assert _native.encode_json({"v": v}) == want, repr(v)


def test_native_json_falls_back_to_the_json_module():
    from enum import IntEnum

    from pouw_netops import _native

    class Level(IntEnum):
        HIGH = 3

    nested: Any = []
    for _ in range(100):
        nested = [nested]
    for value in [{1: "int key"}, {"e": Level.HIGH}, {"deep": nested}]:
        assert _native.encode_json(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    with pytest.raises(TypeError):
        _native.encode_json({"x": object()})
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate has no UTF-8 form
        _native.encode_json({"s": "\ud800"})
    cyclic: List[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError):
        _native.encode_json({"c": cyclic})


def test_a_full_archive_is_a_capacity_error_until_the_host_drains_it():
    from pouw_netops import CapacityError

    h = MessageHistoryCompressor("me", compression_threshold=1)
    msgs = corpus(1283)
    # 1024 batches in memory and 256 in the archive outbox; the 1281st record
    # stays in the buffer because it cannot be sealed.
    for m in msgs[:1281]:
        h.add_message(m)
    stats = h.get_compression_stats()
    assert (stats["compressed_batches"], stats["archived_batches"], stats["current_buffer_size"]) == (1024, 256, 1)
    with pytest.raises(CapacityError):
        h.add_message(msgs[1281])
    assert h.get_compression_stats()["total_messages"] == 1281, "a refused message is not stored"
    oldest = h.poll_archived()
    assert oldest is not None and oldest.batch_id == "0"
    assert h.decompress_batch(oldest) == [as_dict(msgs[0])]
    h.add_message(msgs[1281])
    assert h.get_compression_stats()["total_messages"] == 1282


def test_native_json_decoding_equals_json_loads():
    from pouw_netops import _native

    rng = random.Random(7)
    for _ in range(300):
        value = {"v": random_value(rng)}
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1]))
        got = _native.decode_json(text.encode())
        assert repr(got) == repr(json.loads(text)), text
    # Big integers, lone surrogates and NaN/Infinity come out as json.loads gives them.
    for text in ['{"n":123456789012345678901234567890}', '["\\ud800"]', "[NaN,Infinity,-Infinity,-0,1e400]"]:
        assert repr(_native.decode_json(text.encode())) == repr(json.loads(text))
    for bad in [b"{", b'{"a":1,}', b"[01]", b'"\x01"', b"tru"]:
        with pytest.raises(ValueError):
            _native.decode_json(bad)


def _mth(leaves: List[bytes]) -> bytes:
    """RFC 9162 MTH over leaf hashes, from the definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def test_the_merkle_log_matches_hashlib_and_proves_messages():
    h = MessageHistoryCompressor("me", compression_threshold=50)
    msgs = corpus(420, seed=3)
    for m in msgs:
        h.add_message(m, now=T0)
    assert h.log_size() == 8
    stored = h.search_messages(0, T0 * 2)[:400]
    # The log root from hashlib: leaves over the canonical bytes, batch entries over roots and counts.
    entries = []
    for i in range(0, 400, 50):
        leaves = [hashlib.sha256(b"\x00" + message_bytes(m)).digest() for m in stored[i : i + 50]]
        entries.append(hashlib.sha256(b"\x00" + _mth(leaves) + struct.pack("<I", 50)).digest())
    root = h.log_root()
    assert root == _mth(entries) and len(root) == 32
    for batch_id, index in [(0, 0), (3, 17), (7, 49)]:
        proof = h.inclusion_proof(batch_id, index)
        m = stored[batch_id * 50 + index]
        verify_message(proof, m, root)
        with pytest.raises(DecodeError):
            verify_message(proof, {**m, "data": {"i": -1}}, root)
        with pytest.raises(DecodeError):
            verify_message(proof, m, h.log_root_at(5))
    # An archived batch proves the same way, from its bytes.
    batch = h.compressed_batches[2]
    assert h.inclusion_proof(batch, 4) == h.inclusion_proof(2, 4)
    with pytest.raises(NotFoundError):
        h.inclusion_proof(99, 0)
    for first in range(1, 9):
        verify_consistency(first, 8, h.log_root_at(first), root, h.consistency_proof(first))
    with pytest.raises(DecodeError):
        verify_consistency(3, 8, h.log_root_at(2), root, h.consistency_proof(3))


def test_add_message_lets_data_set_the_message_while_it_is_written():
    """A ``dict`` subclass goes to the ``json`` module, which calls its
    ``items()``: Python code that may set the message's attributes while
    ``add_message`` writes it. That must work (no borrow of the message is
    held across it), and what is stored is the data as it was read."""
    msg = NetworkMessage("t", "s", T0, {})

    class Sneaky(dict):  # type: ignore[type-arg]
        def items(self):  # type: ignore[no-untyped-def,override]
            msg.data = {"replaced": True}
            msg.sender_id = "other"
            return super().items()

    msg.data = Sneaky(a=1)
    assert sealed_and_read([msg]) == [{"msg_type": "t", "sender_id": "s", "timestamp": T0, "data": {"a": 1}}]
    assert msg.data == {"replaced": True} and msg.sender_id == "other"


@pytest.mark.parametrize("seed", range(3))
def test_json_keys_remembered_by_identity_are_written_as_their_text(seed):
    """The writer remembers dict keys by object identity (16 at a time):
    the same key objects across messages, equal keys built anew, more keys
    than it remembers (so some are forgotten and met again), and keys that
    need escapes must all be stored as ``json.dumps`` writes them."""
    rng = random.Random(seed)
    literal = ["iteration", "loss", "node", 'q"uote', "é", "tab\t"] + [f"k{i}" for i in range(30)]
    msgs = []
    for i in range(400):
        names = rng.sample(literal, rng.randint(1, 8))
        # Half the time the same objects, half the time equal strings built anew.
        keys = names if rng.random() < 0.5 else ["".join(list(k)) for k in names]
        data: Dict[str, Any] = {k: rng.randint(-5, 5) for k in keys}
        msgs.append(NetworkMessage("t", "s", T0 + i, data))
    from pouw_netops import _native

    assert repr(sealed_and_read(msgs)) == repr(read_back(msgs))
    core = _native.HistoryCore(1000)
    for m in msgs:
        core.add_message(m, T0)
    # The stored bytes themselves (the core's records, unsealed).
    want = [json.dumps(m.data, separators=(",", ":"), ensure_ascii=False).encode() for m in msgs]
    assert [r[3] for r in core.search(T0, T0 + 400)] == want


@pytest.mark.parametrize("seed", range(5))
def test_batches_read_back_equal_json_loads_record_by_record(seed):
    """Reading a batch back reuses the key strings of earlier records (by
    position in their object): records whose keys move, change, nest and
    repeat must still decode exactly as ``json.loads`` of their own payload."""
    rng = random.Random(seed)
    keys = ["a", "b", "é", "loss", "iteration", "x" * 60, 'q"uote', "k\\n"]
    msgs = []
    for i in range(300):
        names = rng.sample(keys, rng.randint(0, len(keys)))
        data: Dict[str, Any] = {k: random_value(rng) for k in names}
        if rng.random() < 0.3:
            data[rng.choice(keys)] = {k: i for k in rng.sample(keys, rng.randint(0, 4))}
        msgs.append(NetworkMessage(rng.choice(["t1", "t2"]), f"s{rng.randint(0, 3)}", T0 + i, data))
    got = sealed_and_read(msgs)
    want = read_back(msgs)
    assert repr(got) == repr(want)
    assert [list(d["data"]) for d in got] == [list(d["data"]) for d in want], "key order kept"


# --- the payload parser against json.loads (hypothesis) ---

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 10**18, 10**19, -(10**18) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-05, 1e-07, 0.1, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e22, 1e23]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.text(alphabet='"\\/\b\f\n\r\t\x00\x1f\x7fé€😀a', max_size=8),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans(), indent=st.sampled_from([None, 0, 2]))
def test_native_json_decoding_equals_json_loads_for_any_value(value: Any, ascii_only: bool, indent: Any) -> None:
    from pouw_netops import _native

    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    data = text.encode("utf-8", "surrogatepass")
    assert repr(_native.decode_json(data)) == repr(json.loads(data)), text


@settings(max_examples=400, deadline=None)
@given(
    sign=st.sampled_from(["", "-"]),
    whole=st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,24}", fullmatch=True)),
    frac=st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,24}", fullmatch=True)),
    exp=st.one_of(st.just(""), st.from_regex(r"[eE][+-]?[0-9]{1,3}", fullmatch=True)),
)
def test_native_json_parses_numbers_as_json_loads_does(sign: str, whole: str, frac: str, exp: str) -> None:
    """Numbers of every length around the exact fast path (up to 19 digits
    below 2**53, powers of ten up to 22) and past it."""
    from pouw_netops import _native

    text = f"[{sign}{whole}{frac}{exp}]"
    assert repr(_native.decode_json(text.encode())) == repr(json.loads(text)), text


def test_native_json_parses_numbers_at_the_fast_path_edges() -> None:
    from pouw_netops import _native

    edges = [str(2**53 + d) for d in (-1, 0, 1, 2)] + ["9" * 15, "9" * 16, "9" * 18, "9" * 19, "1" + "0" * 18]
    texts = []
    for m in edges:
        for e in (-23, -22, -1, 0, 1, 22, 23, 300, -300, -330):
            texts += [f"{m}e{e}", f"-{m}E{e:+d}", f"{m[:-3]}.{m[-3:]}e{e}", f"0.{m}e{e}"]
        texts += [m, "-" + m, m + ".0"]
    texts += ["1e-05", "-0.0", "-0", "0e0", "1E400", "-1e400", "4.9e-324", "2.4703282292062328e-324", "0.1e1", "1e-7"]
    for t in texts:
        assert repr(_native.decode_json(f"[{t}]".encode())) == repr(json.loads(f"[{t}]")), t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads=st.lists(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5), min_size=1, max_size=40))
def test_batches_read_back_any_payload_as_json_loads(payloads: List[Dict[str, Any]]) -> None:
    """``add_message`` then ``decompress_batch`` of arbitrary ``data``: each
    record's ``data`` is ``json.loads`` of its JSON, whatever it holds."""
    msgs = [NetworkMessage("t", f"s{i % 3}", T0 + i // 2, d) for i, d in enumerate(payloads)]
    assert repr(sealed_and_read(msgs)) == repr(read_back(msgs))
