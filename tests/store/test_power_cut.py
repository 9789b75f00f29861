"""An alarm is durable the moment `record_scan` returns: a process killed right after keeps it.

SIGKILL is the nearest thing to pulling the plug that a test can do here; with
`synchronous=FULL` SQLite has fsynced the WAL before the commit returned, which is what
protects against a real power cut (the SD image's boot test pulls the plug on a whole VM).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from sqlalchemy import func, select, text

from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from appliance.config import load_settings
    from appliance.services.kiosk import Kiosk
    from appliance.services.scans import ScanSource, record_scan
    kiosk = Kiosk.from_settings(load_settings())
    for _ in range(int(sys.argv[2])):
        result = record_scan(kiosk, sys.argv[1], ScanSource.CAMERA)
        assert result.accepted
    print(result.alarm_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no clean shutdown, no checkpoint
    """
)


def test_alarms_survive_a_kill_right_after_the_commit(kiosk, settings, tmp_path):
    card = add_subject(kiosk, SubjectInput("Ana", "+525512345678"))
    env = {
        **os.environ,
        "KERYU_DATA_DIR": str(settings.data_dir),
        "KERYU_DATABASE_URL": settings.database,
        "REDIS_URL": settings.redis_url,
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, card.uuid, "25"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -9, child.stderr
    last_id = int(child.stdout.strip())
    kiosk.store.dispose()  # read the file afresh, as after a reboot
    with kiosk.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Alarm)) == 25
        assert session.get(Alarm, last_id).notification_status == "PENDING"
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_sqlite_runs_in_wal_with_full_sync_and_foreign_keys(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL: fsync at every commit
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
