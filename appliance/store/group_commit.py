"""Group commit for SQLite in WAL mode: one fsync makes the commits of every waiting thread durable.

With `synchronous=FULL` SQLite fsyncs the WAL inside each commit, while it holds the write
lock, so threads that commit at the same time queue for one fsync each. With
`synchronous=NORMAL` a commit only appends its frames to the WAL; `GroupCommit.wait` then
fsyncs the WAL file outside the lock, and one fsync covers every commit appended before it
began (fsync flushes the whole file). A caller of `wait` returns only once its commit is on
disk, so the promise is the same as FULL's: committed means it survives a power cut. SQLite
itself still syncs the WAL before a checkpoint and the database file after it, so the
frames never leave the WAL unsynced.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class GroupCommit:
    """Durability barrier over one database's WAL file, shared by the threads of one process."""

    def __init__(self, database: Path):
        self.wal = Path(f"{database}-wal")
        self._cond = threading.Condition()
        self._committed = 0  # commits whose frames are in the WAL, numbered in order
        self._synced = 0  # every commit up to this number is on disk
        self._syncing = False
        self._last = threading.local()  # each thread's own latest commit, for `sync`
        self.commits = self.fsyncs = 0  # what a benchmark reads: commits made durable, fsyncs it took

    def committed(self) -> int:
        """Note a commit that just returned; its number for `wait`."""
        with self._cond:
            self._committed += 1
            self._last.number = self._committed
            return self._committed

    def wait(self, number: int) -> None:
        """Return once commit `number` is on disk: join an fsync that started after it, or start one."""
        with self._cond:
            self.commits += 1
            while self._synced < number:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing, target = True, self._committed
                try:
                    self._cond.release()
                    try:
                        self._fsync()
                    finally:
                        self._cond.acquire()
                    self._synced = max(self._synced, target)
                    self.fsyncs += 1
                finally:
                    self._syncing = False
                    self._cond.notify_all()

    def sync(self) -> None:
        """Make every commit of the calling thread durable (for a path that skipped `wait`)."""
        self.wait(getattr(self._last, "number", 0))

    def _fsync(self) -> None:
        # Opened by name each time: SQLite deletes the WAL when its last connection closes.
        try:
            fd = os.open(self.wal, os.O_RDONLY)
        except FileNotFoundError:
            return  # no WAL: everything was checkpointed into the (synced) database file
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
