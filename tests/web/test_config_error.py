"""A wrong setting never hides the admin page: `keryu web` runs on the setting's default and
names the error on every page and in /api/health, without repeating a secret's value."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from appliance.config import Settings, load_settings_despite_errors
from tests.conftest import DEAD_REDIS
from tests.web.conftest import API_TOKEN, Admin

pytestmark = [pytest.mark.asyncio, pytest.mark.page_language("en")]  # read in an English browser

SHORT_TOKEN = "not-long-enough-secret"  # KERYU_API_TOKEN needs 32 characters


@pytest.fixture(params=[{"KERYU_SCAN_COOLDOWN": "half a minute"}])
def settings(request: pytest.FixtureRequest, data_dir: Path, database_url: str) -> Settings:
    """The kiosk's settings with one wrong value, loaded as `keryu web` loads them."""
    values = {
        "KERYU_DATA_DIR": str(data_dir),
        "KERYU_DATABASE_URL": database_url,
        "KERYU_CAMERA": "none",
        "REDIS_URL": DEAD_REDIS,
    }
    return load_settings_despite_errors(**{**values, **request.param})


async def test_every_page_names_the_wrong_setting(kiosk, client, admin: Admin):
    assert kiosk.settings.scan_cooldown == 30  # the default stands in for the unusable value
    for path in ("/", "/subjects", "/settings", "/health"):
        text = await admin.page(path)
        assert "Configuration error" in text and "KERYU_SCAN_COOLDOWN" in text, path
        assert "half a minute" in text  # not a secret: the owner sees what they typed


@pytest.mark.page_language("es")
async def test_a_mexican_admin_reads_the_wrong_setting_and_the_health_details_in_spanish(admin: Admin):
    text = html.unescape(await admin.page("/health"))
    assert "Error de configuración" in text
    assert "KERYU_SCAN_COOLDOWN debe ser un número (se recibió 'half a minute')." in text
    assert "el escáner no se ha ejecutado (no hay archivo de latido)" in text  # a health detail, translated
    assert "must be a number" not in text


async def test_the_login_page_of_a_new_card_names_it_too(client):
    response = await client.get("/login")
    assert "KERYU_SCAN_COOLDOWN" in await response.text()


async def test_health_has_the_config_component_down_with_the_variable(client):
    response = await client.get("/api/health", headers={"Authorization": f"Bearer {API_TOKEN}"})
    report = await response.json()
    assert report["status"] == "down"
    config = report["components"]["config"]
    assert config["status"] == "down" and config["error"].startswith("KERYU_SCAN_COOLDOWN ")
    # strangers learn only that something is down
    anonymous = await (await client.get("/api/health")).json()
    assert anonymous["components"]["config"] == {"status": "down"}


@pytest.mark.parametrize("settings", [{"KERYU_API_TOKEN": SHORT_TOKEN}], indirect=True)
async def test_a_wrong_secret_is_named_but_its_value_is_never_shown(kiosk, client, admin: Admin):
    assert kiosk.settings.api_token is None  # the short token opens nothing
    text = await admin.page("/health")
    assert "KERYU_API_TOKEN must be at least 32 characters" in text
    assert SHORT_TOKEN not in text
    assert SHORT_TOKEN not in (await (await client.get("/login")).text())


@pytest.mark.parametrize("settings", [{"REDIS_URL": "http://:redis-password@127.0.0.1:6379"}], indirect=True)
async def test_a_url_with_a_password_in_it_is_not_repeated(kiosk, client, admin: Admin):
    text = await admin.page("/health")
    assert "REDIS_URL must be a redis:// URL" in text and "redis-password" not in text


@pytest.mark.parametrize("settings", [{}], indirect=True)
async def test_a_valid_configuration_shows_no_banner(kiosk, client, admin: Admin):
    assert kiosk.settings.config_problem is None
    assert "Configuration error" not in await admin.page("/health")
    report = await (await client.get("/api/health", headers={"Authorization": f"Bearer {API_TOKEN}"})).json()
    assert report["components"]["config"] == {"status": "ok"}
