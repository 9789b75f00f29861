"""The project's exceptions.

Each inherits from `KeryuError` and from the matching built-in (gpiozero's pattern), so a
caller can catch either. `UserError` subclasses are mistakes a person can fix: the CLI prints
them as one sentence and the web layer answers 400/404 with their text.

The sentence is raised untranslated, as an English msgid and its fields
(`NotFound("There is no alarm with id {id}.", id=7)`); `str(error)` is the English text (logs),
and the web page or the CLI shows `error.in_language(reader's language)`. Each class below is a
pybabel keyword (scripts/startup/i18n.sh), so a raised sentence is in the catalogs.
"""

from __future__ import annotations

from appliance.i18n import Sentence


class KeryuError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, message: str = "", /, **params: object) -> None:
        self.sentence = message if isinstance(message, Sentence) and not params else Sentence(message, **params)
        super().__init__(str(self.sentence))

    def in_language(self, language: str) -> str:
        """The error's sentence in `language`, as a reader of that language sees it."""
        return self.sentence.in_language(language)


class ConfigError(KeryuError, ValueError):
    """A configuration variable has a value the kiosk cannot use."""


class UserError(KeryuError, ValueError):
    """A mistake in what a person asked for; the message says what to change."""


class InvalidPhoneNumber(UserError):
    """A phone number that `phonenumbers` cannot parse as a valid number."""


class NotFound(UserError, LookupError):
    """A thing referred to by id or UUID does not exist."""


class UnknownCard(NotFound):
    """A scanned or typed card UUID that no card has."""


class DatabaseMissing(KeryuError, RuntimeError):
    """The database has not been created yet (`keryu init`)."""


class SendError(KeryuError, RuntimeError):
    """A provider did not accept a message."""

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class TransientSendError(SendError):
    """Worth retrying on the same channel: network trouble, 5xx, rate limits."""


class PermanentSendError(SendError):
    """Retrying this channel cannot help: bad credentials, bad number, missing template."""


class ChannelNotConfigured(PermanentSendError):
    """The channel has no credentials in the configuration."""
