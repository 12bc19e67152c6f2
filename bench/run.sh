#!/usr/bin/env bash
# Throughput, latency and memory of the gateway next to nginx as a plain reverse proxy, on
# this machine, in the same run (DESIGN §7, issue 13).
#
#   PIN=1 bash bench/run.sh            # servers on CPU 0, the load on CPU 1 (DESIGN §7's method)
#   bash bench/run.sh                  # unpinned: every process may use every core
#   RUNS=5 DURATION=10s bash bench/run.sh     # runs per case (default 3), length of each (5s)
#   CONNECTIONS=128 THREADS=2 bash bench/run.sh  # wrk's -c (default 64) and -t (default 2)
#   STORES="cookie redis" bash bench/run.sh   # also the Redis session store
#   CASES="get auth" bash bench/run.sh        # only some cases (default: get floor auth public stream ws;
#                                      # CASES=none MEMORY=1: the memory phases alone)
#   COMPARE_BIN=../old/target/release/portcullis bash bench/run.sh
#                                      # also another build's signed-in GET (cookie store)
#   MEMORY=1 bash bench/run.sh         # also the memory phases (below), after the cases
#   PERF=1 bash bench/run.sh           # a CPU profile of each gateway case's first run
#                                      # (target/bench-perf-CASE.data; Debian: linux-perf);
#                                      # PERF_RECORD: perf record's options (default -F 999 -g;
#                                      # with PROFILE=profiling: --call-graph dwarf -F 499)
#   BIN=target/debug/portcullis bash bench/run.sh   # that binary, not a fresh release build
#                                      # (WS_BENCH=…/ws_bench: that load tool, not a fresh one;
#                                      # FLOOR=…/proxy_floor: that floor proxy)
#   HOLD=1 bash bench/run.sh           # start and sign in, print the addresses, pids and
#                                      # cookies, and wait (to measure or profile by hand)
#   INSTRUCTIONS=1 bash bench/run.sh   # also the instructions per signed-in GET of each
#                                      # gateway, the floor and the nginx proxy, counted by
#                                      # callgrind (valgrind; the profiles:
#                                      # target/bench-callgrind-NAME.out)
#   SMOKE=1 bash bench/run.sh          # CI: every case once for 1 s, tiny memory phases,
#                                      # a debug build; fails on any wrong answer, no threshold
#
# Processes, all on loopback ports picked here, all stopped on exit:
# - U, the upstream app: nginx (one worker) answering a 96-byte body on every path, and a
#   1 MiB static file at /big/1mib.bin; and `ws_bench serve` (bench/ws_bench.rs), a WebSocket
#   echo upstream.
# - the baseline: a second nginx as a plain reverse proxy to U (keep-alive upstream, access
#   log off, one worker when pinned), WebSocket at /ws with Upgrade and Connection forwarded.
# - the floor (case floor): `proxy_floor` (bench/proxy_floor.rs), a proxy to U written on
#   hyper alone with the gateway's runtime shape and nothing else, to tell what hyper costs
#   here from what the gateway adds.
# - one gateway per session store (and one for COMPARE_BIN), routes `/` to U, `/public` to U
#   with `public = true`, `/ws` to the echo upstream. The script signs in through the embedded
#   dev provider with curl, exactly as a browser would, and sends that session cookie.
# With PIN=1, U, the nginx proxy, the echo upstream and every gateway share CPU 0 (nginx then
# has one worker, the gateway one runtime thread: it sizes itself by the CPUs it may use), and
# the load generators run on CPU 1, so that the load does not take CPU time from what it
# measures. The Redis server, which this script does not start, is not pinned.
#
# Cases, each measured RUNS times through the gateway and through nginx, alternately (nginx
# first in odd runs, the gateway first in even ones), so that drift on a shared machine hits
# both; `wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency`:
#   get-cookie   signed-in GET / (cookie store)            nginx: GET /
#   get-redis    signed-in GET / (Redis store, STORES)     nginx: GET /
#   get-compare  signed-in GET / on COMPARE_BIN            nginx: GET /
#   floor        GET / with the session cookie through proxy_floor (no checks at all)  nginx: GET /
#   auth         GET /oauth2/auth with the session cookie: the gateway answers 202 itself,
#                no upstream; its ratio is to the nginx proxy's GET /   nginx: GET /
#   public       GET /public/ without a cookie (a `public = true` route)  nginx: GET /public/
#   stream-1mib  signed-in GET /big/1mib.bin, streamed from U   nginx: the same path, with
#                proxy_buffering off (streamed too, not spooled to a temp file)
#   ws           WebSocket echo round-trips: `ws_bench load` with CONNECTIONS connections, one
#                32-byte text message at a time on each, every echo checked   nginx: /ws
# Printed per case: the MEDIAN over the runs of req/s (round-trips/s for ws), p50 and p99 of
# each side, the ratios of the medians gateway ÷ nginx, the spread (min-max) of the per-run
# ratios, the CPU time (user + system) per request of each side's own processes (the
# gateway's threads, the nginx proxy's workers; U's not counted: n-cpu, g-cpu, in µs) and the
# user-space part of it (n-usr, g-usr: the rest is the kernel's, mostly loopback TCP), and the
# gateway's largest resident memory (VmRSS) after a run of the case.
# Any answer other than the expected one (wrk's non-2xx/3xx or socket errors, a ws echo that
# differs) stops the script with an error, so that the smoke in CI cannot rot.
#
# Memory (MEMORY=1, issue 13 point 3), for each store's gateway: VmRSS from /proc/PID/status,
# sampled every second during, in turn, MEMORY_SIGNED_IN (default 10^6) signed-in GETs (each
# answered 200), MEMORY_INVALID (10^5) GETs whose `_portcullis` cookie is random base64url
# of a real session's length (it decodes, but does not open: 401), and MEMORY_ANONYMOUS
# (10^4) browser navigations without a cookie (`Accept: text/html`: 302 to sign in). wrk
# counts the answers with bench/count.lua and stops each thread at its share, in rounds of
# MEMORY_ROUND (10s; wrk always waits out its -d); the count printed is of answers received. Printed: the samples (MB), first, last and max.
#
# Needs wrk, nginx, curl, python3 (free ports) and cargo; the Redis case needs a Redis at
# REDIS_URL (default redis://127.0.0.1:6379) and redis-cli. The Redis gateway writes only
# under a key prefix of its own (portcullis-bench-…:), deleted on exit. Numbers on a shared
# 2-core machine are only comparable within one run; the README quotes ranges.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${SMOKE:-}" ]; then
  RUNS="${RUNS:-1}" DURATION="${DURATION:-1s}" WARMUP="${WARMUP:-1s}" MEMORY="${MEMORY:-1}"
  MEMORY_SIGNED_IN="${MEMORY_SIGNED_IN:-2000}" MEMORY_INVALID="${MEMORY_INVALID:-1000}"
  MEMORY_ANONYMOUS="${MEMORY_ANONYMOUS:-500}" MEMORY_ROUND="${MEMORY_ROUND:-1s}"
  PROFILE="${PROFILE:-debug}"
