"""The host allow-list: the admin page answers only to the kiosk's own names and addresses.

A DNS-rebinding page on any LAN browser reaches the kiosk under the attacker's own name; the
browser then treats the kiosk as that page's origin. Refusing every `Host` the kiosk does not
call its own (421 Misdirected Request) stops it. An IP literal cannot be rebound, so one is
accepted when it is the local address the request came in on, or a loopback address. Provider
webhooks arrive under whatever public name a tunnel or proxy gives, and carry their signatures.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from appliance.config import Settings
from appliance.web.keys import STATE
from appliance.web.middlewares import Handler, client_address

UNCHECKED_PREFIX = "/webhooks/"
MISDIRECTED = (
    "This kiosk does not answer to that host name. Open it by its own name or address, "
    "or add the name to KERYU_ALLOWED_HOSTS.\n"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _clean(name: str) -> str:
    return name.strip().lower().rstrip(".")


def default_host_names(settings: Settings) -> frozenset[str]:
    """The machine's names, `keryu.local`, `localhost` and the host of KERYU_PUBLIC_URL."""
    hostname = socket.gethostname()
    short = hostname.split(".")[0]
    names = {hostname, short, f"{short}.local", socket.getfqdn(), "keryu.local", "localhost"}
    public = urlsplit(settings.public_url).hostname
    if public:
        names.add(public)
    return frozenset(_clean(name) for name in names if name)


def allowed_host_names(settings: Settings) -> frozenset[str]:
    """KERYU_ALLOWED_HOSTS when set, otherwise the defaults."""
    return settings.allowed_host_names or default_host_names(settings)


def split_host(header: str) -> str:
    """The host of a `Host` header, lower case, without port, trailing dot or IPv6 brackets."""
    host = header.strip()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return _clean(host)


def _ip(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def host_allowed(header: str, names: Iterable[str], local_address: str | None) -> bool:
    """True when `header` names the kiosk: a listed name, a loopback address, or the address it was reached on."""
    host = split_host(header)
    address = _ip(host)
    if address is None:
        return host in names
    return address.is_loopback or (local_address is not None and address == _ip(local_address))


def _local_address(request: web.Request) -> str | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[0] if isinstance(sockname, tuple) and sockname else None


def host_middleware(names: frozenset[str]) -> Middleware:
    """Refuse (421) a request whose `Host` is not one of `names` or this kiosk's own address."""

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(UNCHECKED_PREFIX) or host_allowed(request.host, names, _local_address(request)):
            return await handler(request)
        address = client_address(request)
        request.app[STATE].refusals.warning(address, "Refused a request from %s for a foreign host name", address)
        return web.Response(status=421, text=MISDIRECTED, headers={"X-Content-Type-Options": "nosniff"})

    return check_host
