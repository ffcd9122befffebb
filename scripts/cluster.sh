#!/usr/bin/env bash
# A local cluster on loopback (issue 19, docs/scale-out.md "Running several nodes"):
# N `phr-server serve` nodes on one fresh PostgreSQL database and one data directory
# (shared keys and research files), HAProxy from Debian in front, and optionally
# PgBouncer in transaction mode between the nodes and PostgreSQL.
#
#   scripts/cluster.sh start [--nodes N] [--pgbouncer]   N nodes (default 3)
#   scripts/cluster.sh status                            each node's health, as HAProxy sees it too
#   scripts/cluster.sh kill-node K                       SIGKILL node K (1-based), as a crash
#   scripts/cluster.sh drain-node K                      SIGTERM node K: it finishes in-flight requests, exits
#   scripts/cluster.sh restart-node K                    start node K again on its port (draining it first if up)
#   scripts/cluster.sh stop                              stop everything and drop the database
#
# Clients use the balancer's URL that `start` prints (also the nodes' --public-base-url).
# Environment:
#   PHR_CLUSTER_DIR        state: pids, ports, config, logs, data dir (default target/cluster)
#   PHR_SERVER_BIN         the server binary (default target/debug/phr-server:
#                          `cargo build -p phr-server` first)
#   PHR_CLUSTER_PG_URL     PostgreSQL admin URL the database is created with (psql) and the
#                          nodes connect to (default postgres://postgres@127.0.0.1:5432/postgres)
#   HAPROXY, PGBOUNCER     the binaries (default: haproxy and pgbouncer from PATH or /usr/sbin;
#                          `apt-get install -y haproxy pgbouncer`)
# Node logs: $PHR_CLUSTER_DIR/logs/node-K.log; the balancer's statistics page:
# http://127.0.0.1:STATS_PORT/stats (printed by `start` and `status`).
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything written here (config, state, logs, the nodes' data dir) is owner-only.
umask 077

DIR="${PHR_CLUSTER_DIR:-target/cluster}"
BIN="${PHR_SERVER_BIN:-target/debug/phr-server}"
PG_URL="${PHR_CLUSTER_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
STATE="$DIR/cluster.env"
# Seconds a drained node gets for its in-flight requests (its --shutdown-timeout-secs).
SHUTDOWN_SECS=10

die() { echo "cluster.sh: $*" >&2; exit 1; }
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

tool() { # tool NAME ENVVALUE: the binary's path
  local name="$1" given="$2"
  if [ -n "$given" ]; then echo "$given"; return; fi
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return; fi
  die "$name is missing: apt-get install -y $name"
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

pid_of() { cat "$DIR/run/$1.pid" 2>/dev/null || true; }

# A loopback port nothing listens on, picked at random below the kernel's ephemeral range
# (ip_local_port_range) so that no outgoing connection holds it when a node binds it again
# at a restart; checked with ss.
free_port() {
  local port low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt 11000 ] || low=32768
  for _ in $(seq 1 100); do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

# The HTTP status of GET URL (000 when nothing answers). No proxy: every address here is
# on this machine, whatever http_proxy the environment sets.
http_status() { curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }

# The last lines of a log under $DIR/logs, for an error message (the server logs no
# health data and no client-supplied values, so they can be shown).
log_tail() { tail -n 20 "$DIR/logs/$1" 2>/dev/null | sed "s/^/  $1: /" >&2 || true; }

wait_healthy() { # wait_healthy URL SECONDS WHAT PID LOG: PID's process must stay up
  local deadline=$((SECONDS + $2))
  until [ "$(http_status "$1/healthz")" = 200 ]; do
    if ! alive "$4"; then log_tail "$5"; die "$3 exited before it was healthy (log above, all of it in $DIR/logs/$5)"; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail "$5"
      [ ! -f "$DIR/logs/pgbouncer.log" ] || log_tail pgbouncer.log
      die "$3 is not healthy after $2 s (log above, all of it in $DIR/logs)"
    fi
    sleep 0.2
  done
}

# Starts node K on its port from the saved configuration.
start_node() {
  local k="$1" port
  port="$(cat "$DIR/run/node-$k.port")"
  alive "$(pid_of "node-$k")" && die "node $k is running"
  # setsid: the node outlives this shell and a Ctrl-C in the terminal that started it.
  setsid "$BIN" serve \
    --listen "127.0.0.1:$port" \
    --data-dir "$DIR/data" \
    --database-url "$NODE_DB_URL" \
    --public-base-url "http://127.0.0.1:$LB_PORT" \
    --trusted-proxies 127.0.0.1 \
    --pg-prepared-statements "$PG_PREPARED_STATEMENTS" \
    --shutdown-timeout-secs "$SHUTDOWN_SECS" \
    </dev/null >>"$DIR/logs/node-$k.log" 2>&1 &
  echo $! >"$DIR/run/node-$k.pid"
  wait_healthy "http://127.0.0.1:$port" 60 "node $k" "$(pid_of "node-$k")" "node-$k.log"
  echo "node $k: http://127.0.0.1:$port (pid $(pid_of "node-$k"))"
}

haproxy_config() {
  cat <<EOF
# Generated by scripts/cluster.sh: round robin over the nodes, each checked with
# GET /healthz every second (down after 2 failures, up after 2 successes); a failed
# connection is retried on another node; X-Forwarded-For names the client; the answer's
# X-Phr-Node header names the node that served it.
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout check 2s
    retries 3
    option redispatch 1
    option forwardfor

frontend phr
    bind 127.0.0.1:$LB_PORT
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fastinter 250ms downinter 1s fall 2 rise 2
    http-response set-header X-Phr-Node %s
EOF
  local k
  for k in $(seq 1 "$NODES"); do
    echo "    server node$k 127.0.0.1:$(cat "$DIR/run/node-$k.port") check"
  done
  cat <<EOF

listen stats
    bind 127.0.0.1:$STATS_PORT
    stats enable
    stats uri /stats
EOF
}

# user host port database of a postgres:// URL.
pg_parts() {
  local rest="${1#*://}" user="postgres" hostport db
  rest="${rest%%\?*}"
  if [[ "$rest" == *@* ]]; then user="${rest%%@*}"; user="${user%%:*}"; rest="${rest#*@}"; fi
  hostport="${rest%%/*}"
  db="${rest#*/}"
  echo "$user" "${hostport%%:*}" "$([[ "$hostport" == *:* ]] && echo "${hostport##*:}" || echo 5432)" "$db"
}

start_pgbouncer() {
  local pgb user host port _db
  pgb="$(tool pgbouncer "${PGBOUNCER:-}")"
  read -r user host port _db <<<"$(pg_parts "$PG_URL")"
  PGB_PORT="$(free_port)"
  printf '"%s" ""\n' "$user" >"$DIR/pgbouncer-users.txt"
  cat >"$DIR/pgbouncer.ini" <<EOF
; Generated by scripts/cluster.sh: transaction pooling, as at scale. The nodes run with
; --pg-prepared-statements off (named prepared statements do not survive a transaction).
[databases]
$DB_NAME = host=$host port=$port dbname=$DB_NAME

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = trust
auth_file = $(cd "$DIR" && pwd)/pgbouncer-users.txt
pool_mode = transaction
default_pool_size = 10
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
EOF
  chmod 600 "$DIR/pgbouncer.ini" "$DIR/pgbouncer-users.txt"
  # PgBouncer refuses to run as root: it reads its files, then switches user.
  local as_user=()
  if [ "$(id -u)" -eq 0 ]; then as_user=(-u nobody); fi
  setsid "$pgb" "${as_user[@]}" "$DIR/pgbouncer.ini" </dev/null >>"$DIR/logs/pgbouncer.log" 2>&1 &
  echo $! >"$DIR/run/pgbouncer.pid"
  local deadline=$((SECONDS + 15))
  until (exec 3<>"/dev/tcp/127.0.0.1/$PGB_PORT") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "PgBouncer did not start (see $DIR/logs/pgbouncer.log)"
    sleep 0.2
  done
  NODE_DB_URL="postgres://$user@127.0.0.1:$PGB_PORT/$DB_NAME"
  echo "pgbouncer: 127.0.0.1:$PGB_PORT (pool_mode=transaction, pid $(pid_of pgbouncer))"
}

save_state() {
  {
    printf 'NODES=%q\nDB_NAME=%q\nNODE_DB_URL=%q\nPG_PREPARED_STATEMENTS=%q\n' \
      "$NODES" "$DB_NAME" "$NODE_DB_URL" "$PG_PREPARED_STATEMENTS"
    printf 'LB_PORT=%q\nSTATS_PORT=%q\nPGB_PORT=%q\n' "$LB_PORT" "$STATS_PORT" "$PGB_PORT"
  } >"$STATE"
  chmod 600 "$STATE"
}

cmd_start() {
  NODES=3
  local pgbouncer=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) NODES="${2:?--nodes N}"; shift 2 ;;
      --pgbouncer) pgbouncer=1; shift ;;
      *) usage ;;
    esac
  done
  [[ "$NODES" =~ ^[1-9][0-9]*$ ]] || die "--nodes must be a positive number"
  [ -x "$BIN" ] || die "$BIN is missing: cargo build -p phr-server (or set PHR_SERVER_BIN)"
  command -v psql >/dev/null 2>&1 || die "psql is missing: apt-get install -y postgresql-client"
  local haproxy
  haproxy="$(tool haproxy "${HAPROXY:-}")"
  if [ -f "$STATE" ]; then die "a cluster is already set up in $DIR: scripts/cluster.sh stop first"; fi
  rm -rf "$DIR"
  mkdir -p "$DIR/run" "$DIR/logs"
  chmod 700 "$DIR" "$DIR/run" "$DIR/logs"

  DB_NAME="phr_cluster_$(date +%s)_$$"
  NODE_DB_URL="${PG_URL%%\?*}"
  NODE_DB_URL="${NODE_DB_URL%/*}/$DB_NAME"
  PG_PREPARED_STATEMENTS=on
  LB_PORT="$(free_port)"
  STATS_PORT="$(free_port)"
  PGB_PORT=""
  for k in $(seq 1 "$NODES"); do free_port >"$DIR/run/node-$k.port"; done
  psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $DB_NAME" >/dev/null
  # From here on `stop` cleans up whatever a failed start leaves.
  save_state
  echo "database: $DB_NAME"
  if [ "$pgbouncer" = 1 ]; then
    start_pgbouncer
    PG_PREPARED_STATEMENTS=off
    save_state
  fi

  # Node 1 first: its first start creates the server keys the other nodes share.
  for k in $(seq 1 "$NODES"); do start_node "$k"; done

  haproxy_config >"$DIR/haproxy.cfg"
  "$haproxy" -c -q -f "$DIR/haproxy.cfg" || die "HAProxy refused $DIR/haproxy.cfg"
  setsid "$haproxy" -db -f "$DIR/haproxy.cfg" </dev/null >>"$DIR/logs/haproxy.log" 2>&1 &
  echo $! >"$DIR/run/haproxy.pid"
  wait_healthy "http://127.0.0.1:$LB_PORT" 30 "the balancer" "$(pid_of haproxy)" haproxy.log
  echo "balancer: http://127.0.0.1:$LB_PORT (statistics: http://127.0.0.1:$STATS_PORT/stats)"
  echo "stop with: scripts/cluster.sh stop"
}

