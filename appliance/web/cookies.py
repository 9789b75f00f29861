"""The admin's session cookie: signed JSON, and `Secure` exactly when the page came over https.

The cookie is signed (HMAC-SHA256 with the device's session key, by itsdangerous), not encrypted.
What it holds the browser already knows: the session's random token (whose hash is a row of
`web_sessions`, so the cookie alone is worth nothing once that row is gone), the CSRF token the
page carries, the flash messages it shows, the id of a backup upload awaiting confirmation.
Encryption would hide none of that from its holder and protects nothing a signature does not:
a copied cookie works the same either way. Encryption cost the web process 6.5 MiB of RSS
(aiohttp-session's Fernet storage loads `cryptography`), 3 % of the kiosk's 250 MB budget.

`Secure` follows the request's own scheme, not the configuration: a kiosk whose
`KERYU_PUBLIC_URL` is https (behind a tunnel, say) is still opened over plain http on the LAN,
where a cookie marked `Secure` is dropped by the browser and the login never sticks. No proxy
header is trusted for the scheme: a LAN client could send one.
"""

from __future__ import annotations

import hashlib
import logging

from aiohttp import web
from aiohttp_session import AbstractStorage, Session
from itsdangerous import BadSignature, URLSafeTimedSerializer

logger = logging.getLogger(__name__)

SALT = "keryu.web.session"  # keeps these signatures apart from any other use of the same key
SIGNER = {"digest_method": hashlib.sha256}  # itsdangerous signs with SHA-1 unless told


class SignedCookieStorage(AbstractStorage):
    """aiohttp-session's cookie storage, with the session signed and its age checked on the way in."""

    def __init__(self, secret_key: bytes, *, cookie_name: str, max_age: int) -> None:
        super().__init__(cookie_name=cookie_name, max_age=max_age, httponly=True, samesite="Strict")
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT, signer_kwargs=SIGNER)

    async def load_session(self, request: web.Request) -> Session:
        cookie = self.load_cookie(request)
        if cookie is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature as refused:  # forged, signed with another key, or older than max_age
            logger.info("A session cookie was refused (%s); the browser gets a new session", type(refused).__name__)
            return Session(None, data=None, new=True, max_age=self.max_age)
        return Session(None, data=data, new=False, max_age=self.max_age)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        value = "" if session.empty else self._serializer.dumps(self._get_session_data(session))
        self.save_cookie(response, value, max_age=session.max_age)
        morsel = response.cookies.get(self.cookie_name)
        if morsel is not None:
            morsel["secure"] = request.secure
