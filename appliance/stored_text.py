"""Sentences of ours that are stored as text (an alarm's error, the escalation's reason) and shown later.

The database keeps them as plain text (the contract's `error` is text, and rows written before
now must still read), so the reader's language cannot be chosen when they are written. Every
such sentence is a msgid in `STORED` below; writers store its English text (`Sentence(...)`),
and whoever shows one calls `recognise`, which finds the msgid whose pattern the text matches
(in English or in any catalog's translation: the escalation's reason is written in the kiosk's
language), takes its `{fields}` back out and returns the `Sentence` to translate. A field that
is itself a stored sentence is recognised too. Text that matches none (a provider's own words)
is the provider speaking and is shown as it is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from appliance.i18n import LANGUAGES, N_, Sentence, gettext

# Delivery (services/delivery.py, services/status_updates.py, store/alarm_state.py).
CHANNEL_ERROR = N_("Channel {channel}: {error}")
CHANNEL_ERROR_CODE = N_("Channel {channel}: {error} (code {code})")
NOT_CONFIGURED = N_("{channel} has no credentials configured; skipped")
UNEXPECTED = N_("unexpected error: {error}")
OFFLINE = N_("No provider could be reached (network down?); trying every channel again in {delay:.0f} s.")
NO_CHANNEL = N_("No channel could send the message.")
INTERRUPTED = N_("The worker stopped during this send; the provider may or may not have taken the message.")
UNDELIVERABLE = N_("The provider reported the message undeliverable.")
UNDELIVERABLE_BECAUSE = N_("Provider reported the message undeliverable: {error}")
UNDELIVERABLE_BECAUSE_CODE = N_("Provider reported the message undeliverable: {error} (code {code})")
UNDELIVERABLE_NO_DETAIL = N_("Provider reported the message undeliverable: failed")
UNDELIVERABLE_NO_DETAIL_CODE = N_("Provider reported the message undeliverable: failed (code {code})")

# The providers' answers as the messaging adapters word them (messaging/): each `{meaning}` is one of the
# tables' sentences in messaging/errors.py, translated through the catalogs (see CATALOG_FIELDS).
PROVIDER_ERROR = N_("{provider}: {meaning} (error {code}, HTTP {status})")
PROVIDER_ERROR_DETAIL = N_("{provider}: {meaning} (error {code}, HTTP {status}): {detail}")
PROVIDER_REFUSED = N_("the provider refused the message")
PROVIDER_UNAVAILABLE = N_("the provider is unavailable")
TWILIO_REPORTED = N_("Twilio reported the message {status}")
META_REPORTED_FAILED = N_("Meta reported the message as failed")
NETWORK_FAILURES = {  # by the code of the TransientSendError each is raised with (messaging/errors.py)
    "connect_timeout": N_("{provider}: could not connect in time (connect timeout)"),
    "timeout": N_("{provider}: no answer in time (read timeout); the message may or may not have been sent"),
    "connection": N_("{provider}: connection failed ({problem})"),
    "request": N_("{provider}: request failed ({problem})"),
}
CHANNEL_UNCONFIGURED = N_("{channel} is not configured: set {names}")
META_UNCONFIGURED = N_("{provider} is not configured: set WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN")
UNREADABLE_SEND_ANSWER = N_(
    "{channel}: unreadable answer to a send ({kind}); not retried on this channel to avoid sending twice"
)
UNREADABLE_ANSWER = N_("{channel}: unreadable answer ({kind})")
NO_MESSAGE_ID = N_("{provider}: HTTP {status} without a message id; not retried on this channel to avoid sending twice")

# Escalation (services/escalation.py): written in the kiosk's language when the alarm escalates.
ESCALATION_FAILED = N_("every custodian's message failed.")
ESCALATION_LATE = N_("no custodian's message was delivered within {minutes:g} minutes.")

# Updates (services/update/): kept as text in the update status file, shown on the settings and health pages.
UPDATE_NOT_A_BUNDLE = N_("{name} is not a Keryu update bundle; nothing was changed.")
UPDATE_BAD_SIGNATURE = N_("{name} is not signed by a key this kiosk trusts; nothing was changed.")
UPDATE_NO_KEYS = N_("This kiosk trusts no update key (none in {folder}); nothing was changed.")
UPDATE_CHANGED_WHEEL = N_("{name} was altered or damaged: {wheel} does not match its signed hash; nothing was changed.")
UPDATE_WRONG_CONTENTS = N_("{name} holds {wheel}, which its signed manifest does not list; nothing was changed.")
UPDATE_WRONG_ARCH = N_("{name} is for {arch} and this kiosk is {device}; nothing was changed.")
UPDATE_WRONG_PYTHON = N_("{name} is for Python {python} and this kiosk has Python {device}; nothing was changed.")
UPDATE_OLDER_VERSION = N_(
    "{name} holds Keryu {version}, older than the running {running} "
    "(use --allow-downgrade to install it anyway); nothing was changed."
)
UPDATE_SAME_VERSION = N_("Keryu {version} is already running; nothing was changed.")
UPDATE_UNKNOWN_SCHEMA = N_(
    "{name} holds Keryu {version}, which cannot read this kiosk's database (schema {schema}); nothing was changed."
)
UPDATE_NO_SPACE = N_(
    "Not enough free space in {where}: the update needs {need} MiB and {free} MiB are free; nothing was changed."
)
UPDATE_BUSY = N_("Another update is in progress; try again when it has finished.")
UPDATE_NOT_SQLITE = N_(
    "Updates back up and restore a SQLite database only (KERYU_DATABASE_URL is another); nothing was changed."
)
UPDATE_ROLLED_BACK = N_("update to {version} failed and was rolled back: {reason}")
UPDATE_UNHEALTHY = N_("the kiosk was not healthy within {grace:.0f} s ({detail})")
UPDATE_INTERRUPTED = N_("the kiosk restarted in the middle of the update (a power cut?)")
UPDATE_STEP_FAILED = N_("{step} failed ({detail})")  # too loose to match on its own: see PARTS
UPDATE_INSTALLING = N_("Installing Keryu {version}…")
UPDATE_UPDATED = N_("Keryu updated to {version} (from {previous}); the kiosk is healthy.")
UPDATE_WENT_BACK = N_("Keryu went back to {version} (from {previous}); the kiosk is healthy.")

# The scanner (scanner/camera/, feedback/pins.py, scanner/loop.py): kept in its heartbeat file, shown in health.
CAMERA_DIR_UNWATCHABLE = N_("folder {path} cannot be watched ({problem})")
CAMERA_DIR_UNREADABLE = N_("folder {path} cannot be read ({problem})")
CAMERA_USB_UNOPENED = N_("USB camera {index} (/dev/video{index}) cannot be opened ({problem})")
CAMERA_USB_FORMAT = N_("USB camera {index} delivers {fourcc}, and the kiosk reads MJPEG or YUYV")
CAMERA_USB_STOPPED = N_("USB camera {index} stopped giving frames (unplugged?)")
CAMERA_VIDEO_MISSING = N_("video file {path} does not exist")
CAMERA_VIDEO_UNREADABLE = N_("video file {path} cannot be read")
CAMERA_NO_PICAMERA2 = N_("picamera2 cannot be imported ({problem}); install python3-picamera2")
CAMERA_NO_PI_CAMERA = N_("libcamera finds no Pi camera (check the ribbon cable)")
CAMERA_PI_UNSTARTED = N_("the Pi camera cannot be started ({problem})")
CAMERA_PI_STOPPED = N_("the Pi camera stopped giving frames ({problem})")
CAMERA_NONE_FOUND = N_("no camera found: no Pi camera and no USB camera giving frames")
CAMERA_NONE = N_("none ({reason})")
SCANNER_STOPPED = N_("scanner stopped")
PINS_MOCK_ON_PI = N_("GPIOZERO_PIN_FACTORY=mock on a Raspberry Pi")
PINS_SIMULATED = N_("LEDs and buzzer are simulated on this {model}: {problem}")
SELFTEST_NO_FRAME = N_("no frame within {timeout:g} s")
SELFTEST_NO_FRAME_DIR = N_("no frame within {timeout:g} s (a dir: camera needs a new image file dropped in)")

STORED: tuple[str, ...] = (
    CHANNEL_ERROR,
    PROVIDER_ERROR,
    PROVIDER_ERROR_DETAIL,
    *NETWORK_FAILURES.values(),
    TWILIO_REPORTED,
    META_REPORTED_FAILED,
    CHANNEL_UNCONFIGURED,
    META_UNCONFIGURED,
    UNREADABLE_SEND_ANSWER,
    UNREADABLE_ANSWER,
    NO_MESSAGE_ID,
    CHANNEL_ERROR_CODE,
    NOT_CONFIGURED,
    UNEXPECTED,
    OFFLINE,
    NO_CHANNEL,
    INTERRUPTED,
    UNDELIVERABLE,
    UNDELIVERABLE_BECAUSE,
    UNDELIVERABLE_BECAUSE_CODE,
    UNDELIVERABLE_NO_DETAIL,
    UNDELIVERABLE_NO_DETAIL_CODE,
    ESCALATION_FAILED,
    ESCALATION_LATE,
    UPDATE_NOT_A_BUNDLE,
    UPDATE_BAD_SIGNATURE,
    UPDATE_NO_KEYS,
    UPDATE_CHANGED_WHEEL,
    UPDATE_WRONG_CONTENTS,
    UPDATE_WRONG_ARCH,
    UPDATE_WRONG_PYTHON,
    UPDATE_OLDER_VERSION,
    UPDATE_SAME_VERSION,
    UPDATE_UNKNOWN_SCHEMA,
    UPDATE_NO_SPACE,
    UPDATE_BUSY,
    UPDATE_NOT_SQLITE,
    UPDATE_ROLLED_BACK,
    UPDATE_UNHEALTHY,
    UPDATE_INTERRUPTED,
    UPDATE_INSTALLING,
    UPDATE_UPDATED,
    UPDATE_WENT_BACK,
    CAMERA_DIR_UNWATCHABLE,
    CAMERA_DIR_UNREADABLE,
    CAMERA_USB_UNOPENED,
    CAMERA_USB_FORMAT,
    CAMERA_USB_STOPPED,
    CAMERA_VIDEO_MISSING,
    CAMERA_VIDEO_UNREADABLE,
    CAMERA_NO_PICAMERA2,
    CAMERA_NO_PI_CAMERA,
    CAMERA_PI_UNSTARTED,
    CAMERA_PI_STOPPED,
    CAMERA_NONE_FOUND,
    CAMERA_NONE,
    SCANNER_STOPPED,
    PINS_MOCK_ON_PI,
    PINS_SIMULATED,
    SELFTEST_NO_FRAME,
    SELFTEST_NO_FRAME_DIR,
)
# Sentences too loose to recognise on their own ("{step} failed ({detail})" would take a provider's
# "Delivery failed (carrier)"), recognised only as the field they are written into.
# The update's steps, by the journal's step each follows (the {step} of UPDATE_STEP_FAILED).
UPDATE_STEPS = {
    "verified": N_("installing the new version"),
    "installed": N_("stopping the kiosk"),
    "stopped": N_("backing up the database"),
    "backed-up": N_("the database migration"),
    "migrated": N_("switching versions"),
    "switched": N_("starting the kiosk"),
}
PARTS: dict[str, tuple[str, ...]] = {"reason": (UPDATE_STEP_FAILED,), "step": tuple(UPDATE_STEPS.values())}
# Fields whose value may be a whole msgid of ours without fields, looked up in the catalogs as it is: the
# messaging tables' meanings, which live with their error codes (an adapter the registry cannot import),
# also given as the `{error}` of a report of undeliverable. A value the catalogs lack is kept as it is.
CATALOG_FIELDS = frozenset({"meaning", "error"})

_FIELD = re.compile(r"\{(\w+)(?::[^{}]*)?\}")


class _Taken(str):
    """A field read back out of a stored text: already written, so any format spec leaves it as it is."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return str(self)


