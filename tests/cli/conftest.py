"""The `keryu` command as a user runs it: a real subprocess with its own data directory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEAD_REDIS, KERYU


@pytest.fixture
def run(tmp_path: Path, data_dir: Path, request: pytest.FixtureRequest):
    """Run `keryu ARGS` with its own data directory; returns the CompletedProcess.

    A module marked `cli_language("en")` tells its story to an English kiosk (KERYU_LANGUAGE);
    without the mark the command speaks the kiosk's default language, Spanish.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KERYU_", "REDIS_", "CELERY_"))}
    env.update(KERYU_DATA_DIR=str(data_dir), REDIS_URL=DEAD_REDIS, KERYU_LOCATION="Front desk", KERYU_CAMERA="none")
    marker = request.node.get_closest_marker("cli_language")
    if marker:
        env["KERYU_LANGUAGE"] = marker.args[0]

    def keryu(*args: str, input: str | None = None, umask: int = -1, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [KERYU, *args],
            env={**env, **extra},
            cwd=tmp_path,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            umask=umask,
        )

    return keryu
