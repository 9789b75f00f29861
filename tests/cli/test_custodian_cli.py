"""`keryu custodian add|list|remove` as an admin types them: real subprocesses, one sentence on mistakes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEAD_REDIS, KERYU


@pytest.fixture
def keryu(tmp_path: Path, data_dir: Path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KERYU_", "REDIS_", "CELERY_"))}
    # An English kiosk: the refusals below are read in English.
    env.update(KERYU_DATA_DIR=str(data_dir), REDIS_URL=DEAD_REDIS, KERYU_CAMERA="none", KERYU_LANGUAGE="en")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([KERYU, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert run("init").returncode == 0
    return run


def test_a_second_custodian_is_added_listed_and_removed(keryu):
    added = keryu("subject", "add", "--name", "Ana López", "--phone", "+525512345678", "--custodian", "María")
    subject_id = str(json.loads(added.stdout)["subject_id"])
    jorge = keryu("custodian", "add", subject_id, "--name", "Jorge", "--phone", "55 8765 4321", "--language", "en")
    assert jorge.returncode == 0, jorge.stderr
    listed = json.loads(keryu("custodian", "list", subject_id, "--json").stdout)
    assert [(c["name"], c["phone"], c["language"], c["position"]) for c in listed] == [
        ("María", "+525512345678", "es", 0),
        ("Jorge", "+525587654321", "en", 1),
    ]
    text = keryu("custodian", "list", subject_id).stdout
    assert text.index("María") < text.index("Jorge")
    removed = keryu("custodian", "remove", str(listed[1]["id"]))
    assert removed.returncode == 0 and "Jorge" in removed.stdout
    assert [c["name"] for c in json.loads(keryu("custodian", "list", subject_id, "--json").stdout)] == ["María"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("custodian", "add", "1", "--name", "Jorge", "--phone", "12"), ("not a valid phone number",)),
        (("custodian", "add", "99", "--name", "Jorge", "--phone", "+525587654321"), ("no subject with id 99",)),
        (("custodian", "remove", "1"), ("only custodian",)),
        (("custodian", "remove", "42"), ("no custodian with id 42",)),
    ],
)
def test_mistakes_are_one_sentence(keryu, args, words):
    keryu("subject", "add", "--name", "Ana", "--phone", "+525512345678", "--custodian", "María")
    result = keryu(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("keryu: ") and len(result.stderr.strip().splitlines()) == 1
    for word in words:
        assert word in result.stderr
