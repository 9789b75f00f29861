"""Why an update is refused or undone: every sentence the owner can see, in one place."""

from __future__ import annotations

from appliance.errors import UserError

NOTHING_CHANGED = "nothing was changed"


class UpdateRefused(UserError):
    """A bundle that must not be installed here; raised before anything on the kiosk changes."""


def not_a_bundle(name: str) -> str:
    return f"{name} is not a Keryu update bundle; {NOTHING_CHANGED}."


def bad_signature(name: str) -> str:
    return f"{name} is not signed by a key this kiosk trusts; {NOTHING_CHANGED}."


def no_keys(folder: object) -> str:
    return f"This kiosk trusts no update key (none in {folder}); {NOTHING_CHANGED}."


def changed_wheel(name: str, wheel: str) -> str:
    return f"{name} was altered or damaged: {wheel} does not match its signed hash; {NOTHING_CHANGED}."


def wrong_contents(name: str, wheel: str) -> str:
    return f"{name} holds {wheel}, which its signed manifest does not list; {NOTHING_CHANGED}."


def wrong_arch(name: str, arch: str, device: str) -> str:
    return f"{name} is for {arch} and this kiosk is {device}; {NOTHING_CHANGED}."


def wrong_python(name: str, python: str, device: str) -> str:
    return f"{name} is for Python {python} and this kiosk has Python {device}; {NOTHING_CHANGED}."


def older_version(name: str, version: str, running: str) -> str:
    return (
        f"{name} holds Keryu {version}, older than the running {running} "
        f"(use --allow-downgrade to install it anyway); {NOTHING_CHANGED}."
    )


def same_version(version: str) -> str:
    return f"Keryu {version} is already running; {NOTHING_CHANGED}."


def unknown_schema(name: str, version: str, schema: str) -> str:
    return (
        f"{name} holds Keryu {version}, which cannot read this kiosk's database (schema {schema}); {NOTHING_CHANGED}."
    )


def no_space(where: object, need_mib: int, free_mib: int) -> str:
    return (
        f"Not enough free space in {where}: the update needs {need_mib} MiB and {free_mib} MiB are free; "
        f"{NOTHING_CHANGED}."
    )


def busy() -> str:
    return "Another update is in progress; try again when it has finished."


def not_sqlite() -> str:
    return f"Updates back up and restore a SQLite database only (KERYU_DATABASE_URL is another); {NOTHING_CHANGED}."


def rolled_back(version: str, reason: str) -> str:
    return f"update to {version} failed and was rolled back: {reason}"


# Reasons for a rollback (the text after "rolled back: ").
UNHEALTHY = "the kiosk was not healthy within {grace:.0f} s ({detail})"
INTERRUPTED = "the kiosk restarted in the middle of the update (a power cut?)"
STEP_FAILED = "{step} failed ({detail})"
