#!/usr/bin/env bash
# Throughput, latency and memory of the gateway's hot path (session → rules → proxy) next to
# nginx as a plain reverse proxy, on this machine, in the same run (DESIGN §7).
#
#   bash bench/run.sh                  # 10 s per run, 64 connections, the cookie store
#   DURATION=30s CONNECTIONS=128 bash bench/run.sh
#   PIN=1 bash bench/run.sh            # servers on CPU 0, wrk on CPU 1 (DESIGN §7's method)
#   STORES="cookie redis" bash bench/run.sh   # also the Redis session store
#   COMPARE_BIN=../old/target/release/portcullis bash bench/run.sh
#                                      # also another build (cookie store), in the same run
#   PERF=1 bash bench/run.sh           # also a CPU profile of each gateway (Debian: linux-perf)
#
# Needs wrk and nginx (Debian: `apt-get install wrk nginx`) and curl; the Redis case needs a
# Redis at REDIS_URL (default redis://127.0.0.1:6379) and redis-cli. The Redis case writes
# only under a key prefix of its own (portcullis-bench-…:) and deletes those keys on exit.
# Everything listens on loopback ports picked here; every process is stopped on exit. Not
# part of `cargo test` or CI: numbers on a shared 2-core machine are only comparable within
# one run. With PIN=1 the Redis server, which this script does not start, is not pinned.
#
# Layout: one nginx serves a small fixed answer as the upstream app (U). The baseline is a
# second nginx proxying to U with keep-alive. Each gateway case (a store, or COMPARE_BIN)
# is a gateway of its own proxying to U for a signed-in session: the script signs in through
# the embedded dev provider with curl, exactly as a browser would, and wrk sends that session
# cookie with every request.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
STORES="${STORES:-cookie}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
COMPARE_BIN="${COMPARE_BIN:-}"

NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
for tool in wrk curl "$NGINX"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool (apt-get install wrk nginx curl)" >&2; exit 1; }
done
for store in $STORES; do
  case "$store" in
    cookie) ;;
    redis) command -v redis-cli >/dev/null 2>&1 || { echo "missing: redis-cli (apt-get install redis-tools)" >&2; exit 1; } ;;
    *) echo "STORES: \`$store\` is not a session store (cookie, redis)" >&2; exit 1 ;;
  esac
done
if [ -n "$COMPARE_BIN" ] && [ ! -x "$COMPARE_BIN" ]; then
  echo "COMPARE_BIN: $COMPARE_BIN is not an executable" >&2; exit 1
fi

# PIN=1: the servers (both nginx, every gateway) share CPU 0 and wrk runs on CPU 1, so that
# the load generator does not take CPU time from what it measures. nginx then has one worker
# and the gateway one runtime thread (it sizes itself by the CPUs it may use).
if [ -n "${PIN:-}" ]; then
  command -v taskset >/dev/null 2>&1 || { echo "missing: taskset (util-linux)" >&2; exit 1; }
  SERVER_CPU=(taskset -c 0)
  LOAD_CPU=(taskset -c 1)
  NGINX_WORKERS=1
else
  SERVER_CPU=()
  LOAD_CPU=()
  NGINX_WORKERS=auto # one per core, as nginx is deployed (the gateway uses every core too)
fi

