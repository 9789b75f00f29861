"""`keryu scanner`, `keryu scan FILE...` and `keryu selftest`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from appliance.cli.context import CliContext, print_json
from appliance.config import DECODERS
from appliance.long_lived import freeze_startup_objects


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scanner", help="run the camera scanner in the foreground (keryu-scanner.service)")
    parser.add_argument("--camera", help="camera spec, overriding KERYU_CAMERA")
    parser.add_argument("--decoder", choices=DECODERS, help="decoder, overriding KERYU_DECODER")
    parser.set_defaults(handler=run_scanner)

    parser = subparsers.add_parser("scan", help="decode image files as camera frames are decoded, and act on them")
    parser.add_argument("files", nargs="+", metavar="FILE", type=Path)
    parser.add_argument("--decoder", choices=DECODERS, help="decoder, overriding KERYU_DECODER")
    parser.set_defaults(handler=run_scan)

    parser = subparsers.add_parser("selftest", help="blink each LED, sound the buzzer, grab a frame, report the camera")
    parser.add_argument("--camera", help="camera spec, overriding KERYU_CAMERA")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run_selftest)


def run_scanner(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.scanner.runner import main

    kiosk = ctx.kiosk
    freeze_startup_objects()
    return main(kiosk, camera_spec=args.camera, decoder=args.decoder)


def scan_file(ctx: CliContext, path: Path, decoder: str) -> dict[str, Any]:
    """One file through the camera's decode path and `handle_scan`; the JSON line `keryu scan` prints."""
    from appliance.scanner.camera import load_image
    from appliance.scanner.decode import decode
    from appliance.services.scans import ScanSource, handle_scan

    line: dict[str, Any] = {"file": str(path), "payloads": [], "outcome": "unreadable"}
    if not path.is_file():
        return {**line, "error": "no such file"}
    image = load_image(path)
    if image is None:
        return {**line, "error": "not a readable image"}
    payloads = decode(image, decoder)
    results = [handle_scan(ctx.kiosk, payload, ScanSource.FILE) for payload in payloads]
    outcomes = [str(r.outcome) for r in results]
    if not outcomes:
        outcome = "no_code"
    elif "accepted" in outcomes:
        outcome = "accepted"
    else:
        outcome = outcomes[0]
    return {
        **line,
        "payloads": payloads,
        "outcome": outcome,
        "outcomes": outcomes,
        "alarm_ids": [r.alarm_id for r in results if r.alarm_id is not None],
    }


def run_scan(args: argparse.Namespace, ctx: CliContext) -> int:
    """Print one JSON line per file; exit 1 when a file could not be read as an image."""
    decoder = args.decoder or ctx.settings.decoder
    unreadable = 0
    for path in args.files:
        line = scan_file(ctx, path, decoder)
        unreadable += line["outcome"] == "unreadable"
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return 1 if unreadable else 0


def _pin_text(step: dict[str, Any]) -> str:
    where = f" = {step['chip']} line {step['line']}" if step.get("chip") else ("" if step["real"] else " (simulated)")
    return f"{step['output']} on BCM {step['bcm_pin']}{where}"


def run_selftest(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.scanner.selftest import run_selftest as selftest

    print("Self-test: watch the green LED, then the red LED, then listen for the buzzer...", file=sys.stderr)
    report = selftest(ctx.settings, camera_spec=args.camera)
    if args.json:
        print_json(report)
    else:
        outputs, camera = report["outputs"], report["camera"]
        if outputs["status"] in ("ok", "simulated"):
            pins = ", ".join(_pin_text(step) for step in outputs["steps"])
            print(f"LEDs and buzzer: driven ({pins})")
            if outputs["status"] == "simulated":
                print(f"LEDs and buzzer are SIMULATED, not real GPIO: {outputs.get('problem') or 'no GPIO here'}")
        else:
            print(f"LEDs and buzzer: FAILED ({outputs['error']})")
        if camera["status"] == "ok":
            frame = camera["frame"]
            print(
                f"Camera: {camera['description']}, frame {frame['width']}x{frame['height']}, "
                f"brightness {camera['brightness']}/255, codes in view: {camera['codes_in_view'] or 'none'}"
            )
        else:
            print(f"Camera: FAILED ({camera['error']})")
        print(f"Self-test {report['status'].upper()}")
    return 0 if report["status"] == "ok" else 1
