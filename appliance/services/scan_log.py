"""What `scan_events` tells: counts by outcome (metrics), recent camera alarms (the scanner's cooldown)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanOutcome
from appliance.store.models import Card, ScanEvent


def scan_counts(kiosk: Kiosk, *, since: datetime | None = None) -> dict[str, int]:
    """How many scans ended in each outcome (every outcome present, zero included)."""
    query = select(ScanEvent.outcome, func.count()).group_by(ScanEvent.outcome)
    if since is not None:
        query = query.where(ScanEvent.created_at >= since)
    with kiosk.store.read() as session:
        found = dict(session.execute(query).all())
    return {outcome.value: int(found.get(outcome.value, 0)) for outcome in ScanOutcome}


def recent_camera_alarms(kiosk: Kiosk, within_seconds: float) -> dict[str, float]:
    """Cards that raised an alarm from a camera in the last `within_seconds`: card UUID -> seconds ago.

    A restarted scanner starts their cooldown from there, so a card still held to the camera
    does not raise a second alarm because the process was restarted.
    """
    now = kiosk.clock.now()
    query = (
        select(ScanEvent.card_uuid, func.max(ScanEvent.created_at))
        .where(
            ScanEvent.outcome == ScanOutcome.ACCEPTED.value,
            ScanEvent.source == "camera",
            ScanEvent.created_at >= now - timedelta(seconds=within_seconds),
            ScanEvent.card_uuid.is_not(None),
        )
        .group_by(ScanEvent.card_uuid)
    )
    with kiosk.store.read() as session:
        rows = session.execute(query).all()
    found = {}
    for card_uuid, created_at in rows:
        moment = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        found[card_uuid] = max(0.0, (now - moment).total_seconds())
    return found


def warm_up(kiosk: Kiosk) -> None:
    """Run the scan path's card lookup once at start, so the first card shown is as quick as the next."""
    with kiosk.store.session() as session:  # the write engine: its compiled-statement cache is what record_scan uses
        session.scalars(select(Card).where(Card.uuid == "00000000-0000-4000-8000-000000000000")).first()
