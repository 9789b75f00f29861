"""The hand-over from the unprivileged web process to the root-run updater: the page writes an
uploaded bundle into the spool folder (renamed into place when complete, which starts the
path-activated keryu-update.service); the updater takes it over without following links."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

from appliance.errors import UserError

SPOOLED = "update.kup"  # keryu-update.path watches for this name


def receive(spool_dir: Path, source: BinaryIO) -> Path:
    """Keep an uploaded bundle for the updater; refuse while another one waits."""
    spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = spool_dir / SPOOLED
    if target.exists():
        raise UserError("An update is already waiting to be installed; wait for it to finish.")
    partial = spool_dir / f".upload-{secrets.token_hex(8)}.partial"
    try:
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def take(spool_dir: Path, into: Path) -> Path | None:
    """Move the spooled bundle (written by another user) into root's own folder: opened without
    following a link, a regular file only, then copied; None when nothing waits."""
    source = spool_dir / SPOOLED
    try:
        handle = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # nothing there, or a link
        source.unlink(missing_ok=True)
        return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        into.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.dup(handle), "rb") as reader, into.open("wb") as writer:
            shutil.copyfileobj(reader, writer, 1024 * 1024)
    finally:
        os.close(handle)
        source.unlink(missing_ok=True)
    return into
