"""A kiosk publishing: a real `keryu worker` to a real Mosquitto and to a loopback webhook receiver."""

from __future__ import annotations

import json

import pytest

from appliance.services.publish.device import device_id
from appliance.services.scans import ScanSource, handle_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm
from tests.conftest import wait_until
from tests.services.publish.conftest import (
    BROKER_PASSWORD,
    BROKER_USER,
    SECRET,
    Mosquitto,
    Receiver,
    Recorder,
    make_tls,
)

pytestmark = pytest.mark.integration

PREFIX = "keryu/test"
DUTY = "+525512340000"


@pytest.fixture
def mqtt_worker(service_process, broker, recorder):
    return service_process(
        "worker",
        " ready.",
        KERYU_MQTT_URL=broker.url(),
        KERYU_MQTT_PREFIX=PREFIX,
        KERYU_LOG_LEVEL="DEBUG",
        KERYU_DUTY_PHONE=DUTY,
    )


def _scan(kiosk) -> tuple[str, int]:
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    result = handle_scan(kiosk, card.uuid, ScanSource.FILE)
    assert result.alarm_id is not None
    return card.uuid, result.alarm_id


def _statuses(recorder, alarm_id: int) -> list[str]:
    return [m.json()["event"]["status"] for m in recorder.on(f"{PREFIX}/alarm") if m.json()["id"] == alarm_id]


def _sent(kiosk, alarm_id: int) -> bool:
    with kiosk.store.read() as session:
        alarm = session.get(Alarm, alarm_id)
        return alarm is not None and alarm.notification_status == "SENT"


def test_the_kiosk_says_it_is_online_and_retains_it(mqtt_worker, recorder):
    status = recorder.wait_for(f"{PREFIX}/status")
    assert status[-1].payload == b"online"
    state = recorder.wait_for(f"{PREFIX}/state")[-1].json()
    assert state["waiting"] == 0 and set(state["counts"]) == {
        "PENDING",
        "PROCESSING",
        "SENT",
        "DELIVERED",
        "FAILED",
        "ERROR",
    }


def test_a_worker_that_dies_is_offline_by_its_last_will(mqtt_worker, recorder):
    wait_until(lambda: [m.payload for m in recorder.on(f"{PREFIX}/status")][-1:] == [b"online"], 20, what="online")
    mqtt_worker.kill()  # no clean stop: the broker sends the will
    wait_until(lambda: recorder.on(f"{PREFIX}/status")[-1].payload == b"offline", 10, what="the last will")


def test_a_scanned_card_gives_the_tag_the_scan_and_the_alarm_in_order(kiosk, mqtt_worker, recorder, standin):
    recorder.wait_for(f"{PREFIX}/status")
    card_uuid, alarm_id = _scan(kiosk)
    assert recorder.wait_for(f"{PREFIX}/tag")[-1].payload.decode() == card_uuid
    scan = recorder.wait_for(f"{PREFIX}/scan")[-1].json()
    assert scan["card_id"] == card_uuid and scan["alarm_id"] == alarm_id and scan["location"] == "Test gate"
    assert scan["time"].endswith("-06:00")  # the kiosk's zone (America/Mexico_City)
    wait_until(lambda: _statuses(recorder, alarm_id)[-1:] == ["SENT"], 20, what="SENT on the alarm topic")
    assert _statuses(recorder, alarm_id) == ["PENDING", "PROCESSING", "SENT"]
    alarm = recorder.on(f"{PREFIX}/alarm")[-1].json()
    assert alarm["subject_name"] == "Luis Pérez" and alarm["notifications"][0]["custodian"] == "Rosa"
    assert "+52" not in recorder.on(f"{PREFIX}/alarm")[-1].payload.decode()  # no phone number anywhere
    assert all("phone" not in entry for entry in alarm["notifications"])


def test_a_broker_outage_loses_nothing(kiosk, mqtt_worker, broker, recorder, standin):
    recorder.wait_for(f"{PREFIX}/status")
    _first_card, first = _scan(kiosk)
    wait_until(lambda: _statuses(recorder, first)[-1:] == ["SENT"], 20, what="the first alarm published")
    broker.stop()
    during = [_scan(kiosk)[1] for _ in range(3)]
    wait_until(lambda: all(_sent(kiosk, alarm_id) for alarm_id in during), 20, what="deliveries with the broker down")
    broker.start()
    for alarm_id in during:
        wait_until(lambda a=alarm_id: "SENT" in _statuses(recorder, a), 60, what=f"alarm {alarm_id} after the outage")
        seen = _statuses(recorder, alarm_id)
        assert [status for i, status in enumerate(seen) if status not in seen[:i]] == ["PENDING", "PROCESSING", "SENT"]
    scanned = {message.json()["alarm_id"] for message in recorder.on(f"{PREFIX}/scan")}
    assert set(during) <= scanned


def test_a_scan_is_delivered_with_the_broker_down(kiosk, mqtt_worker, broker, recorder, standin):
    recorder.wait_for(f"{PREFIX}/status")
    broker.stop()
    _card, alarm_id = _scan(kiosk)
    wait_until(lambda: _sent(kiosk, alarm_id), 20, what="the alarm SENT while the broker is down")
    assert len(standin.accepted) == 1