fi
RUNS="${RUNS:-3}"
DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-$DURATION}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
STORES="${STORES:-cookie}"
CASES="${CASES:-get floor auth public stream ws}"
[ "$CASES" != none ] || CASES="" # only the memory phases (MEMORY=1)
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
COMPARE_BIN="${COMPARE_BIN:-}"
MEMORY="${MEMORY:-}"
MEMORY_SIGNED_IN="${MEMORY_SIGNED_IN:-1000000}"
MEMORY_INVALID="${MEMORY_INVALID:-100000}"
MEMORY_ANONYMOUS="${MEMORY_ANONYMOUS:-10000}"
MEMORY_ROUND="${MEMORY_ROUND:-10s}" # whole seconds
PROFILE="${PROFILE:-release}"

fail() { echo "bench: $*" >&2; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
for tool in wrk curl python3 cargo "$NGINX"; do
  command -v "$tool" >/dev/null 2>&1 || fail "missing: $tool (apt-get install wrk nginx curl python3)"
done
for store in $STORES; do
  case "$store" in
    cookie) ;;
    redis) command -v redis-cli >/dev/null 2>&1 || fail "missing: redis-cli (apt-get install redis-tools)" ;;
    *) fail "STORES: \`$store\` is not a session store (cookie, redis)" ;;
  esac
done
for case in $CASES; do
  case "$case" in
    get | floor | auth | public | stream | ws) ;;
    *) fail "CASES: \`$case\` is not a case (get floor auth public stream ws)" ;;
  esac
