"""Languages: the kiosk speaks Mexican Spanish by default (messages, dates, cards) and English on request.

The catalogs are checked against the code: every string a user can read is marked for
translation, every marked string is in both catalogs, and both are complete.
"""

from __future__ import annotations

import ast
import io
import json
import pickle
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from string import Formatter
from zoneinfo import ZoneInfo

import jinja2
import pypdf
import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import nodes

from appliance import i18n, stored_text
from appliance.config import load_settings
from appliance.errors import ConfigError, InvalidPhoneNumber, NotFound
from appliance.messaging.base import Notification
from appliance.messaging.format import format_timestamp, message_text
from appliance.messaging.meta_whatsapp import MetaWhatsApp
from appliance.messaging.phone import read_phone
from appliance.messaging.twilio_common import provider_status
from appliance.services import delivery
from appliance.services.cards import card_sheet_pdf
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, record_scan
from appliance.services.status_updates import undeliverable
from appliance.services.subjects import SubjectInput, add_subject

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "appliance" / "web" / "templates"
MEXICO_CITY = ZoneInfo("America/Mexico_City")


def catalog(language: str):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=language)


def translated(message) -> bool:
    return all(message.string) if message.pluralizable else bool(message.string)


# ---- the catalogs ------------------------------------------------------------------------------
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_catalog_is_complete(language: str) -> None:
    messages = [message for message in catalog(language) if message.id]
    assert messages
    assert [m.id for m in messages if m.fuzzy] == []
    assert [m.id for m in messages if not translated(m)] == []


