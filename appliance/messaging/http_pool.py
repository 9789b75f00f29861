"""Keep-alive HTTP connections to one provider, made with urllib3 directly.

Meta's channel posts one small JSON body per alarm and reads one small JSON answer; requests
spent more CPU around that than the request itself (preparing, merging settings, cookies,
hooks): 638 against 351 µs per call to the loopback stand-in (bench/README.md, "Delivery").
What requests would have added, and a kiosk needs, is here: the proxy the environment names
(HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, except hosts in NO_PROXY), read once, and certificates
checked against the system's CAs (Debian's ca-certificates, updated with the system), loaded once
for all of a pool's connections.
"""

from __future__ import annotations

import ssl
import urllib.request
from urllib.parse import urlsplit

import urllib3
from urllib3.util.ssl_ import create_urllib3_context

from appliance import __version__

USER_AGENT = f"keryu/{__version__}"
# Connections kept open at once: more than the worker's delivery threads, so that none waits for
# another's; one beyond it is closed after its request instead of being kept.
KEPT_CONNECTIONS = 8


def environment_proxy(url: str) -> str | None:
    """The proxy the environment sets for `url`, or None (none set, or the host is in NO_PROXY)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"  # "proxy:3128" means plain HTTP, as curl reads it


def system_tls_context() -> ssl.SSLContext:
    """urllib3's TLS settings with the system's CAs (or OpenSSL's SSL_CERT_FILE), for every connection of a pool.

    Given none, urllib3 builds a context for each new connection and parses the whole CA bundle
    into it (about 140 certificates): 24-41 ms of CPU on the 2-core x86 test machine, ahead of
    the first request on that connection, and 0.85 MiB held by each connection kept alive.
    """
    context = create_urllib3_context()
    context.load_default_certs()
    return context


def keep_alive_pool(url: str) -> urllib3.PoolManager:
    """Connections for requests to `url`'s host, shared by threads (urllib3's pools are thread-safe)."""
    tls = {"ssl_context": system_tls_context()} if urlsplit(url).scheme == "https" else {}
    proxy = environment_proxy(url)
    if proxy is not None:
        return urllib3.ProxyManager(proxy, maxsize=KEPT_CONNECTIONS, **tls)
    return urllib3.PoolManager(maxsize=KEPT_CONNECTIONS, **tls)
