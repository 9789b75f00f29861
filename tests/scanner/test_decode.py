"""Decoding: frames in, QR texts out; unusable frames give nothing, never an exception."""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
import pytest

from appliance.config import DECODERS
from appliance.scanner.decode import decode, make_decoder, to_grey

CARD = "http://keryu.local/scan/0b8f3c7e-2d1a-4c5b-9e6f-7a8b9c0d1e2f"
OTHER = "4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3"

# What the shipped `auto` pipeline reads on ../shared/corpus, per kind of degradation (floors
# one below the figures in docs/scanner.md, so a library upgrade that costs one frame is allowed
# while a broken pipeline is not); empty frames must give no false positive at all.
CORPUS_FLOORS = {
    ("synth", "clean"): 12,
    ("synth", "rotation"): 11,
    ("synth", "perspective"): 11,
    ("synth", "blur"): 7,
    ("synth", "noise"): 11,
    ("synth", "lowlight"): 11,
    ("synth", "jpeg"): 11,
    ("synth", "glare"): 5,
    ("synth", "small"): 8,
    ("synth", "combo"): 8,
    ("real", "qrcode-1"): 19,
    ("real", "qrcode-2"): 30,
    ("real", "qrcode-3"): 41,
    ("real", "qrcode-4"): 37,
}


@pytest.mark.parametrize("decoder", DECODERS)
def test_every_decoder_reads_a_card_on_a_cluttered_scene(decoder, make_card_frame):
    assert decode(make_card_frame(CARD), decoder) == [CARD]


@pytest.mark.parametrize("decoder", ["auto", "zxing", "pyzbar"])
def test_two_cards_in_one_frame_give_both_texts(decoder, make_card_frame):
    assert sorted(decode(make_card_frame(CARD, OTHER, module_px=5), decoder)) == sorted([CARD, OTHER])


@pytest.mark.parametrize("decoder", DECODERS)
def test_a_scene_without_a_code_gives_nothing(decoder, make_scene):
    assert decode(make_scene(), decoder) == []


@pytest.mark.parametrize("module_px", [2, 3, 4])
def test_auto_reads_small_cards_at_1280x720(module_px, make_card_frame):
    assert decode(make_card_frame(CARD, module_px=module_px)) == [CARD]


def test_grey_and_bgra_frames_read_like_bgr(make_card_frame):
    bgr = make_card_frame(CARD)
    assert decode(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)) == [CARD]
    assert decode(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)) == [CARD]


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (np.zeros((0, 0), np.uint8), "empty array"),
        (np.zeros(640 * 480, np.uint8), "one-dimensional"),
        (np.zeros((10, 10), np.uint8), "smaller than a QR symbol"),
        (np.zeros((480, 640, 2), np.uint8), "two channels"),
        (np.zeros((480, 640, 3), np.float64), "float pixels"),
        (np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8), "random noise"),
        (np.full((480, 640), 255, np.uint8), "all white"),
        (b"\xff\xd8\xff\xe0 not an array", "bytes"),
        (None, "None"),
    ],
)
def test_unusable_frames_give_nothing(frame, why):
    assert decode(frame) == [], why


def test_a_20_megapixel_frame_is_shrunk_before_decoding(make_card_frame):
    card = make_card_frame(CARD, width=640, height=480, module_px=5)
    huge = cv2.resize(card, (5472, 3648), interpolation=cv2.INTER_NEAREST)  # 20 MP
    assert to_grey(huge).shape == (1080, 1620)
    assert decode(huge) == [CARD]


def test_opencv_decoder_survives_a_payload_that_is_not_utf8():
    import qrcode

    code = qrcode.QRCode(border=4, box_size=8)
    code.add_data(b"\xff\xfe\xfa card \xc3\x28")
    img = np.array(code.make_image().convert("L"))
    for name in DECODERS:
        assert isinstance(decode(img, name), list)


def test_an_unknown_decoder_name_is_refused():
    with pytest.raises(ValueError, match="unknown decoder"):
        make_decoder("tesseract")


def test_auto_reads_the_corpus_per_kind_of_degradation(corpus):
    root, entries = corpus
    reads: Counter = Counter()
    false_positives = []
    for entry in entries:
        texts = [t.replace("\r\n", "\n").rstrip() for t in decode(cv2.imread(str(root / entry["path"])))]
        if entry["expected"] is None:
            if texts:
                false_positives.append(entry["path"])
        elif entry["expected"].replace("\r\n", "\n").rstrip() in texts:
            reads[(entry["corpus"], entry["category"])] += 1
    assert false_positives == []
    below = {k: (reads[k], floor) for k, floor in CORPUS_FLOORS.items() if reads[k] < floor}
    assert below == {}


def test_auto_reads_at_least_what_zxing_alone_reads(corpus):
    root, entries = corpus
    missed_by_auto = []
    for entry in entries:
        if entry["expected"] is None:
            continue
        frame = cv2.imread(str(root / entry["path"]))
        expected = entry["expected"].replace("\r\n", "\n").rstrip()
        if expected in decode(frame, "zxing") and expected not in decode(frame, "auto"):
            missed_by_auto.append(entry["path"])
    assert missed_by_auto == []
