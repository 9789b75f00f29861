# shellcheck shell=bash
# The gettext catalogs (Babel): one command keeps them in step with the code.
#
#   ./startup.sh i18n    extract every marked string (babel.cfg) into appliance/locale/messages.pot,
#                        merge it into each language's messages.po, fill the English catalog from
#                        the source text, compile every catalog to .mo and list what is untranslated
#
# A Spanish message left empty or fuzzy stays English on the kiosk until it is translated in
# appliance/locale/es/LC_MESSAGES/messages.po (and tests/test_i18n.py fails until then).

LOCALE_DIR=appliance/locale
# i18n.gettext(language, message) and ngettext(language, singular, plural, n) take the language first.
# A `Sentence("...", field=...)` and every error a person is shown (`UserError("...")` and its kin,
# see appliance/errors.py) carry their msgid as the first argument; tests/test_i18n.py checks that
# each such error class is listed here.
SHOWN_ERRORS=(KeryuError ConfigError UserError InvalidPhoneNumber NotFound UnknownCard DatabaseMissing
	AdminAlreadySet TooManyAttempts NotAKeryuDatabase UpdateRefused)
BABEL_KEYWORDS=(-k gettext:2 -k 'ngettext:2,3' -k Sentence)
for error in "${SHOWN_ERRORS[@]}"; do
	BABEL_KEYWORDS+=(-k "$error")
done

# compile_catalogs: .po -> .mo for every language, quietly (the install step runs it each start).
compile_catalogs() {
	[[ -x .venv/bin/pybabel ]] || return 0
	.venv/bin/pybabel -q compile -d "$LOCALE_DIR" -D messages || die "pybabel compile failed; see the message above"
}

cmd_i18n() {
	local pot=$LOCALE_DIR/messages.pot
	.venv/bin/pybabel -q extract -F babel.cfg "${BABEL_KEYWORDS[@]}" --sort-by-file --width 100 \
		--project Keryu --copyright-holder "Keryu" -o "$pot" .
	.venv/bin/pybabel -q update -i "$pot" -d "$LOCALE_DIR" -D messages --width 100 --ignore-obsolete
	.venv/bin/python scripts/i18n/source_catalog.py "$LOCALE_DIR/en/LC_MESSAGES/messages.po"
	.venv/bin/pybabel compile -d "$LOCALE_DIR" -D messages --statistics
}
