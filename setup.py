"""Build hook: compile the gettext catalogs (`.po` -> `.mo`) so that every wheel carries them.

The metadata is in pyproject.toml; this file only adds the compile step to `build_py`, which
runs for `pip wheel .` (the SD image), `pip install .` and `pip install -e .` (startup.sh).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE_DIR = Path(__file__).parent / "appliance" / "locale"


class BuildWithCatalogs(build_py):
    """Compile each `locale/<language>/LC_MESSAGES/messages.po` next to itself before packaging."""

    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")):
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with po.with_suffix(".mo").open("wb") as target:
                write_mo(target, catalog)  # fuzzy entries are left out, as `pybabel compile` does
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
