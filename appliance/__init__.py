"""Keryu kiosk: a scanned QR card becomes an alarm that reaches the card holder's custodian."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("keryu")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0.0.0+checkout"
