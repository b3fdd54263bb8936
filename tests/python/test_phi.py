"""``PhiAccrualDetector`` against an independent model of Akka's detector."""

from __future__ import annotations

import math
import random

import pytest

from pouw_netops import InvalidArgumentError, PhiAccrualDetector
from reference import ReferencePhi, akka_phi


def us(t: int) -> float:
    """Integer microseconds as the float seconds the API takes."""
    return t / 1e6


def close(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def test_defaults_and_no_heartbeat():
    d = PhiAccrualDetector()
    assert d.threshold == 8.0
    assert d.phi(1e9) == 0.0
    assert d.is_available(1e9)
    assert d.last_heartbeat is None


def test_first_heartbeat_bootstraps_from_estimate():
    d = PhiAccrualDetector(first_heartbeat_estimate=2.0)
    d.heartbeat(100.0)
    assert d.sample_count == 2
    assert d.mean_interval == pytest.approx(2.0)
    assert d.std_deviation == pytest.approx(0.5)
    # At exactly the mean, Akka's phi is -log10(1/2).
    assert d.phi(102.0) == pytest.approx(math.log10(2.0), rel=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_phi_matches_reference_on_random_histories(seed):
    rng = random.Random(seed)
    cfg = dict(
        threshold=rng.choice([3.0, 8.0, 12.0]),
        max_sample_size=rng.choice([3, 10, 1000]),
        min_std_deviation_us=rng.choice([1_000, 100_000, 500_000]),
        acceptable_pause_us=rng.choice([0, 250_000, 3_000_000]),
        first_estimate_us=rng.choice([500_000, 1_000_000]),
    )
    d = PhiAccrualDetector(
        threshold=cfg["threshold"],
        max_sample_size=cfg["max_sample_size"],
        min_std_deviation=cfg["min_std_deviation_us"] / 1e6,
        acceptable_heartbeat_pause=cfg["acceptable_pause_us"] / 1e6,
        first_heartbeat_estimate=cfg["first_estimate_us"] / 1e6,
    )
    ref = ReferencePhi(
        cfg["threshold"],
        cfg["max_sample_size"],
        cfg["min_std_deviation_us"],
        cfg["acceptable_pause_us"],
        cfg["first_estimate_us"],
    )
    t = 1_700_000_000_000_000
    for _ in range(60):
        # Mostly regular, sometimes a long pause (an outage the detector must not learn from).
        t += rng.choice([rng.randint(800_000, 1_200_000)] * 9 + [rng.randint(5_000_000, 60_000_000)])
        for probe in (t - 400_000, t - 1):
            assert close(d.phi(us(probe)), ref.phi(probe))
        d.heartbeat(us(t))
        ref.heartbeat(t)
        assert d.sample_count == len(ref.intervals)
    for dt in (0, 500_000, 1_000_000, 2_000_000, 5_000_000, 30_000_000, 10**9):
        now = t + dt
        expected = ref.phi(now)
        assert close(d.phi(us(now)), expected)
        if abs(expected - cfg["threshold"]) > 1e-6:
            assert d.is_available(us(now)) == (expected < cfg["threshold"])


def test_outage_interval_is_not_learned():
    d = PhiAccrualDetector()
    for i in range(10):
        d.heartbeat(float(i))
    n = d.sample_count
    assert not d.is_available(9.0 + 60.0)
    d.heartbeat(9.0 + 60.0)
    assert d.sample_count == n
    assert d.mean_interval == pytest.approx(1.0)


def test_reference_formula_spot_values():
    # Akka's own spec values: phi(0, mean 0, std 10) = log10(2); far before the mean, ~0.
    d = PhiAccrualDetector(min_std_deviation=0.01, first_heartbeat_estimate=0.01)
    assert akka_phi(0.0, 0.0, 10.0) == pytest.approx(math.log10(2.0))
    d.heartbeat(0.0)
    # A single seeded window: mean 0.01 s, std 0.0025 floored to 0.01 s.
    assert d.phi(0.01) == pytest.approx(akka_phi(0.0, 0.0, 10.0))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(threshold=0.0),
        dict(threshold=float("nan")),
        dict(threshold=301.0),
        dict(max_sample_size=0),
        dict(max_sample_size=1001),
        dict(min_std_deviation=0.0),
        dict(first_heartbeat_estimate=0.0),
        dict(acceptable_heartbeat_pause=float("inf")),
    ],
)
def test_invalid_configuration_is_a_value_error(kwargs):
    with pytest.raises(InvalidArgumentError) as info:
        PhiAccrualDetector(**kwargs)
    assert isinstance(info.value, ValueError)


def test_non_finite_time_is_rejected_and_backwards_time_clamped():
    d = PhiAccrualDetector()
    with pytest.raises(ValueError):
        d.heartbeat(float("nan"))
    d.heartbeat(5.0)
    d.heartbeat(4.0)  # earlier than the last: clamped, not a negative interval
    assert d.last_heartbeat == 5.0
    assert d.phi(1.0) == d.phi(5.0)
