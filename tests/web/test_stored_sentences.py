"""An alarm's error is stored as English text, yet a Mexican admin reads it in Spanish on the alarm page
and an English browser in English: the kiosk recognises its own sentences in the stored text. A
provider's own words (Meta's error title) are the provider speaking and are shown as they are. The
same holds for the updater's status file on the settings page and the scanner's heartbeat file on the
health page, whose words (states, parts, details) are the reader's too."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

import pytest

from appliance import stored_text
from appliance.i18n import Sentence
from appliance.messaging.base import ProviderStatus
from appliance.scanner.camera import CameraError
from appliance.scanner.heartbeat import ScannerState, ScannerStatus, write_scanner_status
from appliance.services import delivery
from appliance.services.alarms import get_alarm
from appliance.services.escalation import escalate
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, record_scan
from appliance.services.status_updates import apply_provider_status
from appliance.services.subjects import SubjectInput, add_subject
from appliance.services.update import errors as update_errors
from appliance.services.update import status as update_status
from appliance.services.update.paths import UpdatePaths
from appliance.store.models import AlarmStatus
from appliance.web.views import settings as settings_views
from tests.web.conftest import Admin

pytestmark = pytest.mark.asyncio

SKIPPED_ES = "Canal 1: Meta WhatsApp no tiene credenciales configuradas; se omitió"
SKIPPED_EN = "Channel 1: Meta WhatsApp has no credentials configured; skipped"


@pytest.fixture
def wired(fake_clock, kiosk: Kiosk, kiosk_env: dict[str, str]) -> Kiosk:
    """The page's kiosk, wired to the provider stand-in and on fake time; `deliver` is called directly."""
    return kiosk


def _scan(kiosk: Kiosk, channel: int) -> int:
    card = add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    with kiosk.store.session() as session:
        set_channel(session, channel)
    alarm_id = record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id
    assert alarm_id is not None
    return alarm_id


def _without_meta(kiosk: Kiosk) -> int:
    """An alarm whose chosen channel, Meta, has no credentials: skipped, then sent by SMS."""
    alarm_id = _scan(kiosk, 1)
    no_meta = kiosk.with_settings(kiosk.settings.model_copy(update={"whatsapp_access_token": None}))
    assert delivery.deliver(no_meta, alarm_id).status is AlarmStatus.SENT
    return alarm_id


def _reported_undeliverable(kiosk: Kiosk, detail: str | None, code: str) -> int:
    """An alarm sent by Meta whose webhook then reports it undeliverable."""
    alarm_id = _scan(kiosk, 1)
    assert delivery.deliver(kiosk, alarm_id).status is AlarmStatus.SENT
    message_id = get_alarm(kiosk, alarm_id).whatsapp_message_id
    assert message_id
    assert apply_provider_status(kiosk, ProviderStatus(message_id, "failed", code, detail))
    return alarm_id


async def _alarm_page(admin: Admin, alarm_id: int) -> str:
    return html.unescape(await admin.page(f"/alarms/{alarm_id}"))


async def test_a_spanish_admin_reads_a_skipped_channel_in_spanish(wired: Kiosk, admin: Admin) -> None:
    alarm_id = _without_meta(wired)
    assert get_alarm(wired, alarm_id).notification_error == SKIPPED_EN  # stored as the contract's English text
    text = await _alarm_page(admin, alarm_id)
    assert text.count(SKIPPED_ES) == 2  # the alarm's error and its custodian's notification
    assert "no credentials" not in text


async def test_the_api_keeps_the_stored_english_text(wired: Kiosk, admin: Admin) -> None:
    alarm_id = _without_meta(wired)
    record = await (await admin.client.get(f"/api/alarms/{alarm_id}")).json()
    assert record["notification_error"] == SKIPPED_EN
    assert record["notifications"][0]["error"] == SKIPPED_EN


async def test_an_undeliverable_report_is_told_in_spanish(wired: Kiosk, admin: Admin) -> None:
    alarm_id = _reported_undeliverable(wired, None, "131026")
    text = await _alarm_page(admin, alarm_id)
    assert "El proveedor informó que el mensaje no se pudo entregar: falló (código 131026)" in text
    assert "reported the message undeliverable" not in text


async def test_the_providers_own_words_pass_through_inside_the_spanish_sentence(wired: Kiosk, admin: Admin) -> None:
    alarm_id = _reported_undeliverable(wired, "Message undeliverable", "131026")
    text = await _alarm_page(admin, alarm_id)
    assert "El proveedor informó que el mensaje no se pudo entregar: Message undeliverable (código 131026)" in text


@pytest.mark.page_language("en")
async def test_an_english_admin_reads_them_in_english(wired: Kiosk, admin: Admin) -> None:
    skipped = await _alarm_page(admin, _without_meta(wired))
    assert SKIPPED_EN in skipped and SKIPPED_ES not in skipped
    reported = await _alarm_page(admin, _reported_undeliverable(wired, None, "131026"))
    assert "Provider reported the message undeliverable: failed (code 131026)" in reported


