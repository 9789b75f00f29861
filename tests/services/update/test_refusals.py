"""A bundle that must not be installed is refused with one sentence before anything changes:
no file in /opt/keryu, no database byte, no service touched."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.services.update.bundle import Target
from appliance.services.update.engine import Updater
from appliance.services.update.errors import UpdateRefused
from appliance.services.update.paths import UpdatePaths

MIB = 1024 * 1024


def snapshot(root: Path, ignore: tuple[Path, ...]) -> dict[str, object]:
    """Every file's bytes and every link's target under `root`, except the updater's own notes."""
    seen: dict[str, object] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            if path in ignore:
                continue
            if path.is_symlink():
                seen[str(path)] = ("link", os.readlink(path))
            elif path.is_file():
                seen[str(path)] = path.read_bytes()
            else:
                seen[str(path)] = "dir"
    return seen


def altered_wheel(bundle: Path, project: str = "keryu") -> Path:
    """The same signed manifest, one byte of `project`'s wheel changed (as a bad download or an attacker would)."""
    out = bundle.with_name("altered.kup")
    with tarfile.open(bundle) as source, tarfile.open(out, "w:") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name.startswith(f"wheels/{project}-"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.addfile(member, io.BytesIO(data))
    return out


CASES = {
    "bad signature": (
        lambda make: make("1.1.0", key=Ed25519PrivateKey.generate()),
        None,
        "keryu-1.1.0.kup is not signed by a key this kiosk trusts; nothing was changed.",
    ),
    "changed wheel": (
        lambda make: altered_wheel(make("1.1.0")),
        None,
        "altered.kup was altered or damaged: keryu-1.1.0-py3-none-any.whl does not match its signed hash; "
        "nothing was changed.",
    ),
    "changed wheel the kiosk already has": (  # hashed though never unpacked: helper 1.0 is installed
        lambda make: altered_wheel(make("1.1.0"), "helper"),
        None,
        "altered.kup was altered or damaged: helper-1.0-py3-none-any.whl does not match its signed hash; "
        "nothing was changed.",
    ),
    "wrong architecture": (
        lambda make: make("1.1.0", target=Target(arch="riscv64", python="3.13")),
        None,
        "keryu-1.1.0.kup is for riscv64 and this kiosk is {arch}; nothing was changed.",
    ),
    "older version": (
        lambda make: make("0.9.0"),
        None,
        "keryu-0.9.0.kup holds Keryu 0.9.0, older than the running 1.0.0 (use --allow-downgrade to install it "
        "anyway); nothing was changed.",
    ),
    "full disk": (
        lambda make: make("1.1.0"),
        5 * MIB,
        "Not enough free space in {venvs}: the update needs 33 MiB and 5 MiB are free; nothing was changed.",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bundle_that_does_not_fit_is_refused_and_nothing_changes(
    case: str, kiosk_tree: UpdatePaths, database: Path, updater: Updater, make_bundle: Callable[..., Path]
) -> None:
    build, free, sentence = CASES[case]
    bundle = build(make_bundle)
    updater.system.free = free
    root = kiosk_tree.app_dir.parents[1]
    notes = (kiosk_tree.status_file, kiosk_tree.state_dir / "lock", bundle)
    before = snapshot(root, notes)

    with pytest.raises(UpdateRefused) as refused:
        updater.install(bundle)

    expected = sentence.format(arch=updater.arch, venvs=kiosk_tree.venvs)
    assert str(refused.value) == expected
    assert snapshot(root, notes) == before
    assert updater.system.events == []
    assert not kiosk_tree.journal.exists()


def test_a_refusal_is_what_the_admin_page_shows_next(
    kiosk_tree: UpdatePaths, updater: Updater, make_bundle: Callable[..., Path]
) -> None:
    from appliance.services.update.status import last

    with pytest.raises(UpdateRefused):
        updater.install(make_bundle("0.9.0"))

    shown = last(kiosk_tree.status_file)
    assert shown is not None and shown.failed and "older than the running 1.0.0" in shown.message