done
if [[ " $STORES " != *" cookie "* ]] && [[ " $CASES " =~ \ (floor|auth|public|stream|ws)\  ]]; then
  fail "the floor, auth, public, stream and ws cases run on the cookie store's gateway: add cookie to STORES"
fi
[ -z "$COMPARE_BIN" ] || [ -x "$COMPARE_BIN" ] || fail "COMPARE_BIN: $COMPARE_BIN is not an executable"
[ "$RUNS" -ge 1 ] 2>/dev/null || fail "RUNS: a count of runs, at least 1"

if [ -n "${PIN:-}" ]; then
  command -v taskset >/dev/null 2>&1 || fail "missing: taskset (util-linux)"
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
KEY_PREFIX="portcullis-bench-$$-$RANDOM:" # the Redis gateway's keys, deleted on exit
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
ECHO_PORT="$(free_port)"

if [ "$PROFILE" = release ]; then CARGO_PROFILE=(--release); else CARGO_PROFILE=(); fi
# Two builds: with the example in the same command, cargo would build the gateway with the
# features its dev-dependencies turn on, not the binary that is deployed.
if [ -z "${BIN:-}" ]; then
  echo "== building the gateway ($PROFILE)"
  cargo build "${CARGO_PROFILE[@]}" --quiet --bin portcullis
  BIN="target/$PROFILE/portcullis"
fi
if [ -z "${WS_BENCH:-}" ] || [ -z "${FLOOR:-}" ]; then
  echo "== building bench/ws_bench.rs and bench/proxy_floor.rs ($PROFILE); the gateway: $BIN"
  cargo build "${CARGO_PROFILE[@]}" --quiet --example ws_bench --example proxy_floor
  WS_BENCH="${WS_BENCH:-target/$PROFILE/examples/ws_bench}"
  FLOOR="${FLOOR:-target/$PROFILE/examples/proxy_floor}"
fi
[ -x "$BIN" ] || fail "BIN: $BIN is not an executable"
[ -x "$WS_BENCH" ] || fail "WS_BENCH: $WS_BENCH is not an executable"
[ -x "$FLOOR" ] || fail "FLOOR: $FLOOR is not an executable"

# --- the upstream app (U), the echo upstream and the baseline proxy ---

echo "== starting U on :$APP_PORT, the echo upstream on :$ECHO_PORT, the nginx proxy on :$NGINX_PORT"
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
BODY="$(printf 'hello from the app: %075d\n' 0)" # 96 bytes, as issue 13 measured
[ "${#BODY}" = 95 ] || fail "the app's body is ${#BODY} + 1 bytes, not 96"
mkdir -p "$WORK/static/big"
head -c 1048576 /dev/urandom > "$WORK/static/big/1mib.bin"
# Readable by nginx's workers, which run as another user when nginx is started as root.
chmod a+rx "$WORK" "$WORK/static" "$WORK/static/big"
chmod a+r "$WORK/static/big/1mib.bin"
nginx_instance app 1 "server {
        listen 127.0.0.1:$APP_PORT;
        location / { default_type text/plain; return 200 '$BODY
'; }
        location /big/ { root $WORK/static; }
    }"
PROXY_LINES="proxy_http_version 1.1;
            proxy_set_header Connection '';
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;"
nginx_instance proxy "$NGINX_WORKERS" "upstream app { server 127.0.0.1:$APP_PORT; keepalive 128; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / { proxy_pass http://app; $PROXY_LINES }
        location /big/ { proxy_pass http://app; $PROXY_LINES proxy_buffering off; }
        location /ws {
            proxy_pass http://127.0.0.1:$ECHO_PORT;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \"upgrade\";
        }
    }"
