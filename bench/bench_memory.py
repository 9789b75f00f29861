"""Memory benchmark: the kiosk's services started exactly as `./startup.sh` starts them, idle.

Runs `./startup.sh start` on a fresh data directory in a temporary folder (its own Redis and web
port, mock GPIO pins, and a folder camera, or with `--camera video` a 1280x720 MJPEG video of a
still scene played at 15 fps through OpenCV, as a USB camera is read), waits until `keryu status`
reports every component ok,
lets the services settle, then prints RSS and PSS per service (each with the processes it
started) from /proc/PID/smaps_rollup, their sum, and the sum's ratio to the budget; then
`./startup.sh stop`. With `--after-use` the kiosk is used first, as a kiosk in service is: cards
shown to the folder camera and delivered over HTTPS to a loopback Meta stand-in (trusted through
SSL_CERT_FILE beside the system's CAs), and an admin who logs in and opens the pages (dashboard,
alarms, subjects, settings, health) with alarms in them.

    .venv/bin/python bench/bench_memory.py [--camera dir|video] [--after-use] [--settle 10] [--budget 250]

The budget is in MB (10^6 bytes), as issue 12 states it; the figures are in MiB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import KERYU, REPO, free_port
from tests.process_memory import MIB, NOTHING, Memory, memory_of
from tests.standins.certificates import self_signed_loopback, server_context
from tests.standins.providers import ProviderStandIn

BUDGET_MB = 250


def startup(env: dict[str, str], command: str) -> str:
    result = subprocess.run(
        [str(REPO / "startup.sh"), command], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"./startup.sh {command} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def all_ok(env: dict[str, str]) -> bool:
    result = subprocess.run([KERYU, "status", "--json"], env=env, capture_output=True, text=True)
    try:
        return json.loads(result.stdout)["status"] == "ok"
    except (ValueError, KeyError):
        return False


def kiosk_env(data_dir: Path, camera: str, **extra: str) -> dict[str, str]:
    """What `./startup.sh` runs a benchmark's kiosk with: its own data, Redis and web port, mock pins."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KERYU_", "REDIS_", "CELERY_"))}
    env.update(
        KERYU_DATA_DIR=str(data_dir),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        KERYU_WEB_PORT=str(free_port()),
        KERYU_WEB_HOST="127.0.0.1",
        KERYU_CAMERA=camera,
        GPIOZERO_PIN_FACTORY="mock",
        KERYU_SKIP_INSTALL="1",
        # A configured channel (health is degraded without one); nothing is ever sent to it.
        WHATSAPP_API_URL=f"http://127.0.0.1:{free_port()}/v23.0",
        WHATSAPP_PHONE_NUMBER_ID="104857600000042",
        WHATSAPP_ACCESS_TOKEN="EAAGbenchmemory",
        **extra,
    )
    return env


@contextlib.contextmanager
def started_kiosk(env: dict[str, str], start_timeout: float) -> Iterator[dict[str, int]]:
    """`./startup.sh start`, then the services' pids (Redis left out) once `keryu status` says ok; stopped after."""
    startup(env, "start")
    try:
        deadline = time.monotonic() + start_timeout
        while not all_ok(env):
            if time.monotonic() > deadline:
                raise SystemExit(f"the kiosk did not report ok within {start_timeout:.0f} s of startup.sh")
            time.sleep(1)
        run_dir = Path(env["KERYU_DATA_DIR"]) / "run"
        yield {path.stem: int(path.read_text()) for path in sorted(run_dir.glob("*.pid")) if path.stem != "redis"}
    finally:
        startup(env, "stop")


