"""Typed keys for what the application shares between handlers (aiohttp's `web.AppKey`)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from prometheus_client.registry import CollectorRegistry

from appliance.services.auth import LoginThrottle
from appliance.services.kiosk import Kiosk
from appliance.web.live import AlarmFeed
from appliance.web.refusals import RefusalLog


@dataclass
class WebState:
    """Mutable state of one web process (the database stays the truth)."""

    throttle: LoginThrottle
    metrics: CollectorRegistry
    bearer_throttle: LoginThrottle
    refusals: RefusalLog
    api_token: str | None = None
    admin_ready: bool = False  # cached once true: a password, once set, is never removed


KIOSK = web.AppKey("kiosk", Kiosk)
STATE = web.AppKey("state", WebState)
FEED = web.AppKey("feed", AlarmFeed)
