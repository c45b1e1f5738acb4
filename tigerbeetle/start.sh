#!/usr/bin/env bash
# Runs a one-replica development TigerBeetle cluster: usage `tigerbeetle/start.sh DATA_DIR PORT`.
# Formats DATA_DIR/0_0.tigerbeetle with the fixed cluster id 0 when it is missing, then execs
# the replica on 127.0.0.1:PORT. --development allows running without Direct IO; its default
# 32 KiB request limit (253 transfers) is raised to 1 MiB so that full 8189-event batches fit.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 DATA_DIR PORT" >&2
    exit 2
fi
data_dir="$1"
port="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tigerbeetle="$("$here/obtain.sh")"
data_file="$data_dir/0_0.tigerbeetle"

mkdir -p "$data_dir"
if [[ ! -f "$data_file" ]]; then
    "$tigerbeetle" format --cluster=0 --replica=0 --replica-count=1 --development "$data_file"
fi
exec "$tigerbeetle" start --development --experimental --limit-request=1MiB \
    "--addresses=127.0.0.1:$port" "$data_file"
