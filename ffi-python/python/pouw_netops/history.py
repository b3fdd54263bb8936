"""``MessageHistoryCompressor``: the old API's class over the core's message history.

Messages are buffered as records (``data`` as compact JSON bytes) and sealed
every ``compression_threshold`` messages into zlib batches (format v2: a
columnar body behind a version byte, still one standard zlib stream); up to 1024
batches stay in memory and searchable, older ones move to an archive outbox of
256 that the host drains with :meth:`MessageHistoryCompressor.poll_archived`.
Compression, decompression and search run in Rust with the GIL released, and
messages come back as dicts built in Rust (``data`` parsed from JSON there).

Every message is a leaf of a Merkle log (RFC 9162 hashing): :meth:`log_root` is
the 32 bytes a PoUW block commits to, :meth:`inclusion_proof` proves a message
is in it and :meth:`consistency_proof` that the log extends an earlier one;
:func:`verify_message` and :func:`verify_consistency` check them.

The class is native (``ffi-python/src/history.rs``): every call is one
native call, with no Python frame on ``add_message``; the batches and the live
views of its containers are made by the helpers below. It logs through
``logging.getLogger("pouw_netops.history")``. Subclassable.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Tuple

from . import _native
from ._live import LiveList, own_time
from ._native import MessageHistoryCompressor
from ._types import CompressedMessageBatch

__all__ = ["MessageHistoryCompressor", "message_bytes", "verify_message", "verify_consistency"]


def _batch(t: Tuple[int, float, float, int, int, bytes, bytes]) -> CompressedMessageBatch:
    batch_id, first, last, count, raw_len, header, zlib_stream = t
    ratio = (len(header) + len(zlib_stream)) / raw_len if raw_len else 1.0
    return CompressedMessageBatch(str(batch_id), first, last, count, zlib_stream, ratio, header)


def message_bytes(message: Mapping[str, Any]) -> bytes:
    """The canonical encoding of a stored message (a dict as search and
    decompress return it): the bytes its Merkle leaf hashes."""
    payload = _native.encode_json(message["data"])
    return _native.HistoryCore.record_bytes(message["sender_id"], message["msg_type"], message["timestamp"], payload)


def verify_message(proof: bytes, message: Mapping[str, Any], log_root: bytes) -> None:
    """Checks that ``message`` (a stored message dict) is in the log with root
    ``log_root``, by an encoded inclusion proof; ``DecodeError`` if not."""
    _native.merkle_verify_record(proof, message_bytes(message), log_root)


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: bytes) -> None:
    """Checks that the log of ``second`` batches with ``second_root`` extends the
    log of ``first`` batches with ``first_root``; ``DecodeError`` if not."""
    _native.merkle_verify_consistency(first, second, first_root, second_root, proof)


def _message_buffer(core: _native.HistoryCore, add: Callable[[Any], object]) -> LiveList[Dict[str, Any]]:
    """``MessageHistoryCompressor.message_buffer``: the buffered messages, live;
    ``append`` is ``add`` at the manager's own time (it cannot take ``now``)."""
    return LiveList(core.buffer_dicts, _BUFFER_WHY, lambda message: add(message, **own_time(core)))


def _compressed_batches(core: _native.HistoryCore) -> LiveList[CompressedMessageBatch]:
    """``MessageHistoryCompressor.compressed_batches``: the batches in memory, live and read-only."""
    return LiveList(lambda: [_batch(t) for t in core.batches()], _BATCHES_WHY)


_BUFFER_WHY = (
    "message_buffer takes only append (add_message): buffered messages are the next "
    "leaves of the Merkle log, which never drops or rewrites one"
)
_BATCHES_WHY = (
    "compressed_batches is read-only: sealed batches are in the Merkle log (log_root); "
    "they leave memory only through the archive (poll_archived)"
)
