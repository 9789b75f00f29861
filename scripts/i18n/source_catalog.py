"""Fill the English catalog from the source strings: English is what the code is written in.

`./startup.sh i18n` runs this after `pybabel update`, so the English catalog stays complete
(no empty `msgstr`) without anyone copying strings by hand. Usage: source_catalog.py FILE.po
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def fill(path: Path) -> int:
    """Copy each untranslated or fuzzy message's source text into its translation; return how many."""
    with path.open("rb") as source:
        catalog = read_po(source, locale="en")
    filled = 0
    for message in catalog:
        if not message.id:
            continue  # the header
        if message.fuzzy or not message.string or (message.pluralizable and not all(message.string)):
            message.string = message.id if not message.pluralizable else tuple(message.id)
            message.flags.discard("fuzzy")
            filled += 1
    with path.open("wb") as target:
        write_po(target, catalog, width=100, omit_header=False)
    return filled


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {fill(Path(name))} English messages filled from their source text")
