"""Backups uploaded on the admin page: checked and kept under a random token until the admin
confirms the restore, which then runs with the same checks as `keryu restore`."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from appliance.errors import UserError
from appliance.services.backup import BackupInfo
from appliance.services.kiosk import Kiosk
from appliance.services.restore import RestoreInfo, check_backup, restore_from

logger = logging.getLogger(__name__)

PREFIX = "restore-upload-"
KEEP_FOR_S = 3600.0  # an upload nobody confirmed is deleted by the next upload after an hour
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


@dataclass(frozen=True)
class PendingRestore:
    """An uploaded backup waiting for the admin's confirmation."""

    token: str
    name: str
    info: BackupInfo


def _folder(kiosk: Kiosk) -> Path:
    return kiosk.settings.data_dir / "run"


def _path(kiosk: Kiosk, token: str) -> Path:
    if not _TOKEN.fullmatch(token):
        raise UserError("This upload is no longer waiting; upload the backup again.")
    return _folder(kiosk) / f"{PREFIX}{token}.db"


def _forget_stale(folder: Path) -> None:
    cutoff = time.time() - KEEP_FOR_S
    for old in folder.glob(f"{PREFIX}*.db"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


def receive_upload(kiosk: Kiosk, source: BinaryIO, name: str) -> PendingRestore:
    """Keep the uploaded file and say what it holds; refuse (and delete) it unless it may be restored."""
    folder = _folder(kiosk)
    folder.mkdir(parents=True, exist_ok=True)
    _forget_stale(folder)
    token = secrets.token_urlsafe(16)
    path = _path(kiosk, token)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as target:
        shutil.copyfileobj(source, target)
    try:
        info = check_backup(path, label=name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    logger.info("Backup %s uploaded for restore (%d alarms, schema %s)", name, info.alarms, info.revision)
    return PendingRestore(token=token, name=name, info=info)


def restore_upload(kiosk: Kiosk, token: str, name: str) -> RestoreInfo:
    """Restore the upload of `token` (checked again, as any restore is), then delete it."""
    path = _path(kiosk, token)
    if not path.is_file():
        raise UserError("This upload is no longer waiting; upload the backup again.")
    try:
        return restore_from(kiosk, path, label=name)
    finally:
        path.unlink(missing_ok=True)


def discard_upload(kiosk: Kiosk, token: str) -> None:
    """Delete an upload the admin replaced with another or did not confirm."""
    if _TOKEN.fullmatch(token):
        _path(kiosk, token).unlink(missing_ok=True)
