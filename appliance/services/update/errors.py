"""Why an update is refused or undone: every sentence the owner can see, in one place."""

from __future__ import annotations

from appliance.errors import UserError
from appliance.i18n import N_, Sentence


class UpdateRefused(UserError):
    """A bundle that must not be installed here; raised before anything on the kiosk changes."""


def not_a_bundle(name: str) -> Sentence:
    return Sentence("{name} is not a Keryu update bundle; nothing was changed.", name=name)


def bad_signature(name: str) -> Sentence:
    return Sentence("{name} is not signed by a key this kiosk trusts; nothing was changed.", name=name)


def no_keys(folder: object) -> Sentence:
    return Sentence("This kiosk trusts no update key (none in {folder}); nothing was changed.", folder=str(folder))


def changed_wheel(name: str, wheel: str) -> Sentence:
    return Sentence(
        "{name} was altered or damaged: {wheel} does not match its signed hash; nothing was changed.",
        name=name,
        wheel=wheel,
    )


def wrong_contents(name: str, wheel: str) -> Sentence:
    return Sentence(
        "{name} holds {wheel}, which its signed manifest does not list; nothing was changed.", name=name, wheel=wheel
    )


def wrong_arch(name: str, arch: str, device: str) -> Sentence:
    return Sentence(
        "{name} is for {arch} and this kiosk is {device}; nothing was changed.", name=name, arch=arch, device=device
    )


def wrong_python(name: str, python: str, device: str) -> Sentence:
    return Sentence(
        "{name} is for Python {python} and this kiosk has Python {device}; nothing was changed.",
        name=name,
        python=python,
        device=device,
    )


def older_version(name: str, version: str, running: str) -> Sentence:
    return Sentence(
        "{name} holds Keryu {version}, older than the running {running} "
        "(use --allow-downgrade to install it anyway); nothing was changed.",
        name=name,
        version=version,
        running=running,
    )


def same_version(version: str) -> Sentence:
    return Sentence("Keryu {version} is already running; nothing was changed.", version=version)


def unknown_schema(name: str, version: str, schema: str) -> Sentence:
    return Sentence(
        "{name} holds Keryu {version}, which cannot read this kiosk's database (schema {schema}); nothing was changed.",
        name=name,
        version=version,
        schema=schema,
    )


def no_space(where: object, need_mib: int, free_mib: int) -> Sentence:
    return Sentence(
        "Not enough free space in {where}: the update needs {need} MiB and {free} MiB are free; nothing was changed.",
        where=str(where),
        need=need_mib,
        free=free_mib,
    )


def busy() -> Sentence:
    return Sentence("Another update is in progress; try again when it has finished.")


def not_sqlite() -> Sentence:
    return Sentence(
        "Updates back up and restore a SQLite database only (KERYU_DATABASE_URL is another); nothing was changed."
    )


def rolled_back(version: str, reason: str) -> Sentence:
    return Sentence("update to {version} failed and was rolled back: {reason}", version=version, reason=reason)


# Reasons for a rollback (the text after "rolled back: ").
UNHEALTHY = N_("the kiosk was not healthy within {grace:.0f} s ({detail})")
INTERRUPTED = N_("the kiosk restarted in the middle of the update (a power cut?)")
STEP_FAILED = N_("{step} failed ({detail})")
