#!/usr/bin/env bash
# Throughput, latency and memory of the gateway's hot path (session cookie → rules → proxy)
# next to nginx as a plain reverse proxy, on this machine, in the same run (DESIGN §7).
#
#   bash bench/run.sh                  # 10 s per run, 64 connections
#   DURATION=30s CONNECTIONS=128 bash bench/run.sh
#   PERF=1 bash bench/run.sh           # also a CPU profile of the gateway (Debian: linux-perf)
#
# Needs wrk and nginx (Debian: `apt-get install wrk nginx`) and curl. Everything listens on
# loopback ports picked here; every process is stopped on exit. Not part of `cargo test` or
# CI: numbers on a shared 2-core machine are only comparable within one run.
#
# Layout: one nginx serves a small fixed answer as the upstream app (U). The baseline is a
# second nginx proxying to U with keep-alive. The gateway proxies to U for a signed-in
# session: the script signs in through the embedded dev provider with curl, exactly as a
# browser would, and wrk sends that session cookie with every request.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"

NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
for tool in wrk curl "$NGINX"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool (apt-get install wrk nginx curl)" >&2; exit 1; }
done

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pidfile in "$WORK"/*.pid; do [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APP_PORT="$(free_port)"
NGINX_PORT="$(free_port)"
GATEWAY_PORT="$(free_port)"

echo "== building the gateway (release)"
cargo build --release --quiet
BIN="target/release/portcullis"

echo "== starting nginx: the app on :$APP_PORT, the baseline proxy on :$NGINX_PORT"
# Two nginx instances, so that the baseline proxy, like the gateway, is a process of its own
# in front of the app (one instance serving both would skip a process hop the gateway pays).
nginx_instance() { # name worker_processes server-block
  mkdir -p "$WORK/$1"
  cat > "$WORK/$1.conf" <<EOF
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
EOF
  "$NGINX" -c "$WORK/$1.conf" -e "$WORK/$1/error.log"
}
nginx_instance app 1 "server {
        listen 127.0.0.1:$APP_PORT;
        location / { default_type text/plain; return 200 'hello from the app\n'; }
    }"
# worker_processes auto: one per core, as nginx is deployed (the gateway uses every core too).
nginx_instance proxy auto "upstream app { server 127.0.0.1:$APP_PORT; keepalive 128; }
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

echo "== starting the gateway on :$GATEWAY_PORT"
cat > "$WORK/providers.toml" <<EOF
[server]
listen = "127.0.0.1:$GATEWAY_PORT"
public_url = "http://127.0.0.1:$GATEWAY_PORT"

[session]
secret = "$("$BIN" secret)"

[[provider]]
id = "dev"
kind = "dev"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:$APP_PORT"
EOF
RUST_LOG=warn "$BIN" --config "$WORK/providers.toml" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/ready" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "== signing in through the dev provider"
BASE="http://127.0.0.1:$GATEWAY_PORT"
JAR="$WORK/jar"
location() { curl -sS -o /dev/null -w '%{redirect_url}' -b "$JAR" -c "$JAR" "$@"; }
AUTHORIZE="$(location "$BASE/oauth2/start?provider=dev&rd=%2F")"
FORM="$(curl -sS -b "$JAR" -c "$JAR" "$AUTHORIZE")"
ARGS=()
while IFS= read -r pair; do
  ARGS+=(--data-urlencode "$pair")
done < <(printf '%s' "$FORM" | grep -o '<input type="hidden" name="[^"]*" value="[^"]*"' \
  | sed -E 's/.*name="([^"]*)" value="([^"]*)"/\1=\2/')
CALLBACK="$(location -X POST "$BASE/oauth2/dev/authorize" "${ARGS[@]}" --data-urlencode email=bench@example.com)"
location "$CALLBACK" >/dev/null
COOKIE="$(awk '$6 ~ /^_portcullis/ { printf "%s%s=%s", sep, $6, $7; sep="; " }' "$JAR")"
[ -n "$COOKIE" ] || { echo "sign-in failed: no session cookie" >&2; exit 1; }
STATUS="$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$BASE/bench")"
[ "$STATUS" = 200 ] || { echo "a signed-in request answered $STATUS" >&2; exit 1; }

run() { # name url [header]
  local name="$1" url="$2"; shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url" >"$WORK/$name.txt"
  local rps p99
  rps="$(awk '/^Requests\/sec/ { print $2 }' "$WORK/$name.txt")"
  p99="$(awk '$1 == "99%" { print $2 }' "$WORK/$name.txt")"
  printf '%-28s %12s req/s   p99 %s\n' "$name" "$rps" "$p99"
  eval "${name//-/_}_RPS=$rps; ${name//-/_}_P99=$p99"
}

to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s → milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; print n }'
}

echo "== load: $DURATION, $CONNECTIONS connections, $THREADS wrk threads"
run warmup "$BASE/" -H "Cookie: $COOKIE" >/dev/null
run nginx "http://127.0.0.1:$NGINX_PORT/"
if [ -n "${PERF:-}" ]; then
  # PERF=1: a CPU profile of the gateway under load, for `perf report -i target/bench-perf.data`.
  perf record -F 999 -g -o target/bench-perf.data -p "$GATEWAY_PID" >/dev/null 2>&1 &
  PERF_PID=$!
fi
run portcullis "$BASE/" -H "Cookie: $COOKIE"
if [ -n "${PERF:-}" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
RSS_KB="$(awk '/^VmRSS/ { print $2 }' "/proc/$GATEWAY_PID/status")"
HWM_KB="$(awk '/^VmHWM/ { print $2 }' "/proc/$GATEWAY_PID/status")"

echo "== result"
awk -v g="$portcullis_RPS" -v n="$nginx_RPS" -v gp="$(to_ms "$portcullis_P99")" -v np="$(to_ms "$nginx_P99")" \
    -v rss="$RSS_KB" -v hwm="$HWM_KB" 'BEGIN {
  printf "throughput ratio (gateway / nginx): %.2f   (target >= 0.90)\n", g / n
  printf "p99 ratio        (gateway / nginx): %.2f   (target <= 1.25)\n", gp / np
  printf "gateway resident memory: %.1f MB now, %.1f MB peak   (target < 30 MB)\n", rss / 1024, hwm / 1024
}'
