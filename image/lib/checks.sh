# shellcheck shell=bash disable=SC2154 # started, meta_token...: set by the sourcing script
# The checks image/test-boot.sh (the SD image in qemu) and image/test-install.sh (the install
# path in systemd-nspawn) share, so that "the same health and scan checks as the image" are the
# same code. Sourced, not run. The script that sources it defines:
#   guest COMMAND...  run a shell command line as root on the machine under test (ssh's rules:
#                     the words are joined and read by the machine's shell)
#   machine_down      prints why and succeeds once the machine under test has stopped
#   diagnostics       prints what helps to read a failure (console or journal lines)
# and sets started (epoch seconds), WEB_PORT (the admin page on the host's 127.0.0.1),
# STANDIN_PORT, meta_token, meta_id, twilio_sid and twilio_token (the provider stand-in's).

say() { echo "[$(($(date +%s) - started)) s] $*" >&2; }
fail() {
    say "FAIL: $*"
    diagnostics >&2 || true
    exit 1
}

# wait_for SECONDS WHAT COMMAND...: poll until COMMAND succeeds
wait_for() {
    local limit=$1 what=$2 down
    shift 2
    local deadline=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        if down=$(machine_down); then fail "$down while waiting for $what"; fi
        [ "$(date +%s)" -ge "$deadline" ] && fail "timed out after $limit s waiting for $what"
        sleep 3
    done
    say "ok: $what"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# alarm_field ID FIELD: one field of one alarm from `keryu alarms --json`
alarm_field() {
    guest keryu alarms --json --limit 50 | python3 -c '
import json, sys
alarms = {a["id"]: a for a in json.load(sys.stdin)}
print(alarms[int(sys.argv[1])][sys.argv[2]] if int(sys.argv[1]) in alarms else "")' "$1" "$2"
}
delivered() { case "$(alarm_field "$1" notification_status)" in SENT | DELIVERED) return 0 ;; *) return 1 ;; esac; }
alarm_count() { guest keryu alarms --json --limit 50 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# guest_get URL: an HTTP GET on the machine (the image has python3, not curl)
guest_get() {
    guest python3 -c "'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())'" "$1"
}
# standin_sends_to TEXT: how many messages the stand-in accepted whose body mentions TEXT
standin_sends_to() {
    guest_get "http://127.0.0.1:$STANDIN_PORT/_standin/requests" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["accepted"] and sys.argv[1] in json.dumps(r["body"])))' "$1"
}
# start_standin: tests/standins/providers.py, copied to the machine's /root/providers.py, as a
# transient unit on the machine's loopback (the kiosk sends there, never to Meta or Twilio)
start_standin() {
    guest systemd-run --unit=provider-standin --collect /usr/bin/python3 /root/providers.py \
        --port "$STANDIN_PORT" --meta-token "$meta_token" --meta-phone-number-id "$meta_id" \
        --twilio-sid "$twilio_sid" --twilio-token "$twilio_token" >/dev/null 2>&1
    wait_for 60 "provider stand-in in the guest" guest_get "http://127.0.0.1:$STANDIN_PORT/_standin/env"
}
system_settled() {
    local state
    state=$(guest systemctl is-system-running) || true
    case "$state" in running | degraded) ;; *) return 1 ;; esac
    # and no start job left (a slow oneshot such as keryu-setup-code must have finished)
    [ -z "$(guest systemctl list-jobs --no-legend)" ]
}
health_ok() { grep -q '"status": *"ok"' <<<"$(curl -fsS --max-time 10 "http://127.0.0.1:$WEB_PORT/api/health" || true)"; }

# show_card NAME PHONE: a new subject's card image dropped into the camera folder (a `dir:`
# camera); prints the new alarm's id once it is recorded
show_card() {
    local card before
    card=$(guest keryu subject add --name "'$1'" --phone "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["card_uuid"])')
    before=$(alarm_count)
    guest "keryu card image $card --out /var/lib/keryu/.card-$card.png && mv /var/lib/keryu/.card-$card.png /var/lib/keryu/camera/card-$card.png"
    wait_for 120 "alarm for $1 recorded" test_count_above "$before"
    guest keryu alarms --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])'
}
test_count_above() { [ "$(alarm_count)" -gt "$1" ]; }
