#!/usr/bin/env bash
# Runs examples/portcullis.service under a real systemd, sandboxing and all: boots a minimal
# Debian 12 in systemd-nspawn (private network, loopback only) with the binary installed at
# /usr/local/bin/portcullis, the shipped providers.toml in /etc/portcullis, and a probe unit
# that asks /ping, / and /ready, signs in through the dev provider, reads the gateway's uid,
# capabilities and seccomp state, stops it (SIGTERM) and powers the container off. Fails
# unless the gateway answered, signed the probe in, ran as a non-root user without
# capabilities under a seccomp filter, and stopped with exit status 0.
#
# By hand, as root, not in CI (debootstrap downloads ~100 MB, once, into target/):
#   apt-get install debootstrap systemd-container
#   bash examples/systemd-boot.sh                       # BIN=target/debug/portcullis works too
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BIN:-target/release/portcullis}
base=target/systemd-boot
root=$base/rootfs
[ -x "$bin" ] || { echo "no $bin: cargo build --release --bin portcullis" >&2; exit 1; }

if [ ! -x "$root/usr/bin/curl" ]; then
  rm -rf "$root"
  mkdir -p "$base"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl \
    bookworm "$root" http://deb.debian.org/debian > "$base/debootstrap.log"
fi

install -m 0755 "$bin" "$root/usr/local/bin/portcullis"
install -d -m 0755 "$root/etc/portcullis"
install -m 0644 providers.toml "$root/etc/portcullis/providers.toml"
install -m 0600 /dev/null "$root/etc/portcullis/portcullis.env"
install -m 0644 examples/portcullis.service "$root/etc/systemd/system/portcullis.service"

cat > "$root/usr/local/bin/probe" <<'EOF'
#!/bin/bash
exec > /probe.out 2>&1
for _ in $(seq 50); do curl -fsS http://127.0.0.1:4180/ping >/dev/null && break; sleep 0.2; done
echo "ping: $(curl -sS http://127.0.0.1:4180/ping)"
curl -sS -o /dev/null -H 'Accept: text/html' -w '/: %{http_code} %{redirect_url}\n' http://127.0.0.1:4180/
curl -sS -o /dev/null -w '/ready: %{http_code}\n' http://127.0.0.1:4180/ready
# A whole sign-in through the dev provider, as bench/run.sh does it, then the echo page.
base=http://127.0.0.1:4180 jar=/tmp/jar args=()
location() { curl -sS -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" "$@"; }
form=$(curl -sS -b "$jar" -c "$jar" "$(location "$base/oauth2/start?provider=dev&rd=%2F")")
while IFS= read -r pair; do args+=(--data-urlencode "$pair"); done < <(printf '%s' "$form" \
  | grep -o '<input type="hidden" name="[^"]*" value="[^"]*"' \
  | sed -E 's/.*name="([^"]*)" value="([^"]*)"/\1=\2/')
location "$(location -X POST "$base/oauth2/dev/authorize" "${args[@]}" \
  --data-urlencode email=probe@example.com)" >/dev/null
curl -sS -b "$jar" "$base/" | grep -o -m1 'probe@example.com' | sed 's/^/signed in: /'
pid=$(systemctl show portcullis -p MainPID --value)
echo "uid: $(stat -c %u /proc/"$pid")"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/"$pid"/status
systemctl stop portcullis
systemctl show portcullis -p Result -p ExecMainStatus
# The unit's advice for checking a changed file before a restart.
systemd-run --pipe --wait -p EnvironmentFile=/etc/portcullis/portcullis.env \
  /usr/local/bin/portcullis --config /etc/portcullis/providers.toml check
journalctl -b -u portcullis --no-pager -o cat
systemctl poweroff
EOF
chmod 0755 "$root/usr/local/bin/probe"
cat > "$root/etc/systemd/system/probe.service" <<'EOF'
[Unit]
Wants=portcullis.service
After=portcullis.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/probe
EOF
wants=$root/etc/systemd/system/multi-user.target.wants
mkdir -p "$wants"
ln -sf /etc/systemd/system/portcullis.service "$wants/portcullis.service"
ln -sf /etc/systemd/system/probe.service "$wants/probe.service"

rm -f "$root/probe.out"
timeout 120 systemd-nspawn --quiet --register=no --keep-unit --private-network -b -D "$root" \
  > "$base/boot.log" 2>&1 < /dev/null || true
out=$(cat "$root/probe.out" 2>/dev/null || true)
printf '%s\n' "$out"
for expected in 'ping: OK' 'signed in: probe@example.com' 'CapEff:	0000000000000000' 'NoNewPrivs:	1' 'Seccomp:	2' \
  'Result=success' 'ExecMainStatus=0' '/etc/portcullis/providers.toml: OK'; do
  grep -qF "$expected" <<< "$out" || { echo "FAILED: no '$expected' (see $base/boot.log)" >&2; exit 1; }
done
grep -q '^uid: 0$' <<< "$out" && { echo "FAILED: the gateway ran as root" >&2; exit 1; }
echo "examples/portcullis.service: served, sandboxed, stopped cleanly under systemd"
