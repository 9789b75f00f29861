"""Which mode to ask a USB (UVC) camera for: resolution and MJPEG or YUYV, by reads and by cost.

Run: .venv/bin/python bench/bench_camera_format.py [--trials 20] [--corpus PATH]
Prints (1) reads of the same card at the same distances through each mode a 1080p UVC webcam
offers: 1920x1080, 1280x720 and 640x480 (same horizontal field of view, so pixels per module
scale with the width), each as YUYV (luma unchanged) and as MJPEG at JPEG quality 80 and 60;
(2) the CPU per frame of each mode: JPEG decoding (what OpenCV's V4L2 backend does for MJPEG)
and the kiosk's QR decode of an empty frame; (3) the corpus's card frames re-encoded at quality
80 and 60 against as stored. The camera's optics are a Gaussian blur (sigma 0.7 px at 1080p) and
sensor noise (sigma 4), applied before the mode's scaling and compression.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from bench_decode import DEFAULT_CORPUS, card_symbol, normalise

from appliance.scanner.decode import decode

MODES = {"1920x1080": (1920, 1080), "1280x720": (1280, 720), "640x480": (640, 480)}
FORMATS = {"YUYV": None, "MJPEG q80": 80, "MJPEG q60": 60}
# Pixels per module of the card at 1920x1080: distances from about 1.4x to 0.5x the 3-px design point.
NATIVE_PPM = [1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0]
URL = "http://keryu.local/scan/0b8f3c7e-2d1a-4c5b-9e6f-7a8b9c0d1e2f"


def through_mode(native: np.ndarray, mode: tuple[int, int], quality: int | None) -> np.ndarray:
    """The 1080p scene as the camera delivers it in `mode` (full width, the 4:3 mode keeps the width)."""
    width, height = mode
    scaled = cv2.resize(native, (width, round(native.shape[0] * width / native.shape[1])), interpolation=cv2.INTER_AREA)
    top = max(0, (scaled.shape[0] - height) // 2)
    frame = (
        scaled[top : top + height]
        if scaled.shape[0] >= height
        else cv2.copyMakeBorder(scaled, 0, height - scaled.shape[0], 0, 0, cv2.BORDER_REPLICATE)
    )
    if quality is None:
        return np.ascontiguousarray(frame)
    data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def scene_with_card(rng: np.random.Generator, symbol: np.ndarray, ppm: float) -> np.ndarray:
    """A 1920x1080 grey scene, the card at `ppm` pixels per module at a random place and tilt."""
    size = round(symbol.shape[0] * ppm)
    card = cv2.resize(symbol, (size, size), interpolation=cv2.INTER_AREA)
    frame = np.full((1080, 1920), 140, np.uint8)
    frame = cv2.add(frame, rng.integers(0, 40, (1080, 1920), dtype=np.uint8))
    y, x = int(rng.integers(200, 880 - size)), int(rng.integers(300, 1620 - size))
    frame[y : y + size, x : x + size] = card
    turn = cv2.getRotationMatrix2D((x + size / 2, y + size / 2), float(rng.uniform(-15, 15)), 1.0)
    frame = cv2.warpAffine(frame, turn, (1920, 1080), borderValue=140)
    frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
    return np.clip(frame + rng.normal(0, 4, frame.shape), 0, 255).astype(np.uint8)


def reads_by_mode(trials: int) -> None:
    rng = np.random.default_rng(20261128)
    symbol = card_symbol(URL)
    print(f"(1) reads of one card at the same distances, {trials} placements each (tilt up to 15 degrees)")
    header = "mode / format".ljust(24) + " ".join(f"{p:>6.2f}" for p in NATIVE_PPM)
    print("pixels per module at 1920x1080:".ljust(24))
    print(header)
    scenes = {ppm: [scene_with_card(rng, symbol, ppm) for _ in range(trials)] for ppm in NATIVE_PPM}
    for mode_name, mode in MODES.items():
        scale = mode[0] / 1920
        print(f"{mode_name} (ppm x {scale:.2f})")
        for fmt, quality in FORMATS.items():
            row = []
            for ppm in NATIVE_PPM:
                hits = sum(URL in decode(through_mode(scene, mode, quality)) for scene in scenes[ppm])
                row.append(f"{hits:>3}/{trials:<2}")
            print(f"  {fmt:<22}" + " ".join(row))


def cost_by_mode(repeat: int) -> None:
    rng = np.random.default_rng(7)
    print()
    print(f"(2) CPU per frame, ms (fastest and median of {repeat}), one thread")
    print(f"{'mode':>10} {'JPEG decode q80':>16} {'QR decode, empty':>17} {'YUYV bytes/frame':>17}")
    for mode_name, (width, height) in MODES.items():
        frame = np.clip(rng.normal(140, 20, (height, width)), 0, 255).astype(np.uint8)
        frame = cv2.GaussianBlur(frame, (0, 0), 1.5)
        colour = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        jpeg = cv2.imencode(".jpg", colour, [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
        jpeg_times, decode_times = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
            jpeg_times.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            decode(frame)
            decode_times.append((time.perf_counter() - start) * 1000)
        jpeg_ms = f"{min(jpeg_times):.2f} / {statistics.median(jpeg_times):.2f}"
        decode_ms = f"{min(decode_times):.2f} / {statistics.median(decode_times):.2f}"
        print(f"{mode_name:>10} {jpeg_ms:>16} {decode_ms:>17} {width * height * 2:>17,}")


def corpus_recompressed(corpus: Path) -> None:
    manifest = corpus / "manifest.json"
    if not manifest.exists():
        print(f"\n(3) skipped: no corpus at {corpus}")
        return
    entries = [e for e in json.loads(manifest.read_text())["entries"] if e["expected"] is not None]
    print()
    print(f"(3) the corpus's {len(entries)} card frames: as stored, and re-encoded as MJPEG")
    for fmt, quality in {"as stored": None, **{k: v for k, v in FORMATS.items() if v}}.items():
        hits = {"synth": 0, "real": 0}
        for entry in entries:
            image = cv2.imread(str(corpus / entry["path"]), cv2.IMREAD_GRAYSCALE)
            if image is None:
                continue
            if quality is not None:
                image = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], 0)
            hits[entry["corpus"]] += normalise(entry["expected"]) in [normalise(t) for t in decode(image)]
        print(f"  {fmt:<12} synth {hits['synth']:>3}  real {hits['real']:>3}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    reads_by_mode(args.trials)
    cost_by_mode(args.repeat)
    corpus_recompressed(args.corpus)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
