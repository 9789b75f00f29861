"""`dir:PATH`: a camera made of files. Each image that appears in PATH is one frame, in name order, once.

Files present when the camera opens were seen before (a restarted scanner must not raise their
alarms again). A file still being written is never read half-way: it is read only once its size
and modification time have stayed the same for `settle` seconds. Writers that want no delay
write `name.tmp` (or a dot-file) and rename it; those names are ignored until renamed.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from appliance import stored_text
from appliance.scanner.camera.base import CameraError, Frame
from appliance.scanner.pixels import read_grey

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pnm"})
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50 MP photo is the most a phone makes; beyond that it is a decompression bomb


def load_image(path: str | Path) -> np.ndarray | None:
    """An image file as a grey array, or None (logged) when it is not a readable image of sane size."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size == 0 or size > MAX_FILE_BYTES:
            logger.warning("Ignoring %s: %d bytes is not a camera frame", path.name, size)
            return None
        with Image.open(path) as header:  # reads only the header: dimensions before any pixels
            width, height = header.size
        if width * height > MAX_PIXELS:
            logger.warning("Ignoring %s: %dx%d pixels is too large", path.name, width, height)
            return None
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        logger.warning("Ignoring %s: not a readable image (%s)", path.name, exc)
        return None
    try:
        return read_grey(path)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        logger.warning("Ignoring %s: the image data cannot be decoded (%s)", path.name, exc)
        return None


class DirCamera:
    """Frames from image files dropped into a folder (the folder is polled for new names)."""

    available = True

    def __init__(self, path: str | Path, *, poll_interval: float = 0.02, settle: float = 0.05):
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            existing = {entry.name for entry in os.scandir(self.path)}
        except OSError as exc:
            raise CameraError(
                stored_text.CAMERA_DIR_UNWATCHABLE, path=str(self.path), problem=str(exc.strerror or exc)
            ) from exc
        self.description = f"dir:{self.path}"
        self.poll_interval = poll_interval
        self.settle = settle
        self._done: set[str] = existing
        self._pending: dict[str, tuple[int, int, float]] = {}  # name -> (size, mtime_ns, first seen)
        self._unreadable: dict[str, tuple[int, int]] = {}  # name -> (size, mtime_ns) when it failed to load
        if existing:
            logger.info("%d files already in %s are not frames; new files are", len(existing), self.path)

    def read(self, timeout: float) -> Frame | None:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            name = self._next_ready()
            if name is not None:
                self._done.add(name)
                image = load_image(self.path / name)
                if image is not None:
                    self._unreadable.pop(name, None)
                    return Frame(image, name, time.monotonic())
                self._remember_unreadable(name)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(self.poll_interval, remaining))

    def _next_ready(self) -> str | None:
        """The first name (in name order) of a new image file that has finished being written."""
        try:
            entries = {e.name: e for e in os.scandir(self.path) if _is_candidate(e.name) and e.is_file()}
        except OSError as exc:
            raise CameraError(
                stored_text.CAMERA_DIR_UNREADABLE, path=str(self.path), problem=str(exc.strerror or exc)
            ) from exc
        self._done &= entries.keys()  # a name deleted and written again is a new frame
        for gone in self._pending.keys() - entries.keys():
            del self._pending[gone]
        self._retry_grown(entries)
        now = time.monotonic()
        for name in sorted(entries.keys() - self._done):
            try:
                stat = entries[name].stat()
            except FileNotFoundError:
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            seen = self._pending.get(name)
            if seen is None or seen[:2] != signature:
                self._pending[name] = (*signature, now)
                # A file not touched for `settle` seconds (by the wall clock) is complete already.
                if time.time() - stat.st_mtime < self.settle or stat.st_size == 0:
                    continue
            elif now - seen[2] < self.settle or stat.st_size == 0:
                continue
            self._pending.pop(name, None)
            return name
        return None

    def _remember_unreadable(self, name: str) -> None:
        """A file that failed to load may still be growing (a slow writer): note how it looked."""
        try:
            stat = (self.path / name).stat()
        except OSError:
            return
        self._unreadable[name] = (stat.st_size, stat.st_mtime_ns)

    def _retry_grown(self, entries: dict[str, os.DirEntry]) -> None:
        """An unreadable file that has changed since is read again once it settles."""
        for name, signature in list(self._unreadable.items()):
            entry = entries.get(name)
            if entry is None:
                del self._unreadable[name]
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            if (stat.st_size, stat.st_mtime_ns) != signature:
                del self._unreadable[name]
                self._done.discard(name)

    def close(self) -> None:
        self._pending.clear()


def _is_candidate(name: str) -> bool:
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES
