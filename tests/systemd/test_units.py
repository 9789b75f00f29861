"""The systemd units: valid for systemd, shaped as the appliance needs, and as hardened as
docs/security.md says (the scores there are re-measured here, so the document cannot drift)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import SERVICE_ENVIRONMENT

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "systemd"
SECURITY_DOC = REPO / "docs" / "security.md"
BOOT_CONFIG = REPO / "image/files/rootfs/usr/local/lib/keryu/boot-config"
RUNTIMES = ("web", "scanner", "worker", "beat")
ALL_UNITS = sorted(p.name for p in UNITS.iterdir() if p.suffix in {".service", ".target", ".path"})
# The issues' ceilings: at most 2.0 for worker, beat and web; the scanner as low as its camera
# and GPIO devices allow; at most 4.0 for the root oneshots of the first boot.
EXPOSURE_CEILING = {
    "keryu-web.service": 2.0,
    "keryu-worker.service": 2.0,
    "keryu-beat.service": 2.0,
    "keryu-scanner.service": 2.0,
    "keryu-init.service": 1.0,
    "keryu-boot-config.service": 4.0,
    "keryu-growfs.service": 4.0,
    "keryu-setup-code.service": 4.0,
    "keryu-power@.service": 1.0,
    "keryu-update.service": 4.0,
    "keryu-update-resume.service": 4.0,
    "keryu-reboot-window.service": 4.0,
    "keryu-config-led.service": 1.0,
}
# Started by their .path or .timer unit, not by keryu.target.
# Started by their own path unit or timer, which the image enables on their own (not by keryu.target):
# an update must be possible while the kiosk's services are stopped.
TRIGGERED = (
    "keryu-update.service",
    "keryu-update.path",
    "keryu-reboot-window.service",
    "keryu-reboot-window.timer",
)
ROOT_ONESHOTS = ("keryu-boot-config.service", "keryu-growfs.service", "keryu-setup-code.service")


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    assert path, "systemd-analyze is missing: apt-get install -y systemd"
    return path


def parse_unit(name: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file (all sections), values in order, comments dropped."""
    values: dict[str, list[str]] = defaultdict(list)
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            values[key.strip()].append(value.strip())
    return values


def words(unit: dict[str, list[str]], key: str) -> list[str]:
    return " ".join(unit.get(key, [])).split()


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with the host's systemd units, ours in /etc, and the programs our units run."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for name in ALL_UNITS:
        shutil.copy(UNITS / name, root / "etc/systemd/system" / name)
    # verify checks that ExecStart's program exists and is executable in this root
    for program in (
        "opt/keryu/venv/bin/keryu",
        "usr/local/lib/keryu/boot-config",
        "usr/local/lib/keryu/update-resume",
        "usr/local/bin/keryu",
        "usr/bin/rm",
        "usr/bin/sh",
    ):
        (root / program).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BOOT_CONFIG, root / program)
        (root / program).chmod(0o755)
    return root


