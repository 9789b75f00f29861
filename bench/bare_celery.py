"""The floor under a delivery: a bare Celery task that POSTs one template message to loopback.

Same broker settings as the kiosk's worker (solo pool, late acknowledgement, prefetch of one,
JSON), same request body and keep-alive session as channel 1, but no database: what is left
is Celery, Redis and one HTTP round trip. `bench_delivery.py` starts it as

    celery -A bare_celery worker --pool=solo --concurrency=1 -Q bare

with BARE_BROKER_URL and BARE_TARGET_URL (the stand-in's Meta endpoint) and BARE_TOKEN set.
"""

from __future__ import annotations

import os

import requests
from celery import Celery

QUEUE = "bare"
TASK = "bare.post"

app = Celery("bare", broker=os.environ.get("BARE_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue=QUEUE,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
)

_SESSION = requests.Session()


def body(i: int) -> dict:
    """The body channel 1 sends (template, two parameters), numbered so duplicates show."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "525512345678",
        "type": "template",
        "template": {
            "name": "qr_template_on_m",
            "language": {"code": "es_MX"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": f"Bare {i}"}, {"type": "text", "text": "now"}],
                }
            ],
        },
    }


@app.task(name=TASK, acks_late=True)
def post(i: int) -> None:
    response = _SESSION.post(
        os.environ["BARE_TARGET_URL"],
        json=body(i),
        headers={"Authorization": f"Bearer {os.environ['BARE_TOKEN']}"},
        timeout=(3.0, 10.0),
    )
    response.raise_for_status()
