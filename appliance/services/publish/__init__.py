"""Publishing scans and alarm events to home systems: MQTT (with Home Assistant discovery) and a signed webhook.

Everything here runs after commit, from the outbox (`store/outbox_events.py`), on one thread of
the worker (`runner.py`); nothing on the scan, alarm or delivery path waits for it.
See docs/home-assistant.md.
"""
