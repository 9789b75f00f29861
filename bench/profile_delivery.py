"""What one delivery costs: transactions, statements, new HTTP connections and time, per alarm.

Runs `deliver` in this process (no Celery) on a SQLite file with the kiosk's tuning, against
the loopback provider stand-in, for `--alarms` alarms one after another; counts commits and
SQL statements on the store's engines and the HTTP connections urllib3 opens, and prints the
top of a cProfile by cumulative time. For the fsyncs, run it under strace:

    .venv/bin/python bench/profile_delivery.py [--alarms 300] [--top 25]
    strace -f -c -e trace=fsync,fdatasync .venv/bin/python bench/profile_delivery.py --top 0
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event

from appliance.config import load_settings
from appliance.services.delivery import deliver
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.migrate import upgrade
from tests.standins.providers import ProviderStandIn


class Counter(logging.Handler):
    """Counts urllib3's "Starting new HTTP connection" records: one per TCP connection opened."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.connections = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.connections += record.getMessage().startswith("Starting new HTTP")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=300)
    parser.add_argument("--top", type=int, default=25, help="cProfile lines to print (0: none)")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative or tottime")
    parser.add_argument("--threads", type=int, default=1, help="deliveries at once, with group commit as the worker")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="keryu-profile-"))
    with ProviderStandIn() as standin:
        env = {"KERYU_DATA_DIR": str(workdir), "KERYU_CAMERA": "none", "REDIS_URL": "redis://127.0.0.1:9/0"}
        settings = load_settings(_env_file=None, **env, **standin.env())
        kiosk = Kiosk.from_settings(settings, group_commit=args.threads > 1)
        upgrade(kiosk.store)
        card = add_subject(kiosk, SubjectInput("Profile Subject", "+525512345678"))
        ids = [record_scan(kiosk, card.uuid, ScanSource.CAMERA).alarm_id for _ in range(args.alarms)]

        counts = {"commits": 0, "statements": 0}
        engines = {kiosk.store.engine, kiosk.store._read_engine}
        for engine in engines:
            event.listen(engine, "commit", lambda _conn: counts.__setitem__("commits", counts["commits"] + 1))
            event.listen(
                engine,
                "before_cursor_execute",
                lambda *_a: counts.__setitem__("statements", counts["statements"] + 1),
            )
        http = Counter()
        urllib3_log = logging.getLogger("urllib3.connectionpool")
        urllib3_log.setLevel(logging.DEBUG)
        urllib3_log.addHandler(http)

        profile = cProfile.Profile()
        group = kiosk.store.group_commit
        if group is not None:
            group.commits = group.fsyncs = 0
        started, cpu = time.perf_counter(), time.process_time()
        if args.threads > 1:  # as the worker's pool: each delivery, then the sync before its ack
            with ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(lambda alarm_id: (deliver(kiosk, alarm_id), kiosk.store.sync()), ids))
        else:
            profile.enable()
            for alarm_id in ids:
                assert alarm_id is not None
                deliver(kiosk, alarm_id)
            profile.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        kiosk.close()
    assert len(standin.accepted) == args.alarms, "every alarm is sent once"
    per = args.alarms
    print(f"{per} deliveries in {elapsed:.2f} s: {elapsed / per * 1000:.2f} ms each, {per / elapsed:.0f}/s")
    print(f"CPU of this process: {cpu / per * 1000:.2f} ms per alarm (the stand-in's share included)")
    print(f"per alarm: {counts['commits'] / per:.2f} commits (BEGIN IMMEDIATE ... COMMIT; each an fsync),")
    statements, connections = counts["statements"] / per, http.connections / per
    print(f"           {statements:.2f} SQL statements, {connections:.3f} new HTTP connections")
    if group is not None:
        print(f"group commit: {group.fsyncs / per:.2f} fsyncs per alarm for {group.commits / per:.2f} durable waits")
    if args.top and args.threads == 1:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
