"""Device commands: `keryu backup --out FILE` and `keryu restore FILE`.

Backup and restore need Alembic; each command imports it, so no service process carries it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.cli.context import CliContext

if TYPE_CHECKING:
    from appliance.services.backup import BackupInfo

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    backup = subparsers.add_parser("backup", help="copy the database's data (no device secrets) to a file")
    backup.add_argument("--out", required=True, type=Path, metavar="FILE", help="where to write the copy")
    backup.set_defaults(handler=cmd_backup)

    restore = subparsers.add_parser("restore", help="replace the database's data with a backup (checked first)")
    restore.add_argument("file", type=Path, metavar="FILE", help="a file made by `keryu backup`")
    restore.set_defaults(handler=cmd_restore)


def _summary(info: BackupInfo) -> str:
    return f"{info.alarms} alarm{'s' if info.alarms != 1 else ''}, {info.size / 1024:.0f} KiB, schema {info.revision}"


def cmd_backup(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.backup import backup_to

    info = backup_to(ctx.kiosk, args.out)
    print(f"Backup written to {info.path} ({_summary(info)}).")
    return 0


def cmd_restore(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.kiosk import Kiosk
    from appliance.services.restore import restore_from

    # Not ctx.kiosk: restoring onto a new card, where no database exists yet, is the point.
    kiosk = Kiosk.from_settings(ctx.settings)
    try:
        result = restore_from(kiosk, args.file)
    finally:
        kiosk.close()
    kept = f"; the replaced database is kept as {result.kept}" if result.kept else ""
    print(
        f"Database restored from {args.file} ({_summary(result.restored)}){kept}; "
        "restart the kiosk: systemctl restart keryu.target"
    )
    return 0
