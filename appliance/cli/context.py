"""What a CLI command needs, built lazily so that `keryu --help` never touches the database."""

from __future__ import annotations

import json
import sys
from functools import cached_property

from appliance.config import Settings, load_settings
from appliance.log import setup_logging
from appliance.services.kiosk import Kiosk


class CliContext:
    """Settings and the kiosk's collaborators, created on first use."""

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings()
        setup_logging(settings.log_level, under_journald=settings.under_journald)
        return settings

    @cached_property
    def kiosk(self) -> Kiosk:
        """The kiosk with its database checked to exist (commands other than `init` need it)."""
        kiosk = Kiosk.from_settings(self.settings)
        kiosk.store.require_schema()
        return kiosk

    def close(self) -> None:
        if "kiosk" in self.__dict__:
            self.kiosk.close()


def print_json(value: object) -> None:
    """One JSON document on stdout (dates as ISO 8601)."""
    json.dump(value, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
