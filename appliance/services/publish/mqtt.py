"""The MQTT sink: the outbox's events to a broker with QoS 1, the kiosk's availability and health, retained.

The only module that imports paho-mqtt (loaded in the worker only when KERYU_MQTT_URL is set).
The sink's thread makes the first connection itself, so that why it fails (a certificate the
CAs do not vouch for, a refused port) reaches the log, trying again after 1 s doubling to 60 s;
from then on paho's own network thread keeps the connection and reconnects with the same
backoff. `step`, called by the sink's thread, publishes the next batch and moves the cursor
only once the broker has acknowledged every message of it (PUBACK). A batch cut off by a lost
connection is published again from the database after reconnecting: QoS 1 is "at least once",
and `event_id` tells a repeat apart. The broker's user and password never reach a log line.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from datetime import timedelta
from typing import Any

import paho.mqtt.client as paho

from appliance.services.kiosk import Kiosk
from appliance.services.notify import send_test
from appliance.services.publish import discovery
from appliance.services.publish.device import device_id, mqtt_prefix
from appliance.services.publish.events import Message, Reader, render
from appliance.services.publish.summary import alarm_summary
from appliance.services.publish.urls import Broker

logger = logging.getLogger(__name__)

SINK = "mqtt"
ACK_TIMEOUT = 10.0  # seconds a batch may wait for its PUBACKs before it is tried again
KEEPALIVE = 30
# A tag scanned event starts automations (a light, an announcement): not for a scan this old,
# published late after an outage. The scan message itself is always published.
TAG_FRESH = timedelta(minutes=5)


class MqttSink:
    """One connection to the broker; `step` publishes what the outbox holds."""

    name = SINK

    def __init__(self, kiosk: Kiosk) -> None:
        settings = kiosk.settings
        assert settings.mqtt_url is not None
        self.kiosk = kiosk
        self.prefix = mqtt_prefix(settings)
        self.device = device_id()
        self.reader = Reader(kiosk, SINK)
        self.commands: queue.Queue[tuple[str, bytes]] = queue.Queue()  # subscribed messages, for the sink's thread
        self._connected = threading.Event()
        self._announce = threading.Event()
        self._latest_health: str | None = None  # the last look, published at (re)connection
        self._health: str | None = None  # what the broker holds
        self._health_at = 0.0
        broker = Broker.of(settings.mqtt_url)
        self.where = str(broker)
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"keryu-{self.device}")
        if broker.user is not None:
            self.client.username_pw_set(broker.user, broker.password)
        if broker.tls:
            self.client.tls_set(ca_certs=str(settings.mqtt_ca) if settings.mqtt_ca else None)
        self.client.will_set(self.topic("status"), "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(1, 60)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._host, self._port = broker.host, broker.port
        self._looping = False  # paho's thread runs (after the first connection)
        self._next_connect = 0.0
        self._connect_failures = 0

    def topic(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    # --- connection (paho's thread) ---------------------------------------------------------

    def start(self) -> None:
        """The cursor; the connection is made by the sink's thread (`step`), never by the caller."""
        self.reader.start()

    def stop(self) -> None:
        """Say "offline" (retained) and close: a clean stop sends no last will."""
        if not self._looping:
            return
        if self._connected.is_set():
            info = self.client.publish(self.topic("status"), "offline", qos=1, retain=True)
            _wait([info], 2.0)
        self.client.disconnect()
        self.client.loop_stop()

    def _connect(self) -> None:
        """The first connection, tried again after 1 s doubling to 60 s; then paho's thread takes over."""
        if time.monotonic() < self._next_connect:
            return
        try:
            self.client.connect(self._host, self._port, keepalive=KEEPALIVE)
        except (OSError, ValueError) as exc:  # refused, unreachable, TLS (ssl.SSLError is an OSError)
            delay = min(2.0**self._connect_failures, 60.0)
            self._connect_failures += 1
            self._next_connect = time.monotonic() + delay
            problem = " ".join(str(exc).split()) or type(exc).__name__  # socket and TLS errors hold no credentials
            log = logger.warning if self._connect_failures == 1 else logger.debug
            log("MQTT broker %s unreachable (%s); trying again in %g s", self.where, problem, delay)
            self.reader.failed(f"{self.where} unreachable: {problem}")
            return
        self._looping = True
        self.client.loop_start()

    def _on_connect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        if reason.is_failure:
            logger.warning("MQTT broker %s refused the connection: %s", self.where, reason)
            self.reader.failed(f"{self.where} refused the connection: {reason}")
            return
        logger.info("MQTT connected to %s as %s (topics under %s)", self.where, self.device, self.prefix)
        self._connect_failures = 0
        self._connected.set()
        self._announce.set()

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        if self._connected.is_set():
            logger.warning("MQTT connection to %s lost (%s); reconnecting", self.where, reason)
        self._connected.clear()

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self.commands.put((message.topic, bytes(message.payload)))

    # --- publishing (the sink's thread) -----------------------------------------------------

    def step(self) -> bool:
        """Announce after a (re)connection, then publish one batch; True when there may be more to do at once."""
        if not self._looping:
            self._connect()
        if not self._connected.is_set():
            return False
        self._handle_commands()
        if self._announce.is_set():
            self._announce.clear()
            if not self._publish_announcement():
                self._announce.set()
                return False
        _last_id, events = self.reader.next_batch()
        if not events:
            return False
        messages = render(self.kiosk, events)
        infos = [info for message in messages for info in self._publish_message(message)]
        if any(message.kind == "alarm" for message in messages):
            infos.append(self._publish_json("state", alarm_summary(self.kiosk), retain=True))
        if not _wait(infos, ACK_TIMEOUT):
            self.reader.failed(f"{self.where} did not acknowledge {len(infos)} messages within {ACK_TIMEOUT:g} s")
            return False
        self.reader.done(events[-1].id)
        logger.debug("MQTT published events %s to %s", [m.event_id for m in messages], events[-1].id)
        return True

    def _handle_commands(self) -> None:
        """Home Assistant's birth message (announce again); the test button (`keryu notify-test`'s path)."""
        while True:
            try:
                topic, payload = self.commands.get_nowait()
            except queue.Empty:
                return
            if topic == discovery.HA_STATUS_TOPIC and payload == b"online":
                self._announce.set()
            elif topic == self.topic(discovery.TEST_BUTTON) and payload == discovery.PRESS.encode():
                self._send_test()

    def _send_test(self) -> None:
        phone = self.kiosk.settings.duty_phone
        if phone is None:  # the button is only announced with a duty phone; a stale retained press finds none
            return
        try:
            alarm = send_test(self.kiosk, phone)
        except Exception:
            logger.exception("The test notification asked for by Home Assistant could not be recorded")
            return
        logger.info("Test notification #%s queued for the duty phone (Home Assistant's button)", alarm.id)

    def _publish_message(self, message: Message) -> list[paho.MQTTMessageInfo]:
        if message.payload is None:
            return []
        infos = [self._publish_json(message.kind, message.payload)]
        if message.kind == "scan" and self.kiosk.clock.now() - message.occurred_at <= TAG_FRESH:
            infos.append(self.client.publish(self.topic("tag"), str(message.payload["card_id"]), qos=1))
        return infos

    def _publish_json(self, name: str, payload: object, *, retain: bool = False) -> paho.MQTTMessageInfo:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return self.client.publish(self.topic(name), body, qos=1, retain=retain)

    def _publish_announcement(self) -> bool:
        """Online, Home Assistant discovery (or its removal), the alarm summary and health: all retained."""
        infos = [self.client.publish(self.topic("status"), "online", qos=1, retain=True)]
        for topic, document in discovery.documents(self.kiosk, self.prefix, self.device):
            body = json.dumps(document, ensure_ascii=False) if document is not None else ""
            infos.append(self.client.publish(topic, body, qos=1, retain=True))
        for topic in discovery.command_topics(self.kiosk, self.prefix):
            self.client.subscribe(topic, qos=1)
        infos.append(self._publish_json("state", alarm_summary(self.kiosk), retain=True))
        if self._latest_health is not None:
            infos.append(self.client.publish(self.topic("health"), self._latest_health, qos=1, retain=True))
            self._health, self._health_at = self._latest_health, time.monotonic()
        return _wait(infos, ACK_TIMEOUT)

    def publish_health(self, health: dict[str, Any]) -> None:
        """The kiosk's health (states only), retained, when it changed or every ten minutes."""
        body = self._latest_health = json.dumps(health, sort_keys=True)
        if not self._connected.is_set() or (body == self._health and time.monotonic() - self._health_at < 600):
            return
        if _wait([self.client.publish(self.topic("health"), body, qos=1, retain=True)], ACK_TIMEOUT):
            self._health, self._health_at = body, time.monotonic()


def _wait(infos: list[paho.MQTTMessageInfo], timeout: float) -> bool:
    """Every message acknowledged by the broker (PUBACK) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    for info in infos:
        try:
            info.wait_for_publish(max(deadline - time.monotonic(), 0.01))
        except (RuntimeError, ValueError):  # not queued: the connection is gone
            return False
        if not info.is_published():
            return False
    return True
