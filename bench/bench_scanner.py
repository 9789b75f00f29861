"""Scanner service figures: card-shown to alarm-committed and to LED-on latency; CPU and memory at 15 empty fps.

Run: .venv/bin/python bench/bench_scanner.py [--cards N] [--seconds S]
Latency runs the real frame loop in-process on a `dir:` camera, a real SQLite file (WAL,
synchronous=FULL), a real redis-server when one is installed, and gpiozero MockFactory pins
whose changes are time-stamped. CPU and memory run `keryu scanner` as a subprocess on a
`video:` camera playing 1280x720 MJPEG at 15 fps (what a UVC camera sends), and read
/proc/PID/stat and /proc/PID/status; beside them, the same file read alone, and (the still
scene's floor) read with every frame decoded at 1/8 as the change gate needs, nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import qrcode
from gpiozero.pins.mock import MockFactory, MockPin
from measure import cpu_seconds, rss_mb
from sqlalchemy import func, select

from appliance.config import load_settings
from appliance.feedback import GpioFeedback
from appliance.scanner.dispatch import Dispatcher
from appliance.scanner.frames import FrameHandler
from appliance.scanner.heartbeat import HEARTBEAT_FILE, ScannerState
from appliance.scanner.loop import ScannerLoop
from appliance.scanner.runner import run_loop
from appliance.services.kiosk import Kiosk
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.migrate import upgrade
from appliance.store.models import Alarm

KERYU = str(Path(sys.executable).with_name("keryu"))
GREEN = 17


class TimedPin(MockPin):
    """A mock pin that remembers the monotonic time of every change."""

    def __init__(self, *args, **kwargs):
        self.changes: list[tuple[float, bool]] = []
        super().__init__(*args, **kwargs)

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            self.changes.append((time.monotonic(), bool(value)))
        return changed


class TimedFrames(FrameHandler):
    """The real frame handler, noting when each frame was captured and when its scans were committed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.marks: list[tuple[str, float, float]] = []  # (frame name, captured, committed)

    def handle(self, frame):
        results = super().handle(frame)
        if results:
            self.marks.append((frame.name, frame.captured, time.monotonic()))
        return results


