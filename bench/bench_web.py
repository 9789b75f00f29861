"""Admin page benchmark: response times of the dashboard, the alarm list and /api/alarms with
100,000 alarms in the database, under concurrent load from wrk (Debian's `wrk`), the web
process's CPU time per request under that load (the figure a busy machine disturbs least), the
time the server spent on each page (its `Server-Timing` header, median of 20 requests one at a
time; the largest page's printed last), and the web process's memory.

Real parts only: a SQLite file filled through the models, a real `keryu web` subprocess, wrk
on loopback. Requests carry the admin's session cookie, as a logged-in browser's do.

    .venv/bin/python bench/bench_web.py [--alarms 100000] [--duration 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from measure import cpu_seconds, rss_mb
from sqlalchemy import insert

from appliance.config import load_settings
from appliance.services.auth import set_up_admin
from appliance.services.kiosk import Kiosk
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.migrate import upgrade
from appliance.store.models import Alarm, AlarmStatus
from tests.conftest import ServiceProcess, free_port, wait_until

TOKEN = "bench-token-" + "x" * 20
PASSWORD = "bench password"
STATUS_MIX = [AlarmStatus.DELIVERED] * 70 + [AlarmStatus.SENT] * 25 + [AlarmStatus.FAILED] * 4 + [AlarmStatus.ERROR]
FLOOR = "floor: /api/health?self=1"  # every middleware, the session lookup (one read), no page
BARE = "floor without the cookie"  # the same without a session: no database at all
TARGETS = {
    FLOOR: "/api/health?self=1",
    BARE: "/api/health?self=1",
    "dashboard": "/",
    "alarm list": "/alarms",
    "alarm list, FAILED only": "/alarms?status=FAILED",
    "alarm list, page 1000": "/alarms?before={deep}",
    "/api/alarms?limit=50": "/api/alarms?limit=50",
}


def fill(kiosk: Kiosk, count: int) -> int:
    """`count` alarms over the last 90 days for 200 subjects; returns a deep keyset position."""
    names = [f"Subject {i:03d}" for i in range(200)]
    ids = [(add_subject(kiosk, SubjectInput(name, "55 1234 5678")).subject_id, name) for name in names]
    start = datetime.now(UTC) - timedelta(days=90)
    step = timedelta(days=90) / count
    rng = random.Random(7)
    batch = []
    with kiosk.store.session() as session:
        for i in range(count):
            subject_id, name = ids[rng.randrange(len(ids))]
            created = start + step * i
            status = rng.choice(STATUS_MIX)
            sent = status in (AlarmStatus.SENT, AlarmStatus.DELIVERED)
            batch.append(
                {
                    "subject_id": subject_id,
                    "subject_name": name,
                    "card_uuid": None,
                    "recipient_phone": "+525512345678",
                    "created_at": created,
                    "updated_at": created + timedelta(seconds=2),
                    "location": "Bench gate",
                    "channel": 1,
                    "notification_status": status,
                    "notification_sent": sent,
                    "notification_attempts": 1,
                    "last_attempt": created + timedelta(milliseconds=40),
                    "sent_at": created + timedelta(milliseconds=40) if sent else None,
                    "whatsapp_message_id": f"wamid.bench{i}" if sent else None,
                    "notification_error": None if sent else "Meta: (#131026) Message undeliverable",
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Alarm), batch)
                batch = []
        if batch:
            session.execute(insert(Alarm), batch)
    return count - 50 * 1000 + 1


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def admin_cookie(base: str) -> str:
    """Log in as a browser does (the login form's CSRF token, then the password); the session cookie."""
    browser = requests.Session()
    form = browser.get(base + "/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = browser.post(base + "/login", data={"password": PASSWORD, "csrf_token": csrf}, timeout=30)
    assert answer.ok, answer.status_code
    return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def run_wrk(url: str, duration: int, connections: int, cookie: str, pid: int) -> dict[str, float]:
    """wrk's latencies and rate for `url`, and the CPU the web process (`pid`) spent per request."""
    cpu_before = cpu_seconds(pid)
    output = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            *(["-H", f"Cookie: {cookie}"] if cookie else []),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = cpu_seconds(pid) - cpu_before
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    if "99" not in latency:  # no request finished (wrk's 2 s timeout): say so, with what wrk said
        raise SystemExit(f"bench_web: wrk measured nothing for {url} at {connections} connections:\n{output}")
    requests_per_s = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    answered = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "p50_ms": round(_ms(latency["50"]), 1),
        "p99_ms": round(_ms(latency["99"]), 1),
        "req_per_s": round(requests_per_s, 1),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "cpu_ms_per_request": round(cpu * 1000 / max(answered, 1), 2),
    }


def _cookie_header(cookie: str) -> dict[str, str]:
    return {"Cookie": cookie} if cookie else {}


def server_time(url: str, cookie: str, times: int = 20) -> tuple[float, int]:
    """Median of the server's own time for `url` (Server-Timing), and the page's size in bytes."""
    samples, size = [], 0
    for _ in range(times):
        answer = requests.get(url, headers=_cookie_header(cookie), timeout=30, allow_redirects=False)
        samples.append(float(answer.headers["Server-Timing"].partition("dur=")[2]))
        size = len(answer.content)
    return round(statistics.median(samples), 2), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", default="1,16", help="comma-separated wrk connection counts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    levels = [int(level) for level in args.connections.split(",")]
    if shutil.which("wrk") is None:
        print("bench_web: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="keryu-bench-web-"))
    port = free_port()
    env = {
        "KERYU_DATA_DIR": str(workdir / "data"),
        "KERYU_WEB_HOST": "127.0.0.1",
        "KERYU_WEB_PORT": str(port),
        "KERYU_API_TOKEN": TOKEN,
        "KERYU_CAMERA": "none",
        "KERYU_LOCATION": "Bench gate",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "KERYU_LOG_LEVEL": "WARNING",
    }
    kiosk = Kiosk.from_settings(load_settings(**env))
    upgrade(kiosk.store)
    started = time.perf_counter()
    deep = fill(kiosk, args.alarms)
    fill_s = time.perf_counter() - started
    set_up_admin(kiosk, PASSWORD)
    kiosk.close()
    db_mb = (workdir / "data" / "keryu.db").stat().st_size / 2**20

    web = ServiceProcess("web", {**env, "KERYU_LOG_LEVEL": "INFO"}, workdir, ready_text="serving the admin page")
    web.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(base + "/api/health?self=1", timeout=2).ok, what="keryu web")
        idle = rss_mb(web.pid)
        cookie = admin_cookie(base)
        results, server = {}, {}
        cookies = {name: "" if name == BARE else cookie for name in TARGETS}
        for name, path in TARGETS.items():
            server[name] = server_time(base + path.format(deep=deep), cookies[name])
        for connections in levels:
            for name, path in TARGETS.items():
                url = base + path.format(deep=deep)
                answer = requests.get(url, headers=_cookie_header(cookies[name]), timeout=30, allow_redirects=False)
                assert answer.status_code == 200, (url, answer.status_code)
                results[f"{name} (c={connections})"] = run_wrk(url, args.duration, connections, cookies[name], web.pid)
        loaded = rss_mb(web.pid)
    finally:
        web.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "alarms": args.alarms,
        "database_mb": round(db_mb, 1),
        "fill_s": round(fill_s, 1),
        "connections": levels,
        "duration_s": args.duration,
        "pages": results,
        "server_ms_and_bytes": server,
        "rss_idle_mb": idle["VmRSS"],
        "rss_after_load_mb": loaded["VmRSS"],
        "rss_peak_mb": loaded["VmHWM"],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{args.alarms} alarms ({report['database_mb']} MiB SQLite), wrk with {args.connections} connections, "
        f"{args.duration} s per page"
    )
    print(
        f"{'page':36} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'non-2xx':>8} {'p99/floor':>9}"
        f" {'CPU ms/req':>10} {'CPU/floor':>9}"
    )
    for name, figures in results.items():
        floor = results[f"{FLOOR} (c={name.rpartition('=')[2]}"]
        ratio = figures["p99_ms"] / max(floor["p99_ms"], 0.1)
        cpu_ratio = figures["cpu_ms_per_request"] / max(floor["cpu_ms_per_request"], 0.01)
        print(
            f"{name:36} {figures['p50_ms']:8} {figures['p99_ms']:8} {figures['req_per_s']:8} {figures['non_2xx']:8}"
            f" {ratio:9.1f} {figures['cpu_ms_per_request']:10} {cpu_ratio:9.1f}"
        )
    print(f"{'page, one request at a time':36} {'server ms':>9} {'bytes':>8}")
    for name, (ms, size) in server.items():
        print(f"{name:36} {ms:9} {size:8}")
    largest = max(server, key=lambda name: server[name][1])
    print(f"largest page: {largest}, {server[largest][1]} bytes, server time {server[largest][0]} ms (median)")
    print(f"web RSS: {idle['VmRSS']} MiB idle, {loaded['VmRSS']} MiB after load, {loaded['VmHWM']} MiB peak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
