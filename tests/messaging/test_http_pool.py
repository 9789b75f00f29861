"""Which proxy the provider connections take, read from the environment as curl and requests read it."""

from __future__ import annotations

import pytest
import urllib3

from appliance.messaging.http_pool import environment_proxy, keep_alive_pool

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
