"""The kiosk's logs of the last 24 hours as one text file for the owner, with secrets taken out.

On a device the services log to the journal, read with `journalctl` for the keryu units (the web
unit is in the `systemd-journal` group for this); a checkout run by `./startup.sh` logs to files
in `$KERYU_DATA_DIR/logs`. Either way every line passes `Redactor`: the configured secrets'
values, the setup code, bearer tokens, passwords and tokens in URLs and `key=value` pairs go;
phone numbers keep their country code and last digits, so the owner can still tell whose they
are when asking for help.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from appliance.services.auth import SETUP_CODE
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import get_parameter

logger = logging.getLogger(__name__)

HOURS = 24
UNITS = (
    "keryu-web.service",
    "keryu-scanner.service",
    "keryu-worker.service",
    "keryu-beat.service",
    "keryu-init.service",
    "keryu-boot-config.service",
    "keryu-setup-code.service",
    "keryu-growfs.service",
    "keryu-power@*.service",
    "redis-server.service",
)
UNIT_DIRS = (Path("/etc/systemd/system"), Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
JOURNAL_TIMEOUT = 60.0
MAX_BYTES = 20 * 1024 * 1024  # a log file larger than this is cut to its last MAX_BYTES
HIDDEN = "[hidden]"
SECRET_FIELDS = (
    "whatsapp_access_token",
    "whatsapp_app_secret",
    "whatsapp_verify_token",
    "twilio_auth_token",
    "api_token",
    "admin_password_hash",
    "wifi_password",
)

_PATTERNS = [
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + HIDDEN),
    # passwords in URLs: redis://:secret@host, https://user:secret@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1" + HIDDEN + "@"),
    # key=value and "key": "value" pairs whose key says secret (not a logger name such as services.auth:)
    (
        re.compile(
            r"(?i)(?<![.\w-])([\w-]*(?:token|password|passwd|secret|signature|api[_-]?key|setup[_-]?code|auth)[\w-]*"
            r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&]+)"
        ),
        r"\1" + HIDDEN,
    ),
    # argon2 hashes
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s\"']+"), HIDDEN),
]
# A phone number: + and 8 to 15 digits, maybe in groups; or a Mexican number written without +.
_PHONE = re.compile(r"(?<![\w/.-])(\+\d[\d ()-]{7,18}\d|\b52\d{10,11}\b)(?![\w-])")


def mask_phone(number: str) -> str:
    """`+525512345678` -> `+52******5678`: the country and the last four digits stay."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 8:
        return number
    lead = "+" if number.startswith("+") else ""
    return f"{lead}{digits[:2]}{'*' * (len(digits) - 6)}{digits[-4:]}"


class Redactor:
    """Takes secrets out of log lines: known values first, then patterns, then phone numbers."""

    def __init__(self, secrets: Iterable[str]):
        # Longest first, so that a secret containing another is hidden whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, HIDDEN)
        for pattern, replacement in _PATTERNS:
            line = pattern.sub(replacement, line)
        return _PHONE.sub(lambda m: mask_phone(m.group(1)), line)


def kiosk_secrets(kiosk: Kiosk) -> list[str]:
    """Every configured secret value, the setup code (with and without dashes) and URL passwords."""
    settings = kiosk.settings
    values = [getattr(settings, field) or "" for field in SECRET_FIELDS]
    for url in (settings.redis_url, settings.celery_broker_url, settings.celery_result_backend):
        match = re.match(r"^\w+://[^:@/]*:([^@/]+)@", url or "")
        if match:
            values.append(match.group(1))
    try:
        with kiosk.store.read() as session:
            code = get_parameter(session, SETUP_CODE)
    except Exception as exc:  # the logs matter most when the database does not answer
        logger.debug("Setup code not read for redaction: %s", exc)
        code = None
    if code:
        values += [code, code.replace("-", "")]
    return values


@dataclass(frozen=True)
class LogExport:
    """The redacted text and where it came from ("journal" or the log folder)."""

    text: str
    source: str


