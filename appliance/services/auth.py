"""Who may use the admin page: the admin password, the per-device session secret, login throttling.

Both secrets live in the `system_parameters` table, so a kiosk keeps them across restarts; backups
leave them out and a restore keeps the device's own (services/backup.py); nothing secret is ever logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from appliance.clock import Clock, SystemClock
from appliance.errors import UserError
from appliance.i18n import N_
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import get_parameter, set_parameter
from appliance.services.web_sessions import delete_all_sessions

logger = logging.getLogger(__name__)

ADMIN_PASSWORD_HASH = "admin_password_hash"
SESSION_SECRET = "web_session_secret"
SETUP_CODE = "setup_code"  # the one-time code first-run setup asks for (services/setup_code.py)
PASSWORD_IN_ENV = N_("The admin password is set by KERYU_ADMIN_PASSWORD_HASH in keryu.env; change it there.")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

# Defaults tuned for a Raspberry Pi 3: about 0.1 s per check, 32 MiB of memory.
_hasher = PasswordHasher(time_cost=2, memory_cost=32 * 1024, parallelism=1)


class AdminAlreadySet(UserError):
    """First-run setup was asked for, but an admin password exists already."""


class TooManyAttempts(UserError):
    """Too many failed logins from one address; the message says how long to wait."""

    def __init__(self, message: str, /, *, retry_after: float, **params: object):
        super().__init__(message, **params)
        self.retry_after = retry_after


def _check_password(password: str, confirm: str | None) -> None:
    if confirm is not None and password != confirm:
        raise UserError("The two passwords are not the same.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError("The password must have at least {count} characters.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError("The password must have at most {count} characters.", count=MAX_PASSWORD_LENGTH)


def has_admin_password(kiosk: Kiosk) -> bool:
    """True once first-run setup has stored an admin password, or keryu.env gives its hash."""
    if kiosk.settings.admin_password_hash is not None:
        return True
    with kiosk.store.read() as session:
        return get_parameter(session, ADMIN_PASSWORD_HASH) is not None


def set_up_admin(kiosk: Kiosk, password: str, confirm: str | None = None) -> None:
    """Store the first admin password; refuses when one exists (checked inside the write lock)."""
    if kiosk.settings.admin_password_hash is not None:
        raise AdminAlreadySet(PASSWORD_IN_ENV)
    _check_password(password, confirm)
    digest = _hasher.hash(password)
    with kiosk.store.session() as session:
        if get_parameter(session, ADMIN_PASSWORD_HASH) is not None:
            raise AdminAlreadySet("An admin password is already set; log in instead.")
        set_parameter(session, ADMIN_PASSWORD_HASH, digest)
        set_parameter(session, SETUP_CODE, "")  # used up: a password exists, the code opens nothing
    logger.info("Admin password set up")


def hash_password(password: str, confirm: str | None = None) -> str:
    """The argon2 hash of a new admin password, for KERYU_ADMIN_PASSWORD_HASH (`keryu hash-password`)."""
    _check_password(password, confirm)
    return _hasher.hash(password)


def change_admin_password(kiosk: Kiosk, current: str, new: str, confirm: str | None = None) -> None:
    """Replace the admin password after checking the current one."""
    if kiosk.settings.admin_password_hash is not None:
        raise UserError(PASSWORD_IN_ENV)
    if not verify_admin_password(kiosk, current):
        raise UserError("The current password is wrong.")
    _check_password(new, confirm)
    with kiosk.store.session() as session:
        set_parameter(session, ADMIN_PASSWORD_HASH, _hasher.hash(new))
        delete_all_sessions(session)  # a changed password logs every browser out, in the same commit
    logger.info("Admin password changed")


def verify_admin_password(kiosk: Kiosk, password: str) -> bool:
    """True when `password` is the admin password (rehashing it when the parameters changed)."""
    digest = kiosk.settings.admin_password_hash
    if digest is None:
        with kiosk.store.read() as session:
            digest = get_parameter(session, ADMIN_PASSWORD_HASH)
    if digest is None or not password or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        _hasher.verify(digest, password)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        logger.error("The stored admin password hash is unreadable; set a new one with first-run setup")
        return False
    if _hasher.check_needs_rehash(digest) and kiosk.settings.admin_password_hash is None:
        with kiosk.store.session() as session:
            set_parameter(session, ADMIN_PASSWORD_HASH, _hasher.hash(password))
    return True


def session_secret(kiosk: Kiosk) -> bytes:
    """The 32-byte key of the session cookie: made once per device, then read back."""
    with kiosk.store.read() as session:
        stored = get_parameter(session, SESSION_SECRET)
    if stored is None:
        with kiosk.store.session() as session:
            stored = get_parameter(session, SESSION_SECRET)  # another process may have won the race
            if stored is None:
                stored = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
                set_parameter(session, SESSION_SECRET, stored)
                logger.info("Generated this device's session secret")
    key = base64.urlsafe_b64decode(stored.encode("ascii"))
    if len(key) != 32:
        raise UserError("The stored session secret is damaged; delete the web_session_secret parameter.")
    return key


@dataclass
class _Failures:
    count: int = 0
    paused_until: float = 0.0


# Each argon2 check takes 32 MiB for about 0.1 s: two at a time bound the memory on a 512 MB board.
VERIFICATIONS_AT_ONCE = 2


@dataclass
class LoginThrottle:
    """After `limit` failed attempts from one address, refuse that address for `pause` seconds (doubling).

    An attempt counts when it starts, before the slow password check, so that concurrent guesses
    cannot all slip past the limit; a success clears the address. `verifying` caps how many
    password checks run at once across all addresses.
    """

    limit: int = 5
    pause: float = 60.0
    max_pause: float = 3600.0
    clock: Clock = field(default_factory=SystemClock)
    what: str = "logins"  # in the journal's warning
    refusal: str = N_("Too many failed logins; try again in {seconds} seconds.")  # its msgid, with {seconds}
    concurrent: int = VERIFICATIONS_AT_ONCE
    _by_address: dict[str, _Failures] = field(default_factory=dict)
    verifying: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.verifying = asyncio.Semaphore(self.concurrent)

    def check(self, address: str) -> None:
        """Raise `TooManyAttempts` while `address` is paused."""
        entry = self._by_address.get(address)
        if entry is None:
            return
        remaining = entry.paused_until - self.clock.monotonic()
        if remaining > 0:
            raise TooManyAttempts(self.refusal, seconds=int(remaining) + 1, retry_after=remaining)

    def attempt(self, address: str) -> None:
        """Count an attempt as failed before checking it (`succeeded` takes it back); raise while paused."""
        self.check(address)
        self.failed(address)

    def failed(self, address: str) -> None:
        """Count a failed attempt; the `limit`-th failure in a row starts a pause."""
        entry = self._by_address.setdefault(address, _Failures())
        entry.count += 1
        if entry.count >= self.limit:
            rounds = entry.count // self.limit
            delay = min(self.pause * 2 ** (rounds - 1), self.max_pause)
            entry.paused_until = self.clock.monotonic() + delay
            logger.warning("Paused %s from %s after %d failures (%.0f s)", self.what, address, entry.count, delay)
        if len(self._by_address) > 10_000:  # a flood of addresses must not grow memory for ever
            self._forget_idle()

    def succeeded(self, address: str) -> None:
        """A good attempt clears the address's record."""
        self._by_address.pop(address, None)

    def _forget_idle(self) -> None:
        now = self.clock.monotonic()
        for address in [a for a, e in self._by_address.items() if e.paused_until < now]:
            del self._by_address[address]
