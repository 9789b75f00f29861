"""Reading alarms (lists, filters, paging, counts, live changes) and the admin's actions on them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from appliance.errors import NotFound, UserError
from appliance.i18n import N_, Sentence
from appliance.queue import enqueue_delivery
from appliance.services.clock_sync import corrected_time
from appliance.services.kiosk import Kiosk
from appliance.services.outbox import mark_not_enqueued
from appliance.services.receipts import status_note
from appliance.services.views import AlarmView
from appliance.store import alarm_state
from appliance.store.models import Alarm, AlarmStatus, AlarmStatusCount, Subject

MAX_PAGE = 500
MAX_NOTES = 2000
NO_CHANNEL_FOR_RETRY = Sentence(
    "No channel has credentials, so a retry cannot send anything; configure a channel first."
)
ONLY_FAILED = N_("Alarm {id} is {status}; only a FAILED alarm can be retried.")
STATUSES: tuple[str, ...] = tuple(status.value for status in AlarmStatus)


def _views(kiosk: Kiosk, query: Select) -> list[AlarmView]:
    with kiosk.store.read() as session:
        rows = session.scalars(query.options(selectinload(Alarm.attempts), selectinload(Alarm.children)))
        views = [AlarmView.of(alarm, kiosk.zone, corrected_time(kiosk, alarm)) for alarm in rows]
    return [replace(view, status_note=status_note(kiosk, view.notification_status, view.channel)) for view in views]


def list_alarms(
    kiosk: Kiosk,
    *,
    status: str | None = None,
    subject_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AlarmView]:
    """Alarms newest first; keyset paging with `before_id` stays fast at any depth."""
    if not 1 <= limit <= MAX_PAGE:
        raise UserError("The limit must be between 1 and {most}.", most=MAX_PAGE)
    query = select(Alarm).where(Alarm.parent_id.is_(None)).order_by(Alarm.id.desc()).limit(limit)
    if status:
        if status not in STATUSES:
            raise UserError(
                "Unknown status {status!r}; use one of {statuses}.", status=status, statuses=", ".join(STATUSES)
            )
        query = query.where(Alarm.notification_status == status)
    if subject_id is not None:
        query = query.where(Alarm.subject_id == subject_id)
    if since is not None:
        query = query.where(Alarm.created_at >= since)
    if until is not None:
        query = query.where(Alarm.created_at < until)
    if before_id is not None:
        query = query.where(Alarm.id < before_id)
    return _views(kiosk, query)


def get_alarm(kiosk: Kiosk, alarm_id: int) -> AlarmView:
    """One alarm with its delivery attempts."""
    found = _views(kiosk, select(Alarm).where(Alarm.id == alarm_id))
    if not found:
        raise NotFound("There is no alarm with id {id}.", id=alarm_id)
    return found[0]


# Two subqueries, not one SELECT of both: SQLite reads a lone max() from its index's end.
_NEWEST = select(select(func.max(Alarm.id)).scalar_subquery(), select(func.max(Alarm.updated_at)).scalar_subquery())
_COUNTS = select(AlarmStatusCount.status, AlarmStatusCount.count)


@dataclass(frozen=True)
class AlarmsState:
    """Counts by status and the change marker, from one snapshot (one read for the dashboard)."""

    counts: dict[str, int]  # every status, zeros included
    marker: tuple[object, ...]  # see `change_marker`


def alarms_state(kiosk: Kiosk) -> AlarmsState:
    """The counts by status (six rows kept by triggers) and the newest id and change, in one read."""
    with kiosk.store.reading() as connection:
        newest = connection.execute(_NEWEST).one()
        rows = sorted(connection.execute(_COUNTS).all())
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: count for status, count in rows})
    return AlarmsState(counts=counts, marker=(*newest, *(tuple(row) for row in rows)))


def alarms_by_id(kiosk: Kiosk, ids: set[int]) -> dict[int, AlarmView]:
    """Several alarms in one read (a publisher's batch); ids that no longer exist are left out."""
    if not ids:
        return {}
    return {view.id: view for view in _views(kiosk, select(Alarm).where(Alarm.id.in_(sorted(ids))))}


def alarm_counts(kiosk: Kiosk) -> dict[str, int]:
    """Alarms by notification status, every status present (zeros included); six rows, kept by triggers."""
    return alarms_state(kiosk).counts


def change_marker(kiosk: Kiosk) -> tuple[object, ...]:
    """What changes whenever an alarm is added, deleted or changed: newest id, latest change, counts by status.

    One index read each and the six count rows, so a page can tell in well under a millisecond
    whether what it showed a moment ago is still true (a status change moves the counts even
    where two changes share a timestamp).
    """
    return alarms_state(kiosk).marker


@dataclass(frozen=True)
class SubjectChoice:
    """A subject as a filter offers it: id and name only."""

    id: int
    name: str


def subject_choices(kiosk: Kiosk, limit: int = 1000) -> list[SubjectChoice]:
    """Subjects by name for the alarm list's filter: two columns, not every subject's custodian and cards."""
    with kiosk.store.reading() as connection:
        rows = connection.execute(
            select(Subject.id, Subject.name).order_by(func.lower(Subject.name), Subject.id).limit(limit)
        )
        return [SubjectChoice(subject_id, name) for subject_id, name in rows]


def last_change(kiosk: Kiosk) -> datetime | None:
    """When an alarm last changed (where live updates start)."""
    with kiosk.store.read() as session:
        return session.scalar(select(func.max(Alarm.updated_at)))


def changes_since(kiosk: Kiosk, updated_after: datetime, after_id: int = 0, limit: int = 100) -> list[AlarmView]:
    """Alarms changed after a point (for live updates), in the order they changed (`changed_at`).

    A change to one of an alarm's notifications (another custodian's, the on-duty contact's) is
    a change of the alarm: its page shows them all.
    """
    root = func.coalesce(Alarm.parent_id, Alarm.id)
    changed = (
        select(root.label("root"), func.max(Alarm.updated_at).label("changed_at"))
        .where(Alarm.updated_at >= updated_after)
        .group_by(root)
        .subquery()
    )
    return _views(
        kiosk,
        select(Alarm)
        .join(changed, Alarm.id == changed.c.root)
        .where(
            or_(
                changed.c.changed_at > updated_after,
                and_(changed.c.changed_at == updated_after, Alarm.id > after_id),
            )
        )
        .order_by(changed.c.changed_at, Alarm.id)
        .limit(limit),
    )


def _row(session: Session, alarm_id: int) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound("There is no alarm with id {id}.", id=alarm_id)
    return alarm


def retry_blocker(kiosk: Kiosk, alarm: AlarmView) -> Sentence | None:
    """Why a retry of this alarm cannot work now (None: it can), so the page offers only retries that work."""
    failed = alarm.notification_status == AlarmStatus.FAILED
    if not failed and not any(note.status == AlarmStatus.FAILED for note in alarm.notifications):
        return Sentence(ONLY_FAILED, id=alarm.id, status=alarm.notification_status)
    if not any(channel.is_configured() for channel in kiosk.channels.values()):
        return NO_CHANNEL_FOR_RETRY
    return None


def retry_alarm(kiosk: Kiosk, alarm_id: int) -> AlarmView:
    """Send every FAILED custodian notification of an alarm again from its first channel, whatever
    made it fail (an admin's decision); the ones already SENT or DELIVERED are left alone."""
    blocker = retry_blocker(kiosk, get_alarm(kiosk, alarm_id))
    if blocker:
        raise UserError(blocker)
    with kiosk.store.session() as session:
        alarm = _row(session, alarm_id)
        rows = [alarm_id, *(child.id for child in alarm.children if child.role == "custodian")]
        requeued = [row for row in rows if alarm_state.requeue_failed(session, row, kiosk.clock.now())]
        if not requeued:  # changed since the check
            raise UserError(ONLY_FAILED, id=alarm_id, status=alarm.notification_status)
    for row in requeued:
        if not enqueue_delivery(kiosk.queue, row):
            mark_not_enqueued(kiosk, row)
    return get_alarm(kiosk, alarm_id)


def resolve_alarm(kiosk: Kiosk, alarm_id: int, notes: str) -> AlarmView:
    """Mark an alarm as dealt with by a person, with their notes (delivery state is untouched)."""
    with kiosk.store.session() as session:
        alarm = _row(session, alarm_id)
        alarm.resolved_at = kiosk.clock.now()
        alarm.resolution_notes = notes.strip()[:MAX_NOTES]
        alarm.updated_at = alarm.resolved_at
    return get_alarm(kiosk, alarm_id)
