"""An https public URL (a tunnel, say) and the plain-http LAN page side by side: the session
cookie is `Secure` exactly when the request itself came over https."""

from __future__ import annotations

import datetime
import ssl

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.services.auth import set_up_admin
from tests.web.conftest import PASSWORD, Admin

pytestmark = pytest.mark.asyncio

HTTPS_PUBLIC = [{"KERYU_PUBLIC_URL": "https://kiosk.example.org"}]


def _server_context(tmp_path) -> ssl.SSLContext:
    """A throwaway self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.mark.parametrize("settings", HTTPS_PUBLIC, indirect=True)
async def test_an_https_public_url_with_a_plain_http_login_works(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    browser = Admin(client)
    response = await browser.login()
    assert response.status == 303
    assert "Secure" not in response.headers["Set-Cookie"]
    assert (await client.get("/settings", allow_redirects=False)).status == 200  # the login stuck


@pytest.mark.parametrize("settings", HTTPS_PUBLIC, indirect=True)
async def test_the_cookie_is_secure_over_https(kiosk, aiohttp_server, aiohttp_client, app_factory, tmp_path):
    set_up_admin(kiosk, PASSWORD)
    server = await aiohttp_server(app_factory(), ssl=_server_context(tmp_path))
    client = await aiohttp_client(server, connector=aiohttp.TCPConnector(ssl=False))
    browser = Admin(client)
    response = await browser.login()
    assert response.status == 303
    assert "Secure" in response.headers["Set-Cookie"]
    assert (await client.get("/settings", allow_redirects=False)).status == 200
