"""The kiosk's configuration: one strict pydantic-settings model, checked at start.

Sources, lowest priority first: `/etc/keryu/keryu.env` (device), `.env` in the working
directory (checkout), then the process environment. No other module reads `os.environ`.
A wrong value, or a variable of ours that no setting has (a typo such as
`KERYU_SCAN_COOLDOWNN`), becomes one `ConfigError` sentence naming the variable.
"""

from __future__ import annotations

import difflib
import os
import re
import socket
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, get_args

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from appliance.errors import ConfigError
from appliance.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, REGIONAL, Language, Sentence

DEVICE_ENV_FILE = Path("/etc/keryu/keryu.env")
CHECKOUT_ENV_FILE = Path(".env")
DEFAULT_WHATSAPP_API_URL = "https://graph.facebook.com/v23.0"
DEFAULT_TWILIO_API_URL = "https://api.twilio.com"

# A shorter API token could be guessed from the LAN, even throttled.
MIN_API_TOKEN_LENGTH = 32

_CAMERA_RE = re.compile(r"^(auto|none|picamera2|opencv:\d+|dir:.+|video:.+)$")

BcmPin = Annotated[int, Field(ge=0, le=27)]
DecoderName = Literal["auto", "zxing", "pyzbar", "opencv"]
DECODERS: tuple[str, ...] = get_args(DecoderName)

# Variable families the kiosk owns: a name in them that no setting has is a mistake.
OWN_PREFIXES = ("KERYU_", "WHATSAPP_", "TWILIO_")
# Variables of our scripts (startup.sh, the image build and boot test), never of the services.
TOOL_VARIABLES = frozenset(
    {
        "KERYU_SKIP_INSTALL",
        "KERYU_STOP_TIMEOUT",
        "KERYU_HEALTH_WAIT",
        "KERYU_START_GRACE",
        "KERYU_IMAGE_CACHE",
        "KERYU_IMAGE_MIRROR",
        "KERYU_IMAGE_OUT",
        "KERYU_IMAGE_SUITE",
        "KERYU_BOOT_DIR",
        "KERYU_BOOT_TIMEOUT",
        "KERYU_KEEP_BOOT_DIR",
        "KERYU_BOOT_UPDATES",
        "KERYU_BOOT_FIELD",
        "KERYU_BOOT_MEMORY",
        "KERYU_INSTALL_BASE",
        "KERYU_INSTALL_MIRROR",
        "KERYU_INSTALL_SUITE",
        "KERYU_KEEP_INSTALL_DIR",
        "KERYU_IDLE_WRITE_SECONDS",
        "KERYU_IDLE_WRITE_BEFORE",
        "KERYU_ROOT",
        "KERYU_OWNER",
    }
)

# Variables whose value an error message never repeats (nor any whose name says it is a secret).
SECRET_VARIABLES = frozenset({"KERYU_ADMIN_PASSWORD_HASH", "KERYU_API_TOKEN", "KERYU_MQTT_URL", "KERYU_WEBHOOK_URL"})
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "AUTH", "HASH")


def _env(name: str) -> AliasChoices:
    """Bind a field to exactly one environment variable name."""
    return AliasChoices(name)


