"""Who may press a card's alert button: a form this kiosk served lately, sent from its own page, not too often.

The finder is anonymous, so the admin's session-bound CSRF token does not fit: a finder gets
no cookie at all. Their form instead carries a token signed with the device's secret, bound
to the card and the time it was served (so a script cannot post to card URLs it never opened,
nor replay an old form), and the browser's own `Sec-Fetch-Site`/`Origin` headers must not
name another site (so no other page can make a visitor's browser press the button). Each
address gets a few presses, then a pause (the login throttle's rule), which stops a script
from raising alarms through every card it learnt.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from appliance.clock import Clock, SystemClock
from appliance.i18n import N_
from appliance.services.auth import LoginThrottle
from appliance.web.hosts import split_host
from appliance.web.middlewares import client_address

TOKEN_LIFETIME = 2 * 3600.0  # seconds a served form stays good: a finder may wait with the person
PRESSES_PER_ADDRESS = 6  # then a pause of PAUSE seconds, doubling while it goes on
PAUSE = 600.0
CROSS_SITE = frozenset({"cross-site", "same-site"})  # `Sec-Fetch-Site` values of another page's request


@dataclass
class FinderGuard:
    """The alert form's token, its same-site check and the per-address throttle of one web process."""

    key: bytes = field(repr=False)
    clock: Clock = field(default_factory=SystemClock)
    throttle: LoginThrottle = field(init=False)
    _signing_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle(
            limit=PRESSES_PER_ADDRESS,
            pause=PAUSE,
            clock=self.clock,
            what="alerts",
            refusal=N_("Too many alerts; try again in {seconds} seconds."),
        )
        # A key of its own, derived from the device's secret: the session cookie's key signs nothing public.
        self._signing_key = hmac.new(self.key, b"keryu finder form tokens", hashlib.sha256).digest()

    def _mac(self, card_uuid: str, issued: int) -> str:
        message = f"finder-alert|{card_uuid.lower()}|{issued}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def token(self, card_uuid: str) -> str:
        """A token for the alert form of `card_uuid`, good for `TOKEN_LIFETIME`."""
        issued = int(self.clock.now().timestamp())
        return f"{issued}.{self._mac(card_uuid, issued)}"

    def token_valid(self, card_uuid: str, token: object) -> bool:
        """True for a token this kiosk made for this card within `TOKEN_LIFETIME`."""
        if not isinstance(token, str):
            return False
        issued_text, _, mac = token.partition(".")
        if not issued_text.isdigit():
            return False
        issued = int(issued_text)
        age = self.clock.now().timestamp() - issued
        return 0 <= age <= TOKEN_LIFETIME and hmac.compare_digest(mac, self._mac(card_uuid, issued))


def sent_from_another_site(request: web.Request) -> bool:
    """True when the browser says another site's page sent this request."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:  # modern browsers say it themselves, whatever name a tunnel gives the kiosk
        return fetch_site.lower() in CROSS_SITE
    origin = request.headers.get("Origin")
    if not origin or origin == "null":  # older browsers: the signed token still has to match
        return False
    return split_host(urlsplit(origin).netloc) != split_host(request.host)


def finder_address(request: web.Request) -> str:
    """The finder's address for the throttle: behind a tunnel on the kiosk itself, the client it names.

    A tunnel (cloudflared, a reverse proxy) on the kiosk connects from loopback for every finder;
    it appends the address it served to `X-Forwarded-For`, so its last entry is the one to count.
    Only a loopback peer is believed: a phone on the LAN cannot choose its own address this way.
    """
    address = client_address(request)
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    try:
        trusted = ipaddress.ip_address(address).is_loopback
    except ValueError:
        trusted = False
    return forwarded if trusted and forwarded else address
