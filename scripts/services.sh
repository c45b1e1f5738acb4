#!/usr/bin/env bash
# Starts or stops the local services the server talks to, as plain processes under one data
# folder (default ./data): a PostgreSQL cluster (unix socket, and 127.0.0.1:$PG_PORT), Redis on
# a unix socket with an append-only file (REDIS_PERSISTENCE: everysec, the default, always, or
# off for benchmarks only; docs/BENCHMARKS.md measures what each costs), and a TigerBeetle cluster
# of TB_REPLICAS replicas (1, the default, or 3; on ports TB_PORT onwards) when a server binary
# is available. `start` writes DATA/env with the matching DATABASE_URL, REDIS_URL,
# TB_ADDRESS and ACCT_BACKEND for the server to source.
#   scripts/services.sh start [DATA]      scripts/services.sh stop [DATA]
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:?usage: services.sh start|stop [DATA]}
data=$(realpath -m "${2:-data}")
run_dir="$data/run"
pg_dir="$data/postgres"
pg_port=${PG_PORT:-54320}
tb_port=${TB_PORT:-3000}

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/$1" ] && { echo "$dir/$1"; return; }
    done
    command -v "$1"
}

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# As root, PostgreSQL runs as postgres, which must be able to reach the data folder (given to
# it by then): a clone under /root, closed to other users, cannot hold it.
check_reachable() {
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$pg_dir"; then
        echo "services: the postgres user cannot reach $pg_dir (a folder above it, such as" \
            "/root, is closed to other users); give a data folder it can reach, for example" \
            "DATA_DIR=/var/tmp/tigerfans-data make run" >&2
        exit 2
    fi
}

start_postgres() {
    mkdir -p "$run_dir"
    if [ ! -f "$pg_dir/PG_VERSION" ]; then
        mkdir -p "$pg_dir"
        if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$data"; fi
        check_reachable
        as_pg "$(pg_bin initdb)" -D "$pg_dir" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$pg_dir" "$run_dir"; fi
    check_reachable
    if ! as_pg "$(pg_bin pg_ctl)" -D "$pg_dir" status >/dev/null 2>&1; then
        as_pg setsid "$(pg_bin pg_ctl)" -D "$pg_dir" -l "$data/postgres.log" -w -t 60 \
            -o "-k $run_dir -p $pg_port -c listen_addresses=127.0.0.1 -c max_connections=200" \
            start >/dev/null
    fi
    if ! as_pg psql -h "$run_dir" -p "$pg_port" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'tigerfans'" | grep -q 1; then
        as_pg psql -h "$run_dir" -p "$pg_port" -U postgres -qc "CREATE DATABASE tigerfans"
    fi
    echo "export DATABASE_URL='postgresql:///tigerfans?host=$run_dir&port=$pg_port&user=postgres'"
}

start_redis() {
    local mode=${REDIS_PERSISTENCE:-everysec} persistence
    case "$mode" in
        everysec | always) persistence=(--appendonly yes --appendfsync "$mode") ;;
        off) persistence=(--appendonly no) ;;
        *) echo "services: REDIS_PERSISTENCE must be everysec, always or off" >&2; exit 2 ;;
    esac
    mkdir -p "$run_dir"
    if [ ! -S "$run_dir/redis.sock" ] || ! redis-cli -s "$run_dir/redis.sock" ping >/dev/null 2>&1; then
        redis-server --port 0 --unixsocket "$run_dir/redis.sock" --unixsocketperm 777 \
            --save '' "${persistence[@]}" --dir "$data" --daemonize yes \
            --pidfile "$run_dir/redis.pid" --logfile "$data/redis.log"
        for _ in $(seq 100); do
            redis-cli -s "$run_dir/redis.sock" ping >/dev/null 2>&1 && break
            sleep 0.05
        done
    fi
    echo "export REDIS_URL='unix://$run_dir/redis.sock?db=0'"
}

start_tigerbeetle() {
    local binary
    if ! binary=$(tigerbeetle/obtain.sh 2>"$data/tigerbeetle-obtain.log"); then
        echo "services: no TigerBeetle server binary ($(tail -n 1 "$data/tigerbeetle-obtain.log")); running level 2 (PostgreSQL accounting, Redis sessions) instead" >&2
        echo "export ACCT_BACKEND=pg"
        return
    fi
    local replicas=${TB_REPLICAS:-1} i pid_file addresses="" tb_data
    case "$replicas" in
        1 | 3) ;;
        *) echo "services: TB_REPLICAS must be 1 or 3" >&2; exit 2 ;;
    esac
    # A data file is formatted for one replica count: each count keeps files of its own.
    tb_data="$data/tigerbeetle"
    if [ "$replicas" -ne 1 ]; then tb_data="$data/tigerbeetle-$replicas-replicas"; fi
    for ((i = 0; i < replicas; i++)); do
        pid_file="$run_dir/tigerbeetle-$i.pid"
        if [ ! -f "$pid_file" ] || ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            TIGERBEETLE_BIN="$binary" setsid tigerbeetle/start.sh "$tb_data" \
                "$tb_port" "$i" "$replicas" >>"$data/tigerbeetle-$i.log" 2>&1 &
            echo $! >"$pid_file"
        fi
        addresses+="${addresses:+,}127.0.0.1:$((tb_port + i))"
    done
    # Formatting takes a few seconds on first start; wait until every replica listens.
    for ((i = 0; i < replicas; i++)); do
        for _ in $(seq 300); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$((tb_port + i))") 2>/dev/null; then break; fi
            sleep 0.1
        done
    done
    echo "export TB_ADDRESS=$addresses"
}

stop_all() {
    local pid_file
    for pid_file in "$run_dir"/tigerbeetle*.pid; do  # tigerbeetle.pid: an older layout's.
        [ -f "$pid_file" ] || continue
        kill "$(cat "$pid_file")" 2>/dev/null || true
        rm -f "$pid_file"
    done
    if [ -S "$run_dir/redis.sock" ]; then
        redis-cli -s "$run_dir/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    fi
    if [ -f "$pg_dir/PG_VERSION" ]; then
        as_pg "$(pg_bin pg_ctl)" -D "$pg_dir" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

case "$command" in
    start)
        mkdir -p "$data"
        {
            start_postgres
            start_redis
            if [ "${ACCT_BACKEND:-tb}" = tb ]; then start_tigerbeetle; fi
        } >"$data/env.tmp"
        mv "$data/env.tmp" "$data/env"
        echo "services: running under $data (settings in $data/env)"
        ;;
    stop)
        stop_all
        echo "services: stopped"
        ;;
    *)
        echo "usage: services.sh start|stop [DATA]" >&2
        exit 2
        ;;
esac
