"""The frame loop, one turn at a time: keep a camera open, hand its frames on, keep systemd and health told.

`step()` does one turn and says how long to wait before the next; it never sleeps itself (only a
camera read may wait, up to `read_timeout`) and takes every time from the kiosk's clock, so a
test steps it tick by tick with fake time and a fake camera. A camera that fails is reopened
with backoff, reset once frames flow; `auto` that found no camera looks again every 30 s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from appliance import stored_text
from appliance.long_lived import RETURN_FREE_MEMORY_EVERY, return_free_memory
from appliance.scanner.camera import Frame, FrameSource, open_camera
from appliance.scanner.frames import FrameHandler, Meter
from appliance.scanner.heartbeat import ScannerState, ScannerStatus, write_scanner_status
from appliance.services.kiosk import Kiosk

logger = logging.getLogger(__name__)

READ_TIMEOUT = 0.5  # longest a turn may wait, so the loop ticks at least twice a second
HEARTBEAT_EVERY = 2.0
WATCHDOG_EVERY = 1.0
REPROBE_EVERY = 30.0  # `auto` found no camera: look again this often (a camera may be plugged in)
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STREAMING_WINDOW = 5.0  # a frame within this many seconds means "streaming"


class ScannerLoop:
    """The camera's lifecycle and the loop's pace around a `FrameHandler`."""

    def __init__(
        self,
        kiosk: Kiosk,
        frames: FrameHandler,
        *,
        camera_spec: str,
        notify: Callable[[str], None],
        open_camera: Callable[[str], FrameSource] = open_camera,
        read_timeout: float = READ_TIMEOUT,
        on_frame: Callable[[Frame], None] | None = None,
    ):
        self.kiosk = kiosk
        self.clock = kiosk.clock
        self.frames = frames
        self.camera_spec = camera_spec
        self.notify = notify  # systemd's sd_notify in the service
        self.read_timeout = read_timeout
        self._open_camera = open_camera
        self.on_frame = on_frame  # the admin page's preview and self-test see what the loop sees
        self.camera: FrameSource | None = None
        self.state, self.detail = ScannerState.STARTING, ""
        self._ready = False
        self._attempt = 0
        self._next_open = self._next_heartbeat = self._next_watchdog = self._last_frame = float("-inf")
        self._next_return = self.clock.monotonic() + RETURN_FREE_MEMORY_EVERY
        self._meter = Meter(self.clock.monotonic)

    def step(self) -> float:
        """One turn, then READY/WATCHDOG and the heartbeat when due; returns the seconds to wait before the next."""
        try:
            wait = self._turn()
        except Exception:  # a bug must cost one turn of the loop, never the scanner
            logger.exception("Scanner loop error; going on")
            wait = self.read_timeout
        self._tick()
        return wait

    def status(self) -> ScannerStatus:
        """The loop's state now, with frames per second and CPU since the last status."""
        fps, cpu_percent = self._meter.read(self.frames.frames)
        return ScannerStatus(
            state=self.state,
            detail=self.detail,
            camera=self.camera.description if self.camera else self.camera_spec,
            decoder=self.frames.decoder_name,
            frames=self.frames.frames,
            frames_decoded=self.frames.decoded,
            last_frame_at=self.frames.last_frame_at,
            feedback="simulated" if self.frames.feedback.simulated else "gpio",
            feedback_problem=self.frames.feedback.problem,
            fps=fps,
            cpu_percent=cpu_percent,
        )

    def write_heartbeat(self) -> None:
        try:
            write_scanner_status(self.kiosk.settings, self.status())
        except OSError as exc:
            logger.warning("Scanner heartbeat not written: %s", exc)

    def close(self) -> None:
        """Release the camera and leave a last heartbeat that says the scanner stopped."""
        self._close_camera()
        self.state, self.detail = ScannerState.STOPPED, stored_text.SCANNER_STOPPED
        self.write_heartbeat()

    def _turn(self) -> float:
        """Open the camera when due, or look for one again, or read and handle one frame."""
        now = self.clock.monotonic()
        if self.camera is None:
            if now < self._next_open:
                return min(self.read_timeout, self._next_open - now)
            self._open()
        elif not self.camera.available and self.camera_spec == "auto" and now >= self._next_open:
            self._close_camera()  # look for a camera again
        else:
            self._read_once()
        return 0.0

    def _open(self) -> None:
        try:
            self.camera = self._open_camera(self.camera_spec)
        except Exception as exc:  # CameraError, or a driver's own exception
            self._camera_failed(str(exc))
            return
        if self.camera.available:
            self._set_state(ScannerState.WATCHING, self.camera.description)
        else:
            self._set_state(ScannerState.NO_CAMERA, self.camera.description)
            self._next_open = self.clock.monotonic() + REPROBE_EVERY
        logger.info("Camera: %s", self.camera.description)

    def _camera_failed(self, reason: str) -> None:
        """Close the camera and schedule the next try with backoff (reset only once frames flow)."""
        self._close_camera()
        self._attempt += 1
        self._next_open = self.clock.monotonic() + BACKOFF[min(self._attempt, len(BACKOFF)) - 1]
        self._set_state(ScannerState.CAMERA_ERROR, reason)

    def _read_once(self) -> None:
        assert self.camera is not None
        try:
            frame = self.camera.read(self.read_timeout)
        except Exception as exc:  # CameraError, or a driver's own exception
            self._camera_failed(str(exc))
            return
        now = self.clock.monotonic()
        if frame is None:
            if self.state is ScannerState.STREAMING and now - self._last_frame > STREAMING_WINDOW:
                self._set_state(ScannerState.WATCHING, self.camera.description)
            return
        self._attempt, self._last_frame = 0, now
        self._set_state(ScannerState.STREAMING, self.camera.description)
        try:
            self.frames.handle(frame)
        except Exception:  # a frame must never stop the loop
            logger.exception("Frame %s could not be processed", frame.name)
        if self.on_frame is not None:
            self.on_frame(frame)

    def _close_camera(self) -> None:
        if self.camera is not None:
            try:
                self.camera.close()
            except Exception as exc:
                logger.debug("Closing the camera: %s", exc)
            self.camera = None

    def _set_state(self, state: ScannerState, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            log = logger.warning if state is ScannerState.CAMERA_ERROR else logger.info
            log("Scanner %s: %s", state.replace("_", " "), detail)
        self.state, self.detail = state, detail

    def _tick(self) -> None:
        """READY the first time, WATCHDOG and the heartbeat file at their pace; freed memory given back."""
        now = self.clock.monotonic()
        if not self._ready:
            self._ready = True
            self.notify(f"READY=1\nSTATUS={self.state}: {self.detail}")
            logger.info("Scanner running (camera %s, decoder %s)", self.camera_spec, self.frames.decoder_name)
        if now >= self._next_watchdog:
            self._next_watchdog = now + WATCHDOG_EVERY
            self.notify(f"WATCHDOG=1\nSTATUS={self.state}: {self.detail}")
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + HEARTBEAT_EVERY
            self.write_heartbeat()
        if now >= self._next_return:
            self._next_return = now + RETURN_FREE_MEMORY_EVERY
            return_free_memory()  # the frames decoded since
