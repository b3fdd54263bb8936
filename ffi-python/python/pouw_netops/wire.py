"""The wire envelope every node speaks (versioned postcard), from Python.

``encode_heartbeat`` builds the same bytes a Rust or C node builds;
``decode_envelope`` reads any envelope this build knows and raises
``DecodeError`` for anything else.
"""

from __future__ import annotations

from ._native import decode_envelope, encode_heartbeat

__all__ = ["encode_heartbeat", "decode_envelope"]
