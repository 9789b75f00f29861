"""The new version's venv is made from the running one: the wheels the bundle leaves as they are
stay linked (nothing copied, nothing installed), only what changed is installed, what the bundle
dropped is removed, the running venv is never touched, and a venv that does not run is never
switched to."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path

from appliance.services.update import delta, venvs
from appliance.services.update.engine import Updater
from appliance.services.update.paths import UpdatePaths
from appliance.services.update.status import last
from appliance.services.update.system import looping_units


def files_of(venv: Path) -> dict[str, str]:
    """Every regular file under `venv` (not links) with its content's hash."""
    found = {}
    for folder, _dirs, names in os.walk(venv):
        for name in names:
            path = Path(folder, name)
            if not path.is_symlink():
                found[str(path.relative_to(venv))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def module_file(venv: Path, module: str) -> Path:
    return delta.site_packages(venv) / f"{module}.py"


def test_an_update_installs_only_the_changed_wheel_and_links_the_rest(
    kiosk_tree: UpdatePaths, updater: Updater, make_bundle, linked_version: Callable[[], str]
) -> None:
    old, new = kiosk_tree.venv("1.0.0"), kiosk_tree.venv("1.1.0")
    running_before = files_of(old)

    updater.install(make_bundle("1.1.0"))

    assert linked_version() == "1.1.0"  # its keryu script runs the new venv's Python, not the old one's
    assert os.path.samefile(module_file(old, "helper"), module_file(new, "helper"))  # linked, not reinstalled
    assert not os.path.samefile(module_file(old, "keryu_probe"), module_file(new, "keryu_probe"))
    assert files_of(old) == running_before  # the version kept for a rollback is exactly as it was
    # The services' -OO bytecode of the new module is there (they cannot write it at run time).
    assert Path(importlib.util.cache_from_source(str(module_file(new, "keryu_probe")), optimization=2)).is_file()
    assert (new / "bin/keryu").read_text().startswith(f"#!{new}/bin/python")
    assert str(old) not in (new / "pyvenv.cfg").read_text()
    assert venvs.manifest(kiosk_tree, "1.1.0").version == "1.1.0"
    assert venvs.manifest(kiosk_tree, "1.0.0") is None  # the image's venv got no manifest through a link


def test_only_the_changed_wheels_are_unpacked(kiosk_tree: UpdatePaths, make_bundle) -> None:
    bundle_wheels = {"keryu-1.1.0-py3-none-any.whl": "0" * 64}
    helper = delta.installed(kiosk_tree.venv("1.0.0"))["helper"]
    bundle_wheels["helper-1.0-py3-none-any.whl"] = delta.recorded_sha256(helper)

    changes = delta.compute(kiosk_tree.venv("1.0.0"), bundle_wheels)

    assert changes.install == {"keryu-1.1.0-py3-none-any.whl"}
    assert changes.unchanged == 1 and changes.remove == ()  # pip stays for the next update


def test_a_wheel_rebuilt_with_the_same_version_is_installed_again(kiosk_tree: UpdatePaths) -> None:
    running = kiosk_tree.venv("1.0.0")
    wheels = {"helper-1.0-py3-none-any.whl": "f" * 64, "keryu-1.0.0-py3-none-any.whl": "e" * 64}

    assert delta.compute(running, wheels).install == set(wheels)


def test_a_project_the_new_bundle_drops_is_removed_from_the_new_venv_only(
    kiosk_tree: UpdatePaths, updater: Updater, make_bundle
) -> None:
    updater.install(make_bundle("1.1.0", extra={"oldlib": "2.0"}))
    assert module_file(kiosk_tree.venv("1.1.0"), "oldlib").exists()

    updater.install(make_bundle("1.2.0"))

    assert not module_file(kiosk_tree.venv("1.2.0"), "oldlib").exists()
    assert module_file(kiosk_tree.venv("1.1.0"), "oldlib").exists()  # the kept version still has it
    assert "oldlib" not in delta.installed(kiosk_tree.venv("1.2.0"))


def test_a_new_venv_with_a_missing_requirement_is_never_switched_to(
    kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle, linked_version: Callable[[], str]
) -> None:
    before = database.read_bytes()

    message = updater.install(make_bundle("1.1.0", requires=("helper", "notshipped>=1")))

    assert message.startswith("update to 1.1.0 failed and was rolled back: installing the new version failed")
    assert "keryu 1.1.0 requires notshipped" in message
    assert updater.system.events == []  # the kiosk never stopped
    assert linked_version() == "1.0.0" and database.read_bytes() == before
    assert venvs.installed(kiosk_tree) == ["1.0.0"]
    assert last(kiosk_tree.status_file).state == "rolled-back"


def test_a_unit_that_keeps_crashing_rolls_back_before_the_grace_period_ends(
    kiosk_tree: UpdatePaths, updater: Updater, make_bundle, linked_version: Callable[[], str]
) -> None:
    updater.grace = 60.0
    updater.system.looping_after_start = {"keryu-worker.service"}
    started = time.monotonic()

    message = updater.install(make_bundle("1.1.0", broken=True))

    assert time.monotonic() - started < 30
    assert message == (
        "update to 1.1.0 failed and was rolled back: the kiosk was not healthy within 60 s "
        "(keryu-worker.service kept failing)"
    )
    assert linked_version() == "1.0.0"


def test_systemd_reports_a_unit_that_failed_or_keeps_restarting() -> None:
    show = (
        "Id=keryu-web.service\nActiveState=active\nNRestarts=0\n\n"
        "Id=keryu-worker.service\nActiveState=activating\nNRestarts=3\n\n"
        "Id=keryu-scanner.service\nActiveState=failed\nNRestarts=1\n\n"
        "Id=keryu-beat.service\nActiveState=active\nNRestarts=2\n"
    )

    assert looping_units(show) == {"keryu-worker.service", "keryu-scanner.service"}
