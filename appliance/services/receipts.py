"""Whether a provider can ever tell this kiosk that a message arrived (delivery receipts).

Twilio's statuses can be polled; Meta reports only by webhook, which needs a public HTTPS
address (a tunnel the owner runs) and the app secret to check its signature. Without both, a
SENT WhatsApp message stays SENT for ever: pages and the CLI say so instead of waiting silently.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from appliance.config import Settings
from appliance.i18n import N_
from appliance.services.kiosk import Kiosk

NO_WEBHOOK = N_("delivery not confirmed (no webhook)")  # translated where it is shown


def webhooks_reach_kiosk(settings: Settings) -> bool:
    """True when KERYU_PUBLIC_URL is a public HTTPS address a provider could post to."""
    parts = urlsplit(settings.public_url)
    return parts.scheme == "https" and not (parts.hostname or "").endswith(".local")


def confirms_delivery(kiosk: Kiosk, channel: int | None) -> bool:
    """True when a message sent on `channel` can still become DELIVERED (polled, or a webhook can arrive)."""
    found = kiosk.channels.get(channel) if channel is not None else None
    if found is None or found.pollable:
        return True
    # Meta, the one channel without polling: its webhook needs the address and the signature secret.
    return webhooks_reach_kiosk(kiosk.settings) and bool(kiosk.settings.whatsapp_app_secret)


def status_note(kiosk: Kiosk, status: str, channel: int | None) -> str | None:
    """What to add to a status a person reads: SENT where no receipt can come is not "waiting"."""
    if status == "SENT" and not confirms_delivery(kiosk, channel):
        return NO_WEBHOOK
    return None
