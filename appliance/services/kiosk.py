"""The collaborators a service call needs, built once per process by its runtime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from appliance.clock import Clock, SystemClock
from appliance.config import Settings
from appliance.messaging.base import Channel
from appliance.messaging.registry import build_channels
from appliance.queue import DeliveryQueue
from appliance.store.db import Store


@dataclass(frozen=True)
class Kiosk:
    """Settings, database, queue, channel table and clock of one process; passed to every service function.

    Immutable: the channel table is built from the settings when the kiosk is, and a change of
    settings is a new kiosk (`with_settings`), so no object ever holds channels of old settings.
    """

    settings: Settings
    store: Store
    queue: DeliveryQueue  # Redis: delivery messages and the workers' presence (appliance/queue.py)
    channels: Mapping[int, Channel]  # every registered channel, configured or not, by its number
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None, *, group_commit: bool = False) -> Kiosk:
        """`group_commit`: this process commits from several threads at once (the worker; `store/group_commit.py`)."""
        return cls(
            settings=settings,
            store=Store(settings.database, group_commit=group_commit),
            queue=DeliveryQueue(settings.broker_url),
            channels=build_channels(settings),
            clock=clock or SystemClock(),
        )

    def with_settings(self, settings: Settings) -> Kiosk:
        """The same database, queue and clock with new settings and a channel table built from them."""
        return replace(self, settings=settings, channels=build_channels(settings))

    @property
    def zone(self) -> ZoneInfo | None:
        """The zone for times shown to people; None means the system's local zone."""
        return ZoneInfo(self.settings.timezone) if self.settings.timezone else None

    def close(self) -> None:
        self.store.dispose()
        self.queue.close()
