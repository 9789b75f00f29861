"""Logging set up once per process, in a form that reads well in journald.

Under systemd (JOURNAL_STREAM is set) the journal already stamps time and unit, so a line is
`<priority>level name: message` (sd-daemon priority prefixes give colours and `-p err`
filtering). On a terminal it carries a timestamp instead.
"""

from __future__ import annotations

import logging
import sys

_SD_PRIORITY = {
    logging.CRITICAL: "<2>",
    logging.ERROR: "<3>",
    logging.WARNING: "<4>",
    logging.INFO: "<6>",
    logging.DEBUG: "<7>",
}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = _SD_PRIORITY.get(record.levelno, "<6>")
        return prefix + super().format(record)


# Lines an idle kiosk would otherwise write every few seconds for ever, which journald puts on the
# SD card (about 1 a second, 22 MiB an hour in the 512 MiB boot test): the embedded beat's
# "Sending due task" and Celery's "Task ... received" / "succeeded". Each alarm's outcome is logged
# by the services themselves, and Celery's warnings and errors still come through. At DEBUG
# (KERYU_LOG_LEVEL=DEBUG, for a look at every task run) they are kept.
_PER_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")
_DUE_TASK_LINE = "Scheduler: Sending due task"


class _WithoutDueTaskLines(logging.Filter):
    """Drops celery.beat's routine line per scheduled run; keeps its start-up line and every warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not str(record.msg).startswith(_DUE_TASK_LINE)


_DUE_TASK_FILTER = _WithoutDueTaskLines()


def setup_logging(level: str = "INFO", *, under_journald: bool = False) -> None:
    """Configure the root logger for this process (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    if under_journald:
        handler.setFormatter(_JournalFormatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that are chatty at INFO about every HTTP request or connection.
    for noisy in ("urllib3", "twilio.http_client", "aiohttp.access", "kombu", "amqp", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    every_task_run = root.level <= logging.DEBUG
    for name in _PER_TASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if every_task_run else logging.WARNING)
    beat = logging.getLogger("celery.beat")
    if every_task_run:
        beat.removeFilter(_DUE_TASK_FILTER)
    elif _DUE_TASK_FILTER not in beat.filters:
        beat.addFilter(_DUE_TASK_FILTER)
