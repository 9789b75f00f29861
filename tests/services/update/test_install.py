"""An update installs beside the running version and switches to it; one that is not healthy in
the grace period is undone on its own; two versions are kept; `--rollback` goes back by hand."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from appliance.services.update import venvs
from appliance.services.update.engine import Updater
from appliance.services.update.paths import UpdatePaths
from appliance.services.update.status import last
from tests.services.update.conftest import alarm_notes, scanned_while_running


def migrated(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        return [row[0] for row in db.execute("SELECT version FROM migrated")] if "migrated" in tables else []


def test_an_update_switches_to_the_new_version_after_migrating(
    kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle, linked_version: Callable[[], str]
) -> None:
    message = updater.install(make_bundle("1.1.0"))

    assert message == "Keryu updated to 1.1.0 (from 1.0.0); the kiosk is healthy."
    assert linked_version() == "1.1.0"
    assert migrated(database) == ["1.1.0"]
    assert updater.system.events == ["stop", "start"]
    assert venvs.installed(kiosk_tree) == ["1.0.0", "1.1.0"]
    assert not kiosk_tree.journal.exists() and not kiosk_tree.staging.exists()
    assert last(kiosk_tree.status_file).state == "installed"


def test_an_update_that_never_becomes_healthy_is_rolled_back_keeping_the_alarms_it_recorded(
    kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle, linked_version: Callable[[], str]
) -> None:
    """A card shown in the grace period is an alarm the copy from before the update lacks: the
    database stays (the schema did not move), so the alarm is neither lost nor sent twice."""
    updater.system.while_running = scanned_while_running(database, "scanned during the grace period")

    message = updater.install(make_bundle("1.1.0", broken=True))

    assert message == ("update to 1.1.0 failed and was rolled back: the kiosk was not healthy within 3 s (worker down)")
    assert linked_version() == "1.0.0"
    assert alarm_notes(database) == ["recorded before the update", "scanned during the grace period"]
    assert venvs.installed(kiosk_tree) == ["1.0.0"]
    assert updater.system.events == ["stop", "start", "stop", "start"]
    assert last(kiosk_tree.status_file).message == message


def test_a_rolled_back_schema_that_cannot_be_downgraded_puts_the_copy_back_and_keeps_the_newer_database(
    kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle, linked_version: Callable[[], str]
) -> None:
    """The new version moved the schema, and its code cannot take it back (here: it has no
    Alembic): the older version gets the copy it can read, and nothing is thrown away."""
    before = database.read_bytes()
    updater.system.while_running = scanned_while_running(database, "scanned during the grace period")

    updater.install(make_bundle("1.1.0", broken=True, schema="0004"))

    assert linked_version() == "1.0.0"
    assert database.read_bytes() == before
    kept = kiosk_tree.backups / "after-update-to-1.1.0" / database.name
    assert alarm_notes(kept) == ["recorded before the update", "scanned during the grace period"]
    assert migrated(kept) == ["1.1.0"]


def test_a_part_that_was_down_before_the_update_does_not_roll_it_back(
    updater: Updater, make_bundle, linked_version: Callable[[], str], monkeypatch
) -> None:
    monkeypatch.setenv("UPDATE_PROBE_NO_CAMERA", "1")

    message = updater.install(make_bundle("1.1.0"))

    assert message == "Keryu updated to 1.1.0 (from 1.0.0); the kiosk is healthy."
    assert linked_version() == "1.1.0"


def test_two_versions_are_kept_and_rollback_goes_back_to_the_older(
    kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle, linked_version: Callable[[], str]
) -> None:
    updater.install(make_bundle("1.1.0"))
    updater.install(make_bundle("1.2.0"))
    assert venvs.installed(kiosk_tree) == ["1.1.0", "1.2.0"]

    message = updater.rollback()

    assert message == "Keryu went back to 1.1.0 (from 1.2.0); the kiosk is healthy."
    assert linked_version() == "1.1.0"
    assert venvs.installed(kiosk_tree) == ["1.1.0", "1.2.0"]
