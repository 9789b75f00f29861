"""The publishing settings: a mistake is one sentence naming the variable, never repeating a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.errors import ConfigError
from appliance.services.publish.device import device_id, mqtt_prefix


@pytest.mark.parametrize(
    ("variables", "sentence"),
    [
        (
            {"KERYU_MQTT_URL": "http://kiosk:Pa55word@broker.lan"},
            "KERYU_MQTT_URL must be an mqtt:// or mqtts:// URL, such as mqtt://user:password@homeassistant.local:1883.",
        ),
        (
            {"KERYU_MQTT_PREFIX": "keryu/#"},
            "KERYU_MQTT_PREFIX must be an MQTT topic without wildcards (#, +) or a leading or trailing slash"
            " (got 'keryu/#').",
        ),
        (
            {"KERYU_WEBHOOK_URL": "https://hooks.example.org/keryu?token=T0ken"},
            "KERYU_WEBHOOK_SECRET must be set when KERYU_WEBHOOK_URL is: the receiver checks each signature with it.",
        ),
        (
            {"KERYU_WEBHOOK_URL": "ftp://hooks.example.org/keryu?token=T0ken", "KERYU_WEBHOOK_SECRET": "x"},
            "KERYU_WEBHOOK_URL must be an http:// or https:// URL.",
        ),
        (
            {"KERYU_MQTT_CA": "/nowhere/ca.pem"},
            "KERYU_MQTT_CA must be a CA certificate file; /nowhere/ca.pem does not exist (got '/nowhere/ca.pem').",
        ),
        ({"KERYU_HA_DISCOVERY": "maybe"}, "KERYU_HA_DISCOVERY "),
    ],
)
def test_a_wrong_publishing_setting_is_one_sentence(variables, sentence):
    with pytest.raises(ConfigError) as caught:
        load_settings(**variables)
    message = str(caught.value)
    assert message.startswith(sentence) and "\n" not in message
    assert "Pa55word" not in message and "T0ken" not in message


def test_a_misspelt_publishing_variable_names_the_right_one(monkeypatch):
    monkeypatch.setenv("KERYU_WEBHOOK_SECRT", "x")
    with pytest.raises(ConfigError, match=r"^KERYU_WEBHOOK_SECRT .* did you mean KERYU_WEBHOOK_SECRET\?$"):
        load_settings()


def test_the_default_prefix_is_keryu_and_the_device_id():
    settings = load_settings(KERYU_MQTT_URL="mqtt://broker.lan")
    assert mqtt_prefix(settings) == f"keryu/{device_id()}"
    assert mqtt_prefix(load_settings(KERYU_MQTT_URL="mqtt://b", KERYU_MQTT_PREFIX="home/door")) == "home/door"


def test_the_device_id_is_the_host_name_and_a_hash_of_the_machine_id(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("socket.gethostname", lambda: "Keryu.local")
    machine = tmp_path / "machine-id"
    machine.write_text("0123456789abcdef0123456789abcdef\n")
    found = device_id(machine)
    assert found.startswith("keryu-") and len(found) == len("keryu-") + 6
    assert "0123456789abcdef" not in found  # only a hash of the machine id leaves the kiosk
    other = tmp_path / "other"
    other.write_text("fedcba9876543210fedcba9876543210\n")
    assert device_id(other) != found  # two kiosks of one image on one broker
    assert device_id(tmp_path / "missing") == "keryu"