"${SERVER_CPU[@]}" "$WS_BENCH" serve "127.0.0.1:$ECHO_PORT" >"$WORK/echo.log" 2>&1 &
PIDS+=("$!")
wait_for() { # what status url: polls until url answers status (or 10 s pass)
  for _ in $(seq 1 100); do
    [ "$(curl -sS -o /dev/null -w '%{http_code}' "$3" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.1
  done
  fail "$1 did not answer $2 at $3"
}
wait_for "the echo upstream" 426 "http://127.0.0.1:$ECHO_PORT/"

# --- the gateways, each signed in ---

# One gateway per store (`gateway-cookie`, `gateway-redis`) and `compare-cookie`
# (COMPARE_BIN). Each records its base URL, pid and session cookie in NAME_BASE, … .
GATEWAYS=()
start_gateway() { # name binary store
  local name="$1" bin="$2" store="$3" port base jar store_lines=""
  port="$(free_port)"
  base="http://127.0.0.1:$port"
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

[[upstream]]
path = "/public"
url = "http://127.0.0.1:$APP_PORT"
public = true

[[upstream]]
path = "/ws"
url = "http://127.0.0.1:$ECHO_PORT"
CONF
  RUST_LOG=warn "${SERVER_CPU[@]}" "$bin" --config "$WORK/$name.toml" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_for "$name" 200 "$base/ready"

  # Sign in through the dev provider, as a browser would.
  jar="$WORK/$name.jar"
  location() { curl -sS -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" "$@"; }
  local authorize form callback cookie args=()
  authorize="$(location "$base/oauth2/start?provider=dev&rd=%2F")"
  form="$(curl -sS -b "$jar" -c "$jar" "$authorize")"
  while IFS= read -r pair; do
    args+=(--data-urlencode "$pair")
  done < <(printf '%s' "$form" | grep -o '<input type="hidden" name="[^"]*" value="[^"]*"' \
    | sed -E 's/.*name="([^"]*)" value="([^"]*)"/\1=\2/')
  callback="$(location -X POST "$base/oauth2/dev/authorize" "${args[@]}" --data-urlencode email=bench@example.com)"
  location "$callback" >/dev/null
  cookie="$(awk '$6 ~ /^_portcullis/ { printf "%s%s=%s", sep, $6, $7; sep="; " }' "$jar")"
  [ -n "$cookie" ] || fail "$name: sign-in failed: no session cookie"
  if [ "$store" = redis ] && [ -z "$(redis_keys)" ]; then
    fail "$name: signed in, but no session entry under $KEY_PREFIX in Redis"
  fi
  printf '   session cookie: %d bytes\n' "${#cookie}"
  local var="${name//-/_}"
  eval "${var}_BASE=\$base; ${var}_PID=\$pid; ${var}_COOKIE=\$cookie"
  GATEWAYS+=("$name")
}
for store in $STORES; do start_gateway "gateway-$store" "$BIN" "$store"; done
[ -z "$COMPARE_BIN" ] || start_gateway compare-cookie "$COMPARE_BIN" cookie
if [[ " $CASES " == *" floor "* ]]; then
  floor_port="$(free_port)"
  echo "== starting the floor proxy on :$floor_port"
  "${SERVER_CPU[@]}" "$FLOOR" "127.0.0.1:$floor_port" "127.0.0.1:$APP_PORT" >"$WORK/floor.log" 2>&1 &
  floor_PID=$!
  PIDS+=("$floor_PID")
  floor_BASE="http://127.0.0.1:$floor_port"
  floor_COOKIE="$gateway_cookie_COOKIE" # the same request bytes as get-cookie's
  wait_for "the floor proxy" 200 "$floor_BASE/"
  GATEWAYS+=(floor)
fi
get() { local var="${1//-/_}_$2"; printf '%s' "${!var}"; } # gateway field
if [ -n "${HOLD:-}" ]; then
  # Everything is up and signed in: measure or profile by hand, then stop with Ctrl-C.
  echo "== holding: U http://127.0.0.1:$APP_PORT, nginx proxy http://127.0.0.1:$NGINX_PORT (workers of pid $(cat "$WORK/proxy.pid"))"
  for gw in "${GATEWAYS[@]}"; do
    echo "   $gw $(get "$gw" BASE) pid $(get "$gw" PID) cookie: $(get "$gw" COOKIE)"
  done
  wait
fi

# --- the cases: name gateway tool path nginx-path cookie? expected-status target ---

ROWS=()
row() { ROWS+=("$*"); }
for case in $CASES; do
  case "$case" in
    get)
      for store in $STORES; do
        target=">=1.0x,p99<=1.0x"
        [ "$store" = cookie ] || target=">=0.8x"
        row "get-$store gateway-$store wrk / / cookie 200 $target"
      done
      [ -z "$COMPARE_BIN" ] || row "get-compare compare-cookie wrk / / cookie 200 -" ;;
    floor) row "floor floor wrk / / cookie 200 -" ;;
    auth) row "auth gateway-cookie wrk /oauth2/auth / cookie 202 >=2.0x" ;;
    public) row "public gateway-cookie wrk /public/ /public/ - 200 -" ;;
    stream) row "stream-1mib gateway-cookie wrk /big/1mib.bin /big/1mib.bin cookie 200 -" ;;
    ws) row "ws gateway-cookie ws /ws /ws cookie 101 -" ;;
  esac