class Settings(BaseSettings):
    """Every setting of the kiosk; the field's alias is the variable name users write."""

    model_config = SettingsConfigDict(
        env_file=(DEVICE_ENV_FILE, CHECKOUT_ENV_FILE),
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    # Meta WhatsApp Cloud API (channel 1)
    whatsapp_phone_number_id: str | None = Field(None, validation_alias=_env("WHATSAPP_PHONE_NUMBER_ID"))
    whatsapp_access_token: str | None = Field(None, validation_alias=_env("WHATSAPP_ACCESS_TOKEN"))
    whatsapp_api_url: str = Field(DEFAULT_WHATSAPP_API_URL, validation_alias=_env("WHATSAPP_API_URL"))
    whatsapp_template: str = Field("qr_template_on_m", validation_alias=_env("WHATSAPP_TEMPLATE"))
    whatsapp_template_language: str = Field(
        "",
        validation_alias=_env("WHATSAPP_TEMPLATE_LANGUAGE"),
        description="Language code of the approved template; default: es_MX for KERYU_LANGUAGE=es, en_US for en.",
    )
    whatsapp_app_secret: str | None = Field(None, validation_alias=_env("WHATSAPP_APP_SECRET"))
    whatsapp_verify_token: str | None = Field(None, validation_alias=_env("WHATSAPP_VERIFY_TOKEN"))

    # Twilio (channels 2 and 3)
    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: str | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"))
    twilio_phone_number: str | None = Field(None, validation_alias=_env("TWILIO_PHONE_NUMBER"))
    twilio_whatsapp_number: str | None = Field(None, validation_alias=_env("TWILIO_WHATSAPP_NUMBER"))
    twilio_whatsapp_content_sid: str | None = Field(
        None,
        validation_alias=_env("TWILIO_WHATSAPP_CONTENT_SID"),
        description="Approved Twilio content template (HX...) for WhatsApp outside the 24-hour window.",
    )
    twilio_api_url: str = Field(DEFAULT_TWILIO_API_URL, validation_alias=_env("TWILIO_API_URL"))

    # Redis and Celery
    redis_url: str = Field("redis://localhost:6379/0", validation_alias=_env("REDIS_URL"))
    celery_broker_url: str | None = Field(None, validation_alias=_env("CELERY_BROKER_URL"))
    celery_result_backend: str | None = Field(None, validation_alias=_env("CELERY_RESULT_BACKEND"))

    # The kiosk itself
    data_dir: Path = Field(Path("./data"), validation_alias=_env("KERYU_DATA_DIR"))
    database_url: str | None = Field(None, validation_alias=_env("KERYU_DATABASE_URL"))
    runtime_dir: Path | None = Field(
        None,
        validation_alias=_env("KERYU_RUNTIME_DIR"),
        description="Heartbeats and scheduler state, rewritten every few seconds: a RAM folder on the device"
        " (/run/keryu); default: run/ in KERYU_DATA_DIR.",
    )
    camera: str = Field("auto", validation_alias=_env("KERYU_CAMERA"))
    location: str = Field(default_factory=socket.gethostname, validation_alias=_env("KERYU_LOCATION"))
    public_url: str = Field("http://keryu.local", validation_alias=_env("KERYU_PUBLIC_URL"))
    web_host: str = Field("0.0.0.0", validation_alias=_env("KERYU_WEB_HOST"))
    web_port: int = Field(8080, ge=1, le=65535, validation_alias=_env("KERYU_WEB_PORT"))
    decoder: DecoderName = Field("auto", validation_alias=_env("KERYU_DECODER"))
    scan_cooldown: float = Field(30.0, ge=0, le=86400, validation_alias=_env("KERYU_SCAN_COOLDOWN"))
    led_green_pin: BcmPin = Field(17, validation_alias=_env("KERYU_LED_GREEN_PIN"))
    led_red_pin: BcmPin = Field(27, validation_alias=_env("KERYU_LED_RED_PIN"))
    buzzer_pin: BcmPin = Field(22, validation_alias=_env("KERYU_BUZZER_PIN"))
    api_token: str | None = Field(None, validation_alias=_env("KERYU_API_TOKEN"))
    admin_password_hash: str | None = Field(
        None,
        validation_alias=_env("KERYU_ADMIN_PASSWORD_HASH"),
        description="argon2 hash of the admin password (`keryu hash-password`); first-run setup is skipped.",
    )
    allowed_hosts: str | None = Field(
        None,
        validation_alias=_env("KERYU_ALLOWED_HOSTS"),
        description="Comma-separated host names the admin page answers to; default: the machine's own names.",
    )
    language: Language = Field(
        DEFAULT_LANGUAGE,
        validation_alias=_env("KERYU_LANGUAGE"),
        description="Language of messages, cards and pages: es (Mexican Spanish) or en.",
    )
    timezone: str | None = Field(
        None,
        validation_alias=_env("KERYU_TIMEZONE"),
        description="IANA zone for times in messages and pages; default: the system's local zone.",
    )
    default_region: str = Field(
        "MX",
        min_length=2,
        max_length=2,
        validation_alias=_env("KERYU_DEFAULT_REGION"),
        description="Region assumed for phone numbers typed without a country code.",
    )
    retention_days: int = Field(365, ge=1, validation_alias=_env("KERYU_RETENTION_DAYS"))
    escalate_after: float = Field(
        10.0,
        gt=0,
        le=1440,
        validation_alias=_env("KERYU_ESCALATE_AFTER"),
        description="Minutes without a delivered message before the on-duty contact is told.",
    )
    duty_phone: str | None = Field(
        None,
        validation_alias=_env("KERYU_DUTY_PHONE"),
        description="The on-duty contact told when no custodian's message is delivered in time (E.164).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", validation_alias=_env("KERYU_LOG_LEVEL"))
    wifi_ssid: str | None = Field(None, validation_alias=_env("KERYU_WIFI_SSID"))
    wifi_password: str | None = Field(None, validation_alias=_env("KERYU_WIFI_PASSWORD"))
    wifi_country: str | None = Field(None, validation_alias=_env("KERYU_WIFI_COUNTRY"))
    update_grace: float = Field(
        120.0,
        ge=10,
        le=3600,
        validation_alias=_env("KERYU_UPDATE_GRACE"),
        description="Seconds a new Keryu version has to become healthy before it is rolled back.",
    )
    reboot_window: str | None = Field(
        None,
        validation_alias=_env("KERYU_REBOOT_WINDOW"),
        description="Nightly local-time window (03:00-04:00) in which a reboot that updates need happens; off.",
    )
    # Publishing to home systems (docs/home-assistant.md): off unless a URL is set.
    mqtt_url: str | None = Field(
        None,
        validation_alias=_env("KERYU_MQTT_URL"),
        repr=False,  # holds a password or token: never in a repr, a log line or a traceback
        description="MQTT broker for scans, alarms and Home Assistant discovery: mqtt://user:pass@host:1883 or mqtts://.",
    )
    mqtt_prefix: str | None = Field(
        None,
        validation_alias=_env("KERYU_MQTT_PREFIX"),
        description="Topic prefix of this kiosk's messages; default: keryu/<device id>.",
    )
    mqtt_ca: Path | None = Field(
        None,
        validation_alias=_env("KERYU_MQTT_CA"),
        description="CA certificate file for an mqtts:// broker; default: the system's CAs.",
    )
    ha_discovery: bool | None = Field(
        None,
        validation_alias=_env("KERYU_HA_DISCOVERY"),
        description="Announce the kiosk to Home Assistant over MQTT; default: on when KERYU_MQTT_URL is set.",
    )
    webhook_url: str | None = Field(
        None,
        validation_alias=_env("KERYU_WEBHOOK_URL"),
        repr=False,  # holds a password or token: never in a repr, a log line or a traceback
        description="URL that receives every alarm event as a signed JSON POST.",
    )
    webhook_secret: str | None = Field(
        None,
        validation_alias=_env("KERYU_WEBHOOK_SECRET"),
        repr=False,  # holds a password or token: never in a repr, a log line or a traceback
        validate_default=True,
        description="Key of the webhook's HMAC-SHA256 signature (X-Keryu-Signature).",
    )
    gpiozero_pin_factory: str | None = Field(None, validation_alias=_env("GPIOZERO_PIN_FACTORY"))
    journal_stream: str | None = Field(None, validation_alias=_env("JOURNAL_STREAM"))

    # The configuration error `keryu web` started despite (`load_settings_despite_errors`).
    _config_problem: Sentence | None = PrivateAttr(default=None)

    @property
    def config_problem(self) -> Sentence | None:
        """The sentence naming the unusable variable, or None when every setting is valid."""
        return self._config_problem

    @field_validator("camera")
    @classmethod
    def _camera_spec(cls, value: str) -> str:
        if not _CAMERA_RE.match(value):
            raise ValueError(Sentence("must be auto, none, picamera2, opencv:N, dir:PATH or video:PATH"))
        return value

    @field_validator("whatsapp_api_url", "twilio_api_url", "public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(Sentence("must be an http:// or https:// URL"))
        return value.rstrip("/")

    @field_validator("redis_url", "celery_broker_url", "celery_result_backend")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(redis|rediss|memory|sqla\+\w+|db\+\w+)://", value):
            raise ValueError(Sentence("must be a redis:// URL"))
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^mqtts?://[^/\s]+", value):
            raise ValueError(
                "must be an mqtt:// or mqtts:// URL, such as mqtt://user:password@homeassistant.local:1883"
            )
        return value or None

    @field_validator("mqtt_prefix")
    @classmethod
    def _mqtt_prefix(cls, value: str | None) -> str | None:
        if value and (set(value) & set("#+\0") or value.startswith("/") or value.endswith("/")):
            raise ValueError("must be an MQTT topic without wildcards (#, +) or a leading or trailing slash")
        return value or None

    @field_validator("mqtt_ca")
    @classmethod
    def _readable_ca(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"must be a CA certificate file; {value} does not exist")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_needs_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("webhook_url") and not value:
            raise ValueError("must be set when KERYU_WEBHOOK_URL is: the receiver checks each signature with it")
        return value or None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(Sentence("must be an IANA time zone such as America/Mexico_City")) from exc
        return value or None

    @field_validator("duty_phone")
    @classmethod
    def _duty_phone(cls, value: str | None) -> str | None:
        if value and not re.match(r"^\+[1-9]\d{6,14}$", value.strip()):
            raise ValueError(Sentence("must be a phone number in E.164 form, such as +525512345678"))
        return value.strip() if value else None

    @field_validator("api_token")
    @classmethod
    def _long_token(cls, value: str | None) -> str | None:
        if value and len(value) < MIN_API_TOKEN_LENGTH:
            raise ValueError(
                Sentence(
                    "must be at least {count} characters (make one with "
                    "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`) or be left unset",
                    count=MIN_API_TOKEN_LENGTH,
                )
            )
        return value or None

    @field_validator("admin_password_hash")
    @classmethod
    def _argon2_hash(cls, value: str | None) -> str | None:
        if value is not None:
            from argon2 import extract_parameters
            from argon2.exceptions import InvalidHashError

            try:
                extract_parameters(value)
            except (InvalidHashError, ValueError):
                raise ValueError(
                    Sentence("must be an argon2 hash ($argon2id$...), as `keryu hash-password` prints")
                ) from None
        return value

    @field_validator("reboot_window")
    @classmethod
    def _reboot_window(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "off"):
            return None
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError(Sentence("must be a time range such as 03:00-04:00, or off"))
        return value.strip()

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: str | None) -> str | None:
        if value is not None and not all(
            re.fullmatch(r"[A-Za-z0-9.:\[\]_-]+", name.strip()) for name in value.split(",")
        ):
            raise ValueError(Sentence("must be host names separated by commas, such as keryu.local,kiosk.example.org"))
        return value

    @model_validator(mode="after")
    def _template_language(self) -> Settings:
        """WHATSAPP_TEMPLATE_LANGUAGE follows KERYU_LANGUAGE unless it is set (the template's registered language)."""
        if not self.whatsapp_template_language:
            self.whatsapp_template_language = REGIONAL[self.language]
        return self

    @property
    def allowed_host_names(self) -> frozenset[str] | None:
        """KERYU_ALLOWED_HOSTS as lower-case names without a trailing dot; None: the default list."""
        if self.allowed_hosts is None:
            return None
        return frozenset(name.strip().lower().rstrip(".") for name in self.allowed_hosts.split(","))

    @cached_property
    def database(self) -> str:
        """The SQLAlchemy URL in force (default: keryu.db in the data directory)."""
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'keryu.db'}"

    @property
    def run_dir(self) -> Path:
        """Where files rewritten all the time go (heartbeats, Celery beat schedules): off the SD card on a device."""
        return self.runtime_dir or self.data_dir / "run"

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.redis_url

    @property
    def result_backend(self) -> str:
        return self.celery_result_backend or self.redis_url

    @property
    def under_journald(self) -> bool:
        return bool(self.journal_stream)


