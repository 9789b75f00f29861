"""The admin page speaks the kiosk's language (Mexican Spanish by default) or the one the browser asks for."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Admin, make_alarms

pytestmark = pytest.mark.asyncio

MEXICO = {"KERYU_TIMEZONE": "America/Mexico_City"}


def lang_of(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found, page[:200]
    return found.group(1)


async def test_a_new_kiosk_greets_its_owner_in_spanish(client):
    response = await client.get("/setup")
    page = await response.text()
    assert lang_of(page) == "es" and response.headers["Content-Language"] == "es"
    assert "Le damos la bienvenida a su kiosco Keryu" in page
    assert "Código de configuración" in page and "Fijar contraseña" in page
    assert "Welcome" not in page


async def test_a_browser_that_asks_for_english_gets_english(client):
    response = await client.get("/setup", headers={"Accept-Language": "en-US,en;q=0.9"})
    page = await response.text()
    assert lang_of(page) == "en" and response.headers["Content-Language"] == "en"
    assert "Welcome to your Keryu kiosk" in page and "Set password" in page
    assert "Accept-Language" in response.headers.getall("Vary", [])


@pytest.mark.parametrize(
    ("settings", "header", "language"),
    [
        ({"KERYU_LANGUAGE": "en"}, None, "en"),
        ({"KERYU_LANGUAGE": "en"}, "fr-FR,de;q=0.8", "en"),  # nothing we speak: the kiosk's language
        ({"KERYU_LANGUAGE": "en"}, "es-MX", "es"),
        ({}, "fr-FR,de;q=0.8", "es"),
    ],
    indirect=["settings"],
)
async def test_the_kiosk_language_is_the_fallback(client, header, language):
    headers = {"Accept-Language": header} if header else {}
    page = await (await client.get("/setup", headers=headers)).text()
    assert lang_of(page) == language
    assert {"es": "Fijar contraseña", "en": "Set password"}[language] in page


async def test_flash_messages_and_form_errors_are_in_the_page_language(admin: Admin):
    await admin.page("/subjects/new")
    added = await admin.submit(
        "/subjects",
        {"name": "Ana López", "custodian_name": "María", "phone": "55 1234 5678"},
        form_page="/subjects/new",
    )
    assert added.status == 303
    assert "Se agregó a Ana López con una tarjeta nueva." in await admin.page(added.headers["Location"])

    await admin.page("/settings")
    wrong = await admin.client.post(
        "/settings/restore/confirm",
        data={"csrf_token": admin.token, "upload": "nothing-waiting"},
        headers={"Accept-Language": "en"},
    )
    assert wrong.status == 400
    assert "This upload is no longer waiting; upload the backup again." in await wrong.text()


async def test_an_unknown_page_says_so_in_spanish(admin: Admin):
    page = await admin.page("/no-such-page", status=404)
    assert "No encontrado" in page and "Esta página no existe en este kiosco." in page


@pytest.mark.parametrize("settings", [MEXICO], indirect=True)
async def test_times_on_pages_are_written_the_local_way(fake_clock, kiosk, admin: Admin):
    """The fake clock's 17:59 UTC is 11:59 a.m. in Mexico City."""
    [alarm_id] = make_alarms(kiosk, 1)
    spanish = " ".join((await admin.page(f"/alarms/{alarm_id}")).split())
    assert "25 nov 2026, 11:59:00 a.m. en Test gate" in spanish
    response = await admin.client.get(f"/alarms/{alarm_id}", headers={"Accept-Language": "en"})
    english = " ".join((await response.text()).split())
    assert "Nov 25, 2026, 11:59:00 AM at Test gate" in english


@pytest.mark.parametrize("settings", [MEXICO], indirect=True)
async def test_the_settings_page_names_the_language_and_zone(admin: Admin):
    page = await admin.page("/settings")
    assert "<dt>Idioma</dt><dd>español (México)" in page
    assert re.search(r"Zona horaria</dt><dd>America/Mexico_City", page)
