"""Which board the kiosk is on and where its GPIO header is, read from a faked /proc and /sys."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from gpiozero.pins.pi import PiBoardInfo

from appliance.hardware.board import _MODEL_REVISIONS, GpioChip, detect_board, gpiochip_labels, header_chip


def fake_pi(
    root: Path,
    model: str | None,
    chips: dict[int, str] | None = None,
    *,
    firmware_revision: int | None = None,
    entry_under_parent: bool = True,
) -> Path:
    """A /proc and /sys as the kernel shows them: the device-tree model, and each gpiochipN in
    /sys/bus/gpio/devices, a link to the chip under its platform device, with its label in the
    legacy class entry gpiochipBASE (BASE is not N): beside gpiochipN under the platform device
    (the kernel's choice when the chip has a parent), or under gpiochipN itself."""
    (root / "proc/device-tree/system").mkdir(parents=True, exist_ok=True)
    if model is not None:
        (root / "proc/device-tree/model").write_bytes(model.encode() + b"\0")
    if firmware_revision is not None:
        (root / "proc/device-tree/system/linux,revision").write_bytes(struct.pack(">L", firmware_revision))
    # Debian's arm64 kernel: no Revision line in /proc/cpuinfo
    (root / "proc/cpuinfo").write_text("processor\t: 0\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd\n")
    bus = root / "sys/bus/gpio/devices"
    bus.mkdir(parents=True, exist_ok=True)
    for number, label in (chips or {}).items():
        platform = root / f"sys/devices/platform/soc/{0x3F200000 + number:x}.gpio"
        chip = platform / f"gpiochip{number}"
        chip.mkdir(parents=True)
        entry = (platform if entry_under_parent else chip) / f"gpio/gpiochip{512 + 54 * number}"
        entry.mkdir(parents=True)
        (entry / "label").write_text(label + "\n")
        (bus / f"gpiochip{number}").symlink_to(chip)
    return root


def test_a_pi_3_on_debians_kernel_is_known_by_its_device_tree_model(tmp_path: Path) -> None:
    board = detect_board(fake_pi(tmp_path, "Raspberry Pi 3 Model B Rev 1.2"))
    assert board.is_raspberry_pi and board.revision_source == "model"
    info = PiBoardInfo.from_revision(board.revision)
    assert info.model == "3B" and info.to_gpio("BCM17") == "GPIO17"


def test_the_firmwares_revision_wins_when_it_gives_one(tmp_path: Path) -> None:
    board = detect_board(fake_pi(tmp_path, "Raspberry Pi 4 Model B Rev 1.4", firmware_revision=0xC03114))
    assert (board.revision, board.revision_source) == (0xC03114, "firmware")


def test_a_machine_without_a_pi_device_tree_is_not_a_pi(tmp_path: Path) -> None:
    assert not detect_board(fake_pi(tmp_path / "pc", None)).is_raspberry_pi
    virt = detect_board(fake_pi(tmp_path / "virt", "linux,dummy-virt"))
    assert not virt.is_raspberry_pi and virt.revision is None


# gpiozero's name for each model; the CM5 and the 500 are known to it as the 5B (the same header)
GPIOZERO_MODELS = {
    "Raspberry Pi Compute Module 3 Plus": "CM3+",
    "Raspberry Pi Compute Module 3": "CM3",
    "Raspberry Pi Compute Module 4": "CM4",
    "Raspberry Pi Compute Module 5": "5B",
    "Raspberry Pi 3 Model B Plus": "3B+",
    "Raspberry Pi 3 Model A Plus": "3A+",
    "Raspberry Pi 3 Model B": "3B",
    "Raspberry Pi 4 Model B": "4B",
    "Raspberry Pi 400": "400",
    "Raspberry Pi 500": "5B",
    "Raspberry Pi 5 Model B": "5B",
    "Raspberry Pi 2 Model B": "2B",
    "Raspberry Pi Zero 2 W": "Zero2W",
    "Raspberry Pi Zero W": "Zero W",
    "Raspberry Pi Zero": "Zero",
}


@pytest.mark.parametrize(("prefix", "revision"), _MODEL_REVISIONS)
def test_every_known_model_gives_gpiozero_a_board_with_the_kiosk_pins(prefix: str, revision: int) -> None:
    info = PiBoardInfo.from_revision(revision)
    assert info.model == GPIOZERO_MODELS[prefix]
    for pin in (17, 27, 22):  # on the 40-pin header (J8, or the CM's GPIO bank), as BCM numbers
        assert info.to_gpio(f"BCM{pin}") == f"GPIO{pin}"


@pytest.mark.parametrize(
    ("board", "chips", "header"),
    [
        # Pi 3 / Zero 2 W: the SoC block, and the firmware's expander (LEDs, never the header)
        ("Raspberry Pi 3 Model B Rev 1.2", {0: "raspberrypi-exp-gpio", 1: "pinctrl-bcm2835"}, 1),
        ("Raspberry Pi 4 Model B Rev 1.4", {0: "pinctrl-bcm2711", 1: "raspberrypi-exp-gpio"}, 0),
        # Pi 5 on kernels that number the RP1 chip 4, after the SoC's own chips
        (
            "Raspberry Pi 5 Model B Rev 1.0",
            {
                0: "gpio-brcmstb@107d508500",
                1: "gpio-brcmstb@107d508500",
                2: "gpio-brcmstb@107d517c00",
                4: "pinctrl-rp1",
            },
            4,
        ),
    ],
)
def test_the_header_chip_is_found_by_its_label_not_its_number(tmp_path: Path, board: str, chips, header: int) -> None:
    chip = header_chip(fake_pi(tmp_path, board, chips))
    assert chip is not None and chip.number == header and chip.path == f"/dev/gpiochip{header}"


def test_the_label_is_also_found_under_the_chip_itself(tmp_path: Path) -> None:
    root = fake_pi(tmp_path, "Raspberry Pi 3 Model B Rev 1.2", {0: "pinctrl-bcm2835"}, entry_under_parent=False)
    assert header_chip(root) == GpioChip(0, "pinctrl-bcm2835")


def test_no_header_chip_when_only_other_chips_are_there(tmp_path: Path) -> None:
    root = fake_pi(tmp_path, "Raspberry Pi 3 Model B Rev 1.2", {0: "raspberrypi-exp-gpio"})
    assert [chip.label for chip in gpiochip_labels(root)] == ["raspberrypi-exp-gpio"]
    assert header_chip(root) is None
