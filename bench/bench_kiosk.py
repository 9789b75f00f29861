"""The kiosk a delivery benchmark drives: its environment, a migrated database and one subject's card."""

from __future__ import annotations

from pathlib import Path

from appliance.config import load_settings
from appliance.services.kiosk import Kiosk
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.migrate import upgrade
from tests.conftest import free_port
from tests.standins.providers import ProviderStandIn


def bench_kiosk(workdir: Path, redis_url: str, standin: ProviderStandIn) -> tuple[dict[str, str], Kiosk, str]:
    """(the worker's environment, an in-process kiosk on the same database, the card uuid to scan)."""
    env = {
        "KERYU_DATA_DIR": str(workdir / "data"),
        "KERYU_CAMERA": "none",
        "KERYU_WEB_PORT": str(free_port()),
        "REDIS_URL": redis_url,
        **standin.env(),
    }
    kiosk = Kiosk.from_settings(load_settings(_env_file=None, **env))
    upgrade(kiosk.store)
    card = add_subject(kiosk, SubjectInput("Bench Subject", "+525512345678"))
    return env, kiosk, card.uuid
