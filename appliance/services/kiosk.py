"""The collaborators a service call needs, built once per process by its runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from celery import Celery

from appliance.clock import Clock, SystemClock
from appliance.config import Settings
from appliance.messaging.base import Channel
from appliance.queue import make_celery
from appliance.store.db import Store


@dataclass
class Kiosk:
    """Settings, database, queue and clock of one process; passed to every service function."""

    settings: Settings
    store: Store
    celery: Celery
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Kiosk:
        return cls(settings=settings, store=Store(settings.database), celery=make_celery(settings))

    @cached_property
    def channels(self) -> dict[int, Channel]:
        """Every channel, configured or not, by its contract number."""
        from appliance.messaging.registry import build_channels

        return build_channels(self.settings)

    @property
    def zone(self) -> ZoneInfo | None:
        """The zone for times shown to people; None means the system's local zone."""
        return ZoneInfo(self.settings.timezone) if self.settings.timezone else None

    def close(self) -> None:
        self.store.dispose()
