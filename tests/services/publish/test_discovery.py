"""Home Assistant discovery documents: valid for each platform as its documentation says, in the kiosk's language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import pytest

from appliance import __version__
from appliance.services.publish import discovery
from appliance.services.publish.summary import alarm_summary
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject

SCHEMA = json.loads((Path(__file__).parent / "ha_discovery_schema.json").read_text())
EXPECTED = json.loads((Path(__file__).parent / "ha_expected_documents.json").read_text())["documents"]
PREFIX = "keryu/kiosk-1"
DEVICE = "keryu-ab12cd"
MQTT = {"KERYU_MQTT_URL": "mqtt://kiosk:pw@127.0.0.1:1883", "KERYU_DUTY_PHONE": "+525512340000"}


def _check_value(kind: str, value: object, platform: dict) -> None:
    if kind in ("string", "template", "icon", "url"):
        assert isinstance(value, str) and value
        if kind == "icon":
            assert value.startswith("mdi:")
        if kind == "url":
            assert re.match(r"^https?://", value)
    elif kind == "topic":
        assert isinstance(value, str) and value and not set(value) & set("#+")
    elif kind == "integer":
        assert isinstance(value, int)
    elif kind == "boolean":
        assert isinstance(value, bool)
    elif kind == "qos":
        assert value in (0, 1, 2)
    elif kind == "list":
        assert isinstance(value, list)
    elif kind == "entity_category":
        assert value in SCHEMA["entity_category"]
    elif kind == "device":
        _check_device(value)
    else:  # an enumeration named in the platform's entry
        assert value in platform[kind], f"{value!r} is not one of {kind}"


def _check_device(device: object) -> None:
    assert isinstance(device, dict)
    assert any(key in device for key in SCHEMA["device"]["required_one_of"])
    for key, value in device.items():
        assert key in SCHEMA["device"]["keys"], f"device key {key!r} is not documented"
        _check_value(SCHEMA["device"]["keys"][key], value, {})


def _valid(topic: str, document: dict) -> str:
    """The platform of a discovery document that passes the documented schema (an AssertionError otherwise)."""
    assert re.match(SCHEMA["topic_pattern"], topic), topic
    platform_name = topic.split("/")[1]
    platform = SCHEMA["platforms"][platform_name]
    for key in platform["required"]:
        assert key in document, f"{platform_name} needs {key}"
    for key, value in document.items():
        assert key in platform["keys"], f"{key!r} is not a documented {platform_name} variable ({platform['url']})"
        _check_value(platform["keys"][key], value, platform)
    if platform_name != "tag" and "device" in document:
        assert document.get("unique_id"), "a device map needs a unique_id"
    return platform_name


def _render(template: str, payload: object) -> str:
    """A value template as Home Assistant renders it (Jinja2, `value` and `value_json`)."""
    return jinja2.Environment().from_string(template).render(value=json.dumps(payload), value_json=payload)


@pytest.mark.parametrize("settings", [MQTT], indirect=True)
def test_every_document_is_valid_for_its_platform_and_belongs_to_one_device(kiosk):
    documents = discovery.documents(kiosk, PREFIX, DEVICE)
    platforms = [_valid(topic, document) for topic, document in documents if document is not None]
    assert sorted(set(platforms)) == ["binary_sensor", "button", "sensor", "tag"]
    assert len(platforms) == len(documents)  # every entity wanted: MQTT on, a duty phone for the button
    devices = {json.dumps(document["device"], sort_keys=True) for _topic, document in documents if document}
    assert len(devices) == 1
    unique_ids = [document.get("unique_id") for _topic, document in documents if document and "unique_id" in document]
    assert len(unique_ids) == len(set(unique_ids)) == len(documents) - 1  # all but the tag scanner


@pytest.mark.parametrize("settings", [MQTT], indirect=True)
def test_the_documents_are_the_expected_ones(kiosk):
    found = dict(discovery.documents(kiosk, PREFIX, DEVICE))
    for document in found.values():
        assert document is not None and document["device"].pop("sw_version") == __version__
    expected = json.loads(json.dumps(EXPECTED))
    for document in expected.values():
        del document["device"]["sw_version"]
    assert found == expected
    for topic, document in EXPECTED.items():
        _valid(topic, document)


@pytest.mark.parametrize("settings", [MQTT], indirect=True)
def test_names_are_in_spanish_by_default(kiosk):
    names = {document.get("name") for _topic, document in discovery.documents(kiosk, PREFIX, DEVICE) if document}
    assert {"Última alarma", "Alarma en espera", "Enviar una notificación de prueba"} <= names
    assert discovery.device_block(kiosk, DEVICE)["model"] == "Kiosco de tarjetas QR"


@pytest.mark.parametrize("settings", [{**MQTT, "KERYU_LANGUAGE": "en"}], indirect=True)
def test_names_follow_the_kiosks_language(kiosk):
    names = {document.get("name") for _topic, document in discovery.documents(kiosk, PREFIX, DEVICE) if document}
    assert {"Last alarm", "Alarm waiting", "Send a test notification"} <= names


@pytest.mark.parametrize("settings", [MQTT], indirect=True)
def test_the_templates_read_the_kiosks_state_as_home_assistant_would(kiosk):
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    record_scan(kiosk, card.uuid, ScanSource.FILE)
    state = json.loads(json.dumps(alarm_summary(kiosk)))  # as it travels
    by_object = {topic.split("/")[3]: document for topic, document in discovery.documents(kiosk, PREFIX, DEVICE)}
    assert _render(by_object["last_alarm_subject"]["value_template"], state) == "Luis Pérez"
    assert (
        json.loads(_render(by_object["last_alarm_subject"]["json_attributes_template"], state))["status"] == "PENDING"
    )
    assert _render(by_object["last_alarm_status"]["value_template"], state) == "PENDING"
    assert _render(by_object["alarms_pending"]["value_template"], state) == "1"
    assert _render(by_object["alarms_delivered"]["value_template"], state) == "0"
    waiting = SCHEMA["platforms"]["binary_sensor"]["payload_on_default"]
    assert _render(by_object["alarm_waiting"]["value_template"], state) == waiting
    problem = by_object["problem"]["value_template"]
    assert _render(problem, {"status": "ok"}) == SCHEMA["platforms"]["binary_sensor"]["payload_off_default"]
    assert _render(problem, {"status": "degraded"}) == SCHEMA["platforms"]["binary_sensor"]["payload_on_default"]
    tag_template = by_object["card"]["value_template"]  # the tag topic carries the bare card id
    assert jinja2.Environment().from_string(tag_template).render(value=card.uuid) == card.uuid


@pytest.mark.parametrize("settings", [{**MQTT, "KERYU_HA_DISCOVERY": "0"}], indirect=True)
def test_discovery_turned_off_removes_every_entity(kiosk):
    documents = discovery.documents(kiosk, PREFIX, DEVICE)
    assert documents and all(document is None for _topic, document in documents)
    assert discovery.command_topics(kiosk, PREFIX) == []


@pytest.mark.parametrize("settings", [{"KERYU_MQTT_URL": MQTT["KERYU_MQTT_URL"]}], indirect=True)
def test_without_a_duty_phone_the_test_button_is_removed(kiosk):
    removed = [topic for topic, document in discovery.documents(kiosk, PREFIX, DEVICE) if document is None]
    assert removed == [f"homeassistant/button/{DEVICE}/notify_test/config"]
    assert discovery.command_topics(kiosk, PREFIX) == [discovery.HA_STATUS_TOPIC]
