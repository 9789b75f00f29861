"""The scanner: camera frames in, alarms and LED/buzzer feedback out.

Adapters: camera/, decode, gate, debounce, heartbeat. The service: frames (decode and act on
one frame), loop (one turn at a time), dispatch and health_watch (its threads), runner (`main`).
selftest checks the hardware for the person assembling a kiosk.
"""
