"""Build hook: compile the gettext catalogs (`.po` -> `.mo`) so that every wheel carries them, write
each language's date and time words from Babel's CLDR data (`appliance/moments.py` says why), and
write the version into `appliance/_version.py`.

The metadata is in pyproject.toml; this file only adds those steps to `build_py`, which runs for
`pip wheel .` (the SD image), `pip install .` and `pip install -e .` (startup.sh). The version is
written as a module because reading it back with `importlib.metadata` costs every service 2.5 MiB
of RSS (it imports `email` and `zipfile` to parse the installed metadata).
"""

import json
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PACKAGE_DIR = Path(__file__).parent / "appliance"
LOCALE_DIR = PACKAGE_DIR / "locale"
VERSION_FILE = PACKAGE_DIR / "_version.py"


def write_moment_words() -> None:
    """`locale/<language>/moments.json`: the CLDR patterns and words `appliance.moments` fills in."""
    from babel import Locale

    sys.path.insert(0, str(PACKAGE_DIR.parent))  # appliance.i18n needs only the standard library
    from appliance.i18n import REGIONAL

    for language, regional in REGIONAL.items():
        locale = Locale.parse(regional)
        words = {
            "locale": regional,
            "date": locale.date_formats["medium"].pattern,
            "time": locale.time_formats["short"].pattern,
            "time_with_seconds": locale.time_formats["medium"].pattern,
            "date_time": locale.datetime_formats["medium"],
            "months": [locale.months["format"]["abbreviated"][month] for month in range(1, 13)],
            "periods": [locale.day_periods["format"]["abbreviated"][period] for period in ("am", "pm")],
            "language_names": {
                other: Locale.parse(name).get_display_name(regional) for other, name in REGIONAL.items()
            },
        }
        (LOCALE_DIR / language / "moments.json").write_text(json.dumps(words, ensure_ascii=False, indent=1) + "\n")


class BuildWithCatalogs(build_py):
    """Compile each `locale/<language>/LC_MESSAGES/messages.po` next to itself, write the date and
    time words beside it, and write the version module, before packaging."""

    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")):
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with po.with_suffix(".mo").open("wb") as target:
                write_mo(target, catalog)  # fuzzy entries are left out, as `pybabel compile` does
        write_moment_words()
        version = self.distribution.get_version()
        VERSION_FILE.write_text(f'"""Written by setup.py from pyproject.toml."""\n\n__version__ = "{version}"\n')
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
