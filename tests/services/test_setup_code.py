"""The one-time setup code: made once per device, in a form people can type, compared without
regard to case, spaces and dashes, and gone for good once an admin password exists."""

from __future__ import annotations

import re

import pytest

from appliance.services.auth import SETUP_CODE, hash_password, set_up_admin
from appliance.services.parameters import get_parameter
from appliance.services.setup_code import (
    ALPHABET,
    ensure_setup_code,
    new_setup_code,
    normalize,
    setup_code_matches,
)

CODE_RE = re.compile(rf"^[{ALPHABET}]{{4}}(-[{ALPHABET}]{{4}}){{3}}$")


def test_a_code_is_four_groups_of_four_unambiguous_characters():
    codes = {new_setup_code() for _ in range(200)}
    assert all(CODE_RE.match(code) for code in codes)
    assert len(codes) == 200
    assert not set("".join(codes)) & set("01ILOU")
    assert ALPHABET == "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_the_code_is_made_once_and_kept(kiosk):
    code = ensure_setup_code(kiosk)
    assert code is not None and CODE_RE.match(code)
    assert ensure_setup_code(kiosk) == code
    with kiosk.store.read() as session:
        assert get_parameter(session, SETUP_CODE) == code


@pytest.mark.parametrize(
    "typed", ["{code}", "{lower}", " {lower} ", "{bare}", "{spaced}", "{code}\n", "-{bare}-"]
)
def test_the_code_matches_however_it_is_typed(kiosk, typed):
    code = ensure_setup_code(kiosk)
    assert code is not None
    variants = {
        "code": code,
        "lower": code.lower(),
        "bare": code.replace("-", ""),
        "spaced": code.replace("-", " "),
    }
    assert setup_code_matches(kiosk, typed.format(**variants))


@pytest.mark.parametrize("typed", ["", "----", "2222-2222-2222-2222", "é", "{code}X", "{short}"])
def test_anything_else_does_not_match(kiosk, typed):
    code = ensure_setup_code(kiosk)
    assert code is not None
    assert not setup_code_matches(kiosk, typed.format(code=code, short=code[:-1]))


def test_nothing_matches_before_a_code_is_made(kiosk):
    assert not setup_code_matches(kiosk, "")
    assert not setup_code_matches(kiosk, "2222-2222-2222-2222")


def test_setting_the_password_clears_the_code_for_good(kiosk):
    code = ensure_setup_code(kiosk)
    assert code is not None
    set_up_admin(kiosk, "correct horse battery")
    with kiosk.store.read() as session:
        assert not get_parameter(session, SETUP_CODE)
    assert not setup_code_matches(kiosk, code)
    assert ensure_setup_code(kiosk) is None  # not made again


def test_a_kiosk_that_had_a_password_before_codes_existed_gets_none(kiosk):
    set_up_admin(kiosk, "correct horse battery")
    assert ensure_setup_code(kiosk) is None


@pytest.mark.parametrize(
    "settings", [{"KERYU_ADMIN_PASSWORD_HASH": hash_password("correct horse battery")}], indirect=True
)
def test_no_code_is_needed_when_keryu_env_gives_the_password(kiosk):
    assert ensure_setup_code(kiosk) is None
    with kiosk.store.read() as session:
        assert get_parameter(session, SETUP_CODE) is None


def test_normalize_drops_case_spaces_and_dashes():
    assert normalize(" 7k3m-q9tz 4hwa\t2CXR ") == "7K3MQ9TZ4HWA2CXR"
