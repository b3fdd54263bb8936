"""Independent reference models the binding is checked against.

Written from the published descriptions (Akka's ``PhiAccrualFailureDetector``
and the old Python API's health thresholds), not from the Rust code.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Deque, Optional


def akka_phi(time_diff: float, mean: float, std_deviation: float) -> float:
    """Akka's phi: the logistic approximation of the normal tail, as -log10."""
    y = (time_diff - mean) / std_deviation
    try:
        e = math.exp(-y * (1.5976 + 0.070566 * y * y))
    except OverflowError:  # far before the mean: the tail is 1, phi is 0
        return 0.0
    if time_diff > mean:
        tail = e / (1.0 + e)
        return math.inf if tail == 0.0 else -math.log10(tail)
    return -math.log10(1.0 - 1.0 / (1.0 + e))


class ReferencePhi:
    """Akka's detector: a bounded window of intervals (bootstrapped from the
    first-heartbeat estimate as estimate ± estimate/4), population standard
    deviation floored at ``min_std_deviation``, ``acceptable_heartbeat_pause``
    added to the mean, and no interval recorded for a heartbeat that arrives
    after the process was already judged unavailable. Times in integer microseconds.
    """

    def __init__(
        self,
        threshold: float = 8.0,
        max_sample_size: int = 1000,
        min_std_deviation_us: int = 100_000,
        acceptable_pause_us: int = 0,
        first_estimate_us: int = 1_000_000,
    ) -> None:
        self.threshold = threshold
        self.max = max_sample_size
        self.min_std = min_std_deviation_us
        self.pause = acceptable_pause_us
        self.first = first_estimate_us
        self.intervals: Deque[int] = deque()
        self.last: Optional[int] = None

    def _push(self, interval: int) -> None:
        while len(self.intervals) >= self.max:
            self.intervals.popleft()
        self.intervals.append(interval)

    def heartbeat(self, now: int) -> None:
        if self.last is None:
            self._push(self.first - self.first // 4)
            self._push(self.first + self.first // 4)
            self.last = now
            return
        if self.phi(now) < self.threshold:
            self._push(now - self.last)
        self.last = now

    def phi(self, now: int) -> float:
        if self.last is None:
            return 0.0
        n = len(self.intervals)
        mean = sum(self.intervals) / n
        var = sum((x - mean) ** 2 for x in self.intervals) / n
        std = max(math.sqrt(var), self.min_std)
        return max(akka_phi(now - self.last, mean + self.pause, std), 0.0)


def healthy(now: float, last_heartbeat: float, response_time: float, success_rate: float, cpu: float, mem: float) -> bool:
    """The old API's ``NodeHealthMetrics.is_healthy``."""
    return (
        now - last_heartbeat < 30.0
        and success_rate > 0.8
        and response_time < 5.0
        and cpu < 0.9
        and mem < 0.9
    )


# --- Ed25519 verification, from RFC 8032 §5.1.7 and its reference code (§6) ---

_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = t1 * 2 * _D * t2 % _P
    dd = z1 * 2 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s: int, p: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _equal(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    x1, y1, z1, _ = a
    x2, y2, z2, _ = b
    return (x1 * z2 - x2 * z1) % _P == 0 and (y1 * z2 - y2 * z1) % _P == 0


def _recover_x(y: int, sign: int) -> Optional[int]:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _decompress(s: bytes) -> Optional[tuple[int, int, int, int]]:
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0) or 0
_G = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 Ed25519 verification ([S]B = R + [k]A, cofactorless, s < L)."""
    import hashlib

    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _Q:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _Q
    return _equal(_mul(s, _G), _add(r, _mul(k, a)))


def ed25519_halfagg_verify(items: list[tuple[bytes, bytes, bytes, int]], s_bytes: bytes) -> bool:
    """Half-aggregated Ed25519 (Chalkias et al., CT-RSA 2021) as
    ``core/src/auth/quorum/verify.rs`` documents it: ``items`` are
    ``(R_i, A_i, M_i, z_i)``; true when ``[8](sum z_i R_i + sum z_i k_i A_i - [s]B)``
    is the identity, every R_i canonical and not of small order, s < L."""
    import hashlib

    s = int.from_bytes(s_bytes, "little")
    if len(s_bytes) != 32 or s >= _Q:
        return False
    acc = _mul(_Q - s, _G)
    for r_bytes, public, message, z in items:
        r = _decompress(r_bytes)
        a = _decompress(public)
        if r is None or a is None or int.from_bytes(r_bytes, "little") & ((1 << 255) - 1) >= _P:
            return False
        if _equal(_mul(8, r), (0, 1, 1, 0)):
            return False
        k = int.from_bytes(hashlib.sha512(r_bytes + public + message).digest(), "little") % _Q
        acc = _add(acc, _add(_mul(z, r), _mul(z * k % _Q, a)))
    return _equal(_mul(8, acc), (0, 1, 1, 0))
