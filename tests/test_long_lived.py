"""A service's startup objects are frozen out of the garbage collector; what it makes later is collected.

Run in a child interpreter: freezing the test process would keep pytest's own objects forever.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = """
import gc, json, weakref
from appliance.long_lived import freeze_startup_objects

class Node:
    pass

def dropped_cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)

held = [Node() for _ in range(5000)]  # what a service keeps for its lifetime (modules, settings...)
startup_garbage = dropped_cycle()  # a reference cycle starting left behind
frozen_before = gc.get_freeze_count()
freeze_startup_objects()
frozen = gc.get_freeze_count() - frozen_before
later_garbage = dropped_cycle()
gc.collect()
print(json.dumps({
    "startup_garbage_collected": startup_garbage() is None,
    "frozen": frozen,
    "later_garbage_collected": later_garbage() is None,
}))
"""


@pytest.fixture(scope="module")
def outcome() -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_startup_garbage_is_collected_before_the_rest_is_frozen(outcome):
    assert outcome["startup_garbage_collected"] is True
    assert outcome["frozen"] >= 5000


def test_garbage_made_after_freezing_is_still_collected(outcome):
    assert outcome["later_garbage_collected"] is True


RETURNING_CHILD = """
import json
from appliance.long_lived import return_free_memory

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

# 40 MiB in blocks glibc keeps on its heap (under its 128 KiB mmap threshold), each followed by a
# small block that stays, so that freeing them leaves holes in the middle, not a top to cut off
used, kept = [], []
for _ in range(400):
    used.append(bytearray(100_000))
    kept.append(bytearray(1_000))
del used
freed = rss_mib()
return_free_memory()
print(json.dumps({"freed": freed, "returned": rss_mib()}))
"""


def test_memory_freed_in_the_middle_of_the_heap_is_given_back():
    result = subprocess.run([sys.executable, "-c", RETURNING_CHILD], capture_output=True, text=True, check=True)
    rss = json.loads(result.stdout)
    assert rss["freed"] - rss["returned"] > 30, rss  # glibc kept the 40 MiB until asked
