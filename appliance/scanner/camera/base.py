"""What every camera gives the frame loop: frames, or None when nothing new came in time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from appliance.errors import KeryuError


class CameraError(KeryuError, OSError):
    """The camera cannot be opened or stopped giving frames (the runner retries with backoff)."""


@dataclass(frozen=True)
class Frame:
    """One image from a camera: BGR or grey pixels, a name for logs, and when it was captured."""

    image: np.ndarray
    name: str
    captured: float  # time.monotonic() when the camera handed it over


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
