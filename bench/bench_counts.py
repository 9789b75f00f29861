"""The admin page's queries at 100,000 and 1,000,000 alarms: counts, change marker, first pages.

A SQLite file migrated to the current schema (so the counts triggers are on) is filled with a
recursive CTE (70 % DELIVERED, 25 % SENT, 4 % FAILED, 1 % ERROR, 200 subject ids), then each
service call is timed in this process, one thread, median of `--repeat`. The old way of
counting (GROUP BY over every alarm) is timed beside the counts table, as what it replaced.

    .venv/bin/python bench/bench_counts.py [--sizes 100000,1000000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from appliance.config import load_settings
from appliance.services.alarms import alarm_counts, change_marker, list_alarms, subject_choices
from appliance.services.kiosk import Kiosk
from appliance.store.migrate import upgrade

FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO alarms (subject_name, recipient_phone, created_at, location, is_test, channel, notification_status,
    notification_sent, notification_attempts, plan_position, channel_attempts, updated_at)
SELECT 'Subject ' || (i % 200), '+525512345678', datetime('now', '-' || (:count - i) || ' seconds'), 'Bench gate',
    0, 1, CASE WHEN i % 100 < 70 THEN 'DELIVERED' WHEN i % 100 < 95 THEN 'SENT' WHEN i % 100 < 99 THEN 'FAILED'
    ELSE 'ERROR' END, i % 100 < 95, 1, 0, 0, datetime('now', '-' || (:count - i) || ' seconds') FROM n
"""


def timed(call: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `call`."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(size: int, repeat: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="keryu-bench-counts-"))
    env = {"KERYU_DATA_DIR": str(workdir), "KERYU_CAMERA": "none", "REDIS_URL": "redis://127.0.0.1:9/0"}
    kiosk = Kiosk.from_settings(load_settings(_env_file=None, **env))
    upgrade(kiosk.store)
    with kiosk.store.session() as session:
        session.execute(text(FILL), {"count": size})

    def group_by() -> object:
        with kiosk.store.read() as session:
            return session.execute(text("SELECT notification_status, count(*) FROM alarms GROUP BY 1")).all()

    calls = {
        "counts by status (counts table)": lambda: alarm_counts(kiosk),
        "counts by status (GROUP BY, before)": group_by,
        "change marker (cache check)": lambda: change_marker(kiosk),
        "list_alarms, first 50": lambda: list_alarms(kiosk, limit=50),
        "list_alarms, FAILED, first 50": lambda: list_alarms(kiosk, limit=50, status="FAILED"),
        "list_alarms, 10 for the dashboard": lambda: list_alarms(kiosk, limit=10),
        "subject choices for the filter": lambda: subject_choices(kiosk),
    }
    for name, call in calls.items():
        print(f"{size:9} {name:44} {timed(call, repeat):10.2f}", flush=True)
    kiosk.close()
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"{'alarms':>9} {'call':44} {'median ms':>10}")
    for size in args.sizes.split(","):
        measure(int(size), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
