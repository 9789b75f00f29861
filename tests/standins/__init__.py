"""Loopback stand-ins for the outside services the kiosk talks to (Meta, Twilio)."""