def _pattern(template: str) -> re.Pattern[str]:
    """`template`'s text with each `{field}` a named group (a repeated field must repeat its text)."""
    parts, seen, end = [], set(), 0
    for match in _FIELD.finditer(template):
        name = match.group(1)
        parts.append(re.escape(template[end : match.start()]))
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        end = match.end()
    parts.append(re.escape(template[end:]))
    return re.compile("".join(parts), re.DOTALL)


def _specificity(template: str) -> tuple[int, int]:
    """How tightly a template pins its text: the literal text before its first field, then all of it.

    `Channel 2: Twilio SMS has no credentials configured; skipped` is "Channel {channel}: {error}"
    whose error is "{channel} has no credentials configured; skipped", not the other way round.
    """
    first = _FIELD.search(template)
    return (first.start() if first else len(template), len(_FIELD.sub("", template)))


@lru_cache(maxsize=len(PARTS) + 1)
def _patterns(field: str | None) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The patterns a text (or the value of `field`) may match: each msgid in every language, most specific first."""
    msgids = STORED + PARTS.get(field or "", ())
    forms = {(gettext(language, msgid), msgid) for msgid in msgids for language in LANGUAGES}
    forms |= {(msgid, msgid) for msgid in msgids}
    ordered = sorted(forms, key=lambda form: _specificity(form[0]), reverse=True)
    return tuple((_pattern(template), msgid) for template, msgid in ordered)


def recognise(text: str, field: str | None = None) -> Sentence | None:
    """The stored sentence `text` is, with its fields, in any language; None when it is none of ours.

    `field`: the name of the field `text` was read from, when it is part of another sentence.
    """
    for pattern, msgid in _patterns(field if field in PARTS else None):
        match = pattern.fullmatch(text)
        if match:
            fields = {name: _field(name, value) for name, value in match.groupdict().items()}
            return Sentence(msgid, **fields)
    return None


def _field(name: str, value: str) -> str:
    """A field read back: a stored sentence of its own, a msgid of the catalogs, or text to keep."""
    sentence = recognise(value, name)
    if sentence is None and name in CATALOG_FIELDS and _in_catalogs(value):
        sentence = Sentence(value)
    return sentence or _Taken(value)


def _in_catalogs(text: str) -> bool:
    """Whether `text` is a msgid some catalog translates (the English catalog writes it as it is)."""
    return any(gettext(language, text) != text for language in LANGUAGES if language != "en")


def in_language(text: str | None, language: str) -> str:
    """A stored text for a reader of `language`: ours translated, anyone else's as it is (a `Sentence`
    not yet stored is translated from its own fields)."""
    if not text:
        return ""
    if isinstance(text, Sentence):
        return text.in_language(language)
    return _stored_in_language(str(text), language)


@lru_cache(maxsize=4096)
def _stored_in_language(text: str, language: str) -> str:
    """Kept: the same few errors fill a list page and every live update (a nested one takes ~0.5 ms to read)."""
    sentence = recognise(text)
    return text if sentence is None else sentence.in_language(language)
