"""Skip decoding frames that show what the last decoded frame showed (most of a kiosk's day).

A frame is shrunk to a 64x36 thumbnail (area averaging also averages sensor noise away) and
compared with the thumbnail of the last frame that was decoded. Comparing with the last
*decoded* frame, not the previous one, means a card moved in slowly still adds up to a change.
A decode is forced every `refresh` seconds whatever the thumbnails say.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from appliance.scanner import pixels

logger = logging.getLogger(__name__)

THUMB_SIZE = (64, 36)
DEFAULT_THRESHOLD = 2.5  # mean absolute grey-level difference (0-255) that counts as a change
DEFAULT_REFRESH = 1.0


class ChangeGate:
    """Says whether a frame differs enough from the last decoded one to be worth decoding."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        refresh: float = DEFAULT_REFRESH,
    ):
        self.threshold = threshold
        self.refresh = refresh
        self._clock = clock
        self._thumb: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None
        self._decoded_at = float("-inf")
        self.skipped = 0

    def should_decode(self, image: np.ndarray) -> bool:
        """True (and remember this frame) when it must be decoded; False when it adds nothing new."""
        now = self._clock()
        thumb = _thumbnail(image)
        changed = (
            thumb is None
            or self._thumb is None
            or image.shape != self._shape
            or now - self._decoded_at >= self.refresh
            or float(np.abs(thumb.astype(np.int16) - self._thumb).mean()) > self.threshold
        )
        if changed:
            self._thumb = thumb
            self._shape = getattr(image, "shape", None)
            self._decoded_at = now
        else:
            self.skipped += 1
        return changed


def _thumbnail(image: np.ndarray) -> np.ndarray | None:
    """A small grey copy of the frame, or None for something that is not an 8-bit image."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        return None
    try:
        return pixels.grey(image, THUMB_SIZE)
    except ValueError as exc:
        logger.debug("Frame cannot be shrunk: %s", exc)
        return None