done

# Each case answers as expected, once, through both sides, before any load.
for r in "${ROWS[@]}"; do
  read -r name gw tool path nginx_path cookie status _ <<<"$r"
  session="" headers=()
  [ "$cookie" = - ] || { session="$(get "$gw" COOKIE)"; headers=(-H "Cookie: $session"); }
  # nginx answers every case from U: 200.
  for side in "$status $(get "$gw" BASE)$path" "200 http://127.0.0.1:$NGINX_PORT$nginx_path"; do
    read -r want url <<<"$side"
    if [ "$tool" = ws ]; then
      "$WS_BENCH" load "$url" ${session:+--cookie "$session"} --connections 1 \
        --duration 100ms >/dev/null || fail "$name: no WebSocket echo through $url"
      continue
    fi
    got="$(curl -sS -o "$WORK/probe" -w '%{http_code}' "${headers[@]}" "$url")"
    [ "$got" = "$want" ] || fail "$name: $url answered $got, not $want"
    if [ "$want" = 200 ]; then
      size="$(wc -c <"$WORK/probe")"
      want=96
      [ "$name" != stream-1mib ] || want=1048576
      [ "$size" = "$want" ] || fail "$name: $url answered $size bytes, not $want"
    fi
  done
done

to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s → milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; print n }'
}
# CPU time of a side's processes, in clock ticks: "user+system user", of the gateway (every
# thread) or of the nginx proxy's workers.
cpu_ticks() { # side pid
  local pids="$2"
  [ "$1" != nginx ] || pids="$(pgrep -P "$(cat "$WORK/proxy.pid")" | tr '\n' ' ')"
  for pid in $pids; do awk '{ print $14 + $15, $14 }' "/proc/$pid/stat"; done |
    awk '{ t += $1; u += $2 } END { print t + 0, u + 0 }'
}
# Per request, in µs, from two cpu_ticks readings: "user+system user".
cpu_per_request() { # before after requests
  awk -v b="$1" -v a="$2" -v n="$3" -v us="$TICK_US" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    if (n > 0) printf "%.1f %.1f", (y[1] - x[1]) * us / n, (y[2] - x[2]) * us / n; else print "0 0" }'
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))
# One load run; appends "req/s p50-ms p99-ms cpu-us-per-request user-us-per-request" to
# $WORK/results/NAME.SIDE (the CPU time the side's own processes took per request, U's not
# counted, and its user-space part).
measure() { # name side url cookie-or-"-" tool duration [gateway-pid]
  local name="$1" side="$2" url="$3" cookie="$4" tool="$5" duration="$6" out="$WORK/out.txt"
  local ticks_before
  ticks_before="$(cpu_ticks "$side" "${7:-}")"
  if [ "$tool" = ws ]; then
    "${LOAD_CPU[@]}" "$WS_BENCH" load "$url" ${cookie:+--cookie "$cookie"} --connections "$CONNECTIONS" \
      --duration "$duration" --threads "$THREADS" >"$out" || fail "$name ($side): the WebSocket load failed"
    local ticks_after trips
    ticks_after="$(cpu_ticks "$side" "${7:-}")"
    trips="$(awk '$1 == "round_trips" { print $2 }' "$out")"
    awk -v cpu="$(cpu_per_request "$ticks_before" "$ticks_after" "${trips:-0}")" '
      $1 == "round_trips_per_s" { r = $2 } $1 == "p50_ms" { a = $2 } $1 == "p99_ms" { b = $2 }
      END { print r, a, b, cpu }' "$out" >>"$WORK/results/$name.$side"
    return
  fi
  local headers=()
  [ -z "$cookie" ] || headers=(-H "Cookie: $cookie")
  "${LOAD_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency "${headers[@]}" "$url" >"$out"
  if grep -Eq 'Non-2xx or 3xx responses|Socket errors' "$out"; then
    cat "$out" >&2
    fail "$name ($side): wrong answers or socket errors under load"
  fi
  local rps p50 p99 requests cpu
  cpu="$(cpu_ticks "$side" "${7:-}")"
  rps="$(awk '/^Requests\/sec/ { print $2 }' "$out")"
  requests="$(awk '/requests in/ { print $1 }' "$out")"
  cpu="$(cpu_per_request "$ticks_before" "$cpu" "${requests:-0}")"
  p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
  [ -n "$rps" ] || { cat "$out" >&2; fail "$name ($side): no result from wrk"; }
  echo "$rps $p50 $p99 $cpu" >>"$WORK/results/$name.$side"
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

if [ ${#ROWS[@]} -gt 0 ]; then
  mkdir -p "$WORK/results"
  echo "== warm-up: $WARMUP per gateway and nginx"
  for gw in "${GATEWAYS[@]}"; do
    measure "warmup" "$gw" "$(get "$gw" BASE)/" "$(get "$gw" COOKIE)" wrk "$WARMUP"
  done
  measure "warmup" nginx "http://127.0.0.1:$NGINX_PORT/" "" wrk "$WARMUP"
  echo "== load: $RUNS runs of $DURATION per case and side, $CONNECTIONS connections, $THREADS threads${PIN:+, pinned (servers CPU 0, load CPU 1)}"
  for run in $(seq 1 "$RUNS"); do
    for r in "${ROWS[@]}"; do
      read -r name gw tool path nginx_path cookie _ <<<"$r"
      session=""
      [ "$cookie" = - ] || session="$(get "$gw" COOKIE)"
      sides=(nginx gateway)
      [ $((run % 2)) = 1 ] || sides=(gateway nginx)
      for side in "${sides[@]}"; do
        if [ "$side" = nginx ]; then
          measure "$name" nginx "http://127.0.0.1:$NGINX_PORT$nginx_path" "$session" "$tool" "$DURATION"
          continue
        fi
        pid="$(get "$gw" PID)"
        if [ -n "${PERF:-}" ] && [ "$run" = 1 ]; then
          # shellcheck disable=SC2086 # PERF_RECORD is a list of options
          perf record ${PERF_RECORD:--F 999 -g} -o "target/bench-perf-$name.data" -p "$pid" >/dev/null 2>&1 &
          perf_pid=$!
        fi
        measure "$name" gateway "$(get "$gw" BASE)$path" "$session" "$tool" "$DURATION" "$pid"
        if [ -n "${PERF:-}" ] && [ "$run" = 1 ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
        rss_kb "$pid" >>"$WORK/results/$name.rss"
      done
      printf '   run %d %-12s nginx %s | gateway %s  (req/s, p50 p99 ms, CPU user us/req)\n' "$run" "$name" \
        "$(tail -1 "$WORK/results/$name.nginx")" "$(tail -1 "$WORK/results/$name.gateway")"
    done
  done

  echo "== result: medians over $RUNS runs; ratios gateway / nginx (req/s: higher is better, p99: lower)"
  echo "   targets (DESIGN §7): get-cookie >= 1.0x req/s and p99 <= 1.0x, get-redis >= 0.8x, auth >= 2.0x, memory < 30 MB"
  printf '%-12s %10s %10s %6s %11s %9s %7s | %8s %8s %8s %8s %6s %6s %6s %6s %6s %6s  %s\n' case "nginx/s" "gateway/s" ratio \
    "ratio-range" "p99-ratio" "range" "n-p50" "g-p50" "n-p99" "g-p99" "n-cpu" "g-cpu" "n-usr" "g-usr" "RSS-MB" runs target
  for r in "${ROWS[@]}"; do
    read -r name _ _ _ _ _ _ target <<<"$r"
    paste -d' ' "$WORK/results/$name.nginx" "$WORK/results/$name.gateway" \
      | awk -v name="$name" -v target="$target" -v rss="$(sort -n "$WORK/results/$name.rss" | tail -1)" '
      function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      { n++; nr[n] = $1; n50[n] = $2; n99[n] = $3; ncpu[n] = $4; nusr[n] = $5
        gr[n] = $6; g50[n] = $7; g99[n] = $8; gcpu[n] = $9; gusr[n] = $10
        q = $6 / $1; p = $8 / $3
        if (n == 1 || q < qmin) qmin = q; if (n == 1 || q > qmax) qmax = q
        if (n == 1 || p < pmin) pmin = p; if (n == 1 || p > pmax) pmax = p }
      END {
        mnr = median(nr, n); mgr = median(gr, n); mn99 = median(n99, n); mg99 = median(g99, n)
        printf "%-12s %10.0f %10.0f %5.2fx %5.2f-%-5.2f %8.2fx %3.1f-%-3.1f | %8.3f %8.3f %8.3f %8.3f %6.1f %6.1f %6.1f %6.1f %6.1f %6d  %s\n",
          name, mnr, mgr, mgr / mnr, qmin, qmax, mg99 / mn99, pmin, pmax, median(n50, n), median(g50, n),
          mn99, mg99, median(ncpu, n), median(gcpu, n), median(nusr, n), median(gusr, n), rss / 1024, n, target
      }'
  done
  for gw in "${GATEWAYS[@]}"; do
    awk -v gw="$gw" '/^VmHWM/ { printf "   %s: peak resident memory %.1f MB\n", gw, $2 / 1024 }' "/proc/$(get "$gw" PID)/status"
  done
fi

# --- memory: RSS over a count of requests ---

# One phase: COUNT requests, every answer STATUS, RSS sampled every second meanwhile. wrk's
# main thread always waits out its -d, so the count is sent in rounds of MEMORY_ROUND, each
# asking bench/count.lua's threads to stop at their share of what is still to send.
memory_phase() { # gateway label count status url [header]
  local gw="$1" label="$2" count="$3" status="$4" url="$5"; shift 5
  local pid samples="$WORK/rss.samples" out="$WORK/memory.txt" answered=0 seconds=0
  pid="$(get "$gw" PID)"
  rss_kb "$pid" >"$samples"
  (while sleep 1; do rss_kb "$pid" >>"$samples" || exit 0; done) &
  local sampler=$!
  while [ "$answered" -lt "$count" ]; do
    local share=$(((count - answered + THREADS - 1) / THREADS)) got unexpected
    "${LOAD_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$MEMORY_ROUND" -s bench/count.lua "$@" "$url" \
      -- "$share" "$status" >"$out"
    got="$(awk '$1 == "answered" { print $2 }' "$out")"
    unexpected="$(awk '$1 == "unexpected" { print $2 }' "$out")"
    [ -n "$got" ] && [ "$got" -gt 0 ] || { cat "$out" >&2; fail "$gw memory ($label): no answers"; }
    ! grep -q 'Socket errors' "$out" || { cat "$out" >&2; fail "$gw memory ($label): socket errors"; }
    [ "$unexpected" = 0 ] || fail "$gw memory ($label): $unexpected of $got answers were not $status"
    answered=$((answered + got))
    seconds=$((seconds + ${MEMORY_ROUND%s}))
  done
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  rss_kb "$pid" >>"$samples"
  printf '   %-34s %9d answered %s (in rounds of %s, %d s)\n' "$label" "$answered" "$status" "$MEMORY_ROUND" "$seconds"
  awk '{ mb = $1 / 1024; s = s sprintf(" %.1f", mb); if (NR == 1) first = mb; last = mb; if (mb > max) max = mb }
    END { printf "     RSS MB, every second:%s\n     first %.1f, last %.1f, max %.1f MB\n", s, first, last, max }' "$samples"
}
if [ -n "$MEMORY" ]; then
  for store in $STORES; do
    gw="gateway-$store"
    base="$(get "$gw" BASE)"
    cookie="$(get "$gw" COOKIE)"
    value="${cookie#*=}"
    # Random bytes in base64url, as long as a real sealed value: decodes, fails to open.
    garbage="$(head -c $((${#value} * 3 / 4)) /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')"
    for probe in "401 -H Cookie:_portcullis=$garbage" "302 -H Accept:text/html"; do
      read -r want flag header <<<"$probe"
      got="$(curl -sS -o /dev/null -w '%{http_code}' "$flag" "$header" "$base/")"
      [ "$got" = "$want" ] || fail "$gw memory: $header answered $got, not $want"
    done
    echo "== memory: $gw, $CONNECTIONS connections"
    memory_phase "$gw" "signed-in GET" "$MEMORY_SIGNED_IN" 200 "$base/" -H "Cookie: $cookie"
    memory_phase "$gw" "GET, invalid session cookie" "$MEMORY_INVALID" 401 "$base/" -H "Cookie: _portcullis=$garbage"
    memory_phase "$gw" "navigation without cookie (302)" "$MEMORY_ANONYMOUS" 302 "$base/" -H "Accept: text/html"
  done
fi
# --- instructions: what each side executes per signed-in GET, counted by callgrind ---

# Unlike req/s and CPU time, a count of instructions does not depend on what else the machine
# is doing: the same binary and requests give the same count (to a few per cent: the count
# includes the event loop's idle turns), so one change can be measured on a busy machine.
# Each gateway is started a second time under valgrind (same configuration, its own port;
# sessions and the dev provider are those of the running gateway), warmed up, then counted
# over INSTRUCTIONS_DURATION of wrk -t1 -c8.
instructions() { # name port command…
  local name="$1" port="$2"; shift 2
  local out="$WORK/$name.callgrind" log="$WORK/$name-callgrind.log" wrk_out="$WORK/$name-callgrind.wrk"
  "${SERVER_CPU[@]}" env RUST_LOG=warn valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$out" "$@" >"$log" 2>&1 &
  local vg=$!
  PIDS+=("$vg")
  for _ in $(seq 1 300); do
    curl -sS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
    sleep 0.1
  done
  local url="http://127.0.0.1:$port/" cookie
  cookie="$(get "$name" COOKIE)"
  "${LOAD_CPU[@]}" wrk -t1 -c8 -d2s -H "Cookie: $cookie" "$url" >/dev/null
  callgrind_control -z "$vg" >/dev/null
  "${LOAD_CPU[@]}" wrk -t1 -c8 -d"${INSTRUCTIONS_DURATION:-8s}" -H "Cookie: $cookie" "$url" >"$wrk_out"
  callgrind_control -d "$vg" >/dev/null
  kill "$vg"
  wait "$vg" 2>/dev/null || true
  ! grep -qE 'Non-2xx|Socket errors' "$wrk_out" || { cat "$wrk_out" >&2; fail "$name under callgrind: wrong answers"; }
  local requests total
  requests="$(awk '/requests in/ { print $1 }' "$wrk_out")"
  total="$(callgrind_annotate "$out".1 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')"
  mkdir -p target && cp "$out".1 "target/bench-callgrind-$name.out"
  printf '   %-16s %9d requests %14d instructions %8d per request\n' "$name" "$requests" "$total" "$((total / requests))"
}
if [ -n "${INSTRUCTIONS:-}" ]; then
  command -v valgrind >/dev/null 2>&1 || fail "missing: valgrind (apt-get install valgrind)"
  echo "== instructions per signed-in GET (callgrind, ${INSTRUCTIONS_DURATION:-8s}, 8 connections)"
  for gw in gateway-cookie gateway-redis compare-cookie; do
    config="$WORK/$gw.toml"
    [ -f "$config" ] || continue
    port="$(free_port)"
    # Both addresses move: the dev provider refuses a loopback public_url on another port.
    sed -e "s/^listen = .*/listen = \"127.0.0.1:$port\"/" \
      -e "s|^public_url = .*|public_url = \"http://127.0.0.1:$port\"|" "$config" >"$WORK/$gw-callgrind.toml"
    bin="$BIN"
    [ "$gw" != compare-cookie ] || bin="$COMPARE_BIN"
    instructions "$gw" "$port" "$bin" --config "$WORK/$gw-callgrind.toml"
  done
  if [[ " $CASES " == *" floor "* ]]; then
    port="$(free_port)"
    instructions floor "$port" "$FLOOR" "127.0.0.1:$port" "127.0.0.1:$APP_PORT"
  fi
  # The nginx proxy itself, as one process (no master: the count is of what serves): the
  # baseline's configuration on its own port, with the same cookie as the signed-in GET.
  port="$(free_port)"
  { echo "daemon off; master_process off;"
    sed -e "s/listen 127.0.0.1:$NGINX_PORT;/listen 127.0.0.1:$port;/" \
      -e "s|^pid .*|pid $WORK/proxy-callgrind.pid;|" "$WORK/proxy.conf"
  } >"$WORK/proxy-callgrind.conf"
  nginx_proxy_COOKIE="$gateway_cookie_COOKIE"
  instructions nginx-proxy "$port" "$NGINX" -c "$WORK/proxy-callgrind.conf" -e "$WORK/proxy/error.log"
fi
echo "== done"
