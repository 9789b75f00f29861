"""What a CLI command needs, built lazily so that `keryu --help` never touches the database."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack, closing
from types import TracebackType
from typing import TYPE_CHECKING

from appliance.config import Settings, load_settings, load_settings_despite_errors
from appliance.log import setup_logging

if TYPE_CHECKING:
    from appliance.services.kiosk import Kiosk


class CliContext:
    """Settings and the kiosk of one command, created on first use and closed when the command ends."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._kiosk: Kiosk | None = None
        self._schema_checked = False
        self._opened = ExitStack()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            setup_logging(self._settings.log_level, under_journald=self._settings.under_journald)
        return self._settings

    def settings_despite_errors(self) -> Settings:
        """The settings even when one is wrong (its sentence in `config_problem`): `keryu web` shows it."""
        if self._settings is None:
            self._settings = load_settings_despite_errors()
            setup_logging(self._settings.log_level, under_journald=self._settings.under_journald)
        return self._settings

    @property
    def unchecked_kiosk(self) -> Kiosk:
        """The kiosk whether or not its database is set up (`init`, `restore` and `status` start there)."""
        if self._kiosk is None:
            from appliance.services.kiosk import Kiosk  # Celery and SQLAlchemy: not for `keryu --help`

            self._kiosk = self._opened.enter_context(closing(Kiosk.from_settings(self.settings)))
        return self._kiosk

    @property
    def kiosk(self) -> Kiosk:
        """The kiosk with its database checked to exist (commands other than `init` need it)."""
        kiosk = self.unchecked_kiosk
        if not self._schema_checked:
            kiosk.store.require_schema()
            self._schema_checked = True
        return kiosk

    def close(self) -> None:
        """Close everything this context opened (the kiosk's database connections)."""
        self._opened.close()

    def __enter__(self) -> CliContext:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def print_json(value: object) -> None:
    """One JSON document on stdout (dates as ISO 8601)."""
    json.dump(value, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
