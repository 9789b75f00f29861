"""The command line tells a mistake in KERYU_LANGUAGE: Spanish on a Mexican kiosk, English on request."""

from __future__ import annotations

from tests.cli.test_scanner_cli import env, keryu  # noqa: F401 (fixtures)


def test_a_bad_phone_number_is_one_spanish_sentence_by_default(keryu):  # noqa: F811
    assert keryu("init").returncode == 0
    spanish = keryu("subject", "add", "--name", "Ana", "--phone", "12ab")
    assert spanish.returncode == 2
    assert spanish.stderr.strip() == "keryu: '12ab' no es un número telefónico."
    english = keryu("subject", "add", "--name", "Ana", "--phone", "12ab", KERYU_LANGUAGE="en")
    assert english.stderr.strip() == "keryu: '12ab' is not a phone number."


def test_an_unknown_alarm_and_a_wrong_setting_are_told_in_spanish(keryu):  # noqa: F811
    assert keryu("init").returncode == 0
    unknown = keryu("alarm", "resolve", "999")
    assert unknown.stderr.strip() == "keryu: No existe ninguna alarma con el id 999."
    wrong = keryu("alarms", KERYU_WEB_PORT="eighty")
    assert wrong.stderr.strip() == "keryu: KERYU_WEB_PORT debe ser un número entero (se recibió 'eighty')."
