"""Skip decoding frames that show what the last decoded frame showed (most of a kiosk's day).

A frame is shrunk to a small grey thumbnail (area averaging also averages sensor noise away) and
compared with the thumbnail of the last frame that was decoded: it is decoded when the mean
difference over the whole frame passes one threshold (light changing, a person stepping in), or
over any one cell of a 16x9 grid passes a higher one. Cells because a card at the distance the
camera is placed for (3 pixels per module, about a hundredth of a 720p frame) moves the whole
frame's mean by 1-2 grey levels, under the first threshold, and was read only at the next
forced decode; its cell changes by 9-60. The cell threshold sits above what small steady
motion makes from one frame to the next (a camera's on-screen clock and frame counter: 1-7 in
their cell), so such a scene is decoded when the change has added up, not 15 times a second.
Comparing with the last *decoded* frame, not the previous one, means a card moved in slowly
still adds up to a change. A decode is forced every `refresh` seconds whatever the thumbnails
say (a card brought into focus without moving).

A JPEG frame's preview (decoded at 1/8 scale: each pixel is already the mean of an 8x8 block)
is only halved, in NumPy; Pillow's shrinking cost more than the comparison (bench/README.md,
"Scanner").
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np

from appliance.scanner import pixels

logger = logging.getLogger(__name__)

THUMB_SIZE = (64, 36)
GRID = (16, 9)  # cells across and down: 80x80 pixels of a 720p frame, 120x120 of a 1080p one
SMALL_WIDTH = 320  # a grey frame this narrow (a 720p or 1080p JPEG's 1/8 preview: 160, 240) is halved
DEFAULT_THRESHOLD = 2.5  # mean absolute grey-level difference (0-255) over the frame that counts as a change
CELL_THRESHOLD = 8.0  # the same over one cell: a card at the design distance 9-60, an on-screen clock 1-7
DEFAULT_REFRESH = 2.0


class ChangeGate:
    """Says whether a frame differs enough from the last decoded one to be worth decoding."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        cell_threshold: float = CELL_THRESHOLD,
        refresh: float = DEFAULT_REFRESH,
    ):
        self.threshold = threshold
        self.cell_threshold = cell_threshold
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
            or self._differs(thumb, self._thumb)
        )
        if changed:
            self._thumb = thumb
            self._shape = getattr(image, "shape", None)
            self._decoded_at = now
        else:
            self.skipped += 1
        return changed

    def _differs(self, thumb: np.ndarray, last: np.ndarray) -> bool:
        difference = np.abs(thumb.astype(np.int16) - last)
        return float(difference.mean()) > self.threshold or _largest_cell_change(difference) > self.cell_threshold


def _largest_cell_change(difference: np.ndarray) -> float:
    """The largest mean of an absolute difference between two thumbnails over one cell of the grid."""
    rows, columns, area = _grid(difference.shape)
    sums = np.add.reduceat(np.add.reduceat(difference, rows, axis=0), columns, axis=1)
    return float((sums / area).max())


@functools.lru_cache(maxsize=4)
def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the grid's rows and columns start in a thumbnail of `shape`, and each cell's area."""
    height, width = shape
    rows, columns = _starts(height, GRID[1]), _starts(width, GRID[0])
    area = np.outer(np.diff(rows, append=height), np.diff(columns, append=width))
    return rows, columns, area


def _starts(length: int, parts: int) -> np.ndarray:
    """Where each of `parts` near-equal parts of `length` starts (fewer parts when `length` is shorter).

    Plain integers rather than np.unique, which imports numpy.ma: 1.1 MiB held for good.
    """
    return np.array(sorted({length * part // parts for part in range(parts)}))


def _thumbnail(image: np.ndarray) -> np.ndarray | None:
    """A small grey copy of the frame, or None for something that is not an 8-bit image."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        return None
    if image.ndim == 2 and image.shape[1] <= SMALL_WIDTH:
        return pixels.halve(image) if min(image.shape) >= 2 else image.copy()  # kept: not the camera's array
    try:
        return pixels.grey(image, THUMB_SIZE)
    except ValueError as exc:
        logger.debug("Frame cannot be shrunk: %s", exc)
        return None
