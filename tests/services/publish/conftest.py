"""A real Mosquitto broker on a loopback port with a password file, and a subscriber that records what arrives."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from appliance.services.publish.signing import HEADER
from tests.conftest import free_port, wait_until

BROKER_USER = "kiosk"
BROKER_PASSWORD = "s3cret-Broker-pw"


class Mosquitto:
    """Debian's mosquitto, stopped and started again on the same port with its persistence file.

    Persistence keeps a subscriber's session (clean_session off, QoS 1) across a restart, as a
    Home Assistant broker does, so that a message published before the subscriber is back waits for it.
    """

    def __init__(self, workdir: Path, tls: dict[str, Path] | None = None) -> None:
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        passwords = workdir / "passwords"
        passwords.touch(mode=0o600)
        for user, password in ((BROKER_USER, BROKER_PASSWORD), ("recorder", "recorder-pw")):
            subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True)
        user_line = "user root\n" if os.geteuid() == 0 else ""
        tls_lines = ""
        if tls:  # a second listener with TLS; the plain one stays for the test's subscriber
            tls_lines = f"listener {self.tls_port} 127.0.0.1\ncafile {tls['ca']}\n"
            tls_lines += f"certfile {tls['cert']}\nkeyfile {tls['key']}\n"
        (workdir / "mosquitto.conf").write_text(
            f"allow_anonymous false\npassword_file {passwords}\n"
            f"persistence true\npersistence_location {workdir}/\n{user_line}"
            f"log_dest file {workdir}/mosquitto.log\nlog_type all\n"
            f"listener {self.port} 127.0.0.1\n{tls_lines}"
        )

    def url(self, user: str = BROKER_USER, password: str = BROKER_PASSWORD) -> str:
        return f"mqtt://{user}:{password}@127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
        self.process = subprocess.Popen(
            [binary, "-c", str(self.workdir / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._listening, timeout=10, what="mosquitto to listen")

    def _listening(self) -> bool:
        import socket

        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # saves the persistence file
            self.process.wait(10)
        self.process = None


def make_tls(folder: Path) -> dict[str, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it (PEM files in `folder`)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Keryu test CA", ca_key, "Keryu test CA", ca_key, ca=True)
    server = certificate("127.0.0.1", server_key, "Keryu test CA", ca_key, ca=False)
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path)
    server.start()
    yield server
    server.stop()


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> object:
        return json.loads(self.payload)


@dataclass
class Recorder:
    """A subscriber to everything (`#`, QoS 1, persistent session) that keeps each message in arrival order."""

    port: int
    client_id: str = "recorder"
    messages: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Recorder:
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False)
        self.client.username_pw_set("recorder", "recorder-pw")
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = lambda client, *_: client.subscribe("#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        return self

    def _on_message(self, _client, _userdata, message) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload), bool(message.retain)))

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [message for message in self.messages if message.topic == topic]

    def wait_for(self, topic: str, count: int = 1, timeout: float = 20) -> list[Received]:
        wait_until(lambda: len(self.on(topic)) >= count, timeout, what=f"{count} messages on {topic}")
        return self.on(topic)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def recorder(broker: Mosquitto) -> Iterator[Recorder]:
    found = Recorder(broker.port).start()
    wait_until(found.client.is_connected, timeout=10, what="the recorder to connect")
    yield found
    found.stop()


# --- the outbound webhook's receiver ---------------------------------------------------------

DOC = Path(__file__).parents[3] / "docs" / "home-assistant.md"
SECRET = "webhook-secret-for-tests-0123456789"


def documented_verifier():
    """`verify_keryu_signature` exactly as docs/home-assistant.md prints it."""
    text = DOC.read_text()
    block = re.search(r"<!-- verify-snippet:start -->\n```python\n(.*?)```\n<!-- verify-snippet:end -->", text, re.S)
    assert block, "the verification snippet is missing from docs/home-assistant.md"
    namespace: dict = {}
    exec(compile(block.group(1), str(DOC), "exec"), namespace)
    return namespace["verify_keryu_signature"]


verify = documented_verifier()


@dataclass
class Receiver:
    """A loopback webhook receiver: answers the scripted statuses (then 204), records what verified."""

    port: int = field(default_factory=free_port)
    answers: list[int] = field(default_factory=list)
    taken: list[dict] = field(default_factory=list)  # bodies it answered 2xx, signature checked
    seen: list[tuple[int, bool]] = field(default_factory=list)  # (answer, signature valid) of every request

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = verify(SECRET, body, self.headers.get(HEADER, ""))
                status = (receiver.answers.pop(0) if receiver.answers else 204) if valid else 401
                receiver.seen.append((status, valid))
                if 200 <= status < 300:
                    receiver.taken.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/keryu?token=abc"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()
