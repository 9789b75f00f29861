"""A service's error on a page speaks the reader's language: a Mexican admin who types a bad phone
number reads why in Spanish, an English browser in English (the same sentence, translated at the
page, not in the service)."""

from __future__ import annotations

import html

import pytest

from tests.web.conftest import Admin

pytestmark = pytest.mark.asyncio


async def _bad_phone(admin: Admin) -> str:
    await admin.page("/subjects/new")
    response = await admin.submit("/subjects", {"name": "Ana", "phone": "12ab", "custodian_name": "María"})
    assert response.status == 400
    return html.unescape(await response.text())


async def test_a_spanish_admin_reads_the_bad_phone_error_in_spanish(admin: Admin) -> None:
    text = await _bad_phone(admin)
    assert "'12ab' no es un número telefónico." in text
    assert "is not a phone number" not in text


@pytest.mark.page_language("en")
async def test_an_english_admin_reads_it_in_english(admin: Admin) -> None:
    text = await _bad_phone(admin)
    assert "'12ab' is not a phone number." in text


async def test_an_unknown_alarm_is_told_in_spanish_on_the_page_and_in_the_api(admin: Admin) -> None:
    assert "No existe ninguna alarma con el id 999." in await admin.page("/alarms/999", status=404)
    response = await admin.client.get("/api/alarms/999")
    assert response.status == 404
    assert (await response.json()) == {"error": "No existe ninguna alarma con el id 999."}
