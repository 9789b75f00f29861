"""Fixtures for the messaging tests: a fresh provider stand-in per test (no Redis, no database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.standins.providers import ProviderStandIn


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    """A loopback Meta/Twilio stand-in on a free port, stopped after the test."""
    with ProviderStandIn() as server:
        yield server
