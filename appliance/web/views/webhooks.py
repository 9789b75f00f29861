"""Provider status callbacks: forged 403, malformed 400, unknown message ids 200 and ignored.

Signatures are checked before anything is parsed; statuses go through the one state machine
(`services.status_updates`), which makes a repeated status change nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

from appliance.messaging.webhooks import (
    meta_verification_challenge,
    parse_meta_statuses,
    parse_twilio_status,
    verify_meta_signature,
    verify_twilio_signature,
)
from appliance.services.kiosk import Kiosk
from appliance.services.status_updates import apply_provider_status
from appliance.web.render import kiosk_of

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MALFORMED = (ValueError, KeyError, TypeError, AttributeError)


def _forbidden(provider: str, request: web.Request, why: str) -> web.Response:
    logger.warning("Refused a %s webhook from %s: %s", provider, request.remote, why)
    return web.json_response({"error": "forbidden"}, status=403)


def _malformed(provider: str, exc: BaseException) -> web.Response:
    logger.warning("Malformed %s webhook: %s", provider, exc)
    return web.json_response({"error": "malformed"}, status=400)


def _apply_all(kiosk: Kiosk, statuses: list) -> tuple[int, int]:
    known = sum(1 for status in statuses if apply_provider_status(kiosk, status))
    return known, len(statuses) - known


async def twilio(request: web.Request) -> web.Response:
    kiosk = kiosk_of(request)
    token = kiosk.settings.twilio_auth_token
    if not token:
        return _forbidden("Twilio", request, "TWILIO_AUTH_TOKEN is not configured")
    params = {key: str(value) for key, value in (await request.post()).items()}
    # Twilio signs the URL it was given: the public address, not the one this socket sees.
    url = kiosk.settings.public_url + request.path_qs
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not verify_twilio_signature(url, params, signature, token):
        return _forbidden("Twilio", request, "bad X-Twilio-Signature")
    try:
        status = parse_twilio_status(params)
    except MALFORMED as exc:
        return _malformed("Twilio", exc)
    known, unknown = await asyncio.to_thread(_apply_all, kiosk, [status])
    return web.json_response({"applied": known, "ignored": unknown})


async def whatsapp_verify(request: web.Request) -> web.Response:
    """Meta's subscription handshake: echo `hub.challenge` when `hub.verify_token` matches."""
    token = kiosk_of(request).settings.whatsapp_verify_token
    if not token:
        return _forbidden("Meta", request, "WHATSAPP_VERIFY_TOKEN is not configured")
    challenge = meta_verification_challenge(dict(request.query), token)
    if challenge is None:
        return _forbidden("Meta", request, "wrong hub.verify_token")
    return web.Response(text=challenge, content_type="text/plain")


async def whatsapp(request: web.Request) -> web.Response:
    kiosk = kiosk_of(request)
    secret = kiosk.settings.whatsapp_app_secret
    if not secret:
        return _forbidden("Meta", request, "WHATSAPP_APP_SECRET is not configured")
    if (request.content_length or 0) > MAX_BODY:
        return _malformed("Meta", ValueError("body too large"))
    raw = await request.read()
    if not verify_meta_signature(raw, request.headers.get("X-Hub-Signature-256", ""), secret):
        return _forbidden("Meta", request, "bad X-Hub-Signature-256")
    try:
        statuses = parse_meta_statuses(json.loads(raw))
    except (json.JSONDecodeError, UnicodeDecodeError, *MALFORMED) as exc:
        return _malformed("Meta", exc)
    known, unknown = await asyncio.to_thread(_apply_all, kiosk, statuses)
    return web.json_response({"applied": known, "ignored": unknown})
