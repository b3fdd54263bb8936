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