load_state() {
  [ -f "$STATE" ] || die "no cluster in $DIR (scripts/cluster.sh start)"
  # shellcheck disable=SC1090 # written by cmd_start with printf %q
  . "$STATE"
}

node_arg() {
  if ! [[ "${1:-}" =~ ^[1-9][0-9]*$ ]] || [ "$1" -gt "$NODES" ]; then die "name a node from 1 to $NODES"; fi
}

# SIGTERM, then wait for the exit (the node finishes its in-flight requests).
drain() { # drain NAME SECONDS
  local pid deadline
  pid="$(pid_of "$1")"
  if ! alive "$pid"; then rm -f "$DIR/run/$1.pid"; return; fi
  kill -TERM "$pid"
  deadline=$((SECONDS + $2))
  while alive "$pid"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$1 did not stop within $2 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$DIR/run/$1.pid"
}

cmd_stop() {
  load_state
  for k in $(seq 1 "$NODES"); do drain "node-$k" $((SHUTDOWN_SECS + 5)); done
  drain haproxy 5
  drain pgbouncer 5
  psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
  rm -rf "$DIR/data" "$DIR/run" "$STATE"
  echo "stopped; database $DB_NAME dropped; logs kept in $DIR/logs"
}

cmd_status() {
  load_state
  local k pid port health lb_state
  for k in $(seq 1 "$NODES"); do
    pid="$(pid_of "node-$k")"
    port="$(cat "$DIR/run/node-$k.port")"
    health="$(http_status "http://127.0.0.1:$port/healthz")"
    lb_state="$(balancer_state "$k")"
    if alive "$pid"; then pid="pid $pid"; else pid="not running"; fi
    echo "node $k: http://127.0.0.1:$port $pid, /healthz $health, in HAProxy: ${lb_state:-unknown}"
  done
  echo "balancer: http://127.0.0.1:$LB_PORT /healthz $(http_status "http://127.0.0.1:$LB_PORT/healthz")"
  if [ -n "$PGB_PORT" ]; then
    if alive "$(pid_of pgbouncer)"; then echo "pgbouncer: 127.0.0.1:$PGB_PORT running"; else echo "pgbouncer: not running"; fi
  fi
  echo "database: $DB_NAME (prepared statements $PG_PREPARED_STATEMENTS)"
}

