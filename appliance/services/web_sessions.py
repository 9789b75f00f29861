"""Admin sessions kept on the server, so that the kiosk can end them.

A login creates a random token: the browser's (signed) cookie holds it, the database holds
only its SHA-256 in `web_sessions`. A request is the admin's while that row exists and is
younger than `LIFETIME`; deleting the row ends the session at once, across restarts and in every
web process. Neither the tokens nor the cookie key are ever part of a backup.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from appliance.services.kiosk import Kiosk
from appliance.store.models import WebSession

logger = logging.getLogger(__name__)

LIFETIME = timedelta(hours=12)  # an admin logs in again every half day, whatever the cookie says
TOUCH_EVERY = timedelta(minutes=1)  # `last_seen_at` is written at most this often per session


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(kiosk: Kiosk) -> str:
    """A new session's token (for the cookie); expired sessions are cleared on the way."""
    token = secrets.token_urlsafe(32)
    now = kiosk.clock.now()
    with kiosk.store.session() as session:
        session.execute(delete(WebSession).where(WebSession.created_at < now - LIFETIME))
        session.add(WebSession(id=_digest(token), created_at=now, last_seen_at=now))
    return token


def session_is_active(kiosk: Kiosk, token: str) -> bool:
    """True while the session of `token` has not been ended or expired (one primary-key read)."""
    key = _digest(token)
    now = kiosk.clock.now()
    with kiosk.store.reading() as connection:  # a plain read: every admin page asks this first
        row = connection.execute(
            select(WebSession.created_at, WebSession.last_seen_at).where(WebSession.id == key)
        ).first()
    if row is None or row.created_at <= now - LIFETIME:
        return False
    if row.last_seen_at <= now - TOUCH_EVERY:
        with kiosk.store.session() as session:
            session.execute(update(WebSession).where(WebSession.id == key).values(last_seen_at=now))
    return True


def end_session(kiosk: Kiosk, token: str) -> None:
    """End one session (logout)."""
    with kiosk.store.session() as session:
        session.execute(delete(WebSession).where(WebSession.id == _digest(token)))


def end_every_session(kiosk: Kiosk) -> int:
    """End every admin session ("log out everywhere"); returns how many there were."""
    with kiosk.store.session() as session:
        ended = delete_all_sessions(session)
    logger.info("Ended every admin session (%d)", ended)
    return ended


def delete_all_sessions(session: Session) -> int:
    """Inside a caller's transaction (a password change): delete every session row."""
    return session.execute(delete(WebSession)).rowcount


def active_session_count(kiosk: Kiosk) -> int:
    """How many admin sessions are open now, for the settings page."""
    since = kiosk.clock.now() - LIFETIME
    with kiosk.store.read() as session:
        return session.scalar(select(func.count()).select_from(WebSession).where(WebSession.created_at > since)) or 0