def _babel_keywords() -> list[str]:
    """The `-k` options `./startup.sh i18n` gives pybabel (scripts/startup/i18n.sh)."""
    return subprocess.run(
        ["bash", "-c", 'source scripts/startup/i18n.sh && printf "%s\\n" "${BABEL_KEYWORDS[@]}"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def _extracted(tmp_path: Path) -> set[str]:
    """What `./startup.sh i18n` would extract from the code now (same babel.cfg, same keywords)."""
    keywords = _babel_keywords()
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [pybabel, "-q", "extract", "-F", "babel.cfg", *keywords, "-o", pot, "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as source:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}


def test_every_marked_string_is_in_both_catalogs(tmp_path: Path) -> None:
    """A string added to the code but not to the catalogs fails here: run `./startup.sh i18n` and translate."""
    extracted = _extracted(tmp_path)
    assert len(extracted) > 100
    for language in i18n.LANGUAGES:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id}
        assert sorted(extracted - known) == [], f"not in the {language} catalog"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_compiled_catalog_is_the_current_one(language: str) -> None:
    """What the kiosk loads (.mo) says what the catalog (.po) says: no stale build."""
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.mo").open("rb") as source:
        compiled = {m.id: m.string for m in read_mo(source) if m.id}
    assert compiled == {m.id: m.string for m in catalog(language) if m.id}


# ---- nothing a user reads is left unmarked in the templates ----------------------------------------
VISIBLE_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label", "data-confirm", "data-test-label"}
WORD = re.compile(r"[^\W\d_]{2,}")  # two letters or more: a word someone reads, not "#" or "%.0f"
MARKERS = {"_", "gettext", "ngettext"}
# Not words to translate: the product's name and text a user types literally.
LITERAL = {"Keryu", "XXXX-XXXX-XXXX-XXXX"}


def _printed_literals(node: nodes.Node) -> list[str]:
    """String constants an expression prints as they are, outside `_()`."""
    if isinstance(node, nodes.Const):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, nodes.Call):
        if isinstance(node.node, nodes.Name) and node.node.name in MARKERS:
            return []
        return []  # a macro or function: its own output is checked where it is defined
    if isinstance(node, nodes.CondExpr):
        return _printed_literals(node.expr1) + (_printed_literals(node.expr2) if node.expr2 else [])
    if isinstance(node, nodes.Or | nodes.And | nodes.Concat):
        parts = node.nodes if isinstance(node, nodes.Concat) else [node.left, node.right]
        return [text for part in parts for text in _printed_literals(part)]
    if isinstance(node, nodes.Filter) and node.name != "format":
        return _printed_literals(node.node) if node.node is not None else []
    return []


class _Visible(HTMLParser):
    """Collects text and visible attribute values of an HTML page, skipping <code> (commands, names)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._code += tag == "code"
        self.texts.extend(value or "" for name, value in attrs if name in VISIBLE_ATTRIBUTES)

    def handle_endtag(self, tag: str) -> None:
        self._code -= tag == "code"

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.texts.append(data)


def unmarked_text(source: str) -> list[str]:
    """Words a user would read in a template that are not inside `_()`.

    Each `{{ ... }}` becomes a placeholder (its printed string literals, if any, are flagged where
    the placeholder lands in visible text), statements vanish, then the HTML is read for text
    and the attributes people see.
    """
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    flagged: dict[str, list[str]] = {}

    def output(match: re.Match[str]) -> str:
        key = f"\x00{len(flagged)}\x00"
        tree = env.parse(match.group(0))
        flagged[key] = [text for out in tree.find_all(nodes.Output) for n in out.nodes for text in _printed_literals(n)]
        return key

    html = re.sub(r"{#.*?#}", "", source, flags=re.S)
    html = re.sub(r"{{.*?}}", output, html, flags=re.S)
    html = re.sub(r"{%.*?%}", "", html, flags=re.S)
    parser = _Visible()
    parser.feed(html)
    found = []
    for text in parser.texts:
        for key, literals in flagged.items():
            if key in text:
                found.extend(literal for literal in literals if WORD.search(literal))
            text = text.replace(key, " ")
        shown = " ".join(text.split())
        if WORD.search(re.sub("|".join(map(re.escape, LITERAL)), " ", shown)):
            found.append(shown)
    return found


def test_the_unmarked_text_check_finds_what_it_should() -> None:
    sample = (
        '<h1>Hello</h1><input placeholder="Your name"><p>{{ _("Fine") }}</p>'
        '<td>{{ "yes" if ok else _("no") }}</td><span class="{{ \'sent\' if ok else \'\' }}">{{ count }}</span>'
        "<code>keryu status</code><p>{{ _('Card of %(name)s', name=n) }} #{{ id }}</p>"
    )
    assert unmarked_text(sample) == ["Hello", "Your name", "yes"]


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_shows_text_outside_the_catalogs(template: str) -> None:
    assert unmarked_text((TEMPLATES / template).read_text(encoding="utf-8")) == []


# ---- messages to custodians --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "expected"),
    [("es", "25 nov 2026, 12:00 p.m. CST"), ("en", "Nov 25, 2026, 12:00 PM CST")],
)
def test_times_are_written_the_local_way(language: str, expected: str) -> None:
    moment = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    assert " ".join(format_timestamp(moment, MEXICO_CITY, language).split()) == expected


@pytest.fixture
def spanish_kiosk(fake_clock, kiosk: Kiosk, kiosk_env: dict[str, str]) -> Kiosk:
    """A kiosk with the defaults a Mexican family gets (KERYU_TIMEZONE from the SD image's sample)."""
    assert kiosk.settings.language == "es"
    assert kiosk.settings.timezone == "America/Mexico_City"
    return kiosk


def test_the_custodian_gets_the_sms_in_spanish_with_a_mexican_time(spanish_kiosk: Kiosk, standin) -> None:
    card = add_subject(spanish_kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    with spanish_kiosk.store.session() as session:
        set_channel(session, 3)
    alarm_id = record_scan(spanish_kiosk, card.uuid, ScanSource.FILE).alarm_id
    assert alarm_id is not None
    delivery.deliver(spanish_kiosk, alarm_id)
    [sms] = standin.accepted
    # The fake clock's 18:00 UTC is noon in Mexico City.
    assert " ".join(sms.body["Body"].split()) == (
        "Alerta de Keryu: la tarjeta de Ana López se escaneó en Test gate el 25 nov 2026, 12:00 p.m. CST."
    )


def test_the_meta_template_is_sent_in_mexican_spanish(spanish_kiosk: Kiosk, standin) -> None:
    card = add_subject(spanish_kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    alarm_id = record_scan(spanish_kiosk, card.uuid, ScanSource.FILE).alarm_id
    assert alarm_id is not None
    delivery.deliver(spanish_kiosk, alarm_id)
    [message] = standin.accepted
    template = message.body["template"]
    assert template["language"] == {"code": "es_MX"}
    name, moment = (parameter["text"] for parameter in template["components"][0]["parameters"])
    assert (name, " ".join(moment.split())) == ("Ana López", "25 nov 2026, 12:00 p.m. CST")


@pytest.mark.parametrize(
    ("env", "template_language"),
    [
        ({}, "es_MX"),
        ({"KERYU_LANGUAGE": "en"}, "en_US"),
        ({"KERYU_LANGUAGE": "en", "WHATSAPP_TEMPLATE_LANGUAGE": "en_GB"}, "en_GB"),  # the registered one wins
    ],
)
def test_the_template_language_follows_the_kiosk_language(env: dict[str, str], template_language: str) -> None:
    settings = load_settings(**env)
    note = Notification("+525512345678", "Ana", "now", "gate", language=settings.language)
    assert MetaWhatsApp(settings).payload(note)["template"]["language"] == {"code": template_language}


def test_an_english_kiosk_writes_english_messages() -> None:
    moment = format_timestamp(datetime(2026, 11, 25, 18, 0, tzinfo=UTC), MEXICO_CITY, "en")
    note = Notification("+525512345678", "Ana López", moment, "Front gate", is_test=True, language="en")
    assert " ".join(message_text(note).split()) == (
        "TEST MESSAGE, no action needed. Keryu alert: the card of Ana López was scanned at Front gate"
        " on Nov 25, 2026, 12:00 PM CST."
    )


@pytest.mark.parametrize("value", ["fr", "es_MX", "Spanish"])
def test_an_unsupported_language_is_one_clear_sentence(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^KERYU_LANGUAGE .*'es'.*'en'"):
        load_settings(KERYU_LANGUAGE=value)


# ---- the printed cards -------------------------------------------------------------------------
def test_the_card_sheet_is_printed_in_spanish(kiosk: Kiosk) -> None:
    add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    reader = pypdf.PdfReader(io.BytesIO(card_sheet_pdf(kiosk)))
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Ana López" in text
    assert "Si la encuentra, acerque esta tarjeta a la cámara del kiosco." in text  # a LAN kiosk: no phone
    assert re.search(r"Tarjeta [0-9a-f]{8}", text)
    assert reader.metadata.title == "Tarjetas Keryu"


@pytest.mark.parametrize("settings", [{"KERYU_LANGUAGE": "en"}], indirect=["settings"])
def test_an_english_kiosk_prints_english_cards(kiosk: Kiosk) -> None:
    add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    text = " ".join(pypdf.PdfReader(io.BytesIO(card_sheet_pdf(kiosk))).pages[0].extract_text().split())
    assert "If found, hold this card to the kiosk's camera." in text


# ---- choosing the language of a page -------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "default", "chosen"),
    [
        (None, "es", "es"),
        (None, "en", "en"),
        ("en-US,en;q=0.9", "es", "en"),
        ("es-MX,es;q=0.9,en;q=0.8", "en", "es"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "es", "en"),  # the first supported one the browser names
        ("fr-FR, de;q=0.5", "es", "es"),  # none supported: the kiosk's language
        ("en;q=0.2, es;q=0.8", "en", "es"),  # by quality, not by order
        ("en;q=0, es", "en", "es"),
        ("*", "es", "es"),
        ("garbage;;q=x,", "en", "en"),
    ],
)
def test_the_browser_picks_among_the_supported_languages(header: str | None, default: str, chosen: str) -> None:
    assert i18n.negotiate(header, default) == chosen


# ---- the build ---------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the checkout's files")
def test_a_wheel_built_from_a_fresh_clone_carries_the_compiled_catalogs(tmp_path: Path) -> None:
    """No .mo is committed: the build compiles them (setup.py), as the SD image's wheel build does;
    it writes the date and time words (moments.json) from Babel's CLDR data the same way."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    clone = tmp_path / "clone"
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    assert not list(clone.glob("appliance/locale/*/LC_MESSAGES/*.mo"))
    assert not list(clone.glob("appliance/locale/*/moments.json"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, clone],  # as image/steps does
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("keryu-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        spanish = read_mo(io.BytesIO(archive.read("appliance/locale/es/LC_MESSAGES/messages.mo")))
        assert "appliance/locale/en/LC_MESSAGES/messages.mo" in archive.namelist()
        spanish_words = json.loads(archive.read("appliance/locale/es/moments.json"))
    assert spanish.get("Keryu cards").string == "Tarjetas Keryu"
    assert spanish_words["months"][10] == "nov"


def test_the_sd_image_writes_mexico_city_times_in_spanish() -> None:
    settings = load_settings(_env_file=ROOT / "image/files/rootfs/usr/share/keryu/device.env")
    assert (settings.language, settings.timezone) == ("es", "America/Mexico_City")


def test_a_card_png_carries_its_caption_in_the_kiosk_language(kiosk: Kiosk) -> None:
    import zxingcpp
    from PIL import Image

    from appliance.cards.png import captioned_png
    from appliance.cards.text import card_label, how_to_use
    from appliance.services.cards import card_png, qr_png

    card = add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    png = card_png(kiosk, card.uuid)
    image = Image.open(io.BytesIO(png))
    assert image.height > image.width  # the caption under the square code
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [card.scan_url]
    spanish = [how_to_use("es", phone_scan=False), card_label("es", card.scan_url)]
    assert spanish == [
        "Si la encuentra, acerque esta tarjeta a la cámara del kiosco.",
        f"Tarjeta {card.uuid[:8]}",
    ]
    assert png == captioned_png(qr_png(card.scan_url), spanish)
    english = [how_to_use("en", phone_scan=False), card_label("en", card.scan_url)]
    assert png != captioned_png(qr_png(card.scan_url), english)


# ---- what the services tell a person ----------------------------------------------------------------
# Errors a page or the CLI shows as they are raised (appliance/errors.py): their sentence must be a
# msgid with fields, never English already filled in (an f-string, `%`, `+` or `.format()`).
SHOWN_ERROR_ROOTS = {"KeryuError", "UserError", "ConfigError", "DatabaseMissing"}
APPLIANCE = ROOT / "appliance"


def _shown_error_classes() -> set[str]:
    """UserError, ConfigError, DatabaseMissing and every class the code derives from them."""
    bases: dict[str, set[str]] = {}
    for path in APPLIANCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    found = set(SHOWN_ERROR_ROOTS - {"KeryuError"})
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found | {"KeryuError"}
        found |= more


def _called_name(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")


def filled_in_sentences(source: str, classes: set[str]) -> list[str]:
    """Where `source` raises one of `classes` (or builds a `Sentence`) with English already filled in."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _called_name(node) in classes | {"Sentence"} and node.args:
            first = node.args[0]
            formatted = isinstance(first, ast.Call) and _called_name(first) == "format"
            if isinstance(first, ast.JoinedStr | ast.BinOp) or formatted:
                found.append(f"line {node.lineno}: {ast.unparse(first)[:80]}")
    return found


def test_the_filled_in_check_finds_what_it_should() -> None:
    sample = (
        'raise UserError(f"No alarm {n}.")\nraise NotFound("No {what}.".format(what=w))\n'
        'raise UserError("Too " + "many")\nraise UserError("There is no alarm with id {id}.", id=n)\n'
        "raise UserError(PASSWORD_IN_ENV)\nraise SendError(f'provider said {x}')\nSentence(f'{x} left')\n"
    )
    assert [hit.split(":")[0] for hit in filled_in_sentences(sample, {"UserError", "NotFound"})] == [
        "line 1",
        "line 2",
        "line 3",
        "line 7",
    ]


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in APPLIANCE.rglob("*.py")))
def test_errors_shown_to_a_person_are_raised_as_sentences_to_translate(path: str) -> None:
    """An English sentence baked into an error would reach a Spanish page or CLI untranslated."""
    assert filled_in_sentences((ROOT / path).read_text(encoding="utf-8"), _shown_error_classes()) == []


def test_every_error_shown_to_a_person_is_a_pybabel_keyword() -> None:
    """Else `raise NewError("...")` would never reach the catalogs (scripts/startup/i18n.sh, SHOWN_ERRORS)."""
    assert sorted((_shown_error_classes() | {"Sentence"}) - set(_babel_keywords())) == []


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_translation_keeps_the_fields_of_its_sentence(language: str) -> None:
    """A Spanish sentence naming a field its English one does not have would fail when shown."""
    fields = Formatter()
    for message in catalog(language):
        if message.id and "{" in str(message.id) and not message.pluralizable:
            try:
                wanted = {name for _, name, _, _ in fields.parse(message.id) if name}
                written = {name for _, name, _, _ in fields.parse(message.string) if name}
            except ValueError:  # literal braces (a JSON example): shown as they are, never filled in
                continue
            assert written <= wanted, message.id


def test_a_bad_phone_number_is_told_in_the_readers_language() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        read_phone("12ab")
    assert str(caught.value) == "'12ab' is not a phone number."  # the journal's English
    assert caught.value.in_language("es") == "'12ab' no es un número telefónico."
    assert caught.value.in_language("en") == "'12ab' is not a phone number."


def test_a_configuration_problem_is_told_in_the_readers_language() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(KERYU_SCAN_COOLDOWN="soon")
    assert caught.value.in_language("es") == "KERYU_SCAN_COOLDOWN debe ser un número (se recibió 'soon')."
    assert caught.value.in_language("en") == "KERYU_SCAN_COOLDOWN must be a number (got 'soon')."


def test_a_sentence_survives_pickling_with_its_fields() -> None:
    """Errors cross processes (Celery): the far side can still translate them."""
    error = pickle.loads(pickle.dumps(NotFound("There is no alarm with id {id}.", id=7)))
    assert (str(error), error.in_language("es")) == (
        "There is no alarm with id 7.",
        "No existe ninguna alarma con el id 7.",
    )


def test_flash_messages_on_pages_are_translated() -> None:
    """Every flash message a handler shows goes through `_()` (a bare string or f-string would stay English)."""
    untranslated = []
    for path in (APPLIANCE / "web").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _called_name(node) == "flash" and len(node.args) >= 2:
                message = node.args[1]
                if isinstance(message, ast.Constant | ast.JoinedStr):
                    untranslated.append(f"{path.name}:{node.lineno}")
    assert untranslated == []


# ---- our sentences stored as text (an alarm's error, the escalation's reason) ------------------
def _sample_fields(msgid: str) -> dict[str, object]:
    """A value for each field: a number where the field is formatted as one, else a distinct word."""
    return {name: 12 if spec else f"value of {name}" for _, name, spec, _ in Formatter().parse(msgid) if name}


@pytest.mark.parametrize("msgid", stored_text.STORED)
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_stored_sentence_is_translated_and_read_back_with_its_fields(msgid: str, language: str) -> None:
    """Written in any language, a stored sentence is recognised as itself, with the same fields."""
    entry = catalog(language).get(msgid)
    assert entry is not None and translated(entry) and not entry.fuzzy, f"untranslated in {language}: {msgid}"
    fields = _sample_fields(msgid)
    written = i18n.Sentence(msgid, **fields).in_language(language)
    recognised = stored_text.recognise(written)
    assert recognised is not None and recognised.msgid == msgid
    specs = {name: spec for _, name, spec, _ in Formatter().parse(msgid) if name}
    assert {name: str(value) for name, value in recognised.params.items()} == {
        name: format(value, specs[name]) for name, value in fields.items()
    }


def test_a_stored_error_inside_a_stored_error_is_translated_too() -> None:
    skipped = i18n.Sentence(stored_text.NOT_CONFIGURED, channel="Meta WhatsApp")
    stored = str(i18n.Sentence(stored_text.CHANNEL_ERROR, channel=1, error=str(skipped)))
    assert (
        stored_text.in_language(stored, "es") == "Canal 1: Meta WhatsApp no tiene credenciales configuradas; se omitió"
    )


def test_the_escalation_reason_kept_in_spanish_reads_in_english() -> None:
    """The reason is written in the kiosk's language when the alarm escalates; an English page still reads it."""
    spanish = i18n.Sentence(stored_text.ESCALATION_LATE, minutes=10.0).in_language("es")
    assert stored_text.in_language(spanish, "en") == "no custodian's message was delivered within 10 minutes."


@pytest.mark.parametrize(
    "providers_words", ["Message undeliverable", "(#131026) Message Undeliverable.", "Unknown destination handset"]
)
def test_a_providers_own_words_are_shown_as_they_are(providers_words: str) -> None:
    assert stored_text.recognise(providers_words) is None
    assert stored_text.in_language(providers_words, "es") == providers_words


def test_a_twilio_code_reported_later_reads_in_spanish() -> None:
    """Twilio reports code 30003 by callback: the kiosk's reading of the code is in the catalogs."""
    reported = provider_status("SM1", "undelivered", 30003)
    stored = str(undeliverable(reported.error_message, reported.error_code))
    assert stored_text.in_language(stored, "es") == (
        "El proveedor informó que el mensaje no se pudo entregar: el teléfono del responsable no está disponible"
        " (apagado o sin cobertura) (código 30003)"
    )
