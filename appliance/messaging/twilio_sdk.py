"""The Twilio SDK as the Twilio channels use it: imported only when one of them first talks to Twilio."""

from __future__ import annotations

import threading
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from appliance.config import Settings

# The SDK reads TWILIO_* from os.environ unless given a non-empty mapping; config.py is our only reader.
_NO_ENVIRONMENT = {"KERYU": "settings come from appliance.config"}


class HeaderKeepingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, remembering the last answer's headers (for Retry-After) per thread."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__(pool_connections=True)
        self.timeout = timeout  # type: ignore[assignment]  # requests takes (connect, read); the SDK passes it on
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self._local.headers = {}
        response = super().request(*args, **kwargs)
        self._local.headers = dict(response.headers or {})
        return response

    def log_request(self, kwargs: dict[str, Any]) -> None:
        """The SDK logs request headers at INFO; ours never log (Authorization is in them)."""

    def log_response(self, status_code: int, response: Any) -> None:
        """Quiet: the channel logs the outcome itself."""

    def last_header(self, name: str) -> str | None:
        headers = getattr(self._local, "headers", {})
        for key, value in headers.items():
            if key.lower() == name.lower():
                return str(value)
        return None


def make_client(settings: Settings, http: HeaderKeepingHttpClient) -> Client:
    """An SDK client on `http`, pointed at TWILIO_API_URL."""
    client = Client(
        settings.twilio_account_sid, settings.twilio_auth_token, http_client=http, environment=_NO_ENVIRONMENT
    )
    client.api.base_url = settings.twilio_api_url
    return client
