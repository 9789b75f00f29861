"""A stand-in fourth channel: what a new channel module looks like, answering from memory."""

from __future__ import annotations

from typing import ClassVar

from appliance.config import Settings
from appliance.messaging.base import MessageIdField, Notification, ProviderStatus, SendResult


class Pager:
    """Channel 4: accepts every message and reports each one delivered when asked."""

    number: ClassVar[int] = 4
    name: ClassVar[str] = "Test pager"
    required: ClassVar[tuple[str, ...]] = ("location",)
    message_id_field: ClassVar[MessageIdField] = "message_sid"
    pollable: ClassVar[bool] = True
    timeout: tuple[float, float] = (0.0, 0.0)  # answers from memory

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def is_configured(self) -> bool:
        return all(getattr(self.settings, field) for field in self.required)

    def send(self, notification: Notification) -> SendResult:
        return SendResult(channel=self.number, message_id=f"PG-{notification.recipient_phone}")

    def fetch_status(self, message_id: str) -> ProviderStatus:
        return ProviderStatus(message_id=message_id, state="delivered")
