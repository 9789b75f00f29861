#!/bin/bash -e
# Every figure of bench/README.md in one run, one benchmark after another (each measures its own
# floor beside it where it has one), with the load average before each: on a shared machine the
# figures are only comparable within one run.
#
#   bench/run_all.sh [OUT.txt]     (default: bench/last-run.txt; takes about 15 minutes)
set -o pipefail
cd "$(dirname "$0")/.."
OUT="${1:-bench/last-run.txt}"
PY=.venv/bin/python
{
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, commit $(git rev-parse --short HEAD)"
    for bench in "bench_delivery.py --alarms 100 --burst 1000 --rounds 2" \
        "bench_web.py --duration 5" \
        "bench_counts.py --repeat 10" \
        "bench_scanner.py --cards 10 --seconds 10"; do
        echo
        echo "## $bench (load average $(cut -d' ' -f1-3 /proc/loadavg))"
        # shellcheck disable=SC2086 # the arguments are split on purpose
        GPIOZERO_PIN_FACTORY=mock $PY bench/$bench 2>&1 | grep -v -e '^\s*$' -e 'WARNING' || echo "($bench failed)"
    done
} | tee "$OUT"
