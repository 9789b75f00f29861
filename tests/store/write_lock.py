"""Another process's write transaction on a SQLite file, held for a while: what makes the kiosk's
own writes wait their busy timeout and then fail with "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


def hold_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Take the write lock now (BEGIN IMMEDIATE on a connection of our own); release it after `seconds`."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")

    def release() -> None:
        threading.Event().wait(seconds)
        connection.execute("COMMIT")
        connection.close()

    holder = threading.Thread(target=release, name="sqlite-write-lock", daemon=True)
    holder.start()
    return holder
