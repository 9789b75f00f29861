"""A printable A4 sheet of QR cards (credit-card size) with names and cut marks, drawn with reportlab."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from appliance.cards.text import FONT_CANDIDATES, card_label, how_to_use
from appliance.i18n import DEFAULT_LANGUAGE, gettext

logger = logging.getLogger(__name__)

CARD_WIDTH = 85.6 * mm  # ISO/IEC 7810 ID-1, fits a wallet and a lanyard sleeve
CARD_HEIGHT = 53.98 * mm
COLUMNS = 2
ROWS = 5
CARDS_PER_PAGE = COLUMNS * ROWS
CUT_MARK = 4 * mm
CUT_GAP = 1 * mm
QR_SIZE = 44 * mm
PADDING = 5 * mm
INSTRUCTION_SIZE = 7


@dataclass(frozen=True)
class SheetEntry:
    """One card to print: the holder's name, the URL in the code, and the code as a PNG."""

    name: str
    scan_url: str
    qr_png: bytes


def _fonts() -> tuple[str, str]:
    """A Unicode font when the system has DejaVu (names like 'Zoë' or 'Nguyễn'), else Helvetica."""
    regular, bold = FONT_CANDIDATES
    if regular.exists() and bold.exists():
        if "KeryuSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("KeryuSans", str(regular)))
            pdfmetrics.registerFont(TTFont("KeryuSans-Bold", str(bold)))
        return "KeryuSans", "KeryuSans-Bold"
    logger.debug("DejaVu fonts not found; names outside Latin-1 may not print")
    return "Helvetica", "Helvetica-Bold"


def _origin(index: int) -> tuple[float, float]:
    """Lower-left corner of the card at `index` on its page (row-major from the top)."""
    page_width, page_height = A4
    left = (page_width - COLUMNS * CARD_WIDTH) / 2
    top = (page_height + ROWS * CARD_HEIGHT) / 2
    column, row = index % COLUMNS, index // COLUMNS
    return left + column * CARD_WIDTH, top - (row + 1) * CARD_HEIGHT


def _cut_marks(canvas: Canvas, x: float, y: float) -> None:
    """Short lines just outside each corner, so a cutter can follow them without ink on the card."""
    canvas.setLineWidth(0.3)
    for cx, sx in ((x, -1), (x + CARD_WIDTH, 1)):
        for cy, sy in ((y, -1), (y + CARD_HEIGHT, 1)):
            canvas.line(cx + sx * CUT_GAP, cy, cx + sx * (CUT_GAP + CUT_MARK), cy)
            canvas.line(cx, cy + sy * CUT_GAP, cx, cy + sy * (CUT_GAP + CUT_MARK))


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> float:
    """The largest font size up to `size` at which `text` fits in `width`."""
    while size > 6 and canvas.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _draw_card(
    canvas: Canvas, entry: SheetEntry, x: float, y: float, fonts: tuple[str, str], language: str, phone_scan: bool
) -> None:
    regular, bold = fonts
    canvas.setStrokeGray(0.8)
    canvas.setLineWidth(0.2)
    canvas.rect(x, y, CARD_WIDTH, CARD_HEIGHT)  # faint outline as a second guide for scissors
    canvas.setStrokeGray(0)
    qr_y = y + (CARD_HEIGHT - QR_SIZE) / 2
    canvas.drawImage(ImageReader(io.BytesIO(entry.qr_png)), x + PADDING / 2, qr_y, QR_SIZE, QR_SIZE)
    text_x = x + PADDING / 2 + QR_SIZE + PADDING / 2
    text_width = x + CARD_WIDTH - PADDING / 2 - text_x
    size = _fit(canvas, entry.name, bold, 13, text_width)
    canvas.setFont(bold, size)
    canvas.drawString(text_x, y + CARD_HEIGHT - PADDING - size, entry.name)
    canvas.setFont(regular, INSTRUCTION_SIZE)
    instruction = how_to_use(language, phone_scan)
    for number, line in enumerate(simpleSplit(instruction, regular, INSTRUCTION_SIZE, text_width)):
        canvas.drawString(text_x, y + CARD_HEIGHT / 2 - number * 9, line)
    canvas.setFont(regular, 5)
    canvas.drawString(text_x, y + PADDING, card_label(language, entry.scan_url))


def render_sheet(entries: list[SheetEntry], language: str = DEFAULT_LANGUAGE, *, phone_scan: bool = False) -> bytes:
    """An A4 PDF with ten cards a page, names beside their codes, cut marks at every corner, in `language`.

    `phone_scan`: the cards also tell a finder to scan them with a phone (see `cards.text.how_to_use`).
    """
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(gettext(language, "Keryu cards"))
    canvas.setAuthor(gettext(language, "Keryu kiosk"))
    fonts = _fonts()
    for index, entry in enumerate(entries):
        if index and index % CARDS_PER_PAGE == 0:
            canvas.showPage()
        x, y = _origin(index % CARDS_PER_PAGE)
        _cut_marks(canvas, x, y)
        _draw_card(canvas, entry, x, y, fonts, language, phone_scan)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
