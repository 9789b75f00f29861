#!/usr/bin/env python3
"""A loopback HTTP server that answers like Meta's Graph API and Twilio's REST API.

Stdlib only, so the same file runs in the test suite, on a developer's machine and on an SD
image (`python3 providers.py --port 8099`). It checks credentials and request shapes as the
real APIs do, returns their success and error bodies with their HTTP statuses, records every
request, and can be scripted to fail in the ways providers fail (5xx, rate limits, bad token,
bad number, a hang past the client's timeout, a dropped connection).

In Python:

    with ProviderStandIn() as standin:
        settings = load_settings(**standin.settings())        # or env: standin.env()
        standin.script("meta", [{"status": 500}, {"status": 500}, "ok"])
        ...
        standin.wait_for(1)
        assert standin.accepted[0].body["to"] == "5215512345678"
        standin.on_accept = lambda request: ...  # runs after a send is accepted, before the answer

Over HTTP (standalone): `POST /_standin/script {"provider": "meta", "responses": [...]}`,
`POST /_standin/default`, `POST /_standin/status {"message_id", "status", "error_code"}`,
`POST /_standin/reset`, `GET /_standin/requests`.

A scripted response is "ok" or a dict: `{"error": CODE}` (a provider error code: Meta 190,
131056...; Twilio 21211, 20429...), `{"status": 500}` (an HTTP status with the provider's
generic body), `{"hang": SECONDS}` (answer nothing, then close), `{"drop": true}` (close the
connection at once), optionally with `"retry_after": SECONDS` (header), `"headers": {...}`
or `"delay": SECONDS` (wait, then answer as asked: a success the client may have given up on).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import secrets
import signal
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

META_VERSION = "v23.0"
TWILIO_VERSION = "2010-04-01"

# Meta Cloud API error codes: (HTTP status, type, message), as Meta's error-code table lists them.
META_ERRORS: dict[int, tuple[int, str, str]] = {
    0: (401, "OAuthException", "(#0) AuthException: we were unable to authenticate the app user"),
    1: (400, "OAuthException", "(#1) An unknown error occurred"),
    2: (503, "OAuthException", "(#2) Service temporarily unavailable"),
    4: (400, "OAuthException", "(#4) Application request limit reached"),
    10: (403, "OAuthException", "(#10) Application does not have permission for this action"),
    100: (400, "OAuthException", "(#100) Invalid parameter"),
    190: (401, "OAuthException", "Error validating access token: Session has expired"),
    200: (403, "OAuthException", "(#200) Permissions error"),
    368: (403, "OAuthException", "(#368) Temporarily blocked for policies violations"),
    80007: (400, "OAuthException", "(#80007) Rate limit issues"),
    130429: (429, "OAuthException", "(#130429) Rate limit hit"),
    131000: (500, "OAuthException", "(#131000) Something went wrong"),
    131005: (403, "OAuthException", "(#131005) Access denied"),
    131008: (400, "OAuthException", "(#131008) Required parameter is missing"),
    131009: (400, "OAuthException", "(#131009) Parameter value is not valid"),
    131016: (503, "OAuthException", "(#131016) Service unavailable"),
    131021: (400, "OAuthException", "(#131021) Recipient cannot be sender"),
    131026: (400, "OAuthException", "(#131026) Message undeliverable"),
    131030: (400, "OAuthException", "(#131030) Recipient phone number not in allowed list"),
    131031: (403, "OAuthException", "(#131031) Account has been locked"),
    131042: (400, "OAuthException", "(#131042) Business eligibility payment issue"),
    131047: (400, "OAuthException", "(#131047) Re-engagement message"),
    131048: (400, "OAuthException", "(#131048) Spam rate limit hit"),
    131056: (400, "OAuthException", "(#131056) (Business Account, Consumer Account) pair rate limit hit"),
    131057: (500, "OAuthException", "(#131057) Account in maintenance mode"),
    132000: (400, "OAuthException", "(#132000) Number of parameters does not match the expected number of params"),
    132001: (404, "OAuthException", "(#132001) Template name does not exist in the translation"),
    132015: (400, "OAuthException", "(#132015) Template is paused"),
    132016: (400, "OAuthException", "(#132016) Template is disabled"),
    133004: (503, "OAuthException", "(#133004) Server temporarily unavailable"),
    133010: (400, "OAuthException", "(#133010) Phone number not registered"),
}

# Twilio REST error codes: (HTTP status, message), as Twilio's API answers them.
TWILIO_ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "Invalid 'To' Phone Number"),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    21602: (400, "Message body is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (400, "The 'From' phone number provided is not a valid message-capable Twilio phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21612: (400, "The 'To' phone number is not currently reachable via SMS"),
    21614: (400, "'To' number is not a valid mobile number"),
    30001: (400, "Queue overflow"),
    63007: (400, "Twilio could not find a Channel with the specified From address"),
    63016: (400, "Failed to send freeform message because you are outside the allowed window."),
}

# Templates the fake WhatsApp Business Account has approved: name -> (languages, body parameters).
DEFAULT_META_TEMPLATES: dict[str, tuple[tuple[str, ...], int]] = {
    "qr_template_on_m": (("en_US", "en", "es", "es_MX"), 2),
}

TWILIO_STATUSES = ("accepted", "queued", "sending", "sent", "delivered", "read", "undelivered", "failed", "canceled")


@dataclass
class RecordedRequest:
    """One request as the stand-in saw it (secrets included: this is a test double)."""

    provider: str  # "meta", "twilio" or "standin"
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON (Meta) or a dict of form fields (Twilio)
    time: float
    status: int = 0  # the HTTP status answered, 0 when the connection was dropped
    accepted: bool = False
    message_id: str | None = None
    client_port: int = 0  # the client's source port: one port for many requests means keep-alive


@dataclass
class _TwilioMessage:
    resource: dict[str, Any]
    created: float = field(default_factory=time.time)


def _rfc2822_now() -> str:
    return formatdate(usegmt=True).replace("GMT", "+0000")


def _wamid() -> str:
    return "wamid." + base64.b64encode(b"\x15\x02" + secrets.token_bytes(30)).decode().rstrip("=")


def _twilio_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout) is expected here; anything else is printed."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ProviderStandIn:
    """The server, its expected credentials, its scripts and its record of requests."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        meta_token: str | None = None,
        meta_phone_number_id: str | None = None,
        twilio_sid: str | None = None,
        twilio_token: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls  # None: plain HTTP; else HTTPS with this server context (`certificates.py`)
        self.meta_token = meta_token or "EAAG" + secrets.token_urlsafe(24)
        self.meta_phone_number_id = meta_phone_number_id or str(100_000_000_000_000 + secrets.randbelow(10**14))
        self.twilio_sid = twilio_sid or _twilio_sid("AC")
        self.twilio_token = twilio_token or secrets.token_hex(16)
        self.twilio_phone_number = "+15005550006"
        self.twilio_whatsapp_number = "+14155238886"
        self.meta_templates = dict(DEFAULT_META_TEMPLATES)
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._scripts: dict[str, deque[Any]] = {"meta": deque(), "twilio": deque()}
        self._defaults: dict[str, Any] = {"meta": "ok", "twilio": "ok"}
        self._twilio_messages: dict[str, _TwilioMessage] = {}
        self._stopping = threading.Event()
        # Called with each accepted send before its answer goes out (in the server's thread):
        # a test does there what happens to the kiosk while the provider is answering.
        self.on_accept: Callable[[RecordedRequest], None] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- life cycle -------------------------------------------------------------------------
    def start(self) -> ProviderStandIn:
        """Bind (a free port unless one was given) and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="provider-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging answers are released at once."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> ProviderStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- where it is and how to point a kiosk at it -----------------------------------------
    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def meta_api_url(self) -> str:
        return f"{self.url}/{META_VERSION}"

    @property
    def twilio_api_url(self) -> str:
        return self.url

    def env(self) -> dict[str, str]:
        """Configuration variables that point a kiosk at this stand-in with valid credentials."""
        return {
            "WHATSAPP_API_URL": self.meta_api_url,
            "WHATSAPP_PHONE_NUMBER_ID": self.meta_phone_number_id,
            "WHATSAPP_ACCESS_TOKEN": self.meta_token,
            "TWILIO_API_URL": self.twilio_api_url,
            "TWILIO_ACCOUNT_SID": self.twilio_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_token,
            "TWILIO_PHONE_NUMBER": self.twilio_phone_number,
            "TWILIO_WHATSAPP_NUMBER": self.twilio_whatsapp_number,
        }

    # ---- scripting ----------------------------------------------------------------------------
    def script(self, provider: str, responses: list[Any]) -> None:
        """Queue answers for the next sends to `provider` ("meta" or "twilio"), in order."""
        self._check_provider(provider)
        with self._lock:
            self._scripts[provider].extend(responses)

    def set_default(self, provider: str, response: Any) -> None:
        """The answer to sends once the script is used up ("ok" unless changed)."""
        self._check_provider(provider)
        with self._lock:
            self._defaults[provider] = response

    def set_status(self, message_id: str, status: str, error_code: int | None = None) -> None:
        """What a Twilio fetch of `message_id` returns from now on."""
        if status not in TWILIO_STATUSES:
            raise ValueError(f"unknown Twilio status {status!r}")
        with self._lock:
            message = self._twilio_messages.get(message_id)
            if message is None:
                raise KeyError(message_id)
            message.resource["status"] = status
            message.resource["error_code"] = error_code
            message.resource["error_message"] = TWILIO_ERRORS.get(error_code, (0, None))[1] if error_code else None
            message.resource["date_updated"] = _rfc2822_now()

    def reset(self) -> None:
        """Forget requests, scripts, defaults and messages."""
        with self._lock:
            self._requests.clear()
            for queue in self._scripts.values():
                queue.clear()
            self._defaults = {"meta": "ok", "twilio": "ok"}
            self._twilio_messages.clear()
        self.on_accept = None

    # ---- what happened -----------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every provider request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def accepted(self) -> list[RecordedRequest]:
        """Only the sends the stand-in accepted."""
        with self._lock:
            return [r for r in self._requests if r.accepted]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until at least `count` sends were accepted; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                accepted = [r for r in self._requests if r.accepted]
                if len(accepted) >= count:
                    return accepted
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(accepted)} of {count} sends accepted after {timeout} s")
                self._lock.wait(remaining)

    # ---- used by the handler -----------------------------------------------------------------
    def _check_provider(self, provider: str) -> None:
        if provider not in self._scripts:
            raise ValueError(f"provider must be 'meta' or 'twilio', not {provider!r}")

    def _next_response(self, provider: str) -> Any:
        with self._lock:
            queue = self._scripts[provider]
            return queue.popleft() if queue else self._defaults[provider]

    def _accept(self, request: RecordedRequest, message_id: str) -> None:
        """Mark a send accepted before answering: the provider has it even if the client gives up."""
        with self._lock:
            request.message_id = message_id
            request.accepted = True
            self._lock.notify_all()
        if self.on_accept is not None:
            self.on_accept(request)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()


class _Handler(BaseHTTPRequestHandler):
    """Routes one request to Meta, Twilio or the control API."""

    standin: ProviderStandIn
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
    server_version = "ProviderStandIn/1.0"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .requests
        pass

    # ---- plumbing ------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        content_type = "text/plain" if isinstance(body, bytes) else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _drop(self) -> None:
        """Close the socket without answering, as a crashed proxy does."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        path = urlsplit(self.path).path
        raw = self._read_body() if method == "POST" else b""
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["_standin"]:
            self._control(method, parts[1:], raw)
        elif method == "POST" and len(parts) == 3 and parts[0].startswith("v") and parts[2] == "messages":
            self._meta_send(path, parts[1], raw)
        elif len(parts) == 4 and parts[0] == TWILIO_VERSION and parts[1] == "Accounts" and parts[3] == "Messages.json":
            if method == "POST":
                self._twilio_send(path, parts[2], raw)
            else:
                self._send(405, {"code": 20004, "message": "Method not allowed", "status": 405})
        elif (
            method == "GET"
            and len(parts) == 5
            and parts[0] == TWILIO_VERSION
            and parts[3] == "Messages"
            and parts[4].endswith(".json")
        ):
            self._twilio_fetch(path, parts[2], parts[4].removesuffix(".json"))
        else:
            self._send(404, {"error": {"message": f"Unknown path {path}", "type": "GraphMethodException", "code": 100}})

    def _begin(self, provider: str, path: str, body: Any) -> RecordedRequest:
        record = RecordedRequest(provider, self.command, path, dict(self.headers.items()), body, time.time())
        record.client_port = int(self.client_address[1])
        self.standin._record(record)
        return record

    def _finish(
        self, record: RecordedRequest, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> None:
        record.status = status
        self._send(status, payload, headers)

    def _play_script(self, record: RecordedRequest, provider: str) -> tuple[int, Any, dict[str, str]] | None:
        """Apply a scripted answer; None means answer normally (success path)."""
        response = self.standin._next_response(provider)
        if response == "ok":
            return None
        if not isinstance(response, dict):
            raise ValueError(f"bad scripted response {response!r}")
        if response.get("delay"):
            self.standin._stopping.wait(float(response["delay"]))
        headers = {"Retry-After": str(response["retry_after"])} if "retry_after" in response else {}
        headers.update({str(k): str(v) for k, v in (response.get("headers") or {}).items()})
        if response.get("drop"):
            self._drop()
            return (0, None, headers)
        if "hang" in response:
            self.standin._stopping.wait(float(response["hang"]))
            self._drop()
            return (0, None, headers)
        if "error" in response:
            code = int(response["error"])
            status, payload = _meta_error(code, response.get("message")) if provider == "meta" else _twilio_error(code)
            return (int(response.get("status", status)), payload, headers)
        if "status" in response:
            status = int(response["status"])
            if "body" in response:
                return (status, str(response["body"]).encode(), headers)
            return (status, _generic_error(provider, status), headers)
        return None  # e.g. {"delay": 12}: a slow success

    # ---- Meta Graph API ----------------------------------------------------------------------
    def _meta_send(self, path: str, phone_number_id: str, raw: bytes) -> None:
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode(errors="replace")
        record = self._begin("meta", path, body)
        if self.headers.get("Authorization") != f"Bearer {self.standin.meta_token}":
            return self._finish(record, *_meta_error(190, "Invalid OAuth access token - Cannot parse access token"))
        if phone_number_id != self.standin.meta_phone_number_id:
            message = (
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, cannot be loaded"
                " due to missing permissions, or does not support this operation."
            )
            return self._finish(record, *_meta_error(100, message, subcode=33))
        problem = _meta_problem(body, self.standin.meta_templates)
        if problem is not None:
            return self._finish(record, *_meta_error(*problem))
        scripted = self._play_script(record, "meta")
        if scripted is not None:
            status, payload, headers = scripted
            if status == 0:
                return None
            return self._finish(record, status, payload, headers)
        self.standin._accept(record, _wamid())
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"].lstrip("+")}],
            "messages": [{"id": record.message_id, "message_status": "accepted"}],
        }
        self._finish(record, 200, answer)
        return None

    # ---- Twilio REST API ---------------------------------------------------------------------
    def _twilio_authorized(self, account_sid: str) -> bool:
        expected = base64.b64encode(f"{self.standin.twilio_sid}:{self.standin.twilio_token}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}" and account_sid == self.standin.twilio_sid

    def _twilio_send(self, path: str, account_sid: str, raw: bytes) -> None:
        form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        record = self._begin("twilio", path, form)
        if not self._twilio_authorized(account_sid):
            return self._finish(record, *_twilio_error(20003))
        problem = _twilio_problem(form, self.standin)
        if problem is not None:
            return self._finish(record, *_twilio_error(problem))
        scripted = self._play_script(record, "twilio")
        if scripted is not None:
            status, payload, headers = scripted
            if status == 0:
                return None
            return self._finish(record, status, payload, headers)
        sid = _twilio_sid("SM")
        resource = _twilio_resource(self.standin.twilio_sid, sid, form)
        with self.standin._lock:
            self.standin._twilio_messages[sid] = _TwilioMessage(resource)
        self.standin._accept(record, sid)
        self._finish(record, 201, resource)
        return None

    def _twilio_fetch(self, path: str, account_sid: str, sid: str) -> None:
        record = self._begin("twilio", path, None)
        if not self._twilio_authorized(account_sid):
            return self._finish(record, *_twilio_error(20003))
        with self.standin._lock:
            message = self.standin._twilio_messages.get(sid)
            resource = dict(message.resource) if message else None
        if resource is None:
            return self._finish(record, *_twilio_error(20404))
        return self._finish(record, 200, resource)

    # ---- control API (standalone use) --------------------------------------------------------
    def _control(self, method: str, parts: list[str], raw: bytes) -> None:
        try:
            data = json.loads(raw or b"{}")
            action = parts[0] if parts else ""
            if method == "GET" and action == "requests":
                return self._send(200, [asdict(r) for r in self.standin.requests])
            if method == "GET" and action == "env":
                return self._send(200, self.standin.env())
            if method == "POST" and action == "script":
                self.standin.script(data["provider"], list(data["responses"]))
            elif method == "POST" and action == "default":
                self.standin.set_default(data["provider"], data["response"])
            elif method == "POST" and action == "status":
                self.standin.set_status(data["message_id"], data["status"], data.get("error_code"))
            elif method == "POST" and action == "reset":
                self.standin.reset()
            else:
                return self._send(404, {"error": f"no control action {method} {action!r}"})
        except (KeyError, ValueError, TypeError) as exc:
            return self._send(400, {"error": f"{type(exc).__name__}: {exc}"})
        return self._send(200, {"ok": True})


def _meta_error(code: int, message: str | None = None, subcode: int | None = None) -> tuple[int, dict[str, Any]]:
    status, kind, default = META_ERRORS.get(code, (400, "OAuthException", f"(#{code}) Error"))
    error: dict[str, Any] = {"message": message or default, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if code >= 130000:
        error["error_data"] = {"messaging_product": "whatsapp", "details": message or default}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return status, {"error": error}


def _twilio_error(code: int) -> tuple[int, dict[str, Any]]:
    status, message = TWILIO_ERRORS.get(code, (400, "Error"))
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _generic_error(provider: str, status: int) -> dict[str, Any]:
    if provider == "meta":
        code = 131000 if status < 503 else 2
        return _meta_error(code)[1]
    code = 20429 if status == 429 else (20503 if status == 503 else 20500)
    return {
        "code": code,
        "message": TWILIO_ERRORS[code][1],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _meta_problem(body: Any, templates: dict[str, tuple[tuple[str, ...], int]]) -> tuple[int, str] | None:
    """What the Graph API would reject in a message body, as (code, message), or None."""
    if not isinstance(body, dict):
        return (100, "(#100) The request body must be a JSON object")
    if body.get("messaging_product") != "whatsapp":
        return (100, "(#100) The parameter messaging_product is required.")
    to = body.get("to")
    if not isinstance(to, str) or not to.lstrip("+").isdigit():
        return (100, "(#100) The parameter to is required.")
    if body.get("type") != "template":
        return None  # free-form messages are accepted as they are
    template = body.get("template")
    if not isinstance(template, dict) or not template.get("name") or not isinstance(template.get("language"), dict):
        return (131008, "(#131008) Required parameter is missing: template name or language")
    known = templates.get(template["name"])
    language = template["language"].get("code")
    if known is None or language not in known[0]:
        return (132001, f"(#132001) Template name does not exist in the translation: {template['name']} ({language})")
    count = 0
    for component in template.get("components") or []:
        if component.get("type") == "body":
            for parameter in component.get("parameters") or []:
                if parameter.get("type") != "text" or not str(parameter.get("text", "")).strip():
                    return (131009, "(#131009) Parameter value is not valid")
                count += 1
    if count != known[1]:
        return (132000, f"(#132000) Number of parameters does not match: expected {known[1]}, got {count}")
    return None


def _twilio_problem(form: dict[str, str], standin: ProviderStandIn) -> int | None:
    """The Twilio error code a Messages.json create would fail with, or None."""
    to = form.get("To", "")
    if not to:
        return 21604
    if not form.get("Body") and not form.get("ContentSid") and not form.get("MediaUrl"):
        return 21602
    whatsapp = to.startswith("whatsapp:")
    number = to.removeprefix("whatsapp:")
    if not (number.startswith("+") and number[1:].isdigit() and 8 <= len(number) - 1 <= 15):
        return 21211
    sender = form.get("From", "")
    expected = f"whatsapp:{standin.twilio_whatsapp_number}" if whatsapp else standin.twilio_phone_number
    if sender != expected:
        return 63007 if whatsapp else 21606
    return None


def _twilio_resource(account_sid: str, sid: str, form: dict[str, str]) -> dict[str, Any]:
    now = _rfc2822_now()
    uri = f"/{TWILIO_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"
    return {
        "account_sid": account_sid,
        "api_version": TWILIO_VERSION,
        "body": form.get("Body", ""),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": form.get("To"),
        "uri": uri,
    }


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM, after printing the env lines that point a kiosk here."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--meta-token")
    parser.add_argument("--meta-phone-number-id")
    parser.add_argument("--twilio-sid")
    parser.add_argument("--twilio-token")
    args = parser.parse_args(argv)
    standin = ProviderStandIn(
        args.host,
        args.port,
        meta_token=args.meta_token,
        meta_phone_number_id=args.meta_phone_number_id,
        twilio_sid=args.twilio_sid,
        twilio_token=args.twilio_token,
    ).start()
    for name, value in standin.env().items():
        print(f"{name}={value}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