cmd_kill_node() {
  load_state
  node_arg "${1:-}"
  local pid
  pid="$(pid_of "node-$1")"
  alive "$pid" || die "node $1 is not running"
  kill -KILL "$pid"
  rm -f "$DIR/run/node-$1.pid"
  echo "node $1 killed (SIGKILL)"
}

cmd_drain_node() {
  load_state
  node_arg "${1:-}"
  alive "$(pid_of "node-$1")" || die "node $1 is not running"
  drain "node-$1" $((SHUTDOWN_SECS + 5))
  echo "node $1 drained (SIGTERM) and stopped"
}

# HAProxy's view of node K: UP, DOWN, "DOWN 1/2" (going up), … (empty when it is not running).
balancer_state() {
  curl -s --noproxy '*' --max-time 2 "http://127.0.0.1:$STATS_PORT/stats;csv" |
    awk -F, -v sv="node$1" '$1 == "nodes" && $2 == sv { print $18 }' || true
}

cmd_restart_node() {
  load_state
  node_arg "${1:-}"
  drain "node-$1" $((SHUTDOWN_SECS + 5))
  start_node "$1"
  # Back in the rotation once the health checks pass (rise 2).
  local deadline=$((SECONDS + 20))
  until [ "$(balancer_state "$1")" = UP ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "HAProxy did not take node $1 back within 20 s"
    sleep 0.2
  done
  echo "node $1 is back in the balancer"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill-node) cmd_kill_node "${2:-}" ;;
  drain-node) cmd_drain_node "${2:-}" ;;
  restart-node) cmd_restart_node "${2:-}" ;;
  *) usage ;;
esac