def _rolled_back_update(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """The updater's status file (written by root, read by the web) says the last update was rolled back."""
    paths = UpdatePaths.under(root)
    paths.status_file.parent.mkdir(parents=True)
    reason = Sentence(update_errors.STEP_FAILED, step=stored_text.UPDATE_STEPS["backed-up"], detail="exit 1")
    update_status.record(paths.status_file, "rolled-back", "9.9.9", str(update_errors.rolled_back("9.9.9", reason)))
    monkeypatch.setattr(settings_views, "web_paths", lambda data_dir: replace(paths, spool_dir=data_dir / "spool"))


@pytest.mark.parametrize(
    "told",
    [
        pytest.param(
            "la actualización a 9.9.9 falló y se revirtió: la migración de la base de datos falló (exit 1)", id="es"
        ),
        pytest.param(
            "update to 9.9.9 failed and was rolled back: the database migration failed (exit 1)",
            id="en",
            marks=pytest.mark.page_language("en"),
        ),
    ],
)
async def test_a_rolled_back_update_is_told_in_the_readers_language_on_the_settings_page(
    admin: Admin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, told: str
) -> None:
    _rolled_back_update(monkeypatch, tmp_path)
    assert told in html.unescape(await admin.page("/settings"))


def _camera_unplugged(kiosk: Kiosk) -> None:
    """The scanner's heartbeat says what its loop says when the USB camera stops: the error's English text."""
    unplugged = CameraError(stored_text.CAMERA_USB_STOPPED, index=0)
    status = ScannerStatus(
        state=ScannerState.CAMERA_ERROR,
        detail=str(unplugged),
        camera="opencv:0",
        decoder="auto",
        frames=0,
        frames_decoded=0,
        last_frame_at=None,
        feedback="simulated",
    )
    write_scanner_status(kiosk.settings, status)


async def test_a_spanish_admin_reads_the_health_page_in_spanish(kiosk: Kiosk, admin: Admin) -> None:
    _camera_unplugged(kiosk)
    text = html.unescape(await admin.page("/health"))
    assert "la cámara USB 0 dejó de dar imágenes (¿se desconectó?)" in text
    assert ">escáner<" in text and ">con fallas<" in text and "estado: error de cámara" in text
    assert "último latido (hace segundos)" in text and "base de datos" in text
    assert "stopped giving frames" not in text and "heartbeat seconds ago" not in text


@pytest.mark.page_language("en")
async def test_an_english_admin_reads_the_health_page_in_english(kiosk: Kiosk, admin: Admin) -> None:
    _camera_unplugged(kiosk)
    text = html.unescape(await admin.page("/health"))
    assert "USB camera 0 stopped giving frames (unplugged?)" in text
    assert ">scanner<" in text and ">degraded<" in text and "state: camera error" in text


async def test_a_providers_refusal_reads_in_spanish_around_the_providers_own_words(
    wired: Kiosk, standin, admin: Admin
) -> None:
    """Meta refuses the message (code 131026): the kiosk's reading of the code is Spanish, Meta's text is Meta's."""
    standin.script("meta", [{"error": 131026}])
    alarm_id = _scan(wired, 1)
    assert delivery.deliver(wired, alarm_id).status is AlarmStatus.SENT  # by SMS, the next channel
    stored = get_alarm(wired, alarm_id).notification_error
    assert stored is not None and stored.startswith("Channel 1: Meta WhatsApp: WhatsApp could not deliver")
    providers_words = stored.split("(error 131026, HTTP 400): ", 1)[1].removesuffix(" (code 131026)")
    text = await _alarm_page(admin, alarm_id)
    assert (
        "Canal 1: Meta WhatsApp: WhatsApp no pudo entregar a este número (no usa WhatsApp, tiene una versión"
        f" antigua o está bloqueado) (error 131026, HTTP 400): {providers_words} (código 131026)"
    ) in text


@pytest.mark.page_language("en")
async def test_the_escalation_reason_kept_in_the_kiosks_spanish_reads_in_english(kiosk: Kiosk, admin: Admin) -> None:
    """The reason is written in the kiosk's language (it goes into the duty contact's message); an English
    admin still reads it in English."""
    alarm_id = _scan(kiosk, 1)
    reason = Sentence(stored_text.ESCALATION_LATE, minutes=10.0).in_language("es")  # as escalate_due writes it
    assert reason == "ningún mensaje a los responsables se entregó en 10 minutos."
    assert escalate(kiosk, alarm_id, "+525511112222", reason)
    text = html.unescape(await admin.page(f"/alarms/{alarm_id}"))
    assert "no custodian's message was delivered within 10 minutes." in text and reason not in text
