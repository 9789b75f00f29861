"""Memory of a running service as the kernel counts it: RSS and PSS from /proc/PID/smaps_rollup,
added up over the process and every process it started (a forked pool child costs memory too).

Shared by the suite's memory budget check (tests/test_startup.py) and bench/bench_memory.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True)
class Memory:
    """Resident and proportional set size in bytes, and how many processes they cover."""

    rss: int
    pss: int
    processes: int

    def __add__(self, other: Memory) -> Memory:
        return Memory(self.rss + other.rss, self.pss + other.pss, self.processes + other.processes)

    @property
    def rss_mib(self) -> float:
        return self.rss / MIB

    @property
    def pss_mib(self) -> float:
        return self.pss / MIB


NOTHING = Memory(0, 0, 0)


def _children(pid: int) -> list[int]:
    """Direct children of `pid`, from every thread's children list."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found


def _process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        try:
            todo += _children(current)
        except OSError:  # it ended meanwhile
            continue
    return tree


def _rollup(pid: int) -> Memory:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Rss", "Pss"):
            fields[key] = int(value.split()[0]) * 1024  # kB
    return Memory(fields["Rss"], fields["Pss"], 1)


def memory_of(pid: int) -> Memory:
    """RSS and PSS of `pid` and all its descendants, summed."""
    total = NOTHING
    for member in _process_tree(pid):
        try:
            total += _rollup(member)
        except (OSError, KeyError):  # ended between listing and reading
            continue
    return total
