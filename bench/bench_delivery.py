"""Delivery benchmark: scan-to-provider latency, burst throughput and duplicates, worker/beat memory.

Real parts only: a private redis-server, real `keryu worker` and `keryu beat` subprocesses,
a SQLite file, and the loopback provider stand-in answering like Meta's Graph API.

    .venv/bin/python bench/bench_delivery.py [--alarms 200] [--burst 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure import percentile, rss_mb
from sqlalchemy import func, select

from appliance.config import load_settings
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, dispatch, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.migrate import upgrade
from appliance.store.models import Alarm
from tests.conftest import RedisServer, ServiceProcess, free_port, wait_until
from tests.standins.providers import ProviderStandIn


def sent_count(kiosk: Kiosk) -> int:
    with kiosk.store.read() as session:
        return session.scalar(select(func.count()).select_from(Alarm).where(Alarm.notification_sent.is_(True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=200, help="sequential alarms for the latency figures")
    parser.add_argument("--burst", type=int, default=1000, help="alarms in the burst")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="keryu-bench-"))
    redis = RedisServer(workdir)
    redis.start()
    with ProviderStandIn() as standin:
        env = {
            "KERYU_DATA_DIR": str(workdir / "data"),
            "KERYU_CAMERA": "none",
            "KERYU_WEB_PORT": str(free_port()),
            "REDIS_URL": redis.url,
            **standin.env(),
        }
        kiosk = Kiosk.from_settings(load_settings(_env_file=None, **env))
        upgrade(kiosk.store)
        card = add_subject(kiosk, SubjectInput("Bench Subject", "+525512345678"))
        worker = ServiceProcess("worker", env, workdir, ready_text=" ready.").start()
        beat = ServiceProcess("beat", env, workdir, ready_text="beat: Starting").start()
        try:
            latencies, commit_latencies = [], []
            for i in range(args.alarms):
                shown = time.time()
                result = record_scan(kiosk, card.uuid, ScanSource.CAMERA)
                committed = time.time()
                dispatch(kiosk, result)
                request = standin.wait_for(i + 1, timeout=30)[i]
                latencies.append((request.time - shown) * 1000)
                commit_latencies.append((committed - shown) * 1000)
            standin.reset()
            results = [record_scan(kiosk, card.uuid, ScanSource.CAMERA) for _ in range(args.burst)]
            before = sent_count(kiosk)
            started = time.time()
            for result in results:
                dispatch(kiosk, result)
            standin.wait_for(args.burst, timeout=600)
            wait_until(lambda: sent_count(kiosk) - before == args.burst, timeout=120, what="all burst alarms SENT")
            elapsed = time.time() - started
            time.sleep(2)  # let any duplicate that was on its way arrive
            duplicates = len(standin.accepted) - args.burst
            figures = {
                "scan_to_provider_ms": {
                    "p50": round(statistics.median(latencies), 2),
                    "p99": round(percentile(latencies, 0.99), 2),
                },
                "scan_to_commit_ms": {
                    "p50": round(statistics.median(commit_latencies), 2),
                    "p99": round(percentile(commit_latencies, 0.99), 2),
                },
                "burst": {
                    "alarms": args.burst,
                    "seconds": round(elapsed, 2),
                    "messages_per_second": round(args.burst / elapsed, 1),
                    "duplicate_sends": duplicates,
                },
                "worker_memory_mb": rss_mb(worker.pid),
                "beat_memory_mb": rss_mb(beat.pid),
            }
        finally:
            worker.stop()
            beat.stop()
            redis.stop()
            kiosk.close()
    print(json.dumps(figures, indent=2))
    return 0 if duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
