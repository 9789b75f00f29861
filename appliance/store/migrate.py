"""Schema creation and upgrades with Alembic, driven from code (`keryu init`).

Only `upgrade` loads Alembic (with Mako and Pygments, about 9 MiB): the services read the
revisions for their health check without it, as Alembic writes and declares them.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from appliance.store.db import Store

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def _alembic_config(store: Store) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = store.engine
    return config


def current_revision(store: Store) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with store.engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(versions) > 1:
        raise RuntimeError(f"the database is at several revisions at once ({', '.join(sorted(versions))})")
    return versions[0] if versions else None


def head_revision() -> str | None:
    """The newest revision this code knows: the one that no migration names as its `down_revision`."""
    graph = _revision_graph()
    parents = {parent for downs in graph.values() for parent in downs}
    heads = graph.keys() - parents
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads ({', '.join(sorted(heads))})")
    return heads.pop() if heads else None


def known_revisions() -> frozenset[str]:
    """Every revision this code's migrations create (a database at any of them can be upgraded)."""
    return frozenset(_revision_graph())


@cache
def _revision_graph() -> dict[str, tuple[str, ...]]:
    """Each migration's revision and the revisions it follows, from the files in versions/."""
    graph: dict[str, tuple[str, ...]] = {}
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        declared = _declared(path)
        if isinstance(declared.get("revision"), str):
            down = declared.get("down_revision")
            graph[declared["revision"]] = (down,) if isinstance(down, str) else tuple(down or ())
    return graph


def _declared(path: Path) -> dict:
    """The literal `revision` and `down_revision` a migration file assigns at its top level."""
    values = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            values[target.id] = ast.literal_eval(value)
    return values


def upgrade(store: Store, revision: str = "head") -> tuple[str | None, str | None]:
    """Create or upgrade the schema to `revision` (the newest by default); returns (before, after)."""
    from alembic import command

    before = current_revision(store)
    command.upgrade(_alembic_config(store), revision)
    return before, current_revision(store)
