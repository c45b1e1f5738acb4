#!/usr/bin/env bash
# `make run`: starts the local services, then the server on port 8000 in the foreground:
# SERVER_PROCESSES (default 1) processes sharing the port, each named by SERVER_NAME or by
# default its host name and process id; with METRICS_PORT, process i (from 0) also serves
# /metrics and /healthz alone on METRICS_PORT + i, for a scraper. Ctrl-C or SIGTERM stops every
# server process gracefully and then the services this script started. A process that dies is not restarted here: the
# others keep serving, and a supervisor (systemd, a container runtime) is what restarts.
set -euo pipefail
cd "$(dirname "$0")/.."

data=${DATA_DIR:-data}
binary=${BUILD_DIR:-build}/tigerfans

scripts/services.sh start "$data"
# shellcheck disable=SC1090,SC1091
source "$data/env"
export DATABASE_URL REDIS_URL
if [ -n "${TB_ADDRESS:-}" ]; then export TB_ADDRESS; fi
if [ -n "${ACCT_BACKEND:-}" ]; then export ACCT_BACKEND; fi

processes=${SERVER_PROCESSES:-1}
case "$processes" in
    '' | *[!0-9]*) echo "run: SERVER_PROCESSES must be a number" >&2; exit 2 ;;
esac
export SERVER_PROCESSES="$processes"
# With METRICS_PORT, process i (from 0) serves its own /metrics on METRICS_PORT + i; a
# SERVER_NAME given is suffixed with -i when there are several.
metrics_port=${METRICS_PORT:-0}
servers=()
trap 'kill -TERM "${servers[@]}" 2>/dev/null || true' INT TERM HUP
for ((i = 0; i < processes; i++)); do
    (
        if [ "$metrics_port" -ne 0 ]; then export METRICS_PORT=$((metrics_port + i)); fi
        if [ -n "${SERVER_NAME:-}" ] && [ "$processes" -gt 1 ]; then
            export SERVER_NAME="$SERVER_NAME-$i"
        fi
        exec "$binary"
    ) &
    servers+=("$!")
done
# Each server's own exit status: a wait interrupted by a signal (above 128, the process still
# running) is waited again; the first failure is the script's.
status=0
for server in "${servers[@]}"; do
    while true; do
        code=0
        wait "$server" || code=$?
        if [ "$code" -gt 128 ] && kill -0 "$server" 2>/dev/null; then continue; fi
        break
    done
    if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then status=$code; fi
done
scripts/services.sh stop "$data"
exit "$status"
