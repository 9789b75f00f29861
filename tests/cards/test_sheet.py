"""The printable card sheet: A4 pages of ten cards, names beside readable QR codes, cut marks."""

from __future__ import annotations

import io

import pypdf
import pytest
import qrcode
import zxingcpp
from PIL import Image
from reportlab.lib.pagesizes import A4

from appliance.cards.sheet import (
    CARD_HEIGHT,
    CARD_WIDTH,
    CARDS_PER_PAGE,
    CUT_GAP,
    CUT_MARK,
    SheetEntry,
    _origin,
    render_sheet,
)

URL = "http://keryu.local/scan/{}"


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(text, box_size=8, border=2).save(out)
    return out.getvalue()


def _entries(count: int) -> list[SheetEntry]:
    names = ["Ana López", "Zoë Nguyễn", "O'Brien <script>", "Bruno Díaz"]
    entries = []
    for i in range(count):
        url = URL.format(f"00000000-0000-4000-8000-{i:012d}")
        entries.append(SheetEntry(f"{names[i % len(names)]} {i}", url, qr_png(url)))
    return entries


@pytest.mark.parametrize(("count", "pages"), [(1, 1), (CARDS_PER_PAGE, 1), (CARDS_PER_PAGE + 1, 2), (25, 3)])
def test_ten_cards_per_a4_page(count, pages):
    reader = pypdf.PdfReader(io.BytesIO(render_sheet(_entries(count))))
    assert len(reader.pages) == pages
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_every_name_is_printed_even_outside_latin1():
    entries = _entries(4)
    text = pypdf.PdfReader(io.BytesIO(render_sheet(entries))).pages[0].extract_text()
    for entry in entries:
        assert entry.name in text


def test_the_printed_codes_read_back_as_the_scan_urls():
    """Rasterise the embedded images and decode them: what prints is what the kiosk will read."""
    entries = _entries(3)
    reader = pypdf.PdfReader(io.BytesIO(render_sheet(entries)))
    decoded = set()
    for image in reader.pages[0].images:
        picture = Image.open(io.BytesIO(image.data))
        decoded.update(result.text for result in zxingcpp.read_barcodes(picture))
    assert decoded == {entry.scan_url for entry in entries}


def test_output_is_deterministic_for_the_same_cards():
    entries = _entries(3)
    assert render_sheet(entries) == render_sheet(entries)


def test_cards_fit_the_page_side_by_side_without_overlap():
    corners = [_origin(i) for i in range(CARDS_PER_PAGE)]
    boxes = [(x, y, x + CARD_WIDTH, y + CARD_HEIGHT) for x, y in corners]
    reach = CUT_GAP + CUT_MARK  # cut marks stick out this far beyond the outer cards
    for left, bottom, right, top in boxes:
        assert left - reach >= 0 and bottom - reach >= 0
        assert right + reach <= A4[0] and top + reach <= A4[1]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_x = min(a[2], b[2]) - max(a[0], b[0])
            overlap_y = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_x <= 1e-6 or overlap_y <= 1e-6
