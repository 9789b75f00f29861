"""The publisher: one thread per sink inside the worker process, started only when a sink is configured.

No process of its own (memory on a 512 MB Pi). Each thread reads its sink's next events from the
database after they were committed, so nothing it does (a broker that is down, a receiver that
hangs) can slow a scan, an alarm or a delivery; what it does not hand on stays in the outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from appliance.services.kiosk import Kiosk
from appliance.services.publish.events import active_sinks, prune

logger = logging.getLogger(__name__)

POLL_EVERY = 0.25  # seconds between looks at the outbox when it was empty (one indexed read)
PRUNE_EVERY = 300.0
HEALTH_EVERY = 60.0
AFTER_CRASH = 5.0


class Sink(Protocol):
    name: str

    def start(self) -> None: ...
    def step(self) -> bool: ...
    def stop(self) -> None: ...


@dataclass
class Chore:
    """Something a sink's thread does now and then besides publishing."""

    every: float
    run: Callable[[], None]
    next_at: float = 0.0


@dataclass
class Publisher:
    kiosk: Kiosk
    sinks: list[Sink]
    chores: dict[str, list[Chore]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for sink in self.sinks:
            sink.start()
            thread = threading.Thread(target=self._run, args=(sink,), name=f"keryu-publish-{sink.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        for sink in self.sinks:
            sink.stop()

    def _run(self, sink: Sink) -> None:
        chores = self.chores.get(sink.name, [])
        while not self._stop.is_set():
            for chore in chores:
                if time.monotonic() >= chore.next_at:
                    chore.next_at = time.monotonic() + chore.every
                    _guarded(chore.run, f"{sink.name} chore")
            more = _guarded(sink.step, f"{sink.name} publisher")
            if more is None:
                self._stop.wait(AFTER_CRASH)
            elif not more:
                self._stop.wait(POLL_EVERY)


def _guarded(call: Callable[[], object], what: str) -> object | None:
    """`call()`, or None after logging what went wrong: the thread goes on, the worker is never touched."""
    try:
        return call()
    except Exception:
        logger.exception("The %s failed; trying again shortly", what)
        return None


def build_publisher(kiosk: Kiosk) -> Publisher | None:
    """The publisher for the configured sinks, None when neither KERYU_MQTT_URL nor KERYU_WEBHOOK_URL is set."""
    names = active_sinks(kiosk)
    if not names:
        return None
    sinks: list[Sink] = []
    chores: dict[str, list[Chore]] = {}
    if "mqtt" in names:
        from appliance.services.publish.mqtt import MqttSink  # paho-mqtt: loaded only when MQTT is on
        from appliance.services.publish.summary import health_states

        mqtt_sink = MqttSink(kiosk)
        sinks.append(mqtt_sink)
        chores["mqtt"] = [Chore(HEALTH_EVERY, lambda: mqtt_sink.publish_health(health_states(kiosk)))]
    if "webhook" in names:
        from appliance.services.publish.webhook import WebhookSink

        sinks.append(WebhookSink(kiosk))
    chores.setdefault(sinks[0].name, []).append(Chore(PRUNE_EVERY, lambda: _prune(kiosk, names)))
    return Publisher(kiosk, sinks, chores)


def _prune(kiosk: Kiosk, names: list[str]) -> None:
    removed = prune(kiosk, names)
    if removed:
        logger.debug("Outbox: %d published events removed", removed)
