"""The outbound webhook sink: each alarm event as a signed JSON POST to KERYU_WEBHOOK_URL, in order.

The body is the same document the MQTT `<prefix>/alarm` topic carries. An event is passed once
the receiver answers 2xx. A refusal (4xx other than 408 and 429) is tried `REFUSED_TRIES` times,
then logged and skipped, so one event the receiver will never take does not hold back the rest;
anything else (5xx, 408, 429, a timeout, no connection) is tried again with growing pauses for
as long as the outbox keeps the event.
"""

from __future__ import annotations

import json
import logging
import time

import requests

from appliance import __version__
from appliance.services.kiosk import Kiosk
from appliance.services.publish.events import Message, Reader, render
from appliance.services.publish.signing import HEADER, signature_header
from appliance.services.publish.urls import shown

logger = logging.getLogger(__name__)

SINK = "webhook"
BATCH = 20
TIMEOUT = (3.05, 10.0)  # connect, read
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # then every 60 s
REFUSED_TRIES = 3
RETRYABLE_4XX = frozenset({408, 429})


class WebhookSink:
    """POSTs one event at a time; `step` returns after the batch, or at the first failure."""

    name = SINK

    def __init__(self, kiosk: Kiosk) -> None:
        assert kiosk.settings.webhook_url is not None and kiosk.settings.webhook_secret is not None
        self.kiosk = kiosk
        self.url = kiosk.settings.webhook_url
        self.secret = kiosk.settings.webhook_secret
        self.where = shown(self.url)  # no path or query: they may hold a token
        self.reader = Reader(kiosk, SINK)
        self.http = requests.Session()
        self._failures = 0
        self._next_try = 0.0

    def start(self) -> None:
        self.reader.start()

    def stop(self) -> None:
        self.http.close()

    def step(self) -> bool:
        if time.monotonic() < self._next_try:
            return False
        _last_id, events = self.reader.next_batch(BATCH)
        if not events:
            return False
        for message in render(self.kiosk, events):
            if message.kind == "alarm" and message.payload is not None and not self._deliver(message):
                return False
            self.reader.done(message.event_id)
        return True

    def _deliver(self, message: Message) -> bool:
        """POST one event; True when it is finished with (taken, or refused for good)."""
        status, problem = self._post(message)
        if problem is None:
            self._failures = 0
            return True
        self._failures += 1
        refused = status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX
        if refused and self._failures >= REFUSED_TRIES:
            logger.warning(
                "Webhook %s refused event %s %d times (%s); skipping it",
                self.where,
                message.event_id,
                self._failures,
                problem,
            )
            self._failures = 0
            return True
        delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS)) - 1]
        self._next_try = time.monotonic() + delay
        logger.warning(
            "Webhook %s: event %s not taken (%s); again in %g s", self.where, message.event_id, problem, delay
        )
        self.reader.failed(f"{self.where}: {problem}")
        return False

    def _post(self, message: Message) -> tuple[int | None, str | None]:
        """(HTTP status, problem); problem None when the receiver took the event."""
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"keryu/{__version__}",
            "X-Keryu-Event": message.kind,
            "X-Keryu-Event-Id": str(message.event_id),
            HEADER: signature_header(self.secret, body, int(time.time())),
        }
        try:
            response = self.http.post(self.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            return None, type(exc).__name__  # the exception's text can hold the URL, with its token
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"
