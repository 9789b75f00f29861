"""A card's PNG: its QR code with a caption underneath, so a card printed from the PNG alone says how to use it."""

from __future__ import annotations

import io
from collections.abc import Sequence

from appliance.cards.text import FONT_CANDIDATES

CAPTION_SIZE = 0.055  # caption font size as a fraction of the code's width: readable, never wider than the code
LINE_SPACING = 1.3


def _font(size: int):  # -> PIL.ImageFont.FreeTypeFont
    from PIL import ImageFont

    regular = FONT_CANDIDATES[0]
    if regular.exists():
        return ImageFont.truetype(str(regular), size)
    return ImageFont.load_default(size)  # Pillow's own scalable font where DejaVu is not installed


def _wrap(text: str, font, width: float) -> list[str]:
    """Greedy word wrap of `text` into lines no wider than `width` pixels."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def captioned_png(qr_png: bytes, paragraphs: Sequence[str]) -> bytes:
    """`qr_png` with `paragraphs` centred below it in black on white, each wrapped to the code's width."""
    from PIL import Image, ImageDraw

    code = Image.open(io.BytesIO(qr_png)).convert("L")
    size = max(10, round(code.width * CAPTION_SIZE))
    font = _font(size)
    margin = size
    lines = [line for paragraph in paragraphs for line in _wrap(paragraph, font, code.width - 2 * margin)]
    step = round(size * LINE_SPACING)
    card = Image.new("L", (code.width, code.height + step * len(lines) + margin), 255)
    card.paste(code, (0, 0))
    draw = ImageDraw.Draw(card)
    for number, line in enumerate(lines):
        draw.text((code.width / 2, code.height + number * step), line, fill=0, font=font, anchor="ma")
    buffer = io.BytesIO()
    card.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
