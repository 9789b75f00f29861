"""`keryu init`: create the kiosk's database or migrate it to this version's schema."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.services.kiosk import Kiosk
from appliance.store.migrate import upgrade


@dataclass(frozen=True)
class Migration:
    """Where the schema was and where it is now (None: the database was empty)."""

    database: str  # the URL without its password
    before: str | None
    after: str | None


def migrate(kiosk: Kiosk) -> Migration:
    """Bring the schema to the newest revision; running it again changes nothing."""
    before, after = upgrade(kiosk.store)
    return Migration(database=kiosk.store.display_url, before=before, after=after)
