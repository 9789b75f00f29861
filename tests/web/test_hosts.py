"""DNS rebinding: a page on any LAN browser that points its own name at the kiosk is refused
(421) on every route but the provider webhooks; the kiosk's own names and addresses still work."""

from __future__ import annotations

import socket

import pytest

from appliance.services.auth import set_up_admin
from appliance.web.hosts import allowed_host_names, default_host_names, host_allowed, split_host
from tests.web.conftest import PASSWORD

REBOUND = "rebind.attacker.example"


@pytest.mark.parametrize("path", ["/", "/setup", "/login", "/api/health", "/static/app.css", "/nowhere"])
@pytest.mark.parametrize("host", [REBOUND, f"{REBOUND}:8080", "keryu.local.attacker.example", "10.9.9.9"])
@pytest.mark.asyncio
async def test_a_rebound_host_name_is_misdirected(client, path, host):
    response = await client.get(path, headers={"Host": host}, allow_redirects=False)
    assert response.status == 421
    assert "KERYU_ALLOWED_HOSTS" in await response.text()


@pytest.mark.asyncio
async def test_a_rebound_host_cannot_claim_setup_or_log_in(kiosk, client):
    form = {"password": "attacker password", "confirm": "attacker password"}
    assert (await client.post("/setup", data=form, headers={"Host": REBOUND})).status == 421
    set_up_admin(kiosk, PASSWORD)
    assert (await client.post("/login", data={"password": PASSWORD}, headers={"Host": REBOUND})).status == 421


@pytest.mark.asyncio
async def test_provider_webhooks_answer_under_any_host_name(client):
    response = await client.get(
        "/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "x"}, headers={"Host": REBOUND}
    )
    assert response.status != 421  # refused for its token, as under the kiosk's own name
    twilio = await client.post("/webhooks/twilio", data={}, headers={"Host": REBOUND})
    assert twilio.status != 421


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8080", "keryu.local", "keryu.local.", "Keryu.Local:80"])
@pytest.mark.asyncio
async def test_the_kiosk_answers_to_its_own_names(client, host):
    assert (await client.get("/api/health", headers={"Host": host})).status == 200


@pytest.mark.asyncio
async def test_the_kiosk_answers_to_its_machine_name_and_public_url(kiosk, client):
    hostname = socket.gethostname()
    for host in (hostname, f"{hostname.split('.')[0]}.local", "keryu.local"):
        assert (await client.get("/api/health", headers={"Host": host})).status == 200, host


@pytest.mark.parametrize("settings", [{"KERYU_PUBLIC_URL": "https://kiosk.school.example:8443/base"}], indirect=True)
@pytest.mark.asyncio
async def test_the_host_of_the_public_url_is_allowed(client):
    assert (await client.get("/api/health", headers={"Host": "kiosk.school.example"})).status == 200
    assert (await client.get("/api/health", headers={"Host": REBOUND})).status == 421


@pytest.mark.parametrize("settings", [{"KERYU_ALLOWED_HOSTS": "gate.example.org, Desk.Example.org."}], indirect=True)
@pytest.mark.asyncio
async def test_keryu_allowed_hosts_replaces_the_default_names(client):
    assert (await client.get("/api/health", headers={"Host": "desk.example.org"})).status == 200
    assert (await client.get("/api/health", headers={"Host": "gate.example.org:8080"})).status == 200
    assert (await client.get("/api/health", headers={"Host": "keryu.local"})).status == 421
    assert (await client.get("/api/health", headers={"Host": "127.0.0.1"})).status == 200  # loopback: no rebinding


@pytest.mark.asyncio
async def test_the_test_clients_own_loopback_address_is_accepted(client):
    assert client.host == "127.0.0.1"
    assert (await client.get("/api/health")).status == 200


def _outward_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.mark.asyncio
async def test_an_ip_host_equal_to_the_local_address_is_accepted(aiohttp_client, app_factory):
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    client = await aiohttp_client(app_factory(), server_kwargs={"host": address})
    assert client.host == address
    assert (await client.get("/api/health")).status == 200  # Host: <that address>:<port>
    assert (await client.get("/api/health", headers={"Host": "10.9.9.9"})).status == 421


@pytest.mark.parametrize(
    ("header", "local", "allowed"),
    [
        ("192.168.1.20", "192.168.1.20", True),
        ("192.168.1.20:8080", "192.168.1.20", True),
        ("192.168.1.20", "::ffff:192.168.1.20", True),  # a dual-stack socket reports a mapped address
        ("192.168.1.21", "192.168.1.20", False),
        ("[fe80::1]:80", "fe80::1", True),
        ("[fe80::2]", "fe80::1", False),
        ("127.0.0.1:8080", "192.168.1.20", True),
        ("[::1]:8080", None, True),
        ("10.0.0.5", None, False),
        ("keryu.local", None, True),
        ("KERYU.LOCAL.:80", None, True),
        ("keryu.local.evil", None, False),
        ("", None, False),
        ("evil:80:80", None, False),
    ],
)
def test_host_headers_are_matched_by_name_or_by_the_local_address(header, local, allowed):
    assert host_allowed(header, frozenset({"keryu.local", "localhost"}), local) is allowed


@pytest.mark.parametrize(
    ("header", "host"),
    [("Keryu.Local.:8080", "keryu.local"), ("[FE80::1]:80", "fe80::1"), ("[::1]", "::1"), ("10.0.0.5:80", "10.0.0.5")],
)
def test_a_host_header_loses_port_brackets_case_and_trailing_dot(header, host):
    assert split_host(header) == host


def test_the_default_names_are_the_machines_own(settings):
    names = default_host_names(settings)
    hostname = socket.gethostname().lower()
    assert {hostname, f"{hostname.split('.')[0]}.local", "keryu.local", "localhost"} <= names
    assert allowed_host_names(settings) == names
