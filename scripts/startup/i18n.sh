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
BABEL_KEYWORDS=(-k gettext:2 -k 'ngettext:2,3')

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
