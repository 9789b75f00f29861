"""Settings: the channel parameter, which channels have credentials (never the secrets), test message,
ending every admin session, and restoring a backup (upload, confirm, restore)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp_session import get_session

from appliance.errors import UserError
from appliance.messaging.registry import channel_name
from appliance.services.escalation import receipts_note
from appliance.services.kiosk import Kiosk
from appliance.services.notify import send_test
from appliance.services.parameters import get_channel, set_channel
from appliance.services.restore_upload import discard_upload, receive_upload, restore_upload
from appliance.services.update.machine import overview, web_paths
from appliance.services.update.spool import receive as spool_bundle
from appliance.services.web_sessions import active_session_count, end_every_session
from appliance.web.language import _, current_language
from appliance.web.middlewares import UPLOAD_LIMITS
from appliance.web.render import flash, kiosk_of, redirect, render

logger = logging.getLogger(__name__)

PENDING_RESTORE = "restore_upload"  # session key: the upload waiting for this browser's confirmation


def credential_report(kiosk: Kiosk) -> list[dict[str, object]]:
    """Per channel, in number order: configured or not, and which variables are set; never their values."""
    return [
        {
            "number": number,
            "name": channel.name,
            "configured": channel.is_configured(),
            "variables": [(field.upper(), bool(getattr(kiosk.settings, field))) for field in channel.required],
        }
        for number, channel in kiosk.channels.items()
    ]


def webhook_report(kiosk: Kiosk) -> dict[str, object]:
    """Whether status webhooks can work at all (they need secrets and a public HTTPS address)."""
    settings = kiosk.settings
    return {
        "public_url": settings.public_url,
        "public_https": settings.public_url.startswith("https://"),
        "whatsapp_app_secret": bool(settings.whatsapp_app_secret),
        "whatsapp_verify_token": bool(settings.whatsapp_verify_token),
        "twilio_auth_token": bool(settings.twilio_auth_token),
    }


def _channel(kiosk: Kiosk) -> int:
    with kiosk.store.read() as session:
        return get_channel(session)


def _set_channel(kiosk: Kiosk, value: str) -> int:
    with kiosk.store.session() as session:
        return set_channel(session, value)


async def settings_page(request: web.Request) -> web.Response:
    kiosk = kiosk_of(request)
    context = {
        "channel": await asyncio.to_thread(_channel, kiosk),
        "channels": {number: channel.name for number, channel in kiosk.channels.items()},
        "credentials": credential_report(kiosk),
        "webhooks": webhook_report(kiosk),
        "receipts_note": receipts_note(kiosk, current_language()),
        "settings": kiosk.settings,
        "open_sessions": await asyncio.to_thread(active_session_count, kiosk),
        "upload_limit_mib": UPLOAD_LIMITS["/settings/restore"] // (1024 * 1024),
        "updates": await asyncio.to_thread(overview, web_paths(kiosk.settings.data_dir), kiosk.settings.reboot_window),
    }
    return await render(request, "settings.html", context)


async def channel_submit(request: web.Request) -> web.Response:
    value = str((await request.post()).get("channel", ""))
    number = await asyncio.to_thread(_set_channel, kiosk_of(request), value)
    logger.info("Channel set to %s from the admin page", number)
    await flash(
        request,
        _("Alarms now go first through channel {number}, {name}.").format(number=number, name=channel_name(number)),
    )
    redirect(request, "settings")


async def test_message_submit(request: web.Request) -> web.Response:
    phone = str((await request.post()).get("phone", ""))
    alarm = await asyncio.to_thread(send_test, kiosk_of(request), phone)
    await flash(request, _("Test message #{id} queued for {phone}.").format(id=alarm.id, phone=alarm.recipient_phone))
    redirect(request, "alarm", alarm_id=str(alarm.id))


async def logout_everywhere_submit(request: web.Request) -> web.Response:
    """End every admin session, this browser's included (a lost phone, a shared laptop)."""
    ended = await asyncio.to_thread(end_every_session, kiosk_of(request))
    logger.info("Every admin session (%d) ended from %s", ended, request.remote)
    (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/login")


async def restore_upload_submit(request: web.Request) -> web.Response:
    """Step one of a restore: keep the uploaded file and show what it holds; nothing changes yet."""
    upload = (await request.post()).get("backup")
    if not isinstance(upload, web.FileField) or not upload.filename:
        raise UserError("Choose a backup file to upload.")
    kiosk = kiosk_of(request)
    name = upload.filename[-100:]
    pending = await asyncio.to_thread(receive_upload, kiosk, upload.file, name)
    session = await get_session(request)
    previous = session.get(PENDING_RESTORE)
    if isinstance(previous, dict):
        await asyncio.to_thread(discard_upload, kiosk, str(previous.get("token", "")))
    session[PENDING_RESTORE] = {"token": pending.token, "name": pending.name}
    return await render(request, "restore.html", {"pending": pending})


async def restore_confirm_submit(request: web.Request) -> web.Response:
    """Step two: restore the upload this browser confirmed (the one whose summary it was shown)."""
    token = str((await request.post()).get("upload", ""))
    session = await get_session(request)
    pending = session.get(PENDING_RESTORE)
    if not isinstance(pending, dict) or pending.get("token") != token:
        raise UserError("This upload is no longer waiting; upload the backup again.")
    del session[PENDING_RESTORE]
    result = await asyncio.to_thread(restore_upload, kiosk_of(request), token, str(pending.get("name", "")))
    logger.info("Backup restored from the admin page by %s", request.remote)
    restored = _("Backup restored (subjects: {subjects}, alarms: {alarms}).").format(
        subjects=result.restored.subjects, alarms=result.restored.alarms
    )
    kept = _("The database it replaced is kept as {name}.").format(name=result.kept.name) if result.kept else ""
    restart = _("Restart the kiosk's services now so that every part reads it: {command}").format(
        command="systemctl restart keryu.target"
    )
    await flash(request, " ".join(part for part in (restored, kept, restart) if part))
    redirect(request, "settings")


async def update_upload_submit(request: web.Request) -> web.Response:
    """Hand an uploaded bundle to the root-run updater (keryu-update.path); this process installs nothing."""
    upload = (await request.post()).get("bundle")
    if not isinstance(upload, web.FileField) or not upload.filename:
        raise UserError("Choose an update bundle (.kup) to upload.")
    spool = web_paths(kiosk_of(request).settings.data_dir).spool_dir
    await asyncio.to_thread(spool_bundle, spool, upload.file)
    logger.info("Update bundle %s uploaded by %s", upload.filename[-100:], request.remote)
    await flash(
        request,
        _(
            "Update uploaded. It is checked and installed now; the kiosk restarts, and this page says how it went "
            "(if it is not healthy within two minutes, it goes back on its own)."
        ),
    )
    redirect(request, "settings")
