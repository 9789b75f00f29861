"""The admin password (argon2, in system_parameters), the device's session secret, login throttling."""

from __future__ import annotations

import pytest

from appliance.errors import UserError
from appliance.services.auth import (
    ADMIN_PASSWORD_HASH,
    AdminAlreadySet,
    LoginThrottle,
    TooManyAttempts,
    change_admin_password,
    has_admin_password,
    session_secret,
    set_up_admin,
    verify_admin_password,
)
from appliance.services.parameters import get_parameter
from tests.fakes import FakeClock


def test_password_is_stored_as_an_argon2_hash_only(kiosk):
    assert not has_admin_password(kiosk)
    set_up_admin(kiosk, "s3cret-password")
    with kiosk.store.read() as session:
        stored = get_parameter(session, ADMIN_PASSWORD_HASH)
    assert stored is not None and stored.startswith("$argon2id$") and "s3cret-password" not in stored
    assert verify_admin_password(kiosk, "s3cret-password")
    assert not verify_admin_password(kiosk, "s3cret-passwore")


@pytest.mark.parametrize(
    ("password", "confirm", "error"),
    [
        ("1234567", None, "at least 8"),
        ("x" * 257, None, "at most 256"),
        ("password1", "password2", "not the same"),
    ],
)
def test_bad_passwords_are_refused_with_a_sentence(kiosk, password, confirm, error):
    with pytest.raises(UserError, match=error):
        set_up_admin(kiosk, password, confirm)
    assert not has_admin_password(kiosk)


def test_setup_happens_once(kiosk):
    set_up_admin(kiosk, "first-password")
    with pytest.raises(AdminAlreadySet):
        set_up_admin(kiosk, "second-password")
    assert verify_admin_password(kiosk, "first-password")


@pytest.mark.parametrize("attempt", ["", "x" * 1000, "First-password"])
def test_verify_refuses_empty_huge_and_wrong(kiosk, attempt):
    set_up_admin(kiosk, "first-password")
    assert not verify_admin_password(kiosk, attempt)


def test_verify_without_any_password_is_false(kiosk):
    assert not verify_admin_password(kiosk, "anything at all")


def test_change_password(kiosk):
    set_up_admin(kiosk, "first-password")
    with pytest.raises(UserError, match="current password is wrong"):
        change_admin_password(kiosk, "nope-nope", "second-password")
    change_admin_password(kiosk, "first-password", "second-password", "second-password")
    assert verify_admin_password(kiosk, "second-password") and not verify_admin_password(kiosk, "first-password")


def test_session_secret_is_made_once_per_device_and_kept(kiosk, settings):
    first = session_secret(kiosk)
    assert len(first) == 32
    assert session_secret(kiosk) == first
    from appliance.services.kiosk import Kiosk

    other_process = Kiosk.from_settings(settings)
    try:
        assert session_secret(other_process) == first
    finally:
        other_process.close()


def test_throttle_pauses_after_five_failures_and_doubles():
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        throttle.failed("10.0.0.5")
        throttle.check("10.0.0.5")
    throttle.failed("10.0.0.5")
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("10.0.0.5")
    assert caught.value.retry_after == pytest.approx(60)
    throttle.check("10.0.0.6")  # another address is not affected
    clock.advance(60.5)
    throttle.check("10.0.0.5")
    for _ in range(5):
        throttle.failed("10.0.0.5")
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("10.0.0.5")
    assert caught.value.retry_after == pytest.approx(120)


def test_a_good_login_clears_the_count():
    throttle = LoginThrottle(clock=FakeClock())
    for _ in range(4):
        throttle.failed("10.0.0.5")
    throttle.succeeded("10.0.0.5")
    for _ in range(4):
        throttle.failed("10.0.0.5")
    throttle.check("10.0.0.5")  # eight failures, but only four since the good login: not paused
    throttle.failed("10.0.0.5")
    with pytest.raises(TooManyAttempts):
        throttle.check("10.0.0.5")
