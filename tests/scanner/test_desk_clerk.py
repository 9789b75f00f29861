"""The scanner answers the admin page's self-test and preview through the desk files."""

from __future__ import annotations

import time

import cv2
import numpy as np
import qrcode

from appliance.scanner import desk
from appliance.scanner.camera import Frame
from appliance.scanner.desk_clerk import DeskClerk
from appliance.scanner.selftest import check_outputs
from tests.conftest import BUZZER, GREEN, RED, wait_until

URL = "http://keryu.local/scan/0b8c6f4e-1f2a-4c3d-9e8f-1a2b3c4d5e6f"


def frame_with_card(box: int = 3) -> Frame:
    code = np.array(qrcode.make(URL, box_size=box, border=4).convert("L"))
    image = np.full((480, 640), 230, np.uint8)
    image[100 : 100 + code.shape[0], 200 : 200 + code.shape[1]] = code
    return Frame(image, "card.png", time.monotonic())


def make_clerk(settings, feedback, payloads):
    return DeskClerk(
        settings, feedback, camera=lambda: "dir:/test", last_payloads=lambda: payloads, outputs=check_outputs
    )


def test_a_self_test_request_blinks_the_pins_and_answers_with_the_frame(settings, feedback, pins):
    clerk = make_clerk(settings, feedback, [URL])
    clerk.saw(frame_with_card())
    request_id = desk.request_selftest(settings)
    clerk.serve()
    assert not (desk.desk_dir(settings) / desk.SELFTEST_REQUEST).exists()  # taken, so served once
    answer = wait_until(lambda: desk.read_answer(settings, request_id), timeout=15, what="the answer")
    # every pin blinked, but in software: a self-test on simulated pins has not passed
    assert answer["status"] == "failed" and answer["outputs"]["simulated"] is True
    for pin in (GREEN, RED, BUZZER):
        assert [s.state for s in pins.pin(pin).states] == [False, True, False]
    assert answer["camera"]["frame"] == {"width": 640, "height": 480}
    assert answer["camera"]["last_code"]["text"] == URL
    assert answer["camera"]["last_code"]["pixels_per_module"] == 3.0
    snapshot = cv2.imdecode(np.fromfile(desk.snapshot_path(settings, request_id), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert snapshot.shape == (480, 640)


def test_without_a_frame_the_camera_part_fails_and_says_why(settings, feedback):
    clerk = make_clerk(settings, feedback, [])
    request_id = desk.request_selftest(settings)
    clerk.serve()
    answer = wait_until(lambda: desk.read_answer(settings, request_id), timeout=15, what="the answer")
    assert answer["status"] == "failed" and answer["snapshot"] is False
    assert "no frame" in answer["camera"]["error"]
    assert not desk.snapshot_path(settings, request_id).exists()


def test_only_the_last_answers_are_kept(settings, feedback):
    clerk = make_clerk(settings, feedback, [])
    clerk.saw(frame_with_card())
    ids = []
    for _ in range(desk.KEEP_ANSWERS + 2):
        ids.append(desk.request_selftest(settings))
        clerk.serve()
        wait_until(lambda: desk.read_answer(settings, ids[-1]), timeout=15, what="the answer")
    kept = [i for i in ids if desk.read_answer(settings, i) is not None]
    assert kept == ids[-desk.KEEP_ANSWERS :]
    assert not desk.snapshot_path(settings, ids[0]).exists()


def test_the_preview_is_written_only_while_a_page_looks(settings, feedback):
    clerk = make_clerk(settings, feedback, [URL])
    clerk.saw(frame_with_card(box=2))
    clerk.serve()
    assert desk.read_preview_status(settings) is None  # nobody looks: nothing written
    desk.want_preview(settings)
    clerk.serve()
    status = desk.read_preview_status(settings)
    assert status["has_frame"] is True and status["last_code"]["pixels_per_module"] == 2.0
    assert (desk.desk_dir(settings) / desk.PREVIEW_IMAGE).stat().st_size > 0


def test_a_broken_request_file_is_dropped(settings, feedback):
    path = desk.desk_dir(settings) / desk.SELFTEST_REQUEST
    path.parent.mkdir(parents=True)
    path.write_text('{"id": "../../etc/passwd"}')
    assert desk.take_selftest_request(settings) is None and not path.exists()


def test_a_card_left_in_view_is_measured_twice_a_second_not_every_frame(settings, feedback):
    clerk = make_clerk(settings, feedback, [URL])
    first = frame_with_card(box=3)
    clerk.saw(first)
    measured = clerk.last_code
    clerk.saw(Frame(frame_with_card(box=2).image, "next", first.captured + 0.1))
    assert clerk.last_code is measured  # within half a second: not measured again
    clerk.saw(Frame(frame_with_card(box=2).image, "later", first.captured + 0.6))
    assert clerk.last_code["pixels_per_module"] == 2.0