def _variable_name(loc: tuple) -> str:
    field = str(loc[0]) if loc else "?"
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        return str(info.validation_alias.choices[0])
    return field.upper()


def known_variables() -> list[str]:
    """Every variable name a setting reads."""
    names = []
    for info in Settings.model_fields.values():
        if isinstance(info.validation_alias, AliasChoices):
            names.extend(str(choice) for choice in info.validation_alias.choices)
    return names


def _env_files(overrides: dict[str, object]) -> list[Path]:
    files = overrides.get("_env_file", Settings.model_config.get("env_file"))
    if files is None:
        return []
    if isinstance(files, str | Path):
        return [Path(files)]
    return [Path(file) for file in files]  # type: ignore[union-attr]


def _check_names(names: Iterable[str], where: Sentence) -> None:
    """Raise for the first of our variables in `names` that no setting reads, with the closest known name."""
    known = {name.upper() for name in known_variables()} | TOOL_VARIABLES
    for name in names:
        upper = name.upper()
        if upper.startswith(OWN_PREFIXES) and upper not in known:
            close = difflib.get_close_matches(upper, sorted(known - TOOL_VARIABLES), n=1, cutoff=0.8)
            if close:
                raise ConfigError(
                    "{name} ({where}) is not a Keryu setting; did you mean {close}?",
                    name=name,
                    where=where,
                    close=close[0],
                )
            raise ConfigError(
                "{name} ({where}) is not a Keryu setting; see the configuration table in the README.",
                name=name,
                where=where,
            )


