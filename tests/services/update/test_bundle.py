"""`keryu bundle` from this checkout: the project's wheel and the device's wheels, a manifest of
their hashes and the schema chain, signed so that a kiosk trusting the key accepts it."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from appliance.errors import UserError
from appliance.services.update.bundle import make_bundle, schema_chain
from appliance.services.update.verify import unpack_verified

REPO = Path(__file__).resolve().parents[3]


def test_a_bundle_of_this_checkout_carries_every_wheel_and_verifies(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "update.key"
    key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    keys = tmp_path / "update-keys"
    keys.mkdir()
    (keys / "project.pub").write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    wheelhouse = tmp_path / "wheelhouse"  # as an image build leaves it: its own keryu wheel is replaced
    wheelhouse.mkdir()
    (wheelhouse / "keryu-0.0.1-py3-none-any.whl").write_bytes(b"an older build")
    (wheelhouse / "adafruit_lgpio-0.2.2.0-cp313-cp313-manylinux_2_28_aarch64.whl").write_bytes(b"device wheel")

    manifest = make_bundle(REPO, tmp_path / "keryu.kup", key_file, wheelhouse=wheelhouse)

    version = next(line for line in (REPO / "pyproject.toml").read_text().splitlines() if line.startswith("version"))
    assert f'"{manifest.version}"' in version
    assert (manifest.arch, manifest.python) == ("aarch64", "3.13")  # image/config's ARCH and TARGET_PYTHON
    assert manifest.schemas == schema_chain(REPO) and manifest.schemas[0] == "0001"
    assert sorted(manifest.wheels) == [
        "adafruit_lgpio-0.2.2.0-cp313-cp313-manylinux_2_28_aarch64.whl",
        f"keryu-{manifest.version}-py3-none-any.whl",
    ]
    with tarfile.open(tmp_path / "keryu.kup") as archive:
        assert archive.getnames()[:2] == ["manifest.json", "manifest.sig"]
    verified = unpack_verified(tmp_path / "keryu.kup", tmp_path / "staging", keys)
    assert sorted(path.name for path in verified.wheels.iterdir()) == sorted(manifest.wheels)


def test_a_key_that_is_not_ed25519_is_one_sentence(tmp_path: Path) -> None:
    key_file = tmp_path / "not-a-key.pem"
    key_file.write_text("hello\n")

    with pytest.raises(UserError, match=r"not-a-key.pem is not a readable, unencrypted Ed25519 private key"):
        make_bundle(REPO, tmp_path / "keryu.kup", key_file, wheelhouse=tmp_path)
