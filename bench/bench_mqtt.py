"""MQTT publishing benchmark: does a broker (up, or down) change a scan's latency to the provider?

Real parts only: a private redis-server, Debian's mosquitto on a loopback port with a password
file, a real `keryu worker` subprocess per configuration, a SQLite file and the loopback
provider stand-in. Three configurations, alternated `--rounds` times so that the machine's load
falls on each alike: MQTT off, MQTT on with the broker up, MQTT on with the broker down. For
each: card shown -> the provider receives the message (p50, p99), and the worker's memory; with
the broker up also card shown -> the `<prefix>/scan` message reaches a subscriber.

    .venv/bin/python bench/bench_mqtt.py [--alarms 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as paho
from bench_kiosk import bench_kiosk
from measure import percentile, rss_mb

from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, dispatch, record_scan
from tests.conftest import RedisServer, ServiceProcess, free_port, wait_until
from tests.services.publish.conftest import Mosquitto
from tests.standins.providers import ProviderStandIn

PREFIX = "keryu/bench"


class ScanTimes:
    """A subscriber noting when each `<prefix>/scan` message arrives, by alarm id."""

    def __init__(self, port: int) -> None:
        self.arrived: dict[int, float] = {}
        self.lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench")
        self.client.username_pw_set("recorder", "recorder-pw")
        self.client.on_connect = lambda client, *_: client.subscribe(f"{PREFIX}/scan", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _client, _userdata, message) -> None:
        with self.lock:
            self.arrived[json.loads(message.payload)["alarm_id"]] = time.time()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def run(kiosk: Kiosk, standin: ProviderStandIn, card_uuid: str, count: int, scans: ScanTimes | None) -> dict:
    """`count` scans one after another: provider latencies, and publish latencies when `scans` listens."""
    standin.reset()
    to_provider, to_broker = [], []
    for i in range(count):
        shown = time.time()
        result = record_scan(kiosk, card_uuid, ScanSource.CAMERA)
        dispatch(kiosk, result)
        request = standin.wait_for(i + 1, timeout=30)[i]
        to_provider.append((request.time - shown) * 1000)
        if scans is not None:
            wait_until(lambda a=result.alarm_id: a in scans.arrived, timeout=30, what="the scan message")
            to_broker.append((scans.arrived[result.alarm_id] - shown) * 1000)
    return {"to_provider": to_provider, "to_broker": to_broker}


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"p50": round(statistics.median(values), 2), "p99": round(percentile(values, 0.99), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=100, help="sequential scans per configuration and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="keryu-bench-mqtt-"))
    (workdir / "broker").mkdir()
    redis, broker = RedisServer(workdir), Mosquitto(workdir / "broker")
    redis.start()
    broker.start()
    closed_port = free_port()  # nothing listens there: a broker that is down
    configs = {
        "mqtt_off": {},
        "broker_up": {"KERYU_MQTT_URL": broker.url(), "KERYU_MQTT_PREFIX": PREFIX},
        "broker_down": {"KERYU_MQTT_URL": f"mqtt://kiosk:pw@127.0.0.1:{closed_port}", "KERYU_MQTT_PREFIX": PREFIX},
    }
    results: dict[str, dict[str, list[float]]] = {name: {"to_provider": [], "to_broker": []} for name in configs}
    memory: dict[str, dict[str, float]] = {}
    scans = ScanTimes(broker.port)
    with ProviderStandIn() as standin:
        env, kiosk, card_uuid = bench_kiosk(workdir, redis.url, standin)
        try:
            for _ in range(args.rounds):
                for name, extra in configs.items():
                    worker = ServiceProcess("worker", {**env, **extra}, workdir, ready_text=" ready.").start()
                    try:
                        time.sleep(2)  # the publisher connects (or starts failing to)
                        found = run(kiosk, standin, card_uuid, args.alarms, scans if name == "broker_up" else None)
                        for key, values in found.items():
                            results[name][key] += values
                        memory[name] = rss_mb(worker.pid)
                    finally:
                        worker.stop()
        finally:
            scans.stop()
            broker.stop()
            redis.stop()
            kiosk.close()
    figures = {
        name: {
            "scan_to_provider_ms": summary(found["to_provider"]),
            "scan_to_mqtt_ms": summary(found["to_broker"]),
            "worker_memory_mb": memory[name],
        }
        for name, found in results.items()
    }
    figures["load_average"] = os.getloadavg()
    print(json.dumps(figures, indent=2))
    off = figures["mqtt_off"]["scan_to_provider_ms"]["p50"]
    for name in ("broker_up", "broker_down"):
        print(f"scan -> provider p50, {name} / MQTT off: {figures[name]['scan_to_provider_ms']['p50'] / off:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
