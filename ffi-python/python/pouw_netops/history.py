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
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import _native
from ._live import LiveList
from ._errors import DecodeError
from ._fast import bind_native
from ._types import CompressedMessageBatch, NetworkMessage

__all__ = ["MessageHistoryCompressor", "message_bytes", "verify_message", "verify_consistency"]

logger = logging.getLogger("pouw_netops.history")

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


class MessageHistoryCompressor:
    """Buffers, compresses and searches the messages a node saw.

    A batch is sealed every ``min(compression_threshold, max_batch_size)``
    messages (and before 4 MiB of raw records), with zlib at ``compression_level``
    (0 to 10, default 6; level 1 seals about three times as fast for a few
    points of space). Timestamps are seconds; a
    message older than the newest one stored is stored at the newest time (the
    history never goes backwards). Every time-dependent method takes ``now`` in
    seconds (default ``time.time()``).
    """

    def __init__(
        self,
        node_id: str,
        compression_threshold: int = 1000,
        max_batch_size: int = 10000,
        *,
        compression_level: int = 6,
    ) -> None:
        self.node_id = node_id
        self._threshold = compression_threshold
        self._max_batch = max_batch_size
        self._core = _native.HistoryCore(min(compression_threshold, max_batch_size), compression_level)
        bind_native(self, MessageHistoryCompressor, add_message=self._core.add_message)
        # The old API's archive setting, kept for callers that read or set it;
        # it has no effect: the core keeps 1024 batches in memory, then moves
        # the oldest to the outbox of :meth:`poll_archived`.
        self.archive_threshold = 100

    @property
    def compression_threshold(self) -> int:
        """Messages per batch; assignable (the core seals at ``min(compression_threshold,
        max_batch_size)``, from the next :meth:`add_message` on)."""
        return self._threshold

    @compression_threshold.setter
    def compression_threshold(self, value: int) -> None:
        self._core.compression_threshold = min(value, self._max_batch)
        self._threshold = value

    @property
    def max_batch_size(self) -> int:
        """The most messages a batch holds; assignable."""
        return self._max_batch

    @max_batch_size.setter
    def max_batch_size(self, value: int) -> None:
        self._core.compression_threshold = min(self._threshold, value)
        self._max_batch = value

    # --- the old API -------------------------------------------------------

    def add_message(self, message: NetworkMessage, *, now: Optional[float] = None) -> None:
        """Stores ``message`` (sealing a batch when the threshold is reached).

        Raises ``InvalidArgumentError`` for an empty or too long sender or type
        (1–64 bytes) or a payload over 64 KiB, ``CapacityError`` when every
        batch slot and the archive outbox are full (drain :meth:`poll_archived`).
        """
        self._core.add_message(message, now)

    def compress_message_batch(self, *, now: Optional[float] = None) -> Optional[CompressedMessageBatch]:
        """Seals the buffered messages into a batch now; ``None`` if the buffer is empty."""
        t = self._core.compress(now)
        if t is None:
            return None
        batch = _batch(t)
        logger.debug("%s: sealed batch %s of %d messages", self.node_id, batch.batch_id, batch.message_count)
        return batch

    def decompress_batch(self, batch: CompressedMessageBatch) -> List[Dict[str, Any]]:
        """The messages of ``batch`` as dicts ``msg_type, sender_id, timestamp, data``.

        The batch is fully checked; ``DecodeError`` if it is corrupt or has no header.
        """
        if not batch.header:
            raise DecodeError("the batch has no header: decompress_batch needs the header it was sealed with")
        return _native.HistoryCore.decode_batch_dicts(batch.header + batch.compressed_data)

    def search_messages(
        self,
        start_time: float,
        end_time: float,
        message_type: Optional[str] = None,
        sender_id: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Messages with ``start_time <= timestamp <= end_time`` (and of ``message_type``
        and from ``sender_id`` if given), sorted by timestamp, from the batches in
        memory and the buffer."""
        return self._core.search_dicts(start_time, end_time, message_type, sender_id)

    def get_compression_stats(self) -> Dict[str, Any]:
        """``total_messages, total_compressed, total_raw_bytes, total_compressed_bytes,
        average_compression_ratio, current_buffer_size, compressed_batches, archived_batches,
        space_saved_bytes, space_saved_percentage``.

        ``average_compression_ratio`` is compressed over raw bytes (lower is
        better); ``compressed_batches`` counts batches in memory, ``archived_batches``
        the ones moved out of memory since creation.
        """
        s = self._core.stats()
        return {
            "total_messages": s["total_messages"],
            "total_compressed": s["messages_compressed"],
            "total_raw_bytes": s["raw_bytes"],
            "total_compressed_bytes": s["compressed_bytes"],
            "average_compression_ratio": s["compression_ratio"],
            "current_buffer_size": s["buffer_messages"],
            "compressed_batches": s["batches_in_memory"],
            "archived_batches": s["batches_archived"],
            "space_saved_bytes": s["space_saved_bytes"],
            "space_saved_percentage": s["space_saved_percent"],
        }

    @property
    def message_buffer(self) -> Sequence[Dict[str, Any]]:
        """The messages not sealed yet, as dicts, live: ``append(message)`` is
        :meth:`add_message` (sealing a batch at the threshold); other changes raise
        ``TypeError`` (buffered messages are the next leaves of the Merkle log)."""
        return LiveList(self._core.buffer_dicts, _BUFFER_WHY, self.add_message)

    @property
    def compressed_batches(self) -> Sequence[CompressedMessageBatch]:
        """The batches in memory, oldest first, live and read-only."""
        return LiveList(lambda: [_batch(t) for t in self._core.batches()], _BATCHES_WHY)

    # --- beyond the old API ------------------------------------------------

    def poll_archived(self) -> Optional[CompressedMessageBatch]:
        """The oldest batch moved out of memory and not yet taken; the caller now owns it."""
        t = self._core.poll_archived()
        return None if t is None else _batch(t)

    def log_root(self) -> bytes:
        """The Merkle log root over every batch sealed so far (32 bytes)."""
        return self._core.log_root()

    def log_size(self) -> int:
        """Batches in the Merkle log."""
        return self._core.log_size()

    def log_root_at(self, size: int) -> bytes:
        """The log root when it held its first ``size`` batches."""
        return self._core.log_root_at(size)

    def inclusion_proof(self, batch: "int | CompressedMessageBatch", index: int) -> bytes:
        """The proof that message ``index`` of a batch (its id if in memory, or
        an archived :class:`CompressedMessageBatch`) is in the current log.
        Only that batch is decoded."""
        if isinstance(batch, int):
            return self._core.inclusion_proof(batch, index)
        return self._core.inclusion_proof_for(batch.header + batch.compressed_data, index)

    def consistency_proof(self, first: int) -> bytes:
        """The proof that the current log extends the log of its first ``first`` batches."""
        return self._core.consistency_proof(first)

    def __repr__(self) -> str:
        return f"MessageHistoryCompressor(node_id={self.node_id!r}, compression_threshold={self.compression_threshold})"


_BUFFER_WHY = (
    "message_buffer takes only append (add_message): buffered messages are the next "
    "leaves of the Merkle log, which never drops or rewrites one"
)
_BATCHES_WHY = (
    "compressed_batches is read-only: sealed batches are in the Merkle log (log_root); "
    "they leave memory only through the archive (poll_archived)"
)
