"""Keryu kiosk: a scanned QR card becomes an alarm that reaches the card holder's custodian."""

try:
    from appliance._version import __version__  # written at install by setup.py, from pyproject.toml
except ImportError:  # running from a checkout without an install
    __version__ = "0.0.0+checkout"