def journal_available(unit_dirs: Iterable[Path] = UNIT_DIRS) -> bool:
    """The kiosk runs under systemd with its units installed, and journalctl exists."""
    return (
        Path("/run/systemd/system").is_dir()
        and shutil.which("journalctl") is not None
        and any((d / "keryu-web.service").exists() for d in unit_dirs)
    )


def read_journal(hours: int = HOURS) -> str:
    """The keryu units' journal of the last `hours` hours, oldest first: `time unit: message` lines."""
    command = ["journalctl", "--no-pager", "--quiet", "-o", "json", "--since", f"-{hours}h"]
    command += ["--output-fields=MESSAGE,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER"]
    for unit in UNITS:
        command += ["-u", unit]
    done = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=JOURNAL_TIMEOUT)
    if done.returncode != 0 and not done.stdout:
        raise OSError(f"journalctl failed: {done.stderr.strip()[:300]}")
    return "".join(journal_line(line) for line in done.stdout.splitlines())


def journal_line(raw: str) -> str:
    """One `journalctl -o json` entry as `2026-11-28T21:05:09+00:00 keryu-web.service: message`."""
    try:
        entry = json.loads(raw)
        stamp = datetime.fromtimestamp(int(entry["__REALTIME_TIMESTAMP"]) / 1e6).astimezone()
    except (ValueError, KeyError, TypeError):
        return ""
    message = entry.get("MESSAGE", "")
    if isinstance(message, list):  # journald gives bytes that are not UTF-8 as a list of numbers
        message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode("utf-8", "replace")
    source = entry.get("_SYSTEMD_UNIT") or entry.get("SYSLOG_IDENTIFIER") or "?"
    return f"{stamp.isoformat(timespec='seconds')} {source}: {message}\n"


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)")


def read_log_files(folder: Path, since: datetime) -> str:
    """Lines of the *.log files in `folder` newer than `since` (a line without a time goes with the one before)."""
    parts = []
    for path in sorted(folder.glob("*.log")):
        try:
            if datetime.fromtimestamp(path.stat().st_mtime) < since:
                continue
            with path.open("rb") as handle:
                size = handle.seek(0, 2)
                handle.seek(max(0, size - MAX_BYTES))
                text = handle.read().decode("utf-8", "replace")
        except OSError as exc:
            parts.append(f"==> {path.name}: not readable ({exc.strerror or exc})\n")
            continue
        keep, lines = True, []
        for line in text.splitlines():
            stamp = _STAMP.match(line)
            if stamp:
                try:
                    keep = datetime.fromisoformat(stamp.group(1).replace(" ", "T")) >= since
                except ValueError:
                    keep = True
            if keep:
                lines.append(line)
        parts.append(f"==> {path.name} <==\n" + "\n".join(lines) + ("\n" if lines else ""))
    return "\n".join(parts)


def export_logs(kiosk: Kiosk, *, use_journal: bool | None = None, hours: int = HOURS) -> LogExport:
    """The last `hours` hours of the kiosk's logs, redacted, with a header saying what they are."""
    if use_journal is None:
        use_journal = journal_available()
    now = kiosk.clock.now()
    if use_journal:
        source = "the systemd journal (keryu units and Redis)"
        try:
            body = read_journal(hours)
        except (OSError, subprocess.SubprocessError) as exc:
            body = f"The journal could not be read: {exc}\n"
    else:
        folder = kiosk.settings.data_dir / "logs"
        source = f"the log files in {folder}"
        since = datetime.now() - timedelta(hours=hours)  # log files carry local, naive times
        body = read_log_files(folder, since) if folder.is_dir() else f"There is no log folder {folder}.\n"
    redact = Redactor(kiosk_secrets(kiosk))
    until = now.isoformat(timespec="seconds")
    header = (
        f"Keryu kiosk logs, {kiosk.settings.location}, the last {hours} hours until {until}\n"
        f"From {source}. Secrets are hidden and phone numbers partly masked.\n\n"
    )
    return LogExport(header + "\n".join(redact(line) for line in body.splitlines()) + "\n", source)
