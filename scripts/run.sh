#!/usr/bin/env bash
# `make run`: starts the local services, then the server on port 8000 in the foreground.
# Ctrl-C or SIGTERM stops the server gracefully and then the services this script started.
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

"$binary" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' INT TERM
status=0
while kill -0 "$server" 2>/dev/null; do
    wait "$server" && status=0 || status=$?
done
scripts/services.sh stop "$data"
exit "$status"
