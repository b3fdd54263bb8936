"""Shared fixtures: the suite runs against the installed ``pouw_netops`` wheel."""

from __future__ import annotations

import pytest

from helpers import healthy_metrics


@pytest.fixture
def metrics():
    """A factory of healthy metrics, with overrides."""
    return healthy_metrics
