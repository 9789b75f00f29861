"""Each process loads only the libraries it uses: what `keryu --help` and each service import
at start, in a fresh interpreter (a module once imported stays in memory for the process's life)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = {"cv2", "numpy", "aiohttp", "jinja2", "twilio.rest", "qrcode", "PIL", "reportlab", "alembic", "paho"}
# Loaded on the path that uses them: the HTTP client by a channel's first send (in the worker),
# the phone tables where a typed number is read (the web page, the CLI).
ON_USE = {"requests", "urllib3", "phonenumbers"}
# Never at start: the PostgreSQL dialect on SQLite (the models name no PostgreSQL option), the
# cryptography bindings (the session cookie is signed with hmac; updates verify with them).
NOWHERE = {"sqlalchemy.dialects.postgresql", "cryptography.hazmat.bindings._rust", "cryptography.fernet"}
NOT_LOADED = {
    "--help": HEAVY | ON_USE | NOWHERE | {"celery", "sqlalchemy"},
    "appliance.worker.runtime": HEAVY | NOWHERE,
    # Celery only in the worker: the others write its message with redis-py (appliance.queue)
    "appliance.web.serve": (HEAVY | ON_USE | NOWHERE | {"celery", "kombu"}) - {"aiohttp", "jinja2"},
    # OpenCV only with a camera that captures through it
    "appliance.scanner.runner": (HEAVY | ON_USE | NOWHERE | {"celery", "kombu"}) - {"numpy", "PIL"},
}


def modules_after(runtime: str) -> set[str]:
    """sys.modules after building the CLI's parser (every command starts so) and importing `runtime`."""
    code = (
        "import json, sys\n"
        "from appliance.cli import build_parser\n"
        "build_parser()\n"
        f"if {runtime!r} != '--help':\n"
        f"    __import__({runtime!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("runtime", NOT_LOADED)
def test_a_process_does_not_load_the_libraries_of_the_others(runtime: str) -> None:
    loaded = modules_after(runtime)
    assert sorted(NOT_LOADED[runtime] & loaded) == []


def test_a_send_on_metas_channel_loads_urllib3_but_not_requests(standin) -> None:
    """requests (3.8 MiB) comes with the Twilio SDK only: a worker on Meta's channel never loads it."""
    code = (
        "import json, sys\n"
        "from appliance.config import load_settings\n"
        "from appliance.messaging.base import Notification\n"
        "from appliance.messaging.meta_whatsapp import MetaWhatsApp\n"
        "note = Notification('+525512345678', subject_name='Ana', timestamp_text='12:00', location='Gate')\n"
        "MetaWhatsApp(load_settings()).send(note)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **standin.env()},
    )
    loaded = set(json.loads(result.stdout))
    assert len(standin.accepted) == 1
    assert "urllib3" in loaded
    assert sorted({"requests", "twilio"} & loaded) == []
