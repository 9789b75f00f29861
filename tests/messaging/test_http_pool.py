"""Which proxy the provider connections take, read from the environment as curl and requests read it,
and which certificates they trust."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import urllib3

from appliance.messaging.http_pool import environment_proxy, keep_alive_pool
from tests.standins.certificates import self_signed_loopback, server_context
from tests.standins.providers import ProviderStandIn

GRAPH = "https://graph.facebook.com/v23.0/123/messages"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_proxy_the_connections_go_straight_to_the_provider() -> None:
    assert environment_proxy(GRAPH) is None
    assert type(keep_alive_pool(GRAPH)) is urllib3.PoolManager


def test_the_proxy_for_the_endpoints_scheme_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.school.lan:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://other:8080")
    assert environment_proxy(GRAPH) == "http://proxy.school.lan:3128"
    assert environment_proxy("http://127.0.0.1:9/v23.0") == "http://other:8080"
    assert isinstance(keep_alive_pool(GRAPH), urllib3.ProxyManager)


def test_all_proxy_applies_when_no_proxy_names_the_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://proxy.lan:3128")
    assert environment_proxy(GRAPH) == "http://proxy.lan:3128"


def test_a_proxy_without_a_scheme_is_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "proxy.lan:3128")
    assert environment_proxy(GRAPH) == "http://proxy.lan:3128"


@pytest.mark.parametrize(
    "no_proxy", ["graph.facebook.com", ".facebook.com", "facebook.com", "*", "localhost,graph.facebook.com"]
)
def test_hosts_in_no_proxy_are_reached_directly(monkeypatch: pytest.MonkeyPatch, no_proxy: str) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.lan:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert environment_proxy(GRAPH) is None


def test_no_proxy_for_another_host_leaves_the_proxy_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.lan:3128")
    monkeypatch.setenv("NO_PROXY", "twilio.com,localhost")
    assert environment_proxy(GRAPH) == "http://proxy.lan:3128"


def test_connections_to_an_https_provider_share_one_context_trusting_the_system_cas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CA bundle is parsed once per pool, not once per connection (0.85 MiB and 24-41 ms each)."""
    cert, key = self_signed_loopback(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # OpenSSL's system CA file, as Debian's ca-certificates sets it
    with ProviderStandIn(tls=server_context(cert, key)) as https:
        pool = keep_alive_pool(https.url)
        context = pool.connection_pool_kw["ssl_context"]
        start = threading.Barrier(4)

        def ask() -> int:
            start.wait()
            return pool.request("GET", f"{https.url}/_standin/env", retries=False).status

        with ThreadPoolExecutor(4) as threads:
            assert list(threads.map(lambda _: ask(), range(4))) == [200] * 4
        kept = [connection for connection in pool.connection_from_url(https.url).pool.queue if connection]
    assert kept, "the pool kept no connection"
    assert all(connection.ssl_context is context for connection in kept)
    assert [ca["subject"] for ca in context.get_ca_certs()] == [((("commonName", "Keryu test provider"),),)]


def test_a_plain_http_endpoint_builds_no_tls_context() -> None:
    assert "ssl_context" not in keep_alive_pool("http://127.0.0.1:9/v23.0/123/messages").connection_pool_kw
