"""Configuration: the contract's variables, defaults, env files, and one clear sentence per mistake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.config import DEFAULT_WHATSAPP_API_URL, TOOL_VARIABLES, Settings, known_variables, load_settings
from appliance.errors import ConfigError


def test_defaults_follow_the_contract():
    settings = load_settings()
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.broker_url == settings.result_backend == settings.redis_url
    assert (settings.whatsapp_template, settings.whatsapp_template_language) == ("qr_template_on_m", "es_MX")
    assert settings.language == "es"
    assert settings.whatsapp_api_url == DEFAULT_WHATSAPP_API_URL
    assert settings.twilio_api_url == "https://api.twilio.com"
    assert settings.database.endswith("/data/keryu.db") and settings.database.startswith("sqlite:///")
    assert (settings.camera, settings.decoder, settings.scan_cooldown) == ("auto", "auto", 30.0)
    assert (settings.led_green_pin, settings.led_red_pin, settings.buzzer_pin) == (17, 27, 22)
    assert (settings.web_host, settings.web_port, settings.public_url) == ("0.0.0.0", 8080, "http://keryu.local")
    assert settings.location  # the host name


def test_seed_names_and_celery_urls_are_read(monkeypatch):
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "123")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:7000/1")
    monkeypatch.setenv("KERYU_DATABASE_URL", "postgresql+psycopg://k@db/keryu")
    settings = load_settings()
    assert settings.whatsapp_phone_number_id == "123"
    assert settings.broker_url == "redis://127.0.0.1:7000/1"
    assert settings.database == "postgresql+psycopg://k@db/keryu"


def test_env_files_are_read_and_the_process_environment_wins(monkeypatch, tmp_path: Path):
    device, checkout = tmp_path / "keryu.env", tmp_path / ".env"
    device.write_text("KERYU_LOCATION=Device gate\nKERYU_WEB_PORT=80\nKERYU_SCAN_COOLDOWN=5\n")
    checkout.write_text("KERYU_WEB_PORT=8081\n")
    monkeypatch.setattr(Settings, "model_config", {**Settings.model_config, "env_file": (device, checkout)})
    monkeypatch.setenv("KERYU_SCAN_COOLDOWN", "12")
    settings = load_settings()
    assert settings.location == "Device gate"
    assert settings.web_port == 8081  # the checkout's .env over the device file
    assert settings.scan_cooldown == 12.0  # the environment over both


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("KERYU_WEB_PORT", "eighty", "must be a whole number"),
        ("KERYU_WEB_PORT", "70000", "must be at most 65535"),
        ("KERYU_CAMERA", "webcam", "auto, none, picamera2"),
        ("KERYU_DECODER", "tesseract", "must be one of 'auto', 'zxing'"),
        ("KERYU_LED_GREEN_PIN", "41", "must be at most 27"),
        ("KERYU_SCAN_COOLDOWN", "-1", "must be at least 0"),
        ("WHATSAPP_API_URL", "graph.facebook.com", "http:// or https://"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("KERYU_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("KERYU_ADMIN_PASSWORD_HASH", "$argon2id$v=19$broken", "argon2 hash"),
        ("KERYU_ALLOWED_HOSTS", "keryu.local, front desk", "host names separated by commas"),
    ],
)
def test_a_wrong_value_is_one_sentence_naming_the_variable(monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(variable + " ") and words in message and "\n" not in message


def test_a_plain_password_given_as_the_hash_is_refused_and_never_repeated(monkeypatch):
    monkeypatch.setenv("KERYU_ADMIN_PASSWORD_HASH", "my secret password")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "KERYU_ADMIN_PASSWORD_HASH" in str(caught.value) and "my secret password" not in str(caught.value)


@pytest.mark.parametrize("quote", ["", "'"])
def test_an_argon2_hash_in_keryu_env_is_read_literally(monkeypatch, tmp_path: Path, quote):
    from argon2 import PasswordHasher

    digest = PasswordHasher().hash("correct horse battery")
    device = tmp_path / "keryu.env"
    device.write_text(f"KERYU_ADMIN_PASSWORD_HASH={quote}{digest}{quote}\n")
    monkeypatch.setattr(Settings, "model_config", {**Settings.model_config, "env_file": (device,)})
    assert load_settings().admin_password_hash == digest


@pytest.mark.parametrize(
    ("variable", "suggestion"),
    [
        ("KERYU_SCAN_COOLDOWNN", "KERYU_SCAN_COOLDOWN"),
        ("WHATSAPP_ACCES_TOKEN", "WHATSAPP_ACCESS_TOKEN"),
        ("TWILIO_AUTHTOKEN", "TWILIO_AUTH_TOKEN"),
        ("keryu_web_prot", "KERYU_WEB_PORT"),
    ],
)
def test_a_misspelt_variable_in_the_environment_stops_with_the_closest_name(monkeypatch, variable, suggestion):
    monkeypatch.setenv(variable, "5")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable} (in the environment) is not a Keryu setting")
    assert message.endswith(f"did you mean {suggestion}?") and "\n" not in message


def test_a_misspelt_variable_in_an_env_file_names_the_file(tmp_path: Path):
    env_file = tmp_path / "keryu.env"
    env_file.write_text("KERYU_LOCATION=Gate\nKERYU_SCAN_COOLDOWNN=5\n")
    with pytest.raises(ConfigError, match=rf"^KERYU_SCAN_COOLDOWNN \(in {env_file}\) is not a Keryu setting; did you"):
        load_settings(_env_file=env_file)


def test_a_name_far_from_every_setting_points_to_the_readme(monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")  # read by the Twilio SDK, never by the kiosk
    with pytest.raises(ConfigError, match=r"^TWILIO_EDGE .*; see the configuration table in the README\.$"):
        load_settings()


def test_other_families_and_our_scripts_variables_are_left_alone(monkeypatch):
    monkeypatch.setenv("KERYU_SKIP_INSTALL", "1")  # startup.sh's own
    monkeypatch.setenv("HOME_ASSISTANT_TOKEN", "x")
    assert load_settings().scan_cooldown == 30.0


def test_every_keryu_variable_the_scripts_use_is_a_setting_or_a_script_variable():
    """A script variable named KERYU_* that config.py does not know would stop the services it starts."""
    root = Path(__file__).resolve().parent.parent
    scripts = [root / "startup.sh", root / ".ci" / "run", *(root / "scripts").rglob("*"), *(root / "image").rglob("*")]
    used = set()
    for path in scripts:
        if path.is_file() and "out" not in path.relative_to(root).parts:
            used |= set(re.findall(r"\b(KERYU_[A-Z0-9_]*[A-Z0-9])\b", path.read_text(errors="ignore")))
    assert used - set(known_variables()) - TOOL_VARIABLES == set()


def test_a_short_api_token_is_refused_at_start_without_echoing_it(monkeypatch):
    monkeypatch.setenv("KERYU_API_TOKEN", "short-token-1234")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith("KERYU_API_TOKEN must be at least 32 characters") and message.count(".") >= 1
    assert "short-token-1234" not in message
    monkeypatch.setenv("KERYU_API_TOKEN", "x" * 32)
    assert load_settings(_env_file=None).api_token == "x" * 32
