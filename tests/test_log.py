"""What a process writes to its log, which on the device journald writes to the SD card."""

from __future__ import annotations

import logging

import pytest

from appliance.log import setup_logging


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    setup_logging("DEBUG")  # takes the per-task muting off again for the tests that follow
    root.handlers[:] = handlers
    root.setLevel(level)


def test_an_idle_worker_writes_no_line_per_scheduled_task(capsys, restore_logging):
    setup_logging("INFO", under_journald=True)

    logging.getLogger("celery.beat").info(
        "Scheduler: Sending due task %s (%s)", "sweep-outbox", "alarms.tasks.sweep_outbox"
    )
    logging.getLogger("celery.worker.strategy").info("Task %s[%s] received", "alarms.tasks.sweep_outbox", "1")
    logging.getLogger("celery.app.trace").info(
        "Task %s[%s] succeeded in %ss: %r", "alarms.tasks.sweep_outbox", "1", 0.02, 0
    )

    assert capsys.readouterr().err == ""


def test_the_beats_start_its_problems_and_the_kiosks_own_lines_still_show(capsys, restore_logging):
    setup_logging("INFO", under_journald=True)
    setup_logging("INFO", under_journald=True)  # idempotent: one line each, not two

    logging.getLogger("celery.beat").info("beat: Starting...")
    logging.getLogger("celery.beat").error("Message Error: %s", "broker down")
    logging.getLogger("celery.app.trace").error("Task %s[%s] raised unexpected: %r", "send", "2", "boom")
    logging.getLogger("appliance.services.delivery").info("Alarm 3 sent on channel 1")

    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "<6>INFO celery.beat: beat: Starting...",
        "<3>ERROR celery.beat: Message Error: broker down",
        "<3>ERROR celery.app.trace: Task send[2] raised unexpected: 'boom'",
        "<6>INFO appliance.services.delivery: Alarm 3 sent on channel 1",
    ]


def test_at_debug_every_task_run_is_logged(capsys, restore_logging):
    setup_logging("INFO", under_journald=True)
    setup_logging("DEBUG", under_journald=True)  # a second set-up at DEBUG undoes the first's muting

    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "sweep-outbox", "sweep")
    logging.getLogger("celery.worker.strategy").info("Task %s[%s] received", "sweep", "1")

    assert capsys.readouterr().err.splitlines() == [
        "<6>INFO celery.beat: Scheduler: Sending due task sweep-outbox (sweep)",
        "<6>INFO celery.worker.strategy: Task sweep[1] received",
    ]
