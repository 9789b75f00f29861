"""The health check reads the schema revisions as Alembic would, without loading Alembic.

The scanner and the admin page check the database's revision against the code's; Alembic (with
Mako and Pygments, about 9 MiB) is loaded only by `keryu init` and a restore, which migrate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from appliance.store.db import Store
from appliance.store.migrate import MIGRATIONS_DIR, current_revision, head_revision, known_revisions, upgrade


def alembic_current(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_the_head_is_the_one_alembic_finds() -> None:
    assert head_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() is not None


def test_the_database_revision_is_the_one_alembic_reads_empty_older_and_current(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'keryu.db'}")
    assert current_revision(store) is None == alembic_current(store)
    upgrade(store, "0003")
    assert current_revision(store) == "0003" == alembic_current(store)
    upgrade(store)
    assert current_revision(store) == head_revision() == alembic_current(store)


def test_checking_the_revisions_does_not_load_alembic(tmp_path: Path) -> None:
    upgrade(Store(f"sqlite:///{tmp_path / 'keryu.db'}"))
    code = (
        "import json, sys\n"
        "from appliance.store.db import Store\n"
        "from appliance.store.migrate import current_revision, head_revision\n"
        "revisions = [current_revision(Store(sys.argv[1])), head_revision()]\n"
        "print(json.dumps([revisions, sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako'))]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{tmp_path / 'keryu.db'}"], capture_output=True, text=True, check=True
    )
    revisions, loaded = json.loads(result.stdout)
    assert revisions == [head_revision(), head_revision()]
    assert loaded == []


def test_the_known_revisions_are_the_ones_alembic_walks() -> None:
    walked = {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
    assert known_revisions() == walked