def check_unknown_variables(overrides: dict[str, object]) -> None:
    """Stop on a misspelt variable in the env files or the environment, which would otherwise be ignored."""
    for path in _env_files(overrides):
        if path.is_file():
            _check_names(dotenv_values(path).keys(), Sentence("in {path}", path=str(path)))
    _check_names(os.environ, Sentence("in the environment"))


def language_despite_errors(**overrides: object) -> str:
    """KERYU_LANGUAGE, read leniently: the language to tell someone that the configuration is wrong in."""
    values: dict[str, str | None] = {}
    for path in _env_files(overrides):
        if path.is_file():
            values.update((name.upper(), value) for name, value in dotenv_values(path).items())
    values.update((name.upper(), value) for name, value in os.environ.items())
    language = str(overrides.get("language") or values.get("KERYU_LANGUAGE") or DEFAULT_LANGUAGE)
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def _is_secret(name: str, value: object) -> bool:
    """A value that must not be repeated: a secret's, or a URL's that may carry a password."""
    return name in SECRET_VARIABLES or any(word in name for word in _SECRET_WORDS) or "@" in str(value)


# pydantic's error types as the words people read after the variable's name (`ctx` gives the fields).
PROBLEMS = {
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "bool_parsing": N_("must be true or false"),
    "greater_than_equal": N_("must be at least {ge}"),
    "greater_than": N_("must be more than {gt}"),
    "less_than_equal": N_("must be at most {le}"),
    "less_than": N_("must be less than {lt}"),
    "string_too_short": N_("must have at least {min_length} characters"),
    "string_too_long": N_("must have at most {max_length} characters"),
    "literal_error": N_("must be one of {expected}"),
}


