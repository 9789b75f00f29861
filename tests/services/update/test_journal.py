"""The power goes off at any step of an update: the next start (`keryu update --resume`, before
`keryu init`) finds the journal and leaves one complete version with its own database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.services.update import venvs
from appliance.services.update.database import revision
from appliance.services.update.engine import Updater
from appliance.services.update.journal import STEPS
from appliance.services.update.paths import UpdatePaths
from appliance.services.update.status import last
from tests.services.update.conftest import alarm_notes


class PowerCut(BaseException):
    """Nothing after this runs: not an error the updater could catch and handle."""


@pytest.mark.parametrize("step", STEPS)
def test_a_power_cut_after_any_step_is_undone_at_the_next_start(
    step: str, kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle,
    linked_version: Callable[[], str],
) -> None:  # fmt: skip
    before = database.read_bytes()

    def cut(reached: str) -> None:
        if reached == step:
            if step == "verified":  # the power went while pip was still filling the new venv
                (kiosk_tree.venvs / "1.1.0/bin").mkdir(parents=True, exist_ok=True)
            raise PowerCut

    updater.checkpoint = cut
    with pytest.raises(PowerCut):
        updater.install(make_bundle("1.1.0"))
    assert kiosk_tree.journal.exists()

    after_boot = Updater(paths=kiosk_tree, database=database, system=updater.system)
    message = after_boot.resume()

    assert message == (
        "update to 1.1.0 failed and was rolled back: the kiosk restarted in the middle of the update (a power cut?)"
    )
    assert linked_version() == "1.0.0"
    if STEPS.index(step) < STEPS.index("started"):
        assert database.read_bytes() == before  # nothing ran on the new version: the copy, exactly
    else:  # the new version may have recorded alarms: the database stays, at the schema 1.0.0 knows
        assert revision(database) == "0003" and alarm_notes(database) == ["recorded before the update"]
    assert sorted(path.name for path in kiosk_tree.venvs.iterdir()) == ["1.0.0"]
    assert not kiosk_tree.journal.exists()
    assert last(kiosk_tree.status_file).state == "rolled-back"
    assert after_boot.resume() is None  # a second start finds nothing to do


def test_a_power_cut_while_undoing_is_undone_again(
    kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle, linked_version: Callable[[], str]
) -> None:
    switch = venvs.switch
    calls: list[str] = []

    def switch_then_cut(paths: UpdatePaths, version: str) -> None:
        switch(paths, version)
        calls.append(version)
        if version == "1.0.0":  # the undo's switch back happened, the database is not restored yet
            raise PowerCut

    updater.grace = 0.5
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(venvs, "switch", switch_then_cut)
        with pytest.raises(PowerCut):
            updater.install(make_bundle("1.1.0", broken=True))
    assert calls == ["1.1.0", "1.0.0"]

    Updater(paths=kiosk_tree, database=database, system=updater.system).resume()

    assert linked_version() == "1.0.0"
    assert revision(database) == "0003" and alarm_notes(database) == ["recorded before the update"]
    assert venvs.installed(kiosk_tree) == ["1.0.0"]


def test_the_boot_time_undo_leaves_a_running_update_alone(
    kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle
) -> None:
    seen: list[str | None] = []

    def resume_meanwhile(reached: str) -> None:
        if reached == "started":  # as when keryu.target is started by the update itself
            seen.append(Updater(paths=kiosk_tree, database=database, system=updater.system).resume())
            assert kiosk_tree.journal.exists()

    updater.checkpoint = resume_meanwhile
    message = updater.install(make_bundle("1.1.0"))

    assert seen == [None]
    assert message == "Keryu updated to 1.1.0 (from 1.0.0); the kiosk is healthy."
