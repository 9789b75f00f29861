"""The session cookie's `Secure` flag follows the request's own scheme, not the configuration.

A kiosk whose `KERYU_PUBLIC_URL` is https (behind a tunnel, say) is still opened over plain http
on the LAN: a cookie marked `Secure` there is dropped by the browser and the login never sticks.
No proxy header is trusted for the scheme: a LAN client could send one.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import AbstractStorage, Session


class SecureFollowsScheme(AbstractStorage):
    """Mix in before a storage class: marks the cookie `Secure` exactly when the request came over https."""

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        await super().save_session(request, response, session)  # type: ignore[safe-super]
        morsel = response.cookies.get(self.cookie_name)
        if morsel is not None:
            morsel["secure"] = request.secure