def _problem(error: dict) -> str:
    """What is wrong with the value: our validator's `Sentence`, pydantic's error type in words, else its text."""
    context = error.get("ctx") or {}
    raised = context.get("error")
    if isinstance(raised, ValueError) and raised.args and isinstance(raised.args[0], Sentence):
        return raised.args[0]
    if error["type"] == "literal_error":
        field = _field_of(error["loc"])
        choices = get_args(Settings.model_fields[field].annotation) if field else ()
        expected = ", ".join(map(repr, choices)) if choices else context.get("expected", "")
        return Sentence(PROBLEMS["literal_error"], expected=expected)
    if error["type"] in PROBLEMS:
        return Sentence(PROBLEMS[error["type"]], **{key: str(value) for key, value in context.items()})
    return error["msg"].removeprefix("Value error, ")


def _sentence(error: dict) -> Sentence:
    """One validation error as the sentence users read: the variable, its problem, the value."""
    name = _variable_name(error["loc"])
    value = error.get("input")
    problem = _problem(error)
    if isinstance(value, str | int | float) and len(str(value)) < 80 and not _is_secret(name, value):
        return Sentence("{name} {problem} (got {value!r}).", name=name, problem=problem, value=value)
    return Sentence("{name} {problem}.", name=name, problem=problem)  # a secret is never repeated


def load_settings(**overrides: object) -> Settings:
    """Read and validate the configuration, or raise one `ConfigError` sentence."""
    check_unknown_variables(overrides)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_sentence(exc.errors()[0])) from None


def _field_of(loc: tuple) -> str | None:
    """The field an error is about, whether pydantic names it by field or by variable."""
    key = str(loc[0]) if loc else ""
    if key in Settings.model_fields:
        return key
    for field, info in Settings.model_fields.items():
        if isinstance(info.validation_alias, AliasChoices) and key.upper() in (
            str(choice).upper() for choice in info.validation_alias.choices
        ):
            return field
    return None


def load_settings_despite_errors(**overrides: object) -> Settings:
    """For `keryu web`, which must show a configuration error rather than die of it: the settings
    with each unusable value replaced by its default, and the error's sentence in `config_problem`.
    """
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        problem = exc.sentence
    fallback = dict(overrides)
    for _ in Settings.model_fields:
        try:
            settings = Settings(**fallback)
            break
        except ValidationError as exc:
            for error in exc.errors():
                field = _field_of(error["loc"])
                if field is None:
                    raise ConfigError(problem) from None
                info = Settings.model_fields[field]
                for alias in info.validation_alias.choices if isinstance(info.validation_alias, AliasChoices) else ():
                    fallback.pop(str(alias), None)
                fallback[field] = info.get_default(call_default_factory=True)
    else:
        raise ConfigError(problem)
    settings._config_problem = problem
    return settings
