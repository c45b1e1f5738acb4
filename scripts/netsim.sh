#!/usr/bin/env bash
# Machines simulated on this one (needs root): network namespaces joined by veth pairs to a
# bridge that lives in a namespace of its own, so nothing is added to the host's network:
#   tfsim-ledger0..2  10.88.0.10-12  one TigerBeetle replica each (a three-replica cluster)
#   tfsim-store       10.88.0.20     PostgreSQL and Redis
#   tfsim-server0..1  10.88.0.30-31  one TigerFans server process each (level 3)
#   tfsim-load        10.88.0.40     the load client, half of the fans against each server
# For each delay of NETSIM_DELAYS (one-way milliseconds, added with tc netem on every
# machine's egress, so every hop between two machines takes that long; default "0 0.25 1") it
# runs the full flow (tigerfans-load: checkout, payment, polls) and prints one Markdown row:
# tickets/s, end-to-end p50 and p99 (the slower of the two load clients), the mean TigerBeetle
# batch (transfers per create_transfers request), and per order what the capacity model of
# docs/SCALING.md needs: TigerBeetle transfers and requests, Redis commands, PostgreSQL batch
# items, and CPU microseconds of the servers, of the replicas, of PostgreSQL and of Redis
# (from both servers' /metrics and /proc). Where the kernel
# has no netem, it says so and runs without added delay. Everything is torn down at the end
# (NETSIM_KEEP=1 keeps the work folder with the logs).
#   scripts/netsim.sh            NETSIM_FANS (default 4000), NETSIM_CONCURRENCY (default 100),
#                                BUILD_DIR (default build), TIGERBEETLE_BIN (or tigerbeetle/)
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "netsim: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
build=$(realpath "${BUILD_DIR:-build}")
fans=${NETSIM_FANS:-4000}
concurrency=${NETSIM_CONCURRENCY:-100}
delays=${NETSIM_DELAYS:-"0 0.25 1"}
[ -x "$build/tigerfans" ] && [ -x "$build/tigerfans-load" ] ||
    die "no $build/tigerfans or $build/tigerfans-load: run make build first"
tigerbeetle=$(tigerbeetle/obtain.sh) || die "no TigerBeetle server binary (set TIGERBEETLE_BIN)"

net=10.88.0
declare -A address=([ledger0]=10 [ledger1]=11 [ledger2]=12 [store]=20 [server0]=30 [server1]=31
    [load]=40)
