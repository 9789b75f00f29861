"""End to end: a card image dropped into the `dir:` camera of a real `keryu scanner` reaches the
provider stand-in as the right Meta template message, through real SQLite, Redis and worker;
hostile frames in between raise nothing and the loop keeps running."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm
from tests.conftest import wait_until
from tests.scanner.conftest import card_frame, hostile_files

pytestmark = pytest.mark.integration


def drop(inbox: Path, name: str, data: bytes) -> None:
    """Write beside the folder, then rename in: the camera sees the whole file at once."""
    staging = inbox.parent / (name + ".part")
    staging.write_bytes(data)
    staging.rename(inbox / name)


def card_png(text: str, seed: int) -> bytes:
    return cv2.imencode(".png", card_frame(text, module_px=5, seed=seed))[1].tobytes()


def test_a_dropped_card_reaches_the_provider_and_hostile_frames_raise_nothing(
    kiosk, kiosk_env, worker, standin, service_process, tmp_path
):
    ana_uuid = add_subject(kiosk, SubjectInput(name="Ana   López", phone="+5215512345678")).uuid
    luis_uuid = add_subject(kiosk, SubjectInput(name="Luis", phone="+5215587654321")).uuid
    inbox = tmp_path / "inbox"
    scanner = service_process("scanner", ready_text="Scanner running", KERYU_CAMERA=f"dir:{inbox}")

    first = card_png(f"http://keryu.local/scan/{ana_uuid}", seed=1)
    shown = time.monotonic()
    drop(inbox, "0001-card.png", first)
    [request] = standin.wait_for(1, timeout=20)
    shown_to_provider = time.monotonic() - shown

    assert request.provider == "meta" and request.path.endswith("/messages")
    body = request.body
    assert body["to"] == "525512345678" and body["type"] == "template"  # stored as +525512345678, sent without "+"
    assert body["template"]["name"] == "qr_template_on_m"
    assert body["template"]["language"] == {"code": "es_MX"}  # KERYU_LANGUAGE defaults to Spanish
    params = body["template"]["components"][0]["parameters"]
    assert params[0]["text"] == "Ana López"
    assert params[1]["text"]  # the timestamp

    for name, data in hostile_files(tmp_path).items():
        drop(inbox, f"0002-{name}", data)
    time.sleep(4)
    assert len(standin.accepted) == 1
    assert scanner.process.poll() is None  # still running

    drop(inbox, "0003-card.png", card_png(luis_uuid, seed=2))
    assert len(standin.wait_for(2, timeout=20)) == 2

    def statuses() -> list[tuple[str, str]]:
        with kiosk.store.read() as session:
            return [(a.subject_name, a.notification_status) for a in session.scalars(select(Alarm).order_by(Alarm.id))]

    wait_until(lambda: all(s == "SENT" for _, s in statuses()), timeout=10, what="the worker to record SENT")
    assert statuses() == [("Ana López", "SENT"), ("Luis", "SENT")]  # two alarms, nothing from the hostile frames
    assert "Traceback" not in scanner.log()
    print(f"card dropped -> provider request: {shown_to_provider * 1000:.0f} ms")