@pytest.mark.parametrize("name", ALL_UNITS)
def test_systemd_analyze_verify_finds_nothing(fake_root: Path, name: str) -> None:
    result = subprocess.run(
        [systemd_analyze(), "verify", f"--root={fake_root}", name], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # unknown keys and bad values are only warnings: none allowed


def measured_exposure(name: str) -> float:
    result = subprocess.run(
        [systemd_analyze(), "security", "--offline=true", str(UNITS / name)], capture_output=True, text=True, timeout=60
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def documented_exposure() -> dict[str, float]:
    rows = re.findall(r"^\|\s*`?(keryu[\w.@-]+)`?\s*\|\s*(\d+\.\d)\s*\|", SECURITY_DOC.read_text(), re.MULTILINE)
    return {unit: float(score) for unit, score in rows}


@pytest.mark.parametrize("name", [n for n in ALL_UNITS if n.endswith(".service")])
def test_exposure_score_is_the_documented_one_and_under_its_ceiling(name: str) -> None:
    score = measured_exposure(name)
    assert documented_exposure().get(name) == score, f"docs/security.md must list {name} with {score}"
    assert score <= EXPOSURE_CEILING[name]


@pytest.mark.parametrize("name", ROOT_ONESHOTS)
def test_root_oneshots_keep_only_the_capabilities_and_paths_their_job_needs(name: str) -> None:
    unit = parse_unit(name)
    needed = {
        "keryu-boot-config.service": {"CAP_CHOWN"},  # keryu.env to the keryu group
        "keryu-growfs.service": {"CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"},  # BLKPG; online ext4 resize
        "keryu-setup-code.service": {"CAP_SETUID", "CAP_SETGID"},  # `keryu setup-code` as keryu
    }[name]
    assert set(words(unit, "CapabilityBoundingSet")) == needed
    # growfs: `full` keeps the mount of / writable, as the kernel's online ext4 resize needs
    assert unit["ProtectSystem"] == ["full" if name == "keryu-growfs.service" else "strict"]
    assert unit["NoNewPrivileges"] == ["yes"]
    assert unit["PrivateNetwork"] == ["yes"] and unit["DevicePolicy"] == ["closed"]
    writable = set(words(unit, "ReadWritePaths")) | {f"/var/lib/{d}" for d in words(unit, "StateDirectory")}
    assert (
        writable
        == {
            "keryu-boot-config.service": {"/etc", "/boot/firmware", "/root/.ssh"},
            "keryu-growfs.service": {"/var/lib/keryu-boot"},
            "keryu-setup-code.service": {"/boot/firmware", "/var/lib/keryu"},
        }[name]
    )
    if name == "keryu-growfs.service":  # the card, and no other device
        assert unit["DeviceAllow"] == ["block-* rw"] and "PrivateDevices" not in unit
    else:
        assert unit["PrivateDevices"] == ["yes"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_units_run_the_app_unprivileged_after_redis(runtime: str) -> None:
    unit = parse_unit(f"keryu-{runtime}.service")
    assert unit["ExecStart"] == [f"/opt/keryu/venv/bin/keryu {runtime}"]
    assert unit["User"] == ["keryu"] and unit["Group"] == ["keryu"]
    assert unit["EnvironmentFile"] == ["/etc/keryu/keryu.env"]
    assert unit["StateDirectory"] == ["keryu"]
    assert "redis-server.service" in words(unit, "After") and "redis-server.service" in words(unit, "Wants")
    # the web only wants keryu-init: a wrong setting holds init back, never the admin page
    dependency = "Wants" if runtime == "web" else "Requires"
    assert {"keryu-init.service"} <= set(words(unit, dependency)) & set(words(unit, "After"))
    assert unit["Restart"] == ["on-failure"]
    assert int(unit["StartLimitBurst"][0]) >= 3 and int(unit["StartLimitIntervalSec"][0]) >= 60
    assert unit["PartOf"] == ["keryu.target"]
    for setting in ("ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes"):
        key, value = setting.split("=")
        assert unit[key] == [value], setting
    assert "@system-service" in unit["SystemCallFilter"]
    assert unit["RestrictAddressFamilies"], "every runtime limits its socket families"


@pytest.mark.parametrize(
    ("runtime", "watchdog"), [("web", True), ("scanner", True), ("worker", False), ("beat", False)]
)
def test_web_and_scanner_are_watched(runtime: str, watchdog: bool) -> None:
    unit = parse_unit(f"keryu-{runtime}.service")
    assert (unit["Type"] == ["notify"]) is watchdog
    assert bool(unit.get("WatchdogSec")) is watchdog


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_only_the_web_binds_a_low_port_and_only_the_scanner_reaches_devices(runtime: str) -> None:
    unit = parse_unit(f"keryu-{runtime}.service")
    if runtime == "web":
        assert unit["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
        assert unit["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    else:
        assert unit["CapabilityBoundingSet"] == [""] and unit["AmbientCapabilities"] == [""]
    if runtime == "scanner":
        assert words(unit, "SupplementaryGroups") == ["video", "gpio"]
        assert unit["DevicePolicy"] == ["closed"]
        allowed = {value.split()[0] for value in unit["DeviceAllow"]}
        assert {"char-video4linux", "char-gpiochip"} <= allowed
    else:
        # the web reads the journal for the Tools page's log download; no device group anywhere
        assert words(unit, "SupplementaryGroups") == (["systemd-journal"] if runtime == "web" else [])
        assert unit["PrivateDevices"] == ["yes"]


KIOSK_RUNTIMES = ("web", "scanner", "worker")  # the worker runs the scheduler: no beat unit on a kiosk

# At boot only: an update starts keryu.target itself, and must not run the undo of a cut update then.
BOOT_ONLY = ("keryu-update-resume.service",)


def test_the_target_starts_the_whole_kiosk() -> None:
    target = parse_unit("keryu.target")
    wanted = set(words(target, "Wants"))
    assert {f"keryu-{r}.service" for r in KIOSK_RUNTIMES} | {"redis-server.service", "keryu-init.service"} <= wanted
    assert target["WantedBy"] == ["multi-user.target"]
    for name in ALL_UNITS:
        if name in BOOT_ONLY:
            assert parse_unit(name)["WantedBy"] == ["multi-user.target"], name
        elif name != "keryu.target" and "@." not in name and name not in TRIGGERED:  # started by path units/timers
            assert parse_unit(name)["WantedBy"] == ["keryu.target"], name


def test_the_setup_code_is_published_after_the_database_exists() -> None:
    unit = parse_unit("keryu-setup-code.service")
    assert unit["ExecStart"] == ["/usr/local/lib/keryu/boot-config publish-setup-code"]
    assert "keryu-init.service" in set(words(unit, "Requires")) & set(words(unit, "After"))
    assert "keryu-setup-code.service" in words(parse_unit("keryu.target"), "Wants")


def test_first_boot_runs_before_the_database_is_opened() -> None:
    init = parse_unit("keryu-init.service")
    assert {"keryu-boot-config.service", "keryu-growfs.service"} <= set(words(init, "After"))
    assert parse_unit("keryu-growfs.service")["ConditionPathExists"] == ["!/var/lib/keryu-boot/root-grown"]
    assert init["ExecStart"] == ["/opt/keryu/venv/bin/keryu init"] and init["User"] == ["keryu"]


# keryu-reboot-window.service runs from a timer every 15 minutes: with a wrong setting it would
# fail each time (the 512 MiB boot test met it once).
HELD_BACK = (
    "keryu-init.service",
    "keryu-scanner.service",
    "keryu-worker.service",
    "keryu-beat.service",
    "keryu-reboot-window.service",
)


@pytest.mark.parametrize("name", HELD_BACK)
def test_a_wrong_setting_skips_every_service_but_the_web(name: str) -> None:
    """`keryu check-config` exits 1 on a wrong setting: ExecCondition= then skips the unit without failing it."""
    assert parse_unit(name)["ExecCondition"] == ["/opt/keryu/venv/bin/keryu check-config"]
    assert "ExecCondition" not in parse_unit("keryu-web.service")
    assert "keryu-init.service" not in words(parse_unit("keryu-web.service"), "Requires")


def test_the_red_led_shows_a_wrong_setting_while_the_scanner_is_held_back() -> None:
    unit = parse_unit("keryu-config-led.service")
    assert unit["ExecStart"] == ["/opt/keryu/venv/bin/keryu config-led"] and unit["User"] == ["keryu"]
    assert words(unit, "SupplementaryGroups") == ["gpio"] and unit["DeviceAllow"] == ["char-gpiochip rw"]
    assert "keryu-config-led.service" in words(parse_unit("keryu.target"), "Wants")
    assert "ExecCondition" not in unit  # it runs exactly when the others are skipped, and decides itself


def test_the_web_unit_has_descriptors_for_every_connection_it_admits() -> None:
    from appliance.web.connections import ConnectionLimits

    [limit] = parse_unit("keryu-web.service")["LimitNOFILE"]
    assert int(limit) >= 2 * ConnectionLimits().total  # connections, plus the database, Redis and logs


def test_a_kiosk_runs_no_beat_unit_and_a_fleet_can_enable_one() -> None:
    assert "keryu-beat.service" not in words(parse_unit("keryu.target"), "Wants")
    assert "keryu-beat.service" not in (REPO / "image/steps/30-appliance.sh").read_text()  # not enabled
    assert parse_unit("keryu-worker.service")["ExecStart"] == ["/opt/keryu/venv/bin/keryu worker"]  # beat inside
    assert parse_unit("keryu-beat.service")["PartOf"] == ["keryu.target"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_each_runtime_has_its_own_memory_ceiling_two_malloc_arenas_and_no_docstrings(runtime: str) -> None:
    unit = parse_unit(f"keryu-{runtime}.service")
    assert {f"{name}={value}" for name, value in SERVICE_ENVIRONMENT.items()} <= set(words(unit, "Environment"))
    high, ceiling = (_megabytes(unit[key]) for key in ("MemoryHigh", "MemoryMax"))
    assert 0 < high < ceiling <= 256  # one leak is stopped well before it takes a 512 MB Pi


def test_the_runtimes_memory_ceilings_fit_a_512_mb_pi_together() -> None:
    kiosk = ("web", "scanner", "worker")  # the beat runs inside the worker on a kiosk
    ceilings = {runtime: _megabytes(parse_unit(f"keryu-{runtime}.service")["MemoryMax"]) for runtime in kiosk}
    assert sum(ceilings.values()) <= 512, ceilings  # a Pi Zero 2 W; the rest is compressed swap and the system


def _megabytes(values: list[str]) -> int:
    [value] = values
    assert value.endswith("M"), value
    return int(value[:-1])


def test_the_data_folder_has_the_mode_keryu_init_gives_it_everywhere() -> None:
    """`keryu init` keeps the data folder its owner's alone; a unit or tmpfiles line asking for
    another mode would flip it at each boot (tmpfiles) or warn at each start (systemd)."""
    from appliance.services.database import PRIVATE_DIR

    expected = f"{PRIVATE_DIR:04o}"
    for name in ALL_UNITS:
        unit = parse_unit(name)
        if unit.get("StateDirectory") == ["keryu"]:
            assert unit["StateDirectoryMode"] == [expected], name
    tmpfiles = (REPO / "image/files/rootfs/usr/lib/tmpfiles.d/keryu.conf").read_text().splitlines()
    assert [line.split()[2] for line in tmpfiles if line.split()[:2] == ["d", "/var/lib/keryu"]] == [expected]
