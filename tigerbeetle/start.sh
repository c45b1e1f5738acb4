#!/usr/bin/env bash
# Runs one replica of a development TigerBeetle cluster (cluster 0):
#   tigerbeetle/start.sh DATA_DIR PORT                  one replica on 127.0.0.1:PORT
#   tigerbeetle/start.sh DATA_DIR PORT REPLICA COUNT    replica REPLICA (0-based) of COUNT, the
#                                                       cluster on ports PORT .. PORT+COUNT-1
# Formats DATA_DIR/0_REPLICA.tigerbeetle with its index when it is missing, then execs the
# replica with every replica's address, in the same order on each. --development allows running
# without Direct IO; its default 32 KiB request limit (253 transfers) is raised to 1 MiB so that
# full 8189-event batches fit.
set -euo pipefail

if [[ $# -ne 2 && $# -ne 4 ]]; then
    echo "usage: $0 DATA_DIR PORT [REPLICA COUNT]" >&2
    exit 2
fi
data_dir="$1"
port="$2"
replica="${3:-0}"
count="${4:-1}"
if ! [[ "$count" =~ ^[1-6]$ && "$replica" =~ ^[0-9]$ && "$replica" -lt "$count" ]]; then
    echo "$0: REPLICA must be below COUNT, and COUNT 1 to 6" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tigerbeetle="$("$here/obtain.sh")"
data_file="$data_dir/0_$replica.tigerbeetle"
addresses=""
for ((i = 0; i < count; i++)); do
    addresses+="${addresses:+,}127.0.0.1:$((port + i))"
done

mkdir -p "$data_dir"
if [[ ! -f "$data_file" ]]; then
    "$tigerbeetle" format --cluster=0 "--replica=$replica" "--replica-count=$count" \
        --development "$data_file"
fi
exec "$tigerbeetle" start --development --experimental --limit-request=1MiB \
    "--addresses=$addresses" "$data_file"