def scene(seed: int, width: int = 1280, height: int = 720) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = 110 + 50 * np.sin(xs / 91.0 + seed) + 30 * np.cos(ys / 47.0)
    frame = np.dstack([base, base * 0.9 + 10, base * 0.8 + 20]).astype(np.float32)
    frame += rng.normal(0, 3, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def card_frame(text: str, seed: int) -> np.ndarray:
    """A 1280x720 frame with a card at arm's length (about 4 px per module)."""
    code = qrcode.QRCode(border=4, box_size=4)
    code.add_data(text)
    card = cv2.cvtColor(np.array(code.make_image().convert("L")), cv2.COLOR_GRAY2BGR)
    frame = scene(seed)
    y, x = 200, 400 + (seed % 5) * 40
    frame[y : y + card.shape[0], x : x + card.shape[1]] = card
    return frame


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(workdir: Path) -> tuple[subprocess.Popen | None, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        return None, "redis://127.0.0.1:9/0"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return process, f"redis://127.0.0.1:{port}/0"


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms   max {max(values):6.1f} ms"


def bench_latency(workdir: Path, redis_url: str, cards: int) -> None:
    data = workdir / "latency"
    settings = load_settings(
        KERYU_DATA_DIR=str(data), REDIS_URL=redis_url, KERYU_CAMERA=f"dir:{data / 'inbox'}", KERYU_SCAN_COOLDOWN=0
    )
    kiosk = Kiosk.from_settings(settings)
    upgrade(kiosk.store)
    uuids = [add_subject(kiosk, SubjectInput(name=f"Child {i}", phone="+5215512345678")).uuid for i in range(cards)]
    pins = MockFactory(pin_class=TimedPin)
    feedback = GpioFeedback(17, 27, 22, pin_factory=pins)
    dispatcher = Dispatcher(kiosk)
    frames = TimedFrames(kiosk, feedback, decoder=settings.decoder, submit=dispatcher.submit)
    loop = ScannerLoop(kiosk, frames, camera_spec=settings.camera, notify=lambda message: None)
    frames.warm_up()
    stop = threading.Event()
    thread = threading.Thread(target=run_loop, args=(loop, stop), daemon=True)
    thread.start()
    while loop.state is not ScannerState.WATCHING:
        time.sleep(0.01)
    try:
        drop_to_commit, frame_to_commit, frame_to_led = measure(frames, pins, data, settings, uuids)
    finally:
        stop.set()
        thread.join(10)
        dispatcher.close()
        loop.close()
        feedback.close()
    with kiosk.store.read() as session:
        recorded = session.scalar(select(func.count()).select_from(Alarm))
    kiosk.close()
    print(f"latency over {cards} cards (1280x720 frames, {recorded} alarms committed, SQLite synchronous=FULL)")
    print(f"  frame captured -> alarm committed : {stats(frame_to_commit)}")
    print(f"  frame captured -> green LED on    : {stats(frame_to_led)}")
    print(
        f"  file renamed into dir: -> committed: {stats(drop_to_commit)}"
        "  (adds the dir: camera's 20 ms poll; no settle wait: written 1.3 s earlier)"
    )


def measure(frames, pins, data: Path, settings, uuids: list[str]) -> tuple[list[float], list[float], list[float]]:
    """Show each card once; return drop->commit, capture->commit and capture->LED-on times in ms."""
    drop_to_commit, frame_to_commit, frame_to_led = [], [], []
    for i, uuid in enumerate(uuids):
        staging = data / f"{i:03d}.png.tmp"
        staging.write_bytes(cv2.imencode(".png", card_frame(f"{settings.public_url}/scan/{uuid}", i))[1].tobytes())
        time.sleep(1.3)  # the previous accepted pattern (1 s green) has finished
        green = pins.pin(GREEN)
        leds_before = len(green.changes)
        shown = time.monotonic()
        staging.rename(data / "inbox" / f"{i:03d}.png")
        while len(frames.marks) <= i:
            time.sleep(0.001)
        while len(green.changes) <= leds_before:
            time.sleep(0.001)
        _name, captured, committed = frames.marks[i]
        led_on = next(t for t, on in green.changes[leds_before:] if on)
        drop_to_commit.append((committed - shown) * 1000)
        frame_to_commit.append((committed - captured) * 1000)
        frame_to_led.append((led_on - captured) * 1000)
    return drop_to_commit, frame_to_commit, frame_to_led


def write_video(path: Path, seconds: float, *, moving: bool) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (1280, 720))
    still = scene(1)
    rng = np.random.default_rng(2)
    for i in range(int(seconds * 15)):
        if moving:
            frame = scene(i)
        else:
            noise = rng.normal(0, 3, still.shape)
            frame = np.clip(still + noise, 0, 255).astype(np.uint8)
        writer.write(frame)
    writer.release()


def busy_percent(pid: int, seconds: float) -> float:
    """Percent of one core process `pid` spends over `seconds`, once past its imports and first frames."""
    time.sleep(4)
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


# The camera source of the CPU runs, alone: the video file read in real time through OpenCV's demuxer,
# each frame's JPEG copied out, nothing decoded (a webcam's read is one DQBUF and that copy); and the
# scanner's floor: that read and the 1/8 decode every frame needs to be judged by the change gate
# (libjpeg's entropy decoding of the whole frame, which no decoder skips).
READ_VIDEO = """
import sys
from appliance.scanner.camera.video import VideoCamera

camera = VideoCamera(sys.argv[1])
judged = sys.argv[2] == "preview"
while not camera.finished:
    frame = camera.read(1.0)
    if judged and frame is not None:
        frame.preview()
"""


def source_cpu(video: Path, seconds: float, *, preview: bool = False) -> float:
    """Percent of one core spent reading `video` at its frame rate (and decoding each frame at 1/8 with `preview`)."""
    process = subprocess.Popen(
        [sys.executable, "-c", READ_VIDEO, str(video), "preview" if preview else "read"],
        env=os.environ | {"OPENCV_FOR_THREADS_NUM": "1"},
    )
    try:
        return busy_percent(process.pid, seconds)
    finally:
        process.terminate()
        process.wait(15)


def bench_cpu(workdir: Path, redis_url: str, seconds: float, *, moving: bool | None, decoder: str = "auto") -> None:
    """CPU and memory of `keryu scanner` on a video (moving True/False) or an idle dir: camera (None)."""
    name = {True: "moving", False: "still", None: "dir"}[moving]
    data = workdir / f"cpu-{name}-{decoder}"
    run_dir = data / "run"  # where the heartbeat is written (off the card on a device)
    video = workdir / f"empty-{name}.avi"
    if moving is not None and not video.exists():
        write_video(video, seconds + 6, moving=moving)
    camera = f"dir:{data / 'inbox'}" if moving is None else f"video:{video}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERYU_", "REDIS_", "CELERY_"))}
    env.update(
        KERYU_DATA_DIR=str(data),
        KERYU_RUNTIME_DIR=str(run_dir),
        KERYU_CAMERA=camera,
        KERYU_DECODER=decoder,
        REDIS_URL=redis_url,
        GPIOZERO_PIN_FACTORY="mock",
        OPENCV_FOR_THREADS_NUM="1",
    )
    subprocess.run([KERYU, "init"], env=env, check=True, capture_output=True)
    log = (data / "scanner.log").open("wb")
    process = subprocess.Popen([KERYU, "scanner"], env=env, stdout=log, stderr=log)
    try:
        busy = busy_percent(process.pid, seconds)  # past the imports, first frames, first health check
        memory = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(15)
    status = json.loads((run_dir / HEARTBEAT_FILE).read_text())
    kind = {True: "a new scene every frame (worst case)", False: "a still scene with sensor noise", None: "idle"}[
        moving
    ]
    print(
        f"  {kind:38} decoder {decoder:6}: CPU {busy:5.1f} % of one core, "
        f"RSS {memory['VmRSS']:5.1f} MiB (peak {memory['VmHWM']:5.1f}), "
        f"decoded {status['frames_decoded']}/{status['frames']} frames"
    )
    if moving is not None:
        reading = source_cpu(video, seconds)
        print(
            f"  {'':38} of which the video file read alone {reading:4.1f} %: "
            f"the scanner's own work {busy - reading:4.1f} %"
        )
    if moving is False:  # what a still scene cannot cost less than: every frame read and judged
        floor = source_cpu(video, seconds, preview=True)
        print(
            f"  {'':38} floor (the read and every frame's 1/8 decode, nothing else) {floor:4.1f} %: "
            f"the scanner at {busy / floor:.2f}x its floor"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU measuring window per run")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    workdir = Path(tempfile.mkdtemp(prefix="keryu-bench-"))
    redis, redis_url = start_redis(workdir)
    try:
        bench_latency(workdir, redis_url, args.cards)
        print(f"scanner process at 15 frames/s of 1280x720 MJPEG video, no card ({args.seconds:g} s window)")
        bench_cpu(workdir, redis_url, args.seconds, moving=False)
        bench_cpu(workdir, redis_url, args.seconds, moving=True)
        print("scanner process on an empty dir: camera (polled every 20 ms)")
        bench_cpu(workdir, redis_url, args.seconds, moving=None)
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
