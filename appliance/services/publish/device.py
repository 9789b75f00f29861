"""The kiosk's device id: names its MQTT topics and its Home Assistant device.

Every kiosk of the SD image has the same host name (`keryu`), so the host name alone cannot
tell two kiosks on one broker apart. The id is the host name and six hex digits of a hash of
`/etc/machine-id` (unique per device: the image ships it empty and systemd makes one at first
boot); the hash, not the machine id itself, as systemd asks of applications. Without a machine
id the host name alone.
"""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path

from appliance.config import Settings

MACHINE_ID = Path("/etc/machine-id")


def device_id(machine_id_file: Path = MACHINE_ID) -> str:
    """`<host name>-<6 hex>`, lower case, safe in an MQTT topic and a Home Assistant unique id."""
    host = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().split(".")[0].lower()).strip("-") or "keryu"
    try:
        machine = machine_id_file.read_text().strip()
    except OSError:
        machine = ""
    if not machine:
        return host
    return f"{host}-{hashlib.sha256(f'keryu:{machine}'.encode()).hexdigest()[:6]}"


def mqtt_prefix(settings: Settings) -> str:
    """KERYU_MQTT_PREFIX, or `keryu/<device id>`."""
    return settings.mqtt_prefix or f"keryu/{device_id()}"
