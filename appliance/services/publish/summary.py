"""The retained state a home system shows: the last alarm, counts by status, and the kiosk's health."""

from __future__ import annotations

from typing import Any

from appliance import __version__
from appliance.services.alarms import alarm_counts, list_alarms
from appliance.services.kiosk import Kiosk
from appliance.store.models import AlarmStatus

# An alarm waits for someone while it is in one of these (the "alarm waiting" binary sensor).
WAITING = (AlarmStatus.PENDING, AlarmStatus.PROCESSING, AlarmStatus.ERROR)


def alarm_summary(kiosk: Kiosk) -> dict[str, Any]:
    """`<prefix>/state`: the newest alarm (no phone numbers), the counts by status, how many wait."""
    newest = list_alarms(kiosk, limit=1)
    counts = alarm_counts(kiosk)
    last = None
    if newest:
        alarm = newest[0]
        last = {
            "id": alarm.id,
            "subject_id": alarm.subject_id,
            "subject_name": alarm.subject_name,
            "status": alarm.notification_status,
            "created_at": alarm.created_at.isoformat(),
            "location": alarm.location,
            "is_test": alarm.is_test,
        }
    return {"last_alarm": last, "counts": counts, "waiting": sum(counts[str(status)] for status in WAITING)}


def health_states(kiosk: Kiosk) -> dict[str, Any]:
    """`<prefix>/health`: the overall status and each component's, without reasons or figures.

    What `GET /api/health` shows without a login: a broker is often shared. The schema check is
    left out (it loads Alembic, which the worker does not otherwise need: memory on a Pi).
    """
    from appliance.services.health import check_health

    health = check_health(kiosk, schema=False)
    return {
        "status": health["status"],
        "version": __version__,
        "components": {name: part["status"] for name, part in health["components"].items()},
    }
