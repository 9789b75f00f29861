"""The Raspberry Pi model, its revision code and its header's gpiochip, read from /proc and /sys.

Debian's arm64 kernel puts no `Revision` line in /proc/cpuinfo and the firmware may leave out
/proc/device-tree/system/linux,revision (qemu always does), so gpiozero cannot tell which Pi it
is on and its lgpio factory gives up. The device tree's model string is always there: it names
the board, and from it we derive a revision code that gpiozero's `PiBoardInfo` understands.

The header's gpiochip is found by its label, never by number: its number depends on the kernel
(a Pi 5 had the header on gpiochip4, later kernels moved it to gpiochip0) and on probe order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

SYSTEM_ROOT = Path("/")

# gpiochip labels of the 40-pin header's GPIO0-27, by SoC; the line offset is the BCM number.
# Pi 1/2/3, Zero, Zero 2 W (BCM2835/6/7): the SoC's own GPIO block; Pi 4, 400, CM4 (BCM2711):
# the same block, relabelled; Pi 5, 500, CM5 (BCM2712): the RP1 south bridge ("pinctrl-rp1";
# "pinctrl-bcm2712" and the brcmstb chips there are the SoC's own, not the header's).
# "raspberrypi-exp-gpio" (the firmware's expander: activity LED, camera power) is never the header.
HEADER_LABELS: tuple[str, ...] = ("pinctrl-bcm2835", "pinctrl-bcm2711", "pinctrl-rp1")

# Device-tree model prefixes (longest first) and a revision code of that board in the new-style
# scheme (gpiozero reads the board type from bits 4-11; memory and maker bits are a typical unit's).
# Boards newer than this gpiozero knows map to the nearest board with the same header.
_MODEL_REVISIONS: tuple[tuple[str, int], ...] = (
    ("Raspberry Pi Compute Module 3 Plus", 0xA02100),
    ("Raspberry Pi Compute Module 3", 0xA020A0),
    ("Raspberry Pi Compute Module 4", 0xB03140),
    ("Raspberry Pi Compute Module 5", 0xC04170),
    ("Raspberry Pi 3 Model B Plus", 0xA020D3),
    ("Raspberry Pi 3 Model A Plus", 0x9020E0),
    ("Raspberry Pi 3 Model B", 0xA02082),
    ("Raspberry Pi 4 Model B", 0xC03111),
    ("Raspberry Pi 400", 0xC03130),
    ("Raspberry Pi 500", 0xC04170),
    ("Raspberry Pi 5 Model B", 0xC04170),
    ("Raspberry Pi 2 Model B", 0xA01041),
    ("Raspberry Pi Zero 2 W", 0x902120),
    ("Raspberry Pi Zero W", 0x9000C1),
    ("Raspberry Pi Zero", 0x900093),
)


@dataclass(frozen=True)
class Board:
    """The machine as the device tree describes it."""

    model: str | None  # None: no device tree model (a PC, a VM such as qemu's -M virt)
    revision: int | None  # gpiozero's revision code; None when neither firmware nor model give one
    revision_source: str | None  # "firmware" or "model"

    @property
    def is_raspberry_pi(self) -> bool:
        return bool(self.model and self.model.startswith("Raspberry Pi"))


@dataclass(frozen=True)
class GpioChip:
    """One gpiochip character device and its label."""

    number: int
    label: str

    @property
    def path(self) -> str:
        return f"/dev/gpiochip{self.number}"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace").rstrip("\x00\n ").strip()
    except OSError:
        return None


def revision_from_model(model: str) -> int | None:
    """A revision code for a device-tree model string such as "Raspberry Pi 3 Model B Rev 1.2"."""
    for prefix, revision in _MODEL_REVISIONS:
        if model.startswith(prefix):
            return revision
    return None


def _firmware_revision(root: Path) -> int | None:
    """The revision the firmware reports, where gpiozero itself looks for it."""
    try:
        raw = (root / "proc/device-tree/system/linux,revision").read_bytes()
        if len(raw) >= 4:
            return struct.unpack(">L", raw[:4])[0] & 0xFFFFFF  # the top bits flag over-volting
    except OSError:
        pass
    cpuinfo = _read_text(root / "proc/cpuinfo") or ""
    for line in cpuinfo.splitlines():
        if line.startswith("Revision"):
            try:
                return int(line.split(":", 1)[1].strip(), 16) & 0xFFFFFF
            except ValueError:
                return None
    return None


def detect_board(root: Path = SYSTEM_ROOT) -> Board:
    """The board's model and revision code (the firmware's when it gives one, else the model's)."""
    model = _read_text(root / "proc/device-tree/model") or None
    revision = _firmware_revision(root)
    if revision:
        return Board(model, revision, "firmware")
    from_model = revision_from_model(model) if model else None
    return Board(model, from_model, "model" if from_model else None)


def _legacy_label(device: Path) -> str | None:
    """A gpiochip's label from its legacy sysfs class entry (gpiochipBASE: BASE is not N).

    The kernel puts that entry under the chip's parent device when it has one (the platform
    device, for backward compatibility), else under the gpiochipN device itself.
    """
    own = sorted(device.glob("gpio/gpiochip*/label"))
    if own:
        return _read_text(own[0])
    parent = device.resolve().parent
    chips_there = [p for p in parent.glob("gpiochip*") if p.name.removeprefix("gpiochip").isdigit()]
    labels = sorted(parent.glob("gpio/gpiochip*/label"))
    return _read_text(labels[0]) if len(chips_there) == 1 and len(labels) == 1 else None


def gpiochip_labels(root: Path = SYSTEM_ROOT) -> list[GpioChip]:
    """Every gpiochip with its label, from /sys/bus/gpio/devices/gpiochipN (Debian's kernel has
    CONFIG_GPIO_SYSFS); chips whose label sysfs does not tell are left out."""
    chips = []
    for device in sorted((root / "sys/bus/gpio/devices").glob("gpiochip*")):
        number = device.name.removeprefix("gpiochip")
        label = _legacy_label(device) if number.isdigit() else None
        if label:
            chips.append(GpioChip(int(number), label))
    return chips


def header_of(chips: list[GpioChip]) -> GpioChip | None:
    """The chip that carries the 40-pin header, by label."""
    return next((chip for chip in chips if chip.label in HEADER_LABELS), None)


def header_chip(root: Path = SYSTEM_ROOT) -> GpioChip | None:
    """The gpiochip that carries the 40-pin header, by its sysfs label; None when none has a header label."""
    return header_of(gpiochip_labels(root))