def use(env: dict[str, str], standin, cards: int = 3) -> None:
    """Cards shown to the folder camera until the stand-in has each message, then the admin pages read."""
    import requests
    from bench_web import PASSWORD, admin_cookie, fill

    from appliance.config import load_settings
    from appliance.services.auth import set_up_admin
    from appliance.services.kiosk import Kiosk

    inbox = Path(env["KERYU_CAMERA"].removeprefix("dir:"))
    for number in range(cards):
        shown = json.loads(
            keryu(env, "subject", "add", "--name", f"Ana Uso {number}", "--phone", f"+52155123456{number:02d}")
        )
        keryu(env, "card", "image", shown["card_uuid"], "--out", str(inbox / ".card.png"))
        (inbox / ".card.png").replace(inbox / f"card-{number}.png")  # appears whole
        standin.wait_for(number + 1, timeout=60)
    kiosk = Kiosk.from_settings(load_settings(KERYU_DATA_DIR=env["KERYU_DATA_DIR"], REDIS_URL=env["REDIS_URL"]))
    set_up_admin(kiosk, PASSWORD)
    fill(kiosk, 200)
    kiosk.close()
    base = f"http://127.0.0.1:{env['KERYU_WEB_PORT']}"
    cookie = admin_cookie(base)
    for page in ("/", "/alarms", "/subjects", "/settings", "/health"):
        requests.get(base + page, headers={"Cookie": cookie}, timeout=30).raise_for_status()


def loopback_tls(directory: Path) -> ssl.SSLContext:
    """HTTPS for the stand-in, as Graph speaks it, and `ca-bundle.pem`: the system's CAs and the stand-in's.

    The services trust the bundle (SSL_CERT_FILE), so the worker parses a CA list of the real size.
    """
    cert, key = self_signed_loopback(directory)
    system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    (directory / "ca-bundle.pem").write_bytes(system.read_bytes() + cert.read_bytes())
    return server_context(cert, key)


def keryu(env: dict[str, str], *args: str) -> str:
    return subprocess.run([KERYU, *args], env=env, capture_output=True, text=True, check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=10.0, help="seconds idle after health before measuring")
    parser.add_argument("--budget", type=float, default=BUDGET_MB, help="budget for the summed RSS, MB (10^6 bytes)")
    parser.add_argument("--camera", choices=("dir", "video"), default="dir", help="folder camera, or OpenCV on MJPEG")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="seconds for the kiosk to report ok")
    parser.add_argument("--after-use", action="store_true", help="deliver cards and open the admin pages first")
    args = parser.parse_args()
    if args.after_use and args.camera != "dir":
        parser.error("--after-use shows its cards to the folder camera: use it with --camera dir")

    data_dir = Path(tempfile.mkdtemp(prefix="keryu-bench-memory-")) / "data"
    camera = f"dir:{data_dir}/inbox" if args.camera == "dir" else f"video:{data_dir.parent}/still.avi"
    # the stand-in (and its certificate) only for --after-use: the idle kiosk never sends
    serving = ProviderStandIn(tls=loopback_tls(data_dir.parent)) if args.after_use else contextlib.nullcontext()
    with serving as standin:
        env = kiosk_env(data_dir, camera)
        if args.after_use:  # the stand-in answers as Meta does; without it the channel is never called
            env.update({key: value for key, value in standin.env().items() if key.startswith("WHATSAPP_")})
            env["SSL_CERT_FILE"] = str(data_dir.parent / "ca-bundle.pem")
        (data_dir / "inbox").mkdir(parents=True)
        if args.camera == "video":  # longer than the start and the settling: frames flow while it is measured
            from bench_scanner import write_video

            write_video(data_dir.parent / "still.avi", seconds=args.start_timeout + args.settle + 60, moving=False)
        with started_kiosk(env, args.start_timeout) as pids:
            if args.after_use:
                use(env, standin)
            time.sleep(args.settle)
            figures = {name: memory_of(pid) for name, pid in pids.items()}

    total: Memory = sum(figures.values(), NOTHING)
    print(
        f"camera: {env['KERYU_CAMERA']}{', after use (cards delivered, admin pages opened)' if args.after_use else ''}"
    )
    print(f"{'service':<10} {'processes':>9} {'RSS MiB':>9} {'PSS MiB':>9}")
    for name, memory in figures.items():
        print(f"{name:<10} {memory.processes:>9} {memory.rss_mib:>9.1f} {memory.pss_mib:>9.1f}")
    print(f"{'sum':<10} {total.processes:>9} {total.rss_mib:>9.1f} {total.pss_mib:>9.1f}")
    budget_mib = args.budget * 1e6 / MIB
    print(f"summed RSS / budget {args.budget:.0f} MB ({budget_mib:.1f} MiB): {total.rss_mib / budget_mib:.2f}")
    return 0 if total.rss_mib < budget_mib else 1


if __name__ == "__main__":
    sys.exit(main())
