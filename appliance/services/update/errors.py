"""Why an update is refused or undone. The sentences are `stored_text`'s: the update status file keeps
them as English text and the admin page shows them in its reader's language."""

from __future__ import annotations

from appliance import stored_text
from appliance.errors import UserError
from appliance.i18n import Sentence


class UpdateRefused(UserError):
    """A bundle that must not be installed here; raised before anything on the kiosk changes."""


def not_a_bundle(name: str) -> Sentence:
    return Sentence(stored_text.UPDATE_NOT_A_BUNDLE, name=name)


def bad_signature(name: str) -> Sentence:
    return Sentence(stored_text.UPDATE_BAD_SIGNATURE, name=name)


def no_keys(folder: object) -> Sentence:
    return Sentence(stored_text.UPDATE_NO_KEYS, folder=str(folder))


def changed_wheel(name: str, wheel: str) -> Sentence:
    return Sentence(
        stored_text.UPDATE_CHANGED_WHEEL,
        name=name,
        wheel=wheel,
    )


def wrong_contents(name: str, wheel: str) -> Sentence:
    return Sentence(stored_text.UPDATE_WRONG_CONTENTS, name=name, wheel=wheel)


def wrong_arch(name: str, arch: str, device: str) -> Sentence:
    return Sentence(stored_text.UPDATE_WRONG_ARCH, name=name, arch=arch, device=device)


def wrong_python(name: str, python: str, device: str) -> Sentence:
    return Sentence(
        stored_text.UPDATE_WRONG_PYTHON,
        name=name,
        python=python,
        device=device,
    )


def older_version(name: str, version: str, running: str) -> Sentence:
    return Sentence(
        stored_text.UPDATE_OLDER_VERSION,
        name=name,
        version=version,
        running=running,
    )


def same_version(version: str) -> Sentence:
    return Sentence(stored_text.UPDATE_SAME_VERSION, version=version)


def unknown_schema(name: str, version: str, schema: str) -> Sentence:
    return Sentence(
        stored_text.UPDATE_UNKNOWN_SCHEMA,
        name=name,
        version=version,
        schema=schema,
    )


def no_space(where: object, need_mib: int, free_mib: int) -> Sentence:
    return Sentence(
        stored_text.UPDATE_NO_SPACE,
        where=str(where),
        need=need_mib,
        free=free_mib,
    )


def busy() -> Sentence:
    return Sentence(stored_text.UPDATE_BUSY)


def not_sqlite() -> Sentence:
    return Sentence(stored_text.UPDATE_NOT_SQLITE)


def rolled_back(version: str, reason: str) -> Sentence:
    return Sentence(stored_text.UPDATE_ROLLED_BACK, version=version, reason=reason)


# Reasons for a rollback (the text after "rolled back: ").
UNHEALTHY = stored_text.UPDATE_UNHEALTHY
INTERRUPTED = stored_text.UPDATE_INTERRUPTED
STEP_FAILED = stored_text.UPDATE_STEP_FAILED
