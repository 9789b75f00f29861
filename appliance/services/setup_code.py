"""The one-time setup code that first-run setup asks for, so that only the kiosk's owner can claim it.

`keryu init` makes it once per device and stores it as the `setup_code` system parameter; the
owner reads it with `keryu setup-code` (or on the boot partition of an SD image) and types it on
`/setup`. Setting the admin password clears it, and it is never made again once a password exists.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from appliance.services.auth import ADMIN_PASSWORD_HASH, SETUP_CODE, has_admin_password
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import get_parameter, set_parameter

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L or U: the code is read off a screen or paper and typed by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 4
GROUP_LENGTH = 4


def new_setup_code() -> str:
    """A fresh code such as `7K3M-Q9TZ-4HWA-2CXR` (80 bits from `secrets`)."""
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))
    return "-".join(groups)


def normalize(text: str) -> str:
    """The code as compared: upper case, without spaces or dashes."""
    return "".join(text.split()).replace("-", "").upper()


def ensure_setup_code(kiosk: Kiosk) -> str | None:
    """The device's setup code, made on first call; None once an admin password exists (none is needed)."""
    if kiosk.settings.admin_password_hash is not None:
        return None
    with kiosk.store.session() as session:  # the write lock: two processes never make two codes
        if get_parameter(session, ADMIN_PASSWORD_HASH) is not None:
            return None
        code = get_parameter(session, SETUP_CODE)
        if not code:
            code = new_setup_code()
            set_parameter(session, SETUP_CODE, code)
            logger.info("Generated this device's first-run setup code")
    return code


def setup_code_matches(kiosk: Kiosk, typed: str) -> bool:
    """True when `typed` is the stored code (case, spaces and dashes aside), compared in constant time."""
    if has_admin_password(kiosk):
        return False
    with kiosk.store.read() as session:
        stored = get_parameter(session, SETUP_CODE)
    if not stored:
        return False
    return hmac.compare_digest(normalize(typed).encode(), normalize(stored).encode())
