"""`none`: no camera. The scanner keeps running (health says why) so the rest of the kiosk works."""

from __future__ import annotations

import time

from appliance import stored_text
from appliance.i18n import Sentence
from appliance.scanner.camera.base import Frame


class NoCamera:
    """A camera that never gives a frame; `reason` ends up in health and the logs."""

    available = False

    def __init__(self, reason: str = "KERYU_CAMERA=none"):
        self.description = str(Sentence(stored_text.CAMERA_NONE, reason=reason))

    def read(self, timeout: float) -> Frame | None:
        time.sleep(max(0.0, timeout))
        return None

    def close(self) -> None:
        pass
