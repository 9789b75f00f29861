"""`./startup.sh` installs the PostgreSQL driver when the kiosk's database is PostgreSQL (a fleet), else not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

INSTALL = Path(__file__).resolve().parents[1] / "scripts" / "startup" / "install.sh"


def extras(cwd: Path, mode: str = "run", **env: str) -> str:
    script = f'source "{INSTALL}"; on_raspberry_pi() {{ false; }}; wanted_extras {mode}'
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        text=True,
        capture_output=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "dotenv", "wanted"),
    [
        ({}, "", "-"),
        ({"KERYU_DATABASE_URL": "postgresql+psycopg://keryu@db.lan/keryu"}, "", "postgres"),
        ({}, 'KERYU_DATABASE_URL="postgresql+psycopg://keryu@db.lan/keryu"\n', "postgres"),
        ({"KERYU_DATABASE_URL": "sqlite:////var/lib/keryu/keryu.db"}, "KERYU_DATABASE_URL=postgresql://x/y\n", "-"),
    ],
)
def test_the_postgres_extra_follows_the_database_url(tmp_path, env, dotenv, wanted):
    (tmp_path / ".env").write_text(dotenv)
    assert extras(tmp_path, **env) == wanted
    assert extras(tmp_path, "test", **env) == ("test" if wanted == "-" else f"test,{wanted}")
