"""`keryu update`: install a verified bundle beside the running version, switch to it, and undo
everything when the kiosk is not healthy within the grace period or the power is cut midway.

Each finished step is written to the journal before the next starts; `resume()` (at boot, before
`keryu init`) undoes whatever an interrupted update had done, so a kiosk always starts one
complete version with the database that matches it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from appliance import stored_text
from appliance.errors import UserError
from appliance.i18n import Sentence
from appliance.services.update import database, delta, derive, errors, journal, status, venvs
from appliance.services.update.errors import UpdateRefused
from appliance.services.update.journal import Entry
from appliance.services.update.manifest import Manifest
from appliance.services.update.paths import UpdatePaths
from appliance.services.update.system import DeviceSystem, System
from appliance.services.update.verify import Device, VerifiedBundle, check_fits, unpack_verified

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
INSTALLED_SIZE_FACTOR = 3  # installed files take about three times their wheels (the rest is linked)
MARGIN = 32 * MIB
# The database's revision as the other version's code knows it (run in that version's venv).
HEAD_REVISION = "from appliance.store.migrate import head_revision; print(head_revision() or '')"
DOWNGRADE = (
    "import sys; from alembic import command; from appliance.config import load_settings; "
    "from appliance.store.db import Store; from appliance.store.migrate import _alembic_config; "
    "command.downgrade(_alembic_config(Store(load_settings().database)), sys.argv[1])"
)


class StepFailed(Exception):
    """A step of the update did not work; the update is undone with this reason."""


@dataclass
class Updater:
    """One kiosk's updates: where things are, its database file, and the machine seam."""

    paths: UpdatePaths
    database: Path | None
    system: System = field(default_factory=DeviceSystem)
    grace: float = 120.0
    poll: float = 5.0
    arch: str = field(default_factory=platform.machine)
    python: str = f"{sys.version_info.major}.{sys.version_info.minor}"
    checkpoint: Callable[[str], None] = lambda step: None  # tests cut the power here

    # --- the three commands ---------------------------------------------------------------
    def install(self, bundle: Path, *, allow_downgrade: bool = False) -> str:
        """Install `bundle`; returns the sentence for the owner. Refusals raise `UpdateRefused`."""
        with self._lock():
            self._resume()
            previous = self._running()
            running = self.paths.venv(previous)
            changes: delta.Delta | None = None

            def changed_wheels(manifest: Manifest) -> frozenset[str]:
                """What the bundle changes in the running venv, worked out once: unpacked now, installed later."""
                nonlocal changes
                changes = delta.compute(running, manifest.wheels)
                return changes.install

            try:
                verified = unpack_verified(  # every hash checked; only the changed wheels unpacked
                    bundle, self.paths.staging, self.paths.keys_dir, wanted=changed_wheels
                )
                device = Device(self.arch, self.python, previous, self._schema())
                check_fits(verified, device, allow_downgrade=allow_downgrade)
                self._check_space(verified)
            except UpdateRefused as refusal:
                shutil.rmtree(self.paths.staging, ignore_errors=True)
                status.record(self.paths.status_file, "refused", None, str(refusal))
                raise
            assert changes is not None  # worked out by `changed_wheels` once the signature held
            return self._run(self._entry(verified.manifest.version, previous, "update"), (verified, changes))

    def rollback(self) -> str:
        """Go back to the other kept version (`keryu update --rollback`)."""
        with self._lock():
            self._resume()
            previous = self._running()
            others = [name for name in venvs.installed(self.paths) if name != previous]
            if not others:
                raise UserError("No other version is kept on this kiosk; nothing was changed.")
            return self._run(self._entry(others[-1], previous, "rollback"), None)

    def resume(self) -> str | None:
        """At boot: undo an update the power cut short; None when there was none, or when a
        running update holds the lock (the journal is that live update's, not a cut one's)."""
        try:
            with self._lock():
                return self._resume()
        except UpdateRefused:
            return None

    # --- the steps ------------------------------------------------------------------------
    def _run(self, entry: Entry, new: tuple[VerifiedBundle, delta.Delta] | None) -> str:
        """Switch to `entry.version`: from a verified bundle and what it changes, or (a rollback,
        `new` None) to a venv already kept."""
        version = entry.version
        status.record(
            self.paths.status_file, "installing", version, str(Sentence(stored_text.UPDATE_INSTALLING, version=version))
        )
        entry = self._step(entry)
        # A kiosk without a camera stays one: not the update's fault.
        already_bad, already_looping = self._unhealthy_parts(), self.system.crash_looping()
        try:
            if new is not None:
                self._derive(entry, *new)
            entry = self._step(entry.at("installed"))
            self.system.stop_kiosk()
            entry = self._step(entry.at("stopped"))
            if self.database is not None:
                database.back_up(self.database, Path(str(entry.backup)))
            entry = self._step(entry.at("backed-up"))
            self._migrate(entry)
            entry = self._step(entry.at("migrated"))
            venvs.switch(self.paths, version)
            entry = self._step(entry.at("switched"))
            # Journaled before the start: from here on the new version may have written alarms.
            entry = self._step(entry.at("started"))
            self.system.start_kiosk()
            detail = self._watch(version, already_bad, already_looping)
        except Exception as exc:  # any failure is undone; a power cut (nothing runs) is undone at boot
            return self._undo(entry, Sentence(errors.STEP_FAILED, step=_step_name(entry), detail=_detail(exc)))
        if detail is not None:
            return self._undo(entry, Sentence(errors.UNHEALTHY, grace=self.grace, detail=detail))
        return self._finish(entry)

    def _derive(self, entry: Entry, bundle: VerifiedBundle, changes: delta.Delta) -> None:
        """The new venv: the running one linked, plus the wheels the bundle changes; checked."""
        running, target = self.paths.venv(entry.previous), self.paths.venv(entry.version)
        started = time.monotonic()
        derive.derive(running, target, bundle.wheels, changes, bundle.manifest.to_bytes())
        derive.check(target, entry.version)
        logger.info("Keryu %s made from %s (%s) in %.0f s", entry.version, entry.previous, changes,
                    time.monotonic() - started)  # fmt: skip

    def _migrate(self, entry: Entry) -> None:
        """Bring the database to the version being started: `keryu init` upgrades; going back to
        an older version first downgrades with the newer code, which knows both schemas."""
        target = self.paths.venv(entry.version)
        if entry.kind == "rollback" and self._schema() is not None:
            known = venvs.manifest(self.paths, entry.version)
            if known is not None:
                head = known.schema if self._schema() not in known.schemas else None
            else:
                head = self._as_kiosk([str(target / "bin/python"), "-c", HEAD_REVISION], "reading the schema").strip()
            if head and head != self._schema():
                python = self.paths.venv(entry.previous) / "bin/python"
                self._as_kiosk([str(python), "-c", DOWNGRADE, head], "the database downgrade")
        self._as_kiosk([str(target / "bin/keryu"), "init"], "the database migration")

    def _as_kiosk(self, argv: list[str], what: str) -> str:
        result = self.system.run_as_kiosk(argv, timeout=600)
        if result.returncode != 0:
            raise StepFailed(f"{what}: {_last_line(result.stderr or result.stdout)}")
        return result.stdout

    def _status(self) -> tuple[str | None, dict[str, str]] | None:
        """`keryu status --json` of the linked version: its version and each part's state (None: no answer)."""
        try:
            result = self.system.run_as_kiosk([str(self.paths.link / "bin/keryu"), "status", "--json"], timeout=60)
            report = json.loads(result.stdout)
            parts = {name: str(part.get("status")) for name, part in report.get("components", {}).items()}
            return report.get("version"), parts
        except (subprocess.SubprocessError, OSError, ValueError, AttributeError):
            return None

    def _unhealthy_parts(self) -> set[str]:
        status = self._status()
        return {name for name, state in status[1].items() if state != "ok"} if status else set()

    def _watch(self, version: str, already_bad: set[str], already_looping: set[str]) -> str | None:
        """Poll the new version's health until every part that was ok before the update is ok
        again; else say which parts are not. A unit restarting over and over ends the wait early."""
        deadline = time.monotonic() + self.grace
        while True:
            looping = sorted(self.system.crash_looping() - already_looping)
            if looping:
                return f"{', '.join(looping)} kept failing"
            status = self._status()
            if status is None:
                detail: str | None = "`keryu status` gave no answer"
            elif status[0] != version:
                detail = f"version {status[0]} answered"
            else:
                worse = [f"{name} {state}" for name, state in status[1].items() if state != "ok"]
                detail = ", ".join(part for part in worse if part.split()[0] not in already_bad) or None
            if detail is None or time.monotonic() >= deadline:
                return detail
            time.sleep(self.poll)

    def _finish(self, entry: Entry) -> str:
        venvs.prune(self.paths, (entry.version, entry.previous))
        for old in self.paths.backups.glob("*") if self.paths.backups.is_dir() else []:
            if str(old) != entry.backup:
                shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(self.paths.staging, ignore_errors=True)
        done = stored_text.UPDATE_WENT_BACK if entry.kind == "rollback" else stored_text.UPDATE_UPDATED
        message = str(Sentence(done, version=entry.version, previous=entry.previous))
        status.record(self.paths.status_file, "installed", entry.version, message)
        journal.clear(self.paths.journal)
        logger.info("%s", message)
        return message

    def _undo(self, entry: Entry, reason: str, *, restart: bool = True) -> str:
        """Switch back, put the pre-update database back, remove the new venv; in that order, each
        step safe to repeat, the journal cleared last (a power cut here is undone at the next start)."""
        logger.warning("Undoing the update to %s: %s", entry.version, reason)
        if restart and entry.reached("stopped"):
            self.system.stop_kiosk()
        if venvs.current(self.paths) != entry.previous:
            venvs.switch(self.paths, entry.previous)
        if entry.reached("backed-up") and self.database is not None and entry.backup:
            self._put_database_back(entry, self.database, Path(entry.backup))
        if entry.kind == "update":
            venvs.remove(self.paths, entry.version)
        if restart and entry.reached("stopped"):
            self.system.start_kiosk()
        shutil.rmtree(self.paths.staging, ignore_errors=True)
        message = errors.rolled_back(entry.version, reason)
        status.record(self.paths.status_file, "rolled-back", entry.version, message)
        journal.clear(self.paths.journal)
        return message

    def _put_database_back(self, entry: Entry, live: Path, backup: Path) -> None:
        """The database the previous version starts with. Before the new version started, nothing
        wrote to it since the copy: the copy goes back as it is. Once it ran, the database holds
        what the copy lacks (a card scanned, a message sent in the grace period: restoring the
        copy would lose that alarm, or send it twice), so it stays, brought back to the previous
        schema by the newer code. Only when that fails does the copy go back, and the newer
        database is kept beside it for the owner, its path in the journal."""
        if not entry.reached("started"):
            database.restore(live, backup)
            return
        older = database.revision(backup / live.name)
        if entry.kind == "rollback" or database.revision(live) == older:
            return  # same schema, or the newer version's own `keryu init` upgrades it again at start
        newer_python = self.paths.venv(entry.version) / "bin/python"
        try:
            self._as_kiosk([str(newer_python), "-c", DOWNGRADE, str(older)], "the database downgrade")
        except (StepFailed, OSError, subprocess.SubprocessError) as exc:
            kept = backup.with_name(f"after-{entry.kind}-to-{entry.version}")
            database.back_up(live, kept)
            database.restore(live, backup)
            logger.error(
                "The database could not be taken back to schema %s (%s): the copy from before the update "
                "is back, and the database as %s left it is kept in %s", older, exc, entry.version, kept,
            )  # fmt: skip

    def _resume(self) -> str | None:
        entry = journal.read(self.paths.journal)
        if entry is None:
            return None
        return self._undo(entry, Sentence(errors.INTERRUPTED), restart=False)

    # --- helpers --------------------------------------------------------------------------
    def _entry(self, version: str, previous: str, kind: str) -> Entry:
        backup = self.paths.backups / f"before-{kind}-to-{version}"
        db = str(self.database) if self.database else None
        return Entry(version=version, previous=previous, step="verified", database=db, backup=str(backup), kind=kind)

    def _step(self, entry: Entry) -> Entry:
        journal.write(self.paths.journal, entry)
        self.checkpoint(entry.step)
        return entry

    def _running(self) -> str:
        running = venvs.current(self.paths)
        if running is None:
            raise UserError(
                "{link} is not a link to {venvs}/<version>; nothing was changed.",
                link=str(self.paths.link),
                venvs=str(self.paths.venvs),
            )
        return running

    def _schema(self) -> str | None:
        return database.revision(self.database) if self.database else None

    def _check_space(self, bundle: VerifiedBundle) -> None:
        needs = [(self.paths.venvs, bundle.size * INSTALLED_SIZE_FACTOR + MARGIN)]
        if self.database is not None and self.database.exists():
            needs.append((self.paths.state_dir, database.size(self.database) + MARGIN))
        for folder, need in needs:
            free = self.system.free_bytes(_existing(folder))
            if free < need:
                raise UpdateRefused(errors.no_space(_existing(folder), -(-need // MIB), free // MIB))

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.paths.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.paths.state_dir / "lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UpdateRefused(errors.busy()) from None
            yield


def _existing(folder: Path) -> Path:
    while not folder.exists():
        folder = folder.parent
    return folder


def _step_name(entry: Entry) -> str:
    return stored_text.UPDATE_STEPS.get(entry.step, entry.step)


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _detail(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        return _last_line(exc.stderr if isinstance(exc.stderr, str) else None) or f"exit status {exc.returncode}"
    return _last_line(str(exc)) or type(exc).__name__
