"""Garbage collection in the running services: how often a full collection runs and what one costs.

Starts the kiosk as `./startup.sh` does (a folder camera, mock pins; see bench_memory.py), loads
the admin API with wrk (`/api/alarms?limit=50`, 16 connections), then asks each service, through
gdb attached for a moment, for its collections per generation (`gc.get_stats()`, counted since it
started), and times one full collection in it. The services freeze their startup objects once
ready (`appliance/long_lived.py`); a full collection that walks them all is what that avoids.

    .venv/bin/python bench/bench_gc.py [--seconds 30]     (needs Debian's gdb and wrk)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_memory import kiosk_env, started_kiosk

API_TOKEN = "bench-gc-token-0123456789abcdefghij"
PROBE = (
    "import gc, json, time\\n"
    "t = time.perf_counter(); gc.collect(2); ms = (time.perf_counter() - t) * 1e3\\n"
    "open({out!r}, 'w').write(json.dumps([[s['collections'] for s in gc.get_stats()], ms, gc.get_freeze_count()]))"
)


def probe(pid: int, out: Path) -> tuple[list[int], float, int]:
    """Run PROBE inside process `pid` (gdb holds it for a moment) and read what it wrote."""
    code = PROBE.format(out=str(out))
    subprocess.run(
        ["gdb", "-p", str(pid), "-batch", "-ex", "call (int)PyGILState_Ensure()",
         "-ex", f'call (int)PyRun_SimpleString("{code}")', "-ex", "call (void)PyGILState_Release($1)"],
        capture_output=True, check=True,
    )  # fmt: skip
    collections, ms, frozen = json.loads(out.read_text())
    return collections, ms, frozen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="seconds of wrk load on the admin API")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="keryu-bench-gc-"))
    data_dir = workdir / "data"
    env = kiosk_env(data_dir, f"dir:{data_dir}/inbox", KERYU_API_TOKEN=API_TOKEN)
    (data_dir / "inbox").mkdir(parents=True)
    with started_kiosk(env, start_timeout=180) as pids:
        load = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{args.seconds}s", "-H", f"Authorization: Bearer {API_TOKEN}",
             f"http://127.0.0.1:{env['KERYU_WEB_PORT']}/api/alarms?limit=50"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        print(f"wrk, {args.seconds} s of /api/alarms?limit=50 at 16 connections:")
        print("\n".join(line for line in load.stdout.splitlines() if "Latency" in line or "Requests/sec" in line))
        print(f"{'service':<10} {'collections gen0/1/2':>21} {'one full collection ms':>23} {'frozen objects':>15}")
        for name, pid in pids.items():
            collections, ms, frozen = probe(pid, workdir / f"{name}.json")
            print(f"{name:<10} {'/'.join(map(str, collections)):>21} {ms:>23.2f} {frozen:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
