"""The publishers' part of the kiosk's health: backlog, its age, the last error. Never "down".

Publishing is not the kiosk's main job: a broker or receiver that is away makes the kiosk
"degraded" once events have waited for `STALE_AFTER`, and alarms go on as before.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from appliance.services.kiosk import Kiosk
from appliance.services.publish.events import active_sinks, backlog
from appliance.services.publish.urls import shown

STALE_AFTER = timedelta(minutes=5)


def sink_health(kiosk: Kiosk, sink: str) -> dict[str, Any]:
    """`mqtt` or `webhook` as `keryu status` shows it."""
    url = kiosk.settings.mqtt_url if sink == "mqtt" else kiosk.settings.webhook_url
    found = backlog(kiosk, sink)
    now = kiosk.clock.now()
    age = now - found.oldest if found.oldest is not None else None
    component: dict[str, Any] = {
        "status": "degraded" if age is not None and age > STALE_AFTER else "ok",
        "to": shown(url or ""),
        "backlog": found.count,
        "oldest_seconds": round(age.total_seconds(), 1) if age is not None else None,
        "last_error": found.last_error,
        "last_error_at": found.last_error_at.isoformat() if found.last_error_at else None,
    }
    if component["status"] == "degraded":
        minutes = int(age.total_seconds() // 60) if age is not None else 0
        error = f"; last error: {found.last_error}" if found.last_error else ""
        component["reason"] = f"{found.count} events have waited {minutes} min to be published{error}"
    return component


def publishing_health(kiosk: Kiosk) -> dict[str, dict[str, Any]]:
    """One component per configured sink (none when publishing is off)."""
    components = {}
    for sink in active_sinks(kiosk):
        try:
            components[sink] = sink_health(kiosk, sink)
        except Exception as exc:  # the database component says what is wrong with the database
            components[sink] = {"status": "degraded", "error": " ".join(str(exc).split())[:300]}
    return components
