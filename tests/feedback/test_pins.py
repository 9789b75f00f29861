"""Real pins on a Raspberry Pi, simulated ones elsewhere, and a loud fault when a Pi gets simulated ones.

The board and its gpiochips come from a faked /proc and /sys; where hardware would answer,
gpiozero's MockFactory does.
"""

from __future__ import annotations

from pathlib import Path

from gpiozero.pins.mock import MockFactory

from appliance.config import load_settings
from appliance.feedback import GpioFeedback
from appliance.feedback.pins import choose_pin_factory
from appliance.hardware.board import GpioChip
from appliance.scanner.heartbeat import ScannerState, ScannerStatus, read_scanner_status, write_scanner_status
from appliance.services.health import check_feedback
from tests.hardware.test_board import fake_pi

PI3 = "Raspberry Pi 3 Model B Rev 1.2"
PI3_CHIPS = {0: "raspberrypi-exp-gpio", 1: "pinctrl-bcm2835"}


def device_settings():
    """The device's settings: no GPIOZERO_PIN_FACTORY (the test session sets it to mock)."""
    return load_settings(GPIOZERO_PIN_FACTORY="")


class HeaderFactories:
    """Stands in for gpiozero's lgpio factory (lgpio needs /dev/gpiochipN): notes what it was asked for."""

    def __init__(self, error: Exception | None = None) -> None:
        self.asked: list[tuple[GpioChip, int]] = []
        self.error = error
        self.made = MockFactory()

    def __call__(self, chip: GpioChip, revision: int) -> MockFactory:
        self.asked.append((chip, revision))
        if self.error:
            raise self.error
        return self.made


def test_on_a_pi_the_header_chip_is_driven_with_the_revision_from_the_model(tmp_path: Path) -> None:
    header = HeaderFactories()
    setup = choose_pin_factory(device_settings(), root=fake_pi(tmp_path, PI3, PI3_CHIPS), make_header=header)
    assert header.asked == [(GpioChip(1, "pinctrl-bcm2835"), 0xA02082)]
    assert setup.factory is header.made and setup.chip == GpioChip(1, "pinctrl-bcm2835")
    assert setup.problem is None


def test_a_pi_without_its_header_chip_gets_simulated_pins_and_says_why(tmp_path: Path) -> None:
    root = fake_pi(tmp_path, PI3, {0: "raspberrypi-exp-gpio"})
    setup = choose_pin_factory(device_settings(), root=root, make_header=HeaderFactories())
    assert setup.simulated
    assert "simulated" in setup.problem and "Raspberry Pi 3 Model B" in setup.problem
    assert "pinctrl-bcm2835" in setup.problem  # what it looked for


def test_a_pi_whose_gpio_library_fails_gets_simulated_pins_and_says_why(tmp_path: Path) -> None:
    header = HeaderFactories(error=ModuleNotFoundError("No module named 'lgpio'"))
    setup = choose_pin_factory(device_settings(), root=fake_pi(tmp_path, PI3, PI3_CHIPS), make_header=header)
    assert setup.simulated and "No module named 'lgpio'" in setup.problem


def test_mock_pins_asked_for_on_a_pi_are_still_a_fault(tmp_path: Path) -> None:
    settings = load_settings(GPIOZERO_PIN_FACTORY="mock")
    setup = choose_pin_factory(settings, root=fake_pi(tmp_path, PI3, PI3_CHIPS), make_header=HeaderFactories())
    assert setup.simulated and "GPIOZERO_PIN_FACTORY=mock" in setup.problem


def test_off_a_pi_simulated_pins_are_no_fault(tmp_path: Path) -> None:
    header = HeaderFactories()
    for model in (None, "linux,dummy-virt"):
        root = fake_pi(tmp_path / str(model), model, {0: "pinctrl-bcm2835"})
        setup = choose_pin_factory(load_settings(GPIOZERO_PIN_FACTORY="mock"), root=root, make_header=header)
        assert setup.simulated and setup.problem is None
    assert header.asked == []  # the Pi's path is never taken off a Pi


def test_simulated_pins_on_a_pi_put_feedback_down_in_health(tmp_path: Path) -> None:
    """The scanner's heartbeat carries the fault from the process that holds the pins to health."""
    root = fake_pi(tmp_path / "root", PI3, {0: "raspberrypi-exp-gpio"})
    settings = load_settings(KERYU_DATA_DIR=str(tmp_path / "data"), GPIOZERO_PIN_FACTORY="")
    setup = choose_pin_factory(settings, root=root, make_header=HeaderFactories())
    feedback = GpioFeedback(17, 27, 22, pin_factory=setup.factory, setup=setup)
    try:
        status = ScannerStatus(
            state=ScannerState.STREAMING,
            detail="",
            camera="fake",
            decoder="zxing",
            frames=1,
            frames_decoded=0,
            last_frame_at=None,
            feedback="simulated" if feedback.simulated else "gpio",
            feedback_problem=feedback.problem,
        )
        write_scanner_status(settings, status)
        component = check_feedback(read_scanner_status(settings))
    finally:
        feedback.close()
    assert component["status"] == "down" and component["error"] == setup.problem
    assert [feedback.line(pin) for pin in (17, 27, 22)] == [{"real": False}] * 3


def test_real_pins_and_simulated_ones_off_a_pi_are_ok_in_health() -> None:
    base = {"status": "ok", "state": "streaming"}
    assert check_feedback({**base, "feedback": "gpio"}) == {"status": "ok", "pins": "gpio"}
    assert check_feedback({**base, "feedback": "simulated"})["status"] == "ok"
    stopped = check_feedback({"status": "down", "error": "no heartbeat"})
    assert stopped["status"] == "down" and "scanner is not running" in stopped["error"]
