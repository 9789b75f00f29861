"""Messaging fixtures: channel settings pointed at the provider stand-in (no Redis, no database)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance.config import Settings, load_settings
from appliance.messaging.base import Notification
from tests.standins.providers import ProviderStandIn


@pytest.fixture
def make_settings(standin: ProviderStandIn) -> Callable[..., Settings]:
    """Settings with every provider credential of the stand-in; keyword overrides by field name."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {name.lower(): value for name, value in standin.env().items()}
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
def notification() -> Notification:
    """A typical alarm: a Mexican mobile number in today's 10-digit form."""
    return Notification(
        recipient_phone="+525512345678",
        subject_name="Ana  López\n",
        timestamp_text="25 nov 2026, 2:05 p.m. CST",
        location="Front gate",
    )
