"""The kiosk's health, as `GET /api/health` and `keryu status --json` show it.

Each component answers {"status": "ok"|"degraded"|"down", ...details}; a detail written for a
person is an `i18n.Sentence` (English in JSON, the reader's language on the health page). The whole kiosk is
"down" when the database is unusable (nothing can be recorded) or a setting is wrong (only the
admin page runs), "degraded" when anything else is wrong (alarms are recorded but may wait),
else "ok".
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import func, select, text

from appliance import __version__
from appliance.i18n import N_, Sentence
from appliance.queue import WORKER_PRESENCE_SECONDS, present_workers
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import get_channel
from appliance.services.publish.status import publishing_health
from appliance.services.receipts import NO_WEBHOOK, confirms_delivery
from appliance.store.models import Alarm, AlarmStatus

logger = logging.getLogger(__name__)

BEAT_STALE_SECONDS = 60
LOW_DISK_BYTES = 200 * 1024 * 1024
LATE_ALARM = timedelta(minutes=2)
Component = dict[str, Any]
NO_CHANNEL = N_(
    "No channel has credentials: alarms are recorded but nobody is told. Set WHATSAPP_* or TWILIO_* in keryu.env."
)
NO_WORKER = N_("no worker has reported in the last {seconds} s")
CHOSEN_UNCONFIGURED = N_(
    "The chosen channel {number} ({name}) has no credentials: alarms go by {fallback} instead. "
    "Set its variables in keryu.env, or choose another channel."
)


def beat_heartbeat_path(kiosk: Kiosk) -> Path:
    """The file the beat touches each time it schedules work."""
    return kiosk.settings.run_dir / "beat.heartbeat"


def check_database(kiosk: Kiosk, *, schema: bool = True) -> Component:
    """`schema` False: the revision is not compared (that loads Alembic: the worker's MQTT health does without)."""
    try:
        with kiosk.store.read() as session:
            session.execute(text("SELECT 1"))
            outstanding = session.scalar(
                select(func.count())
                .select_from(Alarm)
                .where(
                    Alarm.notification_status.in_([AlarmStatus.PENDING, AlarmStatus.ERROR, AlarmStatus.PROCESSING]),
                    Alarm.created_at < kiosk.clock.now() - LATE_ALARM,
                )
            )
        revision, head = _revisions(kiosk) if schema else (None, None)
    except Exception as exc:
        return {"status": "down", "error": _one_line(exc), "url": kiosk.store.display_url}
    if revision != head:
        return {
            "status": "down",
            "error": Sentence(
                "schema at {revision}, code needs {head}; run `keryu init`", revision=revision, head=head
            ),
        }
    status = "degraded" if outstanding else "ok"
    return {
        "status": status,
        "backend": kiosk.store.engine.dialect.name,
        "schema": revision,
        "late_alarms": outstanding,
    }


def _revisions(kiosk: Kiosk) -> tuple[str | None, str | None]:
    from appliance.store.migrate import current_revision, head_revision  # Alembic: not in the worker

    return current_revision(kiosk.store), head_revision()


def check_redis(kiosk: Kiosk) -> Component:
    try:
        client = redis.Redis.from_url(kiosk.settings.broker_url, socket_connect_timeout=1, socket_timeout=1)
        started = time.perf_counter()
        client.ping()
        return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:
        return {"status": "down", "error": _one_line(exc)}


def check_worker(kiosk: Kiosk) -> Component:
    """Ok while a worker renews its presence in Redis from its consumer loop (`worker/presence.py`)."""
    try:
        names = present_workers(kiosk.queue)
    except Exception as exc:
        return {"status": "down", "error": _one_line(exc)}
    if not names:
        return {"status": "down", "error": Sentence(NO_WORKER, seconds=WORKER_PRESENCE_SECONDS)}
    return {"status": "ok", "workers": names}


def check_beat(kiosk: Kiosk) -> Component:
    path = beat_heartbeat_path(kiosk)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return {"status": "down", "error": Sentence("the beat has never run")}
    status = "ok" if age < BEAT_STALE_SECONDS else "down"
    return {"status": status, "last_run_seconds_ago": round(age, 1)}


def check_channels(kiosk: Kiosk) -> Component:
    """Degraded when the chosen channel, or every channel, has no credentials: alarms would wait or fall back."""
    try:
        with kiosk.store.read() as session:
            chosen = get_channel(session)
    except Exception as exc:  # the database component says why
        return {"status": "down", "error": _one_line(exc)}
    names = {number: channel.name for number, channel in kiosk.channels.items()}
    configured = [number for number, channel in kiosk.channels.items() if channel.is_configured()]
    found: Component = {"status": "ok", "chosen": chosen, "configured": configured}
    if not configured:
        found["status"] = "degraded"
        found["reason"] = Sentence(NO_CHANNEL)
    elif chosen not in configured:
        found["status"] = "degraded"
        found["reason"] = Sentence(
            CHOSEN_UNCONFIGURED, number=chosen, name=names.get(chosen, chosen), fallback=names[configured[0]]
        )
    if configured and not confirms_delivery(kiosk, chosen):
        found["receipts"] = Sentence(NO_WEBHOOK)  # not a fault: how a LAN kiosk works (services/receipts.py)
    return found


def check_scanner(kiosk: Kiosk) -> Component:
    from appliance.scanner.heartbeat import read_scanner_status

    return read_scanner_status(kiosk.settings)


def check_feedback(scanner: Component) -> Component:
    """The LEDs and buzzer, as the scanner (which drives them) reports them in its heartbeat."""
    if scanner["status"] == "down" or "feedback" not in scanner:
        return {
            "status": "down",
            "error": Sentence("the scanner is not running, so nothing drives the LEDs and buzzer"),
        }
    if scanner.get("feedback_problem"):
        return {"status": "down", "pins": scanner["feedback"], "error": scanner["feedback_problem"]}
    return {"status": "ok", "pins": scanner["feedback"]}


def check_config(kiosk: Kiosk) -> Component:
    """A setting the kiosk could not use (the web runs anyway to show it; the other services wait)."""
    problem = kiosk.settings.config_problem
    return {"status": "down", "error": problem} if problem else {"status": "ok"}


def check_web(kiosk: Kiosk) -> Component:
    import requests  # only `keryu status` asks the web page; the services check each other through Redis

    url = f"http://127.0.0.1:{kiosk.settings.web_port}/api/health?self=1"
    try:
        response = requests.get(url, timeout=2)
    except requests.RequestException as exc:
        return {"status": "down", "error": _one_line(exc), "url": url}
    return {"status": "ok" if response.ok else "degraded", "http_status": response.status_code}


def check_disk(kiosk: Kiosk) -> Component:
    path = kiosk.settings.data_dir
    try:
        usage = shutil.disk_usage(path if path.exists() else Path.cwd())
    except OSError as exc:
        return {"status": "down", "error": _one_line(exc)}
    status = "ok" if usage.free > LOW_DISK_BYTES else "degraded"
    return {"status": status, "free_mb": usage.free // 2**20, "total_mb": usage.total // 2**20}


def check_health(kiosk: Kiosk, *, include_web: bool = True, schema: bool = True) -> dict[str, Any]:
    """Every component's health and the kiosk's overall status (`schema`: see `check_database`)."""
    components: dict[str, Component] = {
        "config": check_config(kiosk),
        "database": check_database(kiosk, schema=schema),
        "redis": check_redis(kiosk),
        "worker": check_worker(kiosk),
        "beat": check_beat(kiosk),
        "scanner": check_scanner(kiosk),
        "channels": check_channels(kiosk),
        "disk": check_disk(kiosk),
    }
    components["feedback"] = check_feedback(components["scanner"])
    components.update(publishing_health(kiosk))  # mqtt, webhook: only when configured
    if include_web:
        components["web"] = check_web(kiosk)
    if components["database"]["status"] == "down" or components["config"]["status"] == "down":
        overall = "down"
    elif all(part["status"] == "ok" for part in components.values()):
        overall = "ok"
    else:
        overall = "degraded"
    return {"status": overall, "version": __version__, "components": components}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
