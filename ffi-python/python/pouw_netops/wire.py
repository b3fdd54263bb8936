"""The wire envelopes every node speaks (versioned postcard), from Python.

``encode_heartbeat`` builds the same v1 envelope a Rust or C node builds;
``decode_envelope`` reads any v1 envelope (a message body with its sender) this
build knows and raises ``DecodeError`` for anything else. Nodes exchange
authenticated v2 envelopes (the same bodies, sealed with a MAC or a
signature); ``decode_sealed`` splits one into ``auth`` (``"mac"`` or
``"signed"``), ``sender``, ``epoch``, ``counter`` and the body's fields
WITHOUT verifying it: for inspecting traffic, never for trusting it.
A membership body carries ``joining`` and the sender's encoded
``certificate`` (see :mod:`pouw_netops.identity`).
"""

from __future__ import annotations

from ._native import decode_envelope, decode_sealed, encode_heartbeat

__all__ = ["encode_heartbeat", "decode_envelope", "decode_sealed"]
