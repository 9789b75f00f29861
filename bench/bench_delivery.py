"""Delivery benchmark: scan-to-provider latency, burst throughput against its floor, duplicates, memory.

Real parts only: a private redis-server, a real `keryu worker` subprocess (the beat inside it,
as a kiosk runs it), a SQLite file, and the loopback provider stand-in answering like Meta's
Graph API. The floor is a bare Celery task posting the same message to the same stand-in
(`bare_celery.py`: same broker settings, no database), burst in the same run, alternating
with the kiosk's burst `--rounds` times; the ratio of the medians is printed last.

    .venv/bin/python bench/bench_delivery.py [--alarms 200] [--burst 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_kiosk import bench_kiosk
from celery import Celery
from measure import percentile, rss_mb
from sqlalchemy import func, select

from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, dispatch, record_scan
from appliance.store.models import Alarm
from tests.conftest import RedisServer, ServiceProcess, wait_until
from tests.standins.providers import ProviderStandIn

BENCH_DIR = Path(__file__).resolve().parent


def sent_count(kiosk: Kiosk) -> int:
    with kiosk.store.read() as session:
        return session.scalar(select(func.count()).select_from(Alarm).where(Alarm.notification_sent.is_(True)))


class BareWorker:
    """The floor's worker: `celery -A bare_celery worker`, solo pool, on the bench's Redis."""

    def __init__(self, workdir: Path, broker_url: str, target_url: str, token: str):
        self.log_path = workdir / "bare-worker.log"
        self.env = {**os.environ, "BARE_BROKER_URL": broker_url, "BARE_TARGET_URL": target_url, "BARE_TOKEN": token}
        self.process: subprocess.Popen | None = None

    def start(self) -> BareWorker:
        command = [sys.executable, "-m", "celery", "-A", "bare_celery", "worker", "--pool=solo", "--concurrency=1"]
        command += ["-Q", "bare", "--without-gossip", "--without-mingle", "-O", "fair", "--loglevel=INFO"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=BENCH_DIR, env=self.env, stdout=log, stderr=log)
        wait_until(lambda: " ready." in self.log_path.read_text(errors="replace"), timeout=60, what="bare worker")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


def bare_burst(app, standin: ProviderStandIn, count: int) -> float:
    """Messages per second of `count` bare tasks, sent at once, until the stand-in accepted them all."""
    from bare_celery import TASK

    standin.reset()
    started = time.time()
    for i in range(count):
        app.send_task(TASK, args=(i,), queue="bare")
    standin.wait_for(count, timeout=600)
    return count / (time.time() - started)


def kiosk_burst(kiosk: Kiosk, standin: ProviderStandIn, card_uuid: str, count: int) -> tuple[float, int]:
    """Messages per second of `count` alarms recorded first and queued at once, until all are SENT; duplicates."""
    standin.reset()
    results = [record_scan(kiosk, card_uuid, ScanSource.CAMERA) for _ in range(count)]
    before = sent_count(kiosk)
    started = time.time()
    for result in results:
        dispatch(kiosk, result)
    standin.wait_for(count, timeout=600)
    wait_until(lambda: sent_count(kiosk) - before == count, timeout=120, what="all burst alarms SENT")
    elapsed = time.time() - started
    time.sleep(2)  # let any duplicate that was on its way arrive
    return count / elapsed, len(standin.accepted) - count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=200, help="sequential alarms for the latency figures")
    parser.add_argument("--burst", type=int, default=1000, help="alarms in the burst")
    parser.add_argument("--rounds", type=int, default=2, help="bursts of each kind, alternating")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="keryu-bench-"))
    redis = RedisServer(workdir)
    redis.start()
    with ProviderStandIn() as standin:
        env, kiosk, card_uuid = bench_kiosk(workdir, redis.url, standin)
        worker = ServiceProcess("worker", env, workdir, ready_text=" ready.").start()
        meta = standin.env()
        bare = BareWorker(
            workdir,
            redis.url,
            f"{meta['WHATSAPP_API_URL']}/{meta['WHATSAPP_PHONE_NUMBER_ID']}/messages",
            meta["WHATSAPP_ACCESS_TOKEN"],
        ).start()
        bare_app = Celery("bare-client", broker=redis.url)
        try:
            latencies, commit_latencies = [], []
            for i in range(args.alarms):
                shown = time.time()
                result = record_scan(kiosk, card_uuid, ScanSource.CAMERA)
                committed = time.time()
                dispatch(kiosk, result)
                request = standin.wait_for(i + 1, timeout=30)[i]
                latencies.append((request.time - shown) * 1000)
                commit_latencies.append((committed - shown) * 1000)
            bare_rates, kiosk_rates, duplicates = [], [], 0
            for _ in range(args.rounds):
                bare_rates.append(bare_burst(bare_app, standin, args.burst))
                rate, extra = kiosk_burst(kiosk, standin, card_uuid, args.burst)
                kiosk_rates.append(rate)
                duplicates += extra
            floor, burst = statistics.median(bare_rates), statistics.median(kiosk_rates)
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
                    "rounds_messages_per_second": [round(rate, 1) for rate in kiosk_rates],
                    "messages_per_second": round(burst, 1),
                    "duplicate_sends": duplicates,
                },
                "bare_celery_floor": {
                    "rounds_messages_per_second": [round(rate, 1) for rate in bare_rates],
                    "messages_per_second": round(floor, 1),
                },
                "worker_memory_mb": rss_mb(worker.pid),
                "load_average": os.getloadavg(),
            }
        finally:
            worker.stop()
            bare.stop()
            redis.stop()
            kiosk.close()
    print(json.dumps(figures, indent=2))
    print(f"burst / bare-Celery floor: {burst:.1f} / {floor:.1f} msg/s = {burst / floor:.2f}")
    return 0 if duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