def test_the_brokers_credentials_never_reach_the_log(kiosk, service_process, broker, recorder):
    wrong = broker.url(password="Wr0ng-pass-phrase")
    refused = service_process("worker", " ready.", KERYU_MQTT_URL=wrong, KERYU_LOG_LEVEL="DEBUG")
    wait_until(lambda: "refused the connection" in refused.log(), 20, what="the refusal in the log")
    refused.stop()
    worker = service_process("worker", " ready.", KERYU_MQTT_URL=broker.url(), KERYU_LOG_LEVEL="DEBUG")
    wait_until(lambda: "MQTT connected to mqtt://127.0.0.1" in worker.log(), 20, what="the connection in the log")
    _scan(kiosk)
    recorder.wait_for(f"keryu/{device_id()}/scan")  # the default prefix
    log = worker.log()
    for secret in (BROKER_PASSWORD, "Wr0ng-pass-phrase", f"{BROKER_USER}:"):
        assert secret not in log


def test_home_assistants_button_sends_a_test_notification_to_the_duty_phone(mqtt_worker, recorder, standin):
    recorder.wait_for(f"{PREFIX}/status")
    wait_until(lambda: "homeassistant/button" in " ".join(m.topic for m in recorder.messages), 20, what="button")
    recorder.client.publish(f"{PREFIX}/notify_test", "PRESS", qos=1)
    request = standin.wait_for(1, timeout=20)[0]
    assert request.body["to"] == DUTY.removeprefix("+")  # Meta writes the number without its plus


def _configs(messages) -> dict[str, bytes]:
    """The last payload seen on each discovery config topic."""
    return {
        m.topic: m.payload for m in messages if m.topic.startswith("homeassistant/") and m.topic.endswith("/config")
    }


def test_discovery_is_retained_and_turning_it_off_removes_it(kiosk, service_process, broker, recorder):
    env = {"KERYU_MQTT_URL": broker.url(), "KERYU_MQTT_PREFIX": PREFIX, "KERYU_DUTY_PHONE": DUTY}
    announcing = service_process("worker", " ready.", **env)
    wait_until(lambda: len(_configs(recorder.messages)) == 12, 20, what="twelve discovery documents")
    assert all(json.loads(payload)["device"]["identifiers"] for payload in _configs(recorder.messages).values())
    announcing.stop()
    assert recorder.wait_for(f"{PREFIX}/status")[-1].payload == b"offline"  # a clean stop says so itself
    service_process("worker", " ready.", KERYU_HA_DISCOVERY="0", **env)
    wait_until(lambda: set(_configs(recorder.messages).values()) == {b""}, 20, what="every config emptied")
    latecomer = Recorder(broker.port, client_id="latecomer").start()
    try:
        wait_until(lambda: any(m.topic == f"{PREFIX}/status" for m in latecomer.messages), 10, what="retained status")
        assert _configs(latecomer.messages) == {}  # nothing retained under homeassistant/ any more
        assert latecomer.on(f"{PREFIX}/status")[-1].payload == b"online"
    finally:
        latecomer.stop()


def test_the_webhook_receives_each_status_change_signed_and_in_order(kiosk, service_process, standin):
    receiver = Receiver()
    try:
        service_process("worker", " ready.", KERYU_WEBHOOK_URL=receiver.url, KERYU_WEBHOOK_SECRET=SECRET)
        _card, alarm_id = _scan(kiosk)
        wait_until(lambda: [b["event"]["status"] for b in receiver.taken][-1:] == ["SENT"], 20, what="SENT")
        assert [body["event"]["status"] for body in receiver.taken] == ["PENDING", "PROCESSING", "SENT"]
        assert {body["id"] for body in receiver.taken} == {alarm_id}
        assert all(valid for _status, valid in receiver.seen)
    finally:
        receiver.server.shutdown()


def test_mqtts_with_the_kiosks_own_ca_file(kiosk, service_process, tmp_path):
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls-broker").mkdir()
    tls = make_tls(tmp_path / "tls")
    broker = Mosquitto(tmp_path / "tls-broker", tls=tls)
    broker.start()
    recorder = Recorder(broker.port, client_id="tls-recorder").start()  # on the plain listener
    try:
        url = f"mqtts://{BROKER_USER}:{BROKER_PASSWORD}@127.0.0.1:{broker.tls_port}"
        untrusted = service_process("worker", " ready.", KERYU_MQTT_URL=url, KERYU_MQTT_PREFIX=PREFIX)
        wait_until(lambda: "CERTIFICATE_VERIFY_FAILED" in untrusted.log(), 20, what="the system CAs to refuse it")
        untrusted.stop()
        service_process("worker", " ready.", KERYU_MQTT_URL=url, KERYU_MQTT_PREFIX=PREFIX, KERYU_MQTT_CA=str(tls["ca"]))
        assert recorder.wait_for(f"{PREFIX}/status")[-1].payload == b"online"
        assert BROKER_PASSWORD not in untrusted.log()
    finally:
        recorder.stop()
        broker.stop()
