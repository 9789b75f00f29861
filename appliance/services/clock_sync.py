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

from sqlalchemy import select

from appliance.services.kiosk import Kiosk
from appliance.store.models import Alarm

logger = logging.getLogger(__name__)

TIME_UNKNOWN = "time unknown"  # what a message says instead of a stale time


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
    """Give this boot's alarms recorded before the sync their real time; returns how many were corrected."""
    if not kiosk.clock.synced():
        return 0
    boot = kiosk.clock.boot_id()
    if not boot:
        return 0
    corrected = 0
    with kiosk.store.session() as session:
        waiting = session.scalars(
            select(Alarm).where(Alarm.clock_synced.is_(False), Alarm.time_corrected_at.is_(None), Alarm.boot_id == boot)
        ).all()
        for alarm in waiting:
            real = corrected_time(kiosk, alarm)
            if real is None:
                continue
            logger.info(
                "Alarm %s recorded before the clock was set: time corrected from %s to %s",
                alarm.id,
                alarm.created_at.isoformat(),
                real.isoformat(),
            )
            alarm.created_at = real
            alarm.time_corrected_at = kiosk.clock.now()
            corrected += 1
    return corrected
