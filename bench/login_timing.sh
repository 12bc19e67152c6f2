#!/usr/bin/env bash
# Whether a failed local login tells an unknown username from a known one by its answer time
# (DESIGN §10: "the same answer, in the same time"; a dummy hash is verified for unknown users).
#
#   bash bench/login_timing.sh            # 200 tries of each, the form and the token endpoint
#   N=500 MODES=grant bash bench/login_timing.sh
#   PIN=1 bash bench/login_timing.sh      # the gateway on CPU 0, curl on CPU 1 (as bench/run.sh)
#
# Starts a release build of the gateway on a loopback port with one local provider, whose users
# file holds one user with a hash made by `portcullis hash-password` (its default parameters,
# from a random password), and failed_logins limits raised so that no try is refused unchecked.
# Then, for each mode, it alternates N failed logins as an unknown user and N as the known user
# with a wrong password (which of the two goes first changes every round), and prints the
# median, 10th and 90th percentile of each, in milliseconds, and the ratios known / unknown.
# For scale, each round also sends one request with an empty password, refused before any
# password is verified: what an answer that skipped the verification would cost.
#
#   form   POST /oauth2/local/{id}, each with the token of a sign-in page fetched just before
#          (not timed), as a browser submits the form; every answer must be 401 (400 for
#          the empty password)
#   grant  POST /oauth2/token with grant_type=password (password_grant = true); every answer
#          must be 400 invalid_grant (invalid_request for the empty password)
#
# Needs curl. Not part of `cargo test` or CI: the numbers are only comparable within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-200}"
MODES="${MODES:-form grant}"
WARMUP="${WARMUP:-10}"
for mode in $MODES; do
  case "$mode" in
    form | grant) ;;
    *) echo "MODES: \`$mode\` is not a mode (form, grant)" >&2; exit 1 ;;
  esac
done
command -v curl >/dev/null 2>&1 || { echo "missing: curl" >&2; exit 1; }

if [ -n "${PIN:-}" ]; then
  command -v taskset >/dev/null 2>&1 || { echo "missing: taskset (util-linux)" >&2; exit 1; }
  SERVER_CPU=(taskset -c 0)
  CLIENT_CPU=(taskset -c 1)
else
  SERVER_CPU=()
  CLIENT_CPU=()
fi