machines=(ledger0 ledger1 ledger2 store server0 server1 load)
work=$(mktemp -d /tmp/tigerfans-netsim-XXXXXX)
chmod 755 "$work"
pids=()
server_pids=()
ledger_pids=()
pg_dir="$work/postgres"
replicas="$net.10:3000,$net.11:3000,$net.12:3000"
secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
metrics_token=$(secret)
in_ns() { local machine=$1; shift; ip netns exec "tfsim-$machine" "$@"; }
# Starts a long-running process in a namespace and records its own pid (`ip netns exec` runs
# the command as its child) in pids, or in the variable named by $2 too.
spawn() {  # machine name-of-pid-variable-or-"" log command...
    local machine=$1 into=$2 log=$3 pid_file
    shift 3
    pid_file=$(mktemp "$work/pid.XXXXXX")
    in_ns "$machine" bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$@" >>"$log" 2>&1 &
    disown
    for _ in $(seq 100); do [ -s "$pid_file" ] && break; sleep 0.01; done
    pids+=("$(cat "$pid_file")")
    if [ -n "$into" ]; then eval "$into+=(\"\$(cat \"\$pid_file\")\")"; fi
}
pg_bin() { local d; for d in /usr/lib/postgresql/*/bin; do echo "$d/$1"; return; done; }

teardown() {
    set +e
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
    done
    if [ -f "$pg_dir/PG_VERSION" ]; then
        runuser -u postgres -- "$(pg_bin pg_ctl)" -D "$pg_dir" -m immediate -w stop >/dev/null 2>&1
    fi
    [ -f "$work/redis.pid" ] && kill -9 "$(cat "$work/redis.pid")" 2>/dev/null
    for machine in "${machines[@]}" sw; do ip netns del "tfsim-$machine" 2>/dev/null; done
    if [ "${NETSIM_KEEP:-0}" = 1 ]; then echo "netsim: logs kept in $work" >&2
    else rm -rf "$work"; fi
}
trap teardown EXIT
trap 'exit 130' INT TERM

build_network() {
    for machine in "${machines[@]}" sw; do
        ip netns del "tfsim-$machine" 2>/dev/null || true
        ip netns add "tfsim-$machine"
        in_ns "$machine" ip link set lo up
    done
    in_ns sw ip link add br0 type bridge
    in_ns sw ip link set br0 up
    for machine in "${machines[@]}"; do
        ip link add "v-$machine" netns tfsim-sw type veth peer name eth0 netns "tfsim-$machine"
        in_ns sw ip link set "v-$machine" master br0 up
        in_ns "$machine" ip addr add "$net.${address[$machine]}/24" dev eth0
        in_ns "$machine" ip link set eth0 up
    done
}

# Every machine's egress waits `delay` ms: one hop between two machines takes that long.
set_delay() {
    local delay=$1 machine
    for machine in "${machines[@]}"; do
        if [ "$delay" = 0 ]; then
            in_ns "$machine" tc qdisc del dev eth0 root 2>/dev/null || true
        else
            in_ns "$machine" tc qdisc replace dev eth0 root netem delay "${delay}ms"
        fi
    done
}

have_netem() {
    in_ns load tc qdisc replace dev eth0 root netem delay 0.1ms 2>/dev/null &&
        in_ns load tc qdisc del dev eth0 root
}

wait_for_port() {  # machine host port
    for _ in $(seq 600); do
        in_ns "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
        sleep 0.1
    done
    die "nothing listens on $2:$3 (logs in $work)"
}

start_store() {
    mkdir -p "$pg_dir" "$work/pgsock" "$work/pglog" "$work/redis"
    chown -R postgres:postgres "$pg_dir" "$work/pgsock" "$work/pglog"
    runuser -u postgres -- "$(pg_bin initdb)" -D "$pg_dir" -U postgres --auth=trust -E UTF8 \
        >/dev/null
    echo "host all all $net.0/24 trust" >>"$pg_dir/pg_hba.conf"
    in_ns store runuser -u postgres -- "$(pg_bin pg_ctl)" -D "$pg_dir" \
        -l "$work/pglog/postgres.log" -w \
        -o "-c listen_addresses=$net.20 -p 5432 -k $work/pgsock -c max_connections=200" \
        start >/dev/null
    in_ns store runuser -u postgres -- psql -h "$net.20" -U postgres -qc "CREATE DATABASE tigerfans"
    in_ns store redis-server --bind "$net.20" --port 6379 --protected-mode no --save '' \
        --appendonly yes --appendfsync everysec --dir "$work/redis" --daemonize yes \
        --pidfile "$work/redis.pid" --logfile "$work/redis.log"
    wait_for_port store "$net.20" 6379
}

start_ledger() {
    local i
    for i in 0 1 2; do
        in_ns "ledger$i" "$tigerbeetle" format --cluster=0 --replica="$i" --replica-count=3 \
            --development "$work/0_$i.tigerbeetle" >"$work/tigerbeetle-$i.log" 2>&1
        spawn "ledger$i" ledger_pids "$work/tigerbeetle-$i.log" "$tigerbeetle" start --development \
            --experimental --limit-request=1MiB --addresses="$replicas" "$work/0_$i.tigerbeetle"
    done
    for i in 0 1 2; do wait_for_port "ledger$i" "$net.1$i" 3000; done
}

start_servers() {
    local j host
    for j in 0 1; do
        host="$net.3$j"
        spawn "server$j" server_pids "$work/server$j.log" env ACCT_BACKEND=tb \
            PAYSESSION_BACKEND=redis TB_ADDRESS="$replicas" \
            DATABASE_URL="postgresql://postgres@$net.20:5432/tigerfans" \
            REDIS_URL="redis://$net.20:6379/0" HOST="$host" PORT=8000 \
            MOCK_WEBHOOK_URL="http://$host:8000/payments/webhook" SERVER_NAME="server$j" \
            MOCK_SECRET="$(secret)" SESSION_SECRET="$(secret)" ADMIN_PASSWORD="$(secret)" \
            METRICS_TOKEN="$metrics_token" RATE_LIMIT_PER_SECOND=0 TICKETS_PER_EMAIL=0 \
            RECONCILE_INTERVAL_SECONDS=0 LOG_LEVEL=warn "$build/tigerfans"
    done
    for j in 0 1; do
        for _ in $(seq 600); do
            in_ns load curl -fs -o /dev/null "http://$net.3$j:8000/healthz" && break
            sleep 0.1
        done
        in_ns load curl -fs -o /dev/null "http://$net.3$j:8000/healthz" ||
            die "server$j did not become healthy (see $work/server$j.log)"
    done
}

# CPU seconds so far (utime + stime) of the processes given, and of their children.
cpu_seconds() {
    local ticks pid child total=0
    ticks=$(getconf CLK_TCK)
    for pid in "$@"; do
        for child in "$pid" $(pgrep -P "$pid" || true); do
            [ -r "/proc/$child/stat" ] || continue
            total=$((total + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$child/stat")))
        done
    done
    awk -v n="$total" -v t="$ticks" 'BEGIN { print n / t }'
}

# Each server's /metrics and its CPU seconds so far; the replicas' and the store's (PostgreSQL's
# postmaster with its backends, Redis) in the first server's file.
scrape() {  # delay-tag
    local j
    for j in 0 1; do
        in_ns load curl -fs -H "Authorization: Bearer $metrics_token" \
            "http://$net.3$j:8000/metrics" >"$work/metrics-$1-$j.txt"
        echo "cpu_seconds $(cpu_seconds "${server_pids[$j]}")" >>"$work/metrics-$1-$j.txt"
    done
    {
        echo "ledger_cpu_seconds $(cpu_seconds "${ledger_pids[@]}")"
        echo "postgres_cpu_seconds $(cpu_seconds "$(head -n 1 "$pg_dir/postmaster.pid")")"
        echo "redis_cpu_seconds $(cpu_seconds "$(cat "$work/redis.pid")")"
    } >>"$work/metrics-$1-0.txt"
}

run_delay() {
    local delay=$1 j
    set_delay "$delay"
    scrape "before-$delay"
    local loads=()
    for j in 0 1; do
        in_ns load "$build/tigerfans-load" --base "http://$net.3$j:8000" --total $((fans / 2)) \
            --concurrency $((concurrency / 2)) --json >"$work/load-$delay-$j.json" \
            2>"$work/load-$delay-$j.log" &
        loads+=("$!")
    done
    wait "${loads[@]}"
    scrape "after-$delay"
    /usr/bin/python3 - "$work" "$delay" <<'EOF'
import json, re, sys
work, delay = sys.argv[1], sys.argv[2]

def totals(path):
    """Sums over label sets of the series the capacity model needs."""
    wanted = {
        "tb_transfers": r'tigerfans_tb_batch_events_sum\{operation="create_transfers"\}',
        "tb_requests": r'tigerfans_tb_batch_events_count\{operation="create_transfers"\}',
        "redis_commands": r"tigerfans_redis_pipeline_commands_sum(\{[^}]*\})?",
        "redis_writes": r"tigerfans_redis_pipeline_commands_count(\{[^}]*\})?",
        "pg_items": r"tigerfans_pg_batch_items_sum\{[^}]*\}",
        "pg_batches": r"tigerfans_pg_batch_items_count\{[^}]*\}",
        "cpu_seconds": r"cpu_seconds",
        "ledger_cpu_seconds": r"ledger_cpu_seconds",
        "postgres_cpu_seconds": r"postgres_cpu_seconds",
        "redis_cpu_seconds": r"redis_cpu_seconds",
    }
    sums = dict.fromkeys(wanted, 0.0)
    for line in open(path):
        for key, pattern in wanted.items():
            m = re.fullmatch(pattern + r" (\S+)", line.strip())
            if m:
                sums[key] += float(m.groups()[-1])
    return sums

loads = [json.load(open(f"{work}/load-{delay}-{j}.json")) for j in (0, 1)]
ok = sum(r["ok"] for r in loads)
errors = sum(r["error"] + r["timeout"] for r in loads)
wall = max(r["wall_s"] for r in loads)
p50 = max(r["end_to_end"]["p50_s"] for r in loads) * 1000
p99 = max(r["end_to_end"]["p99_s"] for r in loads) * 1000
d = dict.fromkeys(totals(f"{work}/metrics-after-{delay}-0.txt"), 0.0)
for j in (0, 1):
    before = totals(f"{work}/metrics-before-{delay}-{j}.txt")
    after = totals(f"{work}/metrics-after-{delay}-{j}.txt")
    for key in d:
        d[key] += after[key] - before[key]
per = lambda key: d[key] / ok if ok else 0.0
batch = d["tb_transfers"] / d["tb_requests"] if d["tb_requests"] else 0.0
print(f"| {delay} | {ok} | {errors} | {ok / wall:,.0f} | {p50:.1f} | {p99:.1f} | {batch:.1f} | "
      f"{per('tb_transfers'):.2f} / {per('tb_requests'):.3f} | {per('redis_commands'):.1f} | "
      f"{per('pg_items'):.1f} | {per('cpu_seconds') * 1e6:.0f} | "
      f"{per('ledger_cpu_seconds') * 1e6:.0f} | {per('postgres_cpu_seconds') * 1e6:.0f} | "
      f"{per('redis_cpu_seconds') * 1e6:.0f} |",
      flush=True)
EOF
}

build_network
if have_netem; then
    netem=yes
else
    netem=no
    echo "netsim: this kernel has no tc netem (sch_netem): running without added delay" >&2
    delays=0
fi
start_store
start_ledger
start_servers
echo "netsim: 3 replicas ($replicas), 2 servers, $fans fans at concurrency $concurrency" \
    "per delay, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), netem $netem" >&2
echo "| one-way delay (ms) | orders | errors | tickets/s | p50 (ms) | p99 (ms) |" \
    "TB transfers per request | per order: TB transfers / requests | Redis commands |" \
    "PostgreSQL batch items | CPU µs: servers | replicas | PostgreSQL | Redis |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for delay in $delays; do run_delay "$delay"; done
