"""Settings: the channel parameter, which channels have credentials (never the secrets), test message,
ending every admin session, and restoring a backup (upload, confirm, restore)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp_session import get_session

from appliance.messaging.registry import channel_name
from appliance.services.kiosk import Kiosk
from appliance.services.notify import send_test
from appliance.services.parameters import get_channel, set_channel
from appliance.services.web_sessions import active_session_count, end_every_session
from appliance.web.render import flash, kiosk_of, redirect, render

logger = logging.getLogger(__name__)


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
        "settings": kiosk.settings,
        "open_sessions": await asyncio.to_thread(active_session_count, kiosk),
    }
    return await render(request, "settings.html", context)


async def channel_submit(request: web.Request) -> web.Response:
    value = str((await request.post()).get("channel", ""))
    number = await asyncio.to_thread(_set_channel, kiosk_of(request), value)
    logger.info("Channel set to %s from the admin page", number)
    await flash(request, f"Alarms now go first through channel {number}, {channel_name(number)}.")
    redirect(request, "settings")


async def test_message_submit(request: web.Request) -> web.Response:
    phone = str((await request.post()).get("phone", ""))
    alarm = await asyncio.to_thread(send_test, kiosk_of(request), phone)
    await flash(request, f"Test message #{alarm.id} queued for {alarm.recipient_phone}.")
    redirect(request, "alarm", alarm_id=str(alarm.id))


async def logout_everywhere_submit(request: web.Request) -> web.Response:
    """End every admin session, this browser's included (a lost phone, a shared laptop)."""
    ended = await asyncio.to_thread(end_every_session, kiosk_of(request))
    logger.info("Every admin session (%d) ended from %s", ended, request.remote)
    (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/login")
