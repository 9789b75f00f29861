"""What every camera gives the frame loop: frames, or None when nothing new came in time."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from appliance.errors import KeryuError
from appliance.scanner import pixels


class CameraError(KeryuError, OSError):
    """The camera cannot be opened or stopped giving frames (the runner retries with backoff)."""


class Frame:
    """One image from a camera: BGR or grey pixels, a name for logs, and when it was captured.

    A camera that delivers JPEG (an MJPEG stream) may hand over the compressed bytes instead:
    `preview()` then decodes them at an eighth of the size for the change gate, and `image`
    decodes them whole, in grey (what the QR decoders read), only when the gate lets the frame
    through. Most of a kiosk's frames are never decoded whole.
    """

    __slots__ = ("_image", "captured", "jpeg", "name")

    def __init__(self, image: np.ndarray | None, name: str, captured: float, *, jpeg: bytes | None = None):
        if image is None and jpeg is None:
            raise ValueError("a frame needs pixels or JPEG bytes")
        self._image = image
        self.jpeg = jpeg  # the compressed frame, when the camera gave one
        self.name = name
        self.captured = captured  # time.monotonic() when the camera handed it over

    @property
    def image(self) -> np.ndarray:
        """The pixels (decoded from the JPEG on first use); ValueError for a JPEG that cannot be read."""
        if self._image is None:
            self._image = pixels.decode_jpeg(self.jpeg or b"", self.name)
        return self._image

    def preview(self) -> np.ndarray:
        """Something small that changes when the picture does: the pixels, or the JPEG decoded at 1/8 scale."""
        if self._image is not None or self.jpeg is None:
            return self.image
        return pixels.decode_jpeg(self.jpeg, self.name, reduce=8)


class FrameSource(Protocol):
    """A camera: `picamera2`, `opencv:N`, `dir:PATH`, `video:PATH` or none, behind one seam."""

    description: str
    available: bool  # False for the stand-in used when no camera exists

    def read(self, timeout: float) -> Frame | None:
        """The next frame, or None if none came within about `timeout` seconds; CameraError on failure."""
        ...

    def close(self) -> None:
        """Release the device or file."""
        ...