WORK="$(mktemp -d)"
PIDS=()
# The Redis case's keys, all under this prefix, deleted on exit.
KEY_PREFIX="portcullis-bench-$$-$RANDOM:"
redis_keys() { redis-cli -u "$REDIS_URL" --scan --pattern "$KEY_PREFIX*"; }
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pidfile in "$WORK"/*.pid; do [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; done
  if [[ " $STORES " == *" redis "* ]]; then
    redis_keys 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APP_PORT="$(free_port)"
NGINX_PORT="$(free_port)"

echo "== building the gateway (release)"
cargo build --release --quiet
BIN="target/release/portcullis"

echo "== starting nginx: the app on :$APP_PORT, the baseline proxy on :$NGINX_PORT"
# Two nginx instances, so that the baseline proxy, like the gateway, is a process of its own
# in front of the app (one instance serving both would skip a process hop the gateway pays).
nginx_instance() { # name worker_processes server-block
  mkdir -p "$WORK/$1"
  cat > "$WORK/$1.conf" <<CONF
worker_processes $2;
pid $WORK/$1.pid;
error_log $WORK/$1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/$1;
    proxy_temp_path $WORK/$1;
    fastcgi_temp_path $WORK/$1;
    uwsgi_temp_path $WORK/$1;
    scgi_temp_path $WORK/$1;
    $3
}
CONF
  "${SERVER_CPU[@]}" "$NGINX" -c "$WORK/$1.conf" -e "$WORK/$1/error.log"
}
nginx_instance app 1 "server {
        listen 127.0.0.1:$APP_PORT;
        location / { default_type text/plain; return 200 'hello from the app\n'; }
    }"
nginx_instance proxy "$NGINX_WORKERS" "upstream app { server 127.0.0.1:$APP_PORT; keepalive 128; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection '';
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
        }
    }"

# One gateway per case: `gateway-cookie`, `gateway-redis` (this checkout's build) and
# `compare-cookie` (COMPARE_BIN). Each records its base URL, pid and session cookie.
CASES=()
start_gateway() { # case binary store
  local name="$1" bin="$2" store="$3" port base jar
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  local store_lines=""
  if [ "$store" = redis ]; then
    store_lines="store = \"redis\"
redis_url = \"$REDIS_URL\"
key_prefix = \"$KEY_PREFIX\""
  fi
  echo "== starting $name on :$port"
  cat > "$WORK/$name.toml" <<CONF
[server]
listen = "127.0.0.1:$port"
public_url = "$base"

[session]
secret = "$("$bin" secret)"
$store_lines

[[provider]]
id = "dev"
kind = "dev"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:$APP_PORT"
CONF
  RUST_LOG=warn "${SERVER_CPU[@]}" "$bin" --config "$WORK/$name.toml" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local ready=""
  for _ in $(seq 1 100); do
    curl -fsS "$base/ready" >/dev/null 2>&1 && { ready=1; break; }
    sleep 0.1
  done
  [ -n "$ready" ] || { echo "$name did not get ready:" >&2; cat "$WORK/$name.log" >&2; exit 1; }

  # Sign in through the dev provider, as a browser would.
  jar="$WORK/$name.jar"
  location() { curl -sS -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" "$@"; }
  local authorize form callback cookie status
  authorize="$(location "$base/oauth2/start?provider=dev&rd=%2F")"
  form="$(curl -sS -b "$jar" -c "$jar" "$authorize")"
  local args=()
  while IFS= read -r pair; do
    args+=(--data-urlencode "$pair")
  done < <(printf '%s' "$form" | grep -o '<input type="hidden" name="[^"]*" value="[^"]*"' \
    | sed -E 's/.*name="([^"]*)" value="([^"]*)"/\1=\2/')
  callback="$(location -X POST "$base/oauth2/dev/authorize" "${args[@]}" --data-urlencode email=bench@example.com)"
  location "$callback" >/dev/null
  cookie="$(awk '$6 ~ /^_portcullis/ { printf "%s%s=%s", sep, $6, $7; sep="; " }' "$jar")"
  [ -n "$cookie" ] || { echo "$name: sign-in failed: no session cookie" >&2; exit 1; }
  status="$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base/bench")"
  [ "$status" = 200 ] || { echo "$name: a signed-in request answered $status" >&2; exit 1; }
  if [ "$store" = redis ] && [ -z "$(redis_keys)" ]; then
    echo "$name: signed in, but no session entry under $KEY_PREFIX in Redis" >&2; exit 1
  fi
  printf '   session cookie: %d bytes\n' "${#cookie}"
  local var="${name//-/_}"
  eval "${var}_BASE=\$base; ${var}_PID=\$pid; ${var}_COOKIE=\$cookie"
  CASES+=("$name")
}
for store in $STORES; do start_gateway "gateway-$store" "$BIN" "$store"; done
[ -z "$COMPARE_BIN" ] || start_gateway compare-cookie "$COMPARE_BIN" cookie

run() { # name url [header]
  local name="$1" url="$2"; shift 2
  "${LOAD_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url" >"$WORK/$name.txt"
  local rps p99
  rps="$(awk '/^Requests\/sec/ { print $2 }' "$WORK/$name.txt")"
  p99="$(awk '$1 == "99%" { print $2 }' "$WORK/$name.txt")"
  printf '%-28s %12s req/s   p99 %s\n' "$name" "$rps" "$p99"
  local var="${name//-/_}"
  eval "${var}_RPS=\$rps; ${var}_P99=\$p99"
}

to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s → milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; print n }'
}

echo "== load: $DURATION, $CONNECTIONS connections, $THREADS wrk threads${PIN:+, pinned (servers CPU 0, wrk CPU 1)}"
for name in "${CASES[@]}"; do
  var="${name//-/_}"; base_var="${var}_BASE"; cookie_var="${var}_COOKIE"
  run "warmup-$name" "${!base_var}/" -H "Cookie: ${!cookie_var}" >/dev/null
done
run nginx "http://127.0.0.1:$NGINX_PORT/"
for name in "${CASES[@]}"; do
  var="${name//-/_}"; base_var="${var}_BASE"; cookie_var="${var}_COOKIE"; pid_var="${var}_PID"
  if [ -n "${PERF:-}" ]; then
    # PERF=1: a CPU profile of the gateway under load, for `perf report -i target/bench-perf-….data`.
    perf record -F 999 -g -o "target/bench-perf-$name.data" -p "${!pid_var}" >/dev/null 2>&1 &
    PERF_PID=$!
  fi
  run "$name" "${!base_var}/" -H "Cookie: ${!cookie_var}"
  if [ -n "${PERF:-}" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
  eval "${var}_RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/${!pid_var}/status")"
  eval "${var}_HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/${!pid_var}/status")"
done

echo "== result (ratios to nginx; targets: signed-in GET >= 1.0x req/s and <= 1.0x p99, Redis store >= 0.8x, memory < 30 MB)"
for name in "${CASES[@]}"; do
  var="${name//-/_}"; rps_var="${var}_RPS"; p99_var="${var}_P99"; rss_var="${var}_RSS"; hwm_var="${var}_HWM"
  awk -v name="$name" -v g="${!rps_var}" -v n="$nginx_RPS" -v gp="$(to_ms "${!p99_var}")" \
      -v np="$(to_ms "$nginx_P99")" -v rss="${!rss_var}" -v hwm="${!hwm_var}" 'BEGIN {
    printf "%-16s throughput %.2fx   p99 %.2fx   resident %.1f MB now, %.1f MB peak\n",
      name, g / n, gp / np, rss / 1024, hwm / 1024
  }'
done
