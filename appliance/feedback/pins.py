"""Which gpiozero pin factory drives the LEDs and buzzer, and why.

On a Raspberry Pi (the device tree's model says so) the pins are real: gpiozero's lgpio factory
on the header's gpiochip, found by its label, with the board revision from the firmware or, on
Debian's kernel where the firmware gives none, from the model. Simulated pins there are a fault
that `PinSetup.problem` names, for health and `keryu selftest`. Off a Pi, gpiozero's own default
is tried and MockFactory stands in without complaint, as a development machine expects.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from gpiozero import Device
from gpiozero.exc import BadPinFactory
from gpiozero.pins.mock import MockFactory

from appliance import stored_text
from appliance.config import Settings
from appliance.hardware.board import (
    HEADER_LABELS,
    SYSTEM_ROOT,
    Board,
    GpioChip,
    detect_board,
    header_chip,
    header_of,
)
from appliance.i18n import Sentence

logger = logging.getLogger(__name__)

LGPIO = "lgpio"


@dataclass(frozen=True)
class PinSetup:
    """The factory in use and what is known about the pins behind it."""

    factory: Any
    board: Board
    chip: GpioChip | None = None  # the header chip when the lgpio factory drives it
    problem: str | None = None  # why the pins are simulated on a Raspberry Pi

    @property
    def simulated(self) -> bool:
        return isinstance(self.factory, MockFactory)


def header_factory(chip: GpioChip, revision: int) -> Any:
    """gpiozero's lgpio factory on `chip`, told the board revision instead of looking for it.

    The kernel's own label of the opened chip (lgpio's chip info) must be the one looked for.
    """
    import lgpio  # exists only on the device
    from gpiozero.pins.lgpio import LGPIOFactory

    class HeaderLGPIOFactory(LGPIOFactory):
        def __init__(self) -> None:
            self._known_revision = revision
            super().__init__(chip=chip.number)

        def _get_revision(self) -> int:
            return self._known_revision

    factory = HeaderLGPIOFactory()
    label = lgpio.gpio_get_chip_info(factory._handle)[3]
    if label != chip.label:
        factory.close()
        raise BadPinFactory(f"{chip.path} is labelled {label!r}, not {chip.label!r}")
    return factory


def lgpio_chips(dev: Path = Path("/dev")) -> list[GpioChip]:
    """Every /dev/gpiochipN with the label the kernel gives lgpio: for a kernel without GPIO sysfs."""
    try:
        import lgpio
    except ImportError:
        return []
    chips = []
    for path in sorted(dev.glob("gpiochip*")):
        number = path.name.removeprefix("gpiochip")
        if not number.isdigit():
            continue
        try:
            handle = lgpio.gpiochip_open(int(number))
        except lgpio.error:
            continue
        try:
            chips.append(GpioChip(int(number), lgpio.gpio_get_chip_info(handle)[3]))
        finally:
            lgpio.gpiochip_close(handle)
    return chips


def _named_factory(name: str) -> Any:
    """The pin factory GPIOZERO_PIN_FACTORY names (gpiozero's entry points: lgpio, rpigpio, native...)."""
    matches = [ep for ep in entry_points(group="gpiozero_pin_factories") if ep.name in (name, name.lower())]
    if not matches:
        raise BadPinFactory(f"GPIOZERO_PIN_FACTORY={name} is not a gpiozero pin factory")
    return matches[0].load()()


def _pi_factory(board: Board, root: Path, make_header: Callable[[GpioChip, int], Any]) -> tuple[Any, GpioChip]:
    chip = header_chip(root) or (header_of(lgpio_chips()) if root == SYSTEM_ROOT else None)
    if chip is None:
        raise BadPinFactory(f"no gpiochip labelled {' or '.join(HEADER_LABELS)} (the GPIO header)")
    if board.revision is None:
        raise BadPinFactory(f"no board revision for the model {board.model!r}")
    return make_header(chip, board.revision), chip


def choose_pin_factory(
    settings: Settings,
    *,
    root: Path = SYSTEM_ROOT,
    make_header: Callable[[GpioChip, int], Any] = header_factory,
) -> PinSetup:
    """The pin factory for this machine; on a Pi, every path to MockFactory records its reason."""
    name = (settings.gpiozero_pin_factory or "").strip()
    board = detect_board(root)
    on_pi = board.is_raspberry_pi
    if name.lower() == "mock":
        problem = stored_text.PINS_MOCK_ON_PI if on_pi else None
        return PinSetup(MockFactory(), board, problem=problem)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gpiozero warns for each factory it falls back from
            if on_pi and name.lower() in ("", LGPIO):
                factory, chip = _pi_factory(board, root, make_header)
                return PinSetup(factory, board, chip=chip)
            if name:
                return PinSetup(_named_factory(name), board)
            return PinSetup(Device._default_pin_factory(), board)
    except Exception as exc:  # each factory fails in its own way off a Pi
        if on_pi:
            problem = str(Sentence(stored_text.PINS_SIMULATED, model=board.model, problem=str(exc)))
            logger.error("%s", problem)
            return PinSetup(MockFactory(), board, problem=problem)
        logger.warning("No GPIO on this machine (%s); LED and buzzer are simulated", exc)
        return PinSetup(MockFactory(), board)


def describe_line(setup: PinSetup, bcm_pin: int) -> dict[str, Any]:
    """Whether `bcm_pin` is a real GPIO line: its chip, line offset and what the kernel says of it."""
    if setup.simulated:
        return {"real": False}
    if setup.chip is None:  # a factory other than ours (GPIOZERO_PIN_FACTORY=rpigpio...): real, line unknown
        return {"real": True, "factory": type(setup.factory).__name__}
    line: dict[str, Any] = {"real": True, "chip": setup.chip.path, "chip_label": setup.chip.label, "line": bcm_pin}
    try:
        import lgpio

        _, offset, flags, _name, user = lgpio.gpio_get_line_info(setup.factory._handle, bcm_pin)
        # bit 0: the kernel has the line requested; bit 1: as an output (lgpio's mode bits)
        line.update(requested=bool(flags & 1), output=bool(flags & 2), consumer=user or None, line=offset)
    except Exception as exc:  # the report still says which line it is
        line["line_info_error"] = str(exc)
    return line
