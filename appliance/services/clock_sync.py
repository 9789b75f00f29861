"""Alarm times on a clock that may not be set yet (the Pi has no battery-backed clock).

An alarm recorded before the network time arrived this boot is marked `clock_synced = False`
and keeps the boot it was recorded in and that boot's monotonic time. Once the clock is synced,
`correct_alarm_times` gives each such alarm of the same boot its real time: now minus the
monotonic time elapsed since it was recorded. An alarm whose boot ended before the sync keeps
its stale time, and people are told its time is unknown.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from appliance.i18n import N_
from appliance.services.kiosk import Kiosk
from appliance.store.models import Alarm

logger = logging.getLogger(__name__)

TIME_UNKNOWN = N_("time unknown")  # what a message says instead of a stale time (translated when sent)


def recording_clock(kiosk: Kiosk) -> dict[str, object]:
    """The clock's state for a new alarm row: synced or not, and where it stands in this boot."""
    return {
        "clock_synced": kiosk.clock.synced(),
        "boot_id": kiosk.clock.boot_id() or None,
        "created_monotonic": kiosk.clock.monotonic(),
    }


def time_known(alarm: Alarm) -> bool:
    """Whether `created_at` is the real time: recorded on a synced clock, or corrected since."""
    return alarm.clock_synced or alarm.time_corrected_at is not None


def monotonic_age(kiosk: Kiosk, alarm: Alarm) -> float | None:
    """Seconds since the alarm was recorded by the monotonic clock; None when recorded in another boot."""
    boot = kiosk.clock.boot_id()
    if alarm.created_monotonic is None or not boot or alarm.boot_id != boot:
        return None
    return max(0.0, kiosk.clock.monotonic() - alarm.created_monotonic)


def corrected_time(kiosk: Kiosk, alarm: Alarm) -> datetime | None:
    """The real time of an alarm recorded before the sync, once the clock is synced; None when unknowable."""
    age = monotonic_age(kiosk, alarm)
    if age is None or not kiosk.clock.synced():
        return None
    return kiosk.clock.now() - timedelta(seconds=age)


def correct_alarm_times(kiosk: Kiosk) -> int:
    """Give this boot's alarms recorded before the sync their real time; returns how many were corrected.

    Looks first in a read snapshot, so that the common case (nothing to correct) never takes
    SQLite's write lock; each correction is one conditional UPDATE, safe to race with another process.
    """
    boot = kiosk.clock.boot_id()
    if not boot or not kiosk.clock.synced():
        return 0
    waiting = (Alarm.clock_synced.is_(False), Alarm.time_corrected_at.is_(None), Alarm.boot_id == boot)
    with kiosk.store.read() as session:
        found = session.execute(select(Alarm.id, Alarm.created_monotonic).where(*waiting)).all()
    if not found:
        return 0
    now, monotonic = kiosk.clock.now(), kiosk.clock.monotonic()
    corrected = 0
    with kiosk.store.session() as session:
        for alarm_id, created_monotonic in found:
            if created_monotonic is None:
                continue
            real = now - timedelta(seconds=max(0.0, monotonic - created_monotonic))
            statement = (
                update(Alarm)
                .where(Alarm.id == alarm_id, *waiting)
                .values(created_at=real, time_corrected_at=now)
                .execution_options(synchronize_session=False)
            )
            if session.execute(statement).rowcount == 1:
                logger.info("Alarm %s was recorded before the clock was set: its time is now %s", alarm_id, real)
                corrected += 1
    return corrected