WORK="$(mktemp -d)"
GATEWAY_PID=""
cleanup() {
  [ -z "$GATEWAY_PID" ] || kill "$GATEWAY_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building the gateway (release)"
cargo build --release --quiet
BIN="target/release/portcullis"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
KNOWN="bench"
UNKNOWN="nobody"
# The known user's password is random and never used: every try with it is wrong on purpose.
HASH="$(head -c 24 /dev/urandom | base64 | "$BIN" hash-password)"

cat > "$WORK/users.toml" <<USERS
[[user]]
username = "$KNOWN"
email = "$KNOWN@example.com"
password_hash = "$HASH"
USERS
cat > "$WORK/providers.toml" <<CONF
[server]
listen = "127.0.0.1:$PORT"
public_url = "$BASE"

[session]
secret = "$("$BIN" secret)"

[[provider]]
id = "local"
kind = "local"
users_file = "users.toml"
password_grant = true
failed_logins = { per_username = 1000000, per_client = 1000000, window = "10m" }

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "builtin:echo"
CONF

echo "== starting the gateway on :$PORT; the known user's hash: \$$(cut -d'$' -f2-4 <<<"$HASH")\$…"
RUST_LOG=error "${SERVER_CPU[@]}" "$BIN" --config "$WORK/providers.toml" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
ready=""
for _ in $(seq 1 100); do
  curl -fsS "$BASE/ready" >/dev/null 2>&1 && { ready=1; break; }
  sleep 0.1
done
[ -n "$ready" ] || { echo "the gateway did not get ready:" >&2; cat "$WORK/gateway.log" >&2; exit 1; }

# One failed try as `user`: prints the time in seconds; exits when the answer is not the
# refusal this mode expects (then the script would measure something else).
JAR="$WORK/jar"
try() { # mode user [password]
  local mode="$1" user="$2" password="${3-wrong-password}" expected page token out status
  case "$mode" in
    form)
      page="$("${CLIENT_CPU[@]}" curl -sS -b "$JAR" -c "$JAR" "$BASE/oauth2/sign_in?rd=%2F")"
      token="$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | sed -E 's/.*value="([^"]*)"/\1/')"
      [ -n "$token" ] || { echo "the sign-in page has no form token" >&2; exit 1; }
      out="$("${CLIENT_CPU[@]}" curl -sS -o /dev/null -w '%{http_code} %{time_total}' -b "$JAR" -c "$JAR" \
        -H "Origin: $BASE" --data-urlencode "csrf_token=$token" --data-urlencode "rd=/" \
        --data-urlencode "username=$user" --data-urlencode "password=$password" \
        "$BASE/oauth2/local/local")"
      status="${out%% *}"
      expected=401; [ -n "$password" ] || expected=400
      [ "$status" = "$expected" ] || { echo "form login as $user answered $status, not $expected" >&2; exit 1; }
      ;;
    grant)
      out="$("${CLIENT_CPU[@]}" curl -sS -o "$WORK/body" -w '%{http_code} %{time_total}' \
        --data-urlencode grant_type=password --data-urlencode "username=$user" \
        --data-urlencode "password=$password" "$BASE/oauth2/token")"
      status="${out%% *}"
      expected=invalid_grant; [ -n "$password" ] || expected=invalid_request
      if [ "$status" != 400 ] || ! grep -q "\"$expected\"" "$WORK/body"; then
        echo "password grant as $user answered $status $(cat "$WORK/body"), not 400 $expected" >&2; exit 1
      fi
      ;;
  esac
  echo "${out#* }"
}

# "median p10 p90" (nearest rank) of the seconds in `file`, in milliseconds.
summary() { # file
  sort -g "$1" | awk '{ v[NR] = $1 * 1000 }
    function at(f,  r) { r = int(f * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR; return v[r] }
    END { printf "%.2f %.2f %.2f", at(0.5), at(0.1), at(0.9) }'
}

echo "== $N tries of each, alternating${PIN:+, pinned (gateway CPU 0, curl CPU 1)}"
for mode in $MODES; do
  for _ in $(seq 1 "$WARMUP"); do try "$mode" "$UNKNOWN" >/dev/null; try "$mode" "$KNOWN" >/dev/null; done
  : >"$WORK/$mode-unknown"
  : >"$WORK/$mode-known"
  : >"$WORK/$mode-none"
  for round in $(seq 1 "$N"); do
    if [ $((round % 2)) = 1 ]; then
      try "$mode" "$UNKNOWN" >>"$WORK/$mode-unknown"
      try "$mode" "$KNOWN" >>"$WORK/$mode-known"
    else
      try "$mode" "$KNOWN" >>"$WORK/$mode-known"
      try "$mode" "$UNKNOWN" >>"$WORK/$mode-unknown"
    fi
    # For scale: the same request with an empty password, refused before any verification.
    try "$mode" "$KNOWN" "" >>"$WORK/$mode-none"
  done
  read -r u50 u10 u90 <<<"$(summary "$WORK/$mode-unknown")"
  read -r k50 k10 k90 <<<"$(summary "$WORK/$mode-known")"
  printf '%-5s unknown user:   median %7s ms   p10 %7s ms   p90 %7s ms\n' "$mode" "$u50" "$u10" "$u90"
  printf '%-5s wrong password: median %7s ms   p10 %7s ms   p90 %7s ms\n' "$mode" "$k50" "$k10" "$k90"
  read -r n50 n10 n90 <<<"$(summary "$WORK/$mode-none")"
  printf '%-5s (no verification, empty password: median %s ms   p10 %s ms   p90 %s ms)\n' "$mode" "$n50" "$n10" "$n90"
  awk -v mode="$mode" -v k50="$k50" -v k10="$k10" -v k90="$k90" -v u50="$u50" -v u10="$u10" -v u90="$u90" \
    'BEGIN { printf "%-5s wrong password / unknown user: median %.3f   p10 %.3f   p90 %.3f\n",
      mode, k50 / u50, k10 / u10, k90 / u90 }'
done
