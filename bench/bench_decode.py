"""Decoders side by side on ../shared/corpus: time per frame and reads per corpus subset.

Run: .venv/bin/python bench/bench_decode.py [--repeat N] [--corpus PATH]
Prints, for each single decoder and for the shipped `auto` pipeline, the median and p95
decode time (grey conversion included, one thread) at 640x480 and 1280x720 on empty frames
and on frames with a card, then reads and false positives per corpus category.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import qrcode
from measure import percentile

from appliance.config import DECODERS
from appliance.scanner.decode import decode

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def normalise(text: str) -> str:
    """The corpus README's comparison rule: CRLF to LF, trailing whitespace stripped."""
    return text.replace("\r\n", "\n").rstrip()


def card_symbol(text: str) -> np.ndarray:
    """The QR symbol (quiet zone included) at one pixel per module."""
    code = qrcode.QRCode(border=4, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    return np.where(np.array(code.get_matrix()), 0, 255).astype(np.uint8)


def ppm_sweep(decoders: list[str], trials: int = 20) -> None:
    """Reads against pixels per QR module, for a card URL in a 1280x720 frame with blur, noise and JPEG."""
    rng = np.random.default_rng(20261125)
    symbol = card_symbol("http://keryu.local/scan/0b8f3c7e-2d1a-4c5b-9e6f-7a8b9c0d1e2f")
    modules = symbol.shape[0] - 8
    print(f"reads per pixels-per-module (card URL, version {(modules - 17) // 4} = {modules} modules; 1280x720,")
    print(f"blur sigma 0.7 px, noise sigma 4, JPEG q80, {trials} placements each)")
    steps = [1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 6.0]
    print(f"{'px/module':>9} " + " ".join(f"{n:>8}" for n in decoders))
    for ppm in steps:
        hits = dict.fromkeys(decoders, 0)
        for _ in range(trials):
            size = round(symbol.shape[0] * ppm)
            card = cv2.resize(symbol, (size, size), interpolation=cv2.INTER_AREA)
            frame = np.full((720, 1280), 150, np.uint8)
            y, x = int(rng.integers(0, 720 - size)), int(rng.integers(0, 1280 - size))
            frame[y : y + size, x : x + size] = card
            frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
            frame = np.clip(frame + rng.normal(0, 4, frame.shape), 0, 255).astype(np.uint8)
            frame = cv2.imdecode(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1], cv2.IMREAD_GRAYSCALE)
            for name in decoders:
                hits[name] += bool(decode(frame, name))
        print(f"{ppm:>9.2f} " + " ".join(f"{hits[n]:>4}/{trials:<3}" for n in decoders))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the timing frames")
    parser.add_argument("--decoders", default=",".join(DECODERS))
    parser.add_argument("--ppm-only", action="store_true", help="only the pixels-per-module sweep")
    args = parser.parse_args()
    if args.ppm_only:
        ppm_sweep(args.decoders.split(","))
        return 0
    manifest = args.corpus / "manifest.json"
    if not manifest.exists():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    cv2.setNumThreads(1)
    entries = json.loads(manifest.read_text())["entries"]
    frames = [(e, cv2.imread(str(args.corpus / e["path"]), cv2.IMREAD_COLOR)) for e in entries]
    decoders = args.decoders.split(",")

    print("decode time per frame, ms (median / p95 / mean), grey conversion included, 1 thread")
    print(f"{'decoder':8} {'empty 640x480':>20} {'empty 1280x720':>20} {'card 640x480':>20} {'card 1280x720':>20}")
    for name in decoders:
        cells = []
        for kind in ("empty", "synth"):
            for res in ("640x480", "1280x720"):
                subset = [img for e, img in frames if e["corpus"] == kind and e["res"] == res]
                decode(subset[0], name)  # warm-up (imports, detector construction)
                times = []
                for _ in range(args.repeat):
                    for img in subset:
                        start = time.perf_counter()
                        decode(img, name)
                        times.append((time.perf_counter() - start) * 1000)
                median, p95, mean = statistics.median(times), percentile(times, 0.95), statistics.fmean(times)
                cells.append(f"{median:.2f} / {p95:.2f} / {mean:.2f}")
        print(f"{name:8} " + " ".join(f"{c:>20}" for c in cells))

    print()
    print("reads per corpus category (empty: false positives)")
    tallies: dict[str, dict[tuple[str, str], list[int]]] = {n: defaultdict(lambda: [0, 0]) for n in decoders}
    for name in decoders:
        for entry, img in frames:
            key = (entry["corpus"], entry["category"])
            texts = decode(img, name) if img is not None else []
            tally = tallies[name][key]
            tally[1] += 1
            if entry["expected"] is None:
                tally[0] += bool(texts)
            else:
                tally[0] += normalise(entry["expected"]) in [normalise(t) for t in texts]
    keys = sorted({k for t in tallies.values() for k in t})
    print(f"{'corpus/category':22} " + " ".join(f"{n:>8}" for n in decoders))
    for key in keys:
        row = [f"{tallies[n][key][0]:>3}/{tallies[n][key][1]:<4}" for n in decoders]
        print(f"{key[0] + '/' + key[1]:22} " + " ".join(f"{c:>8}" for c in row))
    for corpus in ("synth", "real", "empty"):
        row = []
        for name in decoders:
            hits = sum(v[0] for k, v in tallies[name].items() if k[0] == corpus)
            total = sum(v[1] for k, v in tallies[name].items() if k[0] == corpus)
            row.append(f"{hits:>3}/{total:<4}")
        label = f"TOTAL {corpus}" + (" (false pos.)" if corpus == "empty" else "")
        print(f"{label:22} " + " ".join(f"{c:>8}" for c in row))
    print()
    ppm_sweep(decoders)
    return 0


if __name__ == "__main__":
    sys.exit(main())
