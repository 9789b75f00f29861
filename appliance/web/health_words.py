"""The health page's words: each component's name, its state and the names of its details.

`/api/health` answers with these as keys and values (monitors read them; they stay English). The
page shows each in its reader's language through `word()`; a key a newer part adds before it is
listed here is shown as it is, with spaces for underscores.
"""

from __future__ import annotations

from appliance.i18n import N_

WORDS = {
    # states
    "ok": N_("ok"),
    "degraded": N_("degraded"),
    "down": N_("down"),
    "failed": N_("failed"),  # a self-test's part (tools page)
    "simulated": N_("simulated"),
    # components
    "config": N_("configuration"),
    "database": N_("database"),
    "redis": N_("Redis (queue)"),
    "worker": N_("worker (sends messages)"),
    "beat": N_("beat (timed tasks)"),
    "scanner": N_("scanner"),
    "feedback": N_("LEDs and buzzer"),
    "channels": N_("channels"),
    "disk": N_("disk"),
    "web": N_("admin page"),
    # details
    "error": N_("error"),
    "reason": N_("reason"),
    "url": N_("URL"),
    "backend": N_("engine"),
    "schema": N_("schema"),
    "late_alarms": N_("late alarms"),
    "latency_ms": N_("latency (ms)"),
    "workers": N_("workers"),
    "last_run_seconds_ago": N_("last run (seconds ago)"),
    "chosen": N_("chosen"),
    "configured": N_("configured"),
    "receipts": N_("delivery receipts"),
    "pins": N_("pins"),
    "http_status": N_("HTTP status"),
    "free_mb": N_("free (MB)"),
    "total_mb": N_("total (MB)"),
    "state": N_("state"),
    "camera": N_("camera"),
    "heartbeat_seconds_ago": N_("last heartbeat (seconds ago)"),
    "detail": N_("detail"),
    "decoder": N_("decoder"),
    "frames": N_("frames"),
    "frames_decoded": N_("frames decoded"),
    "last_frame_at": N_("last frame"),
    "feedback_problem": N_("LEDs and buzzer problem"),
    "fps": N_("frames per second"),
    "cpu_percent": N_("CPU (percent)"),
    "live_clients": N_("live pages"),
    # the scanner's states (scanner/heartbeat.py)
    "starting": N_("starting"),
    "streaming": N_("streaming"),
    "watching": N_("watching"),
    "camera_error": N_("camera error"),
    "no_camera": N_("no camera"),
    "stopped": N_("stopped"),
}


def msgid(word: object) -> str:
    """The msgid to show for a health key or state word (the word itself when it is not listed)."""
    text = str(word)
    return WORDS.get(text, text.replace("_", " "))
