"""Home Assistant MQTT discovery: the kiosk as one device with a tag scanner, sensors and a button.

Documents follow Home Assistant's MQTT discovery documentation for each platform (tag, sensor,
binary_sensor, button; tests/services/publish/ha_discovery_schema.json holds what the docs
list). Names are in the kiosk's language. An entity that is not wanted (discovery off, the
button without KERYU_DUTY_PHONE) gets an empty retained config, which removes it from Home
Assistant and from the broker.
"""

from __future__ import annotations

from typing import Any

from appliance import __version__
from appliance.i18n import N_, gettext
from appliance.services.kiosk import Kiosk

DISCOVERY_PREFIX = "homeassistant"
HA_STATUS_TOPIC = f"{DISCOVERY_PREFIX}/status"  # "online" when Home Assistant (re)starts: announce again
TEST_BUTTON = "notify_test"
PRESS = "PRESS"

COUNT_NAMES = {
    "PENDING": N_("Pending alarms"),
    "PROCESSING": N_("Alarms being sent"),
    "SENT": N_("Sent alarms"),
    "DELIVERED": N_("Delivered alarms"),
    "FAILED": N_("Failed alarms"),
    "ERROR": N_("Alarms waiting to retry"),
}


def enabled(kiosk: Kiosk) -> bool:
    """KERYU_HA_DISCOVERY, on by default when MQTT is."""
    settings = kiosk.settings
    return settings.mqtt_url is not None and (settings.ha_discovery is None or settings.ha_discovery)


def _entities(kiosk: Kiosk, prefix: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(platform, object id, document without device) of every entity the kiosk can have."""

    def name(text: str) -> str:
        return gettext(kiosk.settings.language, text)

    state, health = f"{prefix}/state", f"{prefix}/health"
    entities: list[tuple[str, str, dict[str, Any]]] = [
        ("tag", "card", {"topic": f"{prefix}/tag", "value_template": "{{ value }}"}),
        (
            "sensor",
            "last_alarm_subject",
            {
                "name": name(N_("Last alarm")),
                "icon": "mdi:account-alert",
                "state_topic": state,
                "value_template": "{{ value_json.last_alarm.subject_name if value_json.last_alarm else '' }}",
                "json_attributes_topic": state,
                "json_attributes_template": "{{ (value_json.last_alarm or {}) | tojson }}",
            },
        ),
        (
            "sensor",
            "last_alarm_status",
            {
                "name": name(N_("Last alarm status")),
                "icon": "mdi:message-alert",
                "state_topic": state,
                "value_template": "{{ value_json.last_alarm.status if value_json.last_alarm else '' }}",
            },
        ),
        *(
            (
                "sensor",
                f"alarms_{status.lower()}",
                {
                    "name": name(label),
                    "icon": "mdi:counter",
                    "state_topic": state,
                    "state_class": "measurement",
                    "value_template": f"{{{{ value_json.counts.{status} }}}}",
                },
            )
            for status, label in COUNT_NAMES.items()
        ),
        (
            "binary_sensor",
            "alarm_waiting",
            {
                "name": name(N_("Alarm waiting")),
                "icon": "mdi:bell-ring",
                "state_topic": state,
                "value_template": "{{ 'ON' if value_json.waiting > 0 else 'OFF' }}",
            },
        ),
        (
            "binary_sensor",
            "problem",
            {
                "name": name(N_("Kiosk problem")),
                "device_class": "problem",
                "entity_category": "diagnostic",
                "state_topic": health,
                "value_template": "{{ 'OFF' if value_json.status == 'ok' else 'ON' }}",
                "json_attributes_topic": health,
            },
        ),
        (
            "button",
            TEST_BUTTON,
            {
                "name": name(N_("Send a test notification")),
                "icon": "mdi:message-arrow-right",
                "entity_category": "config",
                "command_topic": f"{prefix}/{TEST_BUTTON}",
                "payload_press": PRESS,
            },
        ),
    ]
    return entities


def _wanted(kiosk: Kiosk, platform: str) -> bool:
    if not enabled(kiosk):
        return False
    return platform != "button" or kiosk.settings.duty_phone is not None  # the button's message goes there


def device_block(kiosk: Kiosk, device: str) -> dict[str, Any]:
    """The one Home Assistant device every entity belongs to."""
    return {
        "identifiers": [f"keryu_{device}"],
        "name": f"Keryu {kiosk.settings.location}",
        "manufacturer": "Keryu",
        "model": gettext(kiosk.settings.language, N_("QR card kiosk")),
        "sw_version": __version__,
        "configuration_url": kiosk.settings.public_url,
    }


def documents(kiosk: Kiosk, prefix: str, device: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(config topic, document) of every entity; None: remove that entity (publish an empty retained config)."""
    node = device.replace(".", "_")
    found: list[tuple[str, dict[str, Any] | None]] = []
    for platform, object_id, body in _entities(kiosk, prefix):
        topic = f"{DISCOVERY_PREFIX}/{platform}/{node}/{object_id}/config"
        if not _wanted(kiosk, platform):
            found.append((topic, None))
            continue
        document = {**body, "device": device_block(kiosk, device)}
        if platform != "tag":  # a tag scanner is a device trigger: no entity id, no availability
            document["unique_id"] = f"keryu_{node}_{object_id}".replace("-", "_")
            document["availability_topic"] = f"{prefix}/status"
        if platform in ("sensor", "binary_sensor"):
            document["qos"] = 1
        found.append((topic, document))
    return found


def command_topics(kiosk: Kiosk, prefix: str) -> list[str]:
    """What the kiosk subscribes to: the button's command topic, and Home Assistant's birth message."""
    if not enabled(kiosk):
        return []
    topics = [HA_STATUS_TOPIC]
    if _wanted(kiosk, "button"):
        topics.append(f"{prefix}/{TEST_BUTTON}")
    return topics
