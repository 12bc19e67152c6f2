#!/usr/bin/env bash
# glewlwyd (Debian's package, 2.7) provisioned from nothing as a second, independent OpenID
# provider for the end-to-end suite (tests/api/e2e/glewlwyd.rs), then kept running in the
# foreground. See e2e/glewlwyd/README.md for what it sets up and why.
#
# Environment (all optional):
#   GLEWLWYD_PORT      loopback port to serve on (default 4593)
#   GLEWLWYD_DIR       where the database, configuration and keys go (default: a new temp
#                      dir, removed on exit); it must not exist yet or be empty
#   GATEWAY_URL        the gateway's public URL (default http://127.0.0.1:4180)
#   PROVIDER_ID        the gateway's provider id, for the redirect URI (default glewlwyd)
#   ACCESS_TOKEN_TTL   seconds an access token and an ID token live (default 3600)
# Prints `READY <issuer>` on stdout once everything answers; glewlwyd's own log follows on
# stdout, this script's errors on stderr. Stops glewlwyd on SIGTERM, SIGINT or exit.
# Needs: glewlwyd, sqlite3, rnbyc, jq, curl.
set -euo pipefail

PORT="${GLEWLWYD_PORT:-4593}"
GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:4180}"
PROVIDER_ID="${PROVIDER_ID:-glewlwyd}"
ACCESS_TOKEN_TTL="${ACCESS_TOKEN_TTL:-3600}"
# The package's SQLite schema and initial data (also in /usr/share/doc/glewlwyd/database/,
# which minimal images leave out).
SCHEMA="${GLEWLWYD_SCHEMA:-/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3}"

# What the tests rely on; README.md lists the same.
CLIENT_ID=portcullis-e2e
CLIENT_SECRET=portcullis-e2e-glewlwyd-secret-5b7e1c
PASSWORD=secret
ADMIN_PASSWORD=password # set by glewlwyd's own init script

BASE="http://127.0.0.1:$PORT"
API="$BASE/api"
ISSUER="$API/oidc"

fail() { echo "glewlwyd/run.sh: $*" >&2; exit 1; }
for tool in glewlwyd sqlite3 rnbyc jq curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "\`$tool\` is not on PATH"
done
[ -f "$SCHEMA" ] || fail "no database schema at $SCHEMA (is Debian's glewlwyd installed?)"

if [ -n "${GLEWLWYD_DIR:-}" ]; then
  DIR="$GLEWLWYD_DIR"
  mkdir -p "$DIR"
  [ -z "$(ls -A "$DIR")" ] || fail "$DIR is not empty"
  OWN_DIR=
else
  DIR="$(mktemp -d)"
  OWN_DIR=1
fi

GLEWLWYD_PID=
stop() {
  if [ -n "$GLEWLWYD_PID" ]; then
    kill "$GLEWLWYD_PID" 2>/dev/null || true
    wait "$GLEWLWYD_PID" 2>/dev/null || true
  fi
  if [ -n "$OWN_DIR" ]; then rm -rf "$DIR"; fi
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The schema and the initial data (the `admin` user, the g_admin, g_profile and openid scopes,
# a database user backend and a database client backend) are glewlwyd's own.
sqlite3 "$DIR/glewlwyd.db" <"$SCHEMA"

cat >"$DIR/glewlwyd.conf" <<EOF
port=$PORT
bind_address="127.0.0.1"
external_url="$BASE"
login_url="login.html"
api_prefix="api"
allow_origin="*"
log_mode="console"
log_level="INFO"
cookie_secure=0
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3"; path = "$DIR/glewlwyd.db"; };
EOF

# RS256 keys: the plugin signs with the first; the second is for the tests' key rotation.
rnbyc -j -g RSA2048 -k key-1 -a RS256 -o "$DIR/signing-key.jwks" -p /dev/null -n 0
rnbyc -j -g RSA2048 -k key-2 -a RS256 -o "$DIR/next-signing-key.jwks" -p /dev/null -n 0

glewlwyd -c "$DIR/glewlwyd.conf" &
GLEWLWYD_PID=$!

JAR="$DIR/admin.cookies"
# admin METHOD PATH [JSON]: one admin API call, which must answer 200.
admin() {
  local status
  status=$(curl -sS -o "$DIR/last-answer" -w '%{http_code}' -b "$JAR" -c "$JAR" \
    -H 'Content-Type: application/json' -X "$1" "$API$2" ${3:+--data-binary "$3"}) || status=000
  [ "$status" = 200 ] || fail "$1 $2: HTTP $status: $(cat "$DIR/last-answer" 2>/dev/null)"
}

# Up when the admin can sign in (glewlwyd logs "started" before it listens).
for _ in $(seq 100); do
  kill -0 "$GLEWLWYD_PID" 2>/dev/null || fail "glewlwyd exited (is port $PORT taken?)"
  if curl -sf -o /dev/null -c "$JAR" -H 'Content-Type: application/json' \
      -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" "$API/auth/"; then
    break
  fi
  sleep 0.1
done
admin POST /auth/ "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}"

# The user backend's data format: which extra properties a user may have. Changing it takes a
# reset of the backend.
admin PUT /mod/user/database "$(jq -n '{
  display_name: "Database backend", order_rank: 0, readonly: false,
  parameters: {"use-glewlwyd-connection": true, "data-format": {
    email_verified: {multiple: false, read: true, write: true, "profile-read": true, "profile-write": false},
    groups: {multiple: true, read: true, write: true, "profile-read": true, "profile-write": false}
  }}}')"
admin PUT /mod/user/database/reset

# The client backend's: a confidential client must list its token_endpoint_auth_method, and
# end-session reads post_logout_redirect_uris (plural, not the default format's singular).
admin PUT /mod/client/database "$(jq -n '{
  display_name: "Database backend", order_rank: 0, readonly: false,
  parameters: {"use-glewlwyd-connection": true, "data-format": {
    redirect_uri: {multiple: true, read: true, write: true},
    authorization_type: {multiple: true, read: true, write: true},
    token_endpoint_auth_method: {multiple: true, read: true, write: true},
    post_logout_redirect_uris: {multiple: true, read: true, write: true}
  }}}')"
admin PUT /mod/client/database/reset

for scope in email profile; do
  admin POST /scope/ "$(jq -n --arg s "$scope" '{name: $s, display_name: $s,
    description: "OpenID Connect \($s) claims", password_required: true, password_max_age: 0,
    scheme: {}}')"
done

# user NAME EMAIL VERIFIED GROUPS_JSON
user() {
  admin POST /user/ "$(jq -n --arg u "$1" --arg e "$2" --arg v "$3" --argjson g "$4" \
    --arg p "$PASSWORD" '{username: $u, name: ($u | ascii_upcase[0:1] + .[1:]), email: $e,
    email_verified: $v, groups: $g, password: $p, enabled: true,
    scope: ["openid", "email", "profile", "g_profile"]}')"
}
user alice alice@example.com yes '["staff","admins"]'
user carol carol@example.com no '[]'

admin POST /client/ "$(jq -n --arg id "$CLIENT_ID" --arg secret "$CLIENT_SECRET" \
  --arg redirect "$GATEWAY_URL/oauth2/callback/$PROVIDER_ID" \
  --arg signed_out "$GATEWAY_URL/oauth2/signed_out" '{
  client_id: $id, name: "portcullis", password: $secret, confidential: true, enabled: true,
  scope: [], redirect_uri: [$redirect], post_logout_redirect_uris: [$signed_out],
  authorization_type: ["code", "refresh_token"],
  token_endpoint_auth_method: ["client_secret_basic"]}')"

# The OpenID Connect plugin. Claims beyond name and email come from user properties: the
# username as preferred_username, the groups, and email_verified (glewlwyd sends none by
# default, and a gateway must not count an unasserted email as verified). End-session needs
# session management, and its confirmation step (GET /api/oidc/session/{sid}/{client_id})
# answers 400 unless front-channel logout is allowed too (no client registers a
# frontchannel_logout_uri, so nothing is sent).
admin POST /mod/plugin/ "$(jq -n --arg iss "$ISSUER" --rawfile jwks "$DIR/signing-key.jwks" \
  --argjson ttl "$ACCESS_TOKEN_TTL" '{
  module: "oidc", name: "oidc", display_name: "OpenID Connect", order_rank: 0, readonly: false,
  parameters: {
    iss: $iss, "oauth-as-iss-id": true,
    "jwks-private": $jwks, "default-kid": "", "jwt-type": "rsa", "jwt-key-size": "256",
    "jwks-show": true,
    "access-token-duration": $ttl, "refresh-token-duration": 1209600, "code-duration": 600,
    "refresh-token-rolling": true, "refresh-token-one-use": "always",
    "client-refresh-token-one-use-parameter": "",
    "allow-non-oidc": false, "auth-type-code-enabled": true, "auth-type-refresh-enabled": true,
    "auth-type-token-enabled": false, "auth-type-id-token-enabled": false,
    "auth-type-none-enabled": false, "auth-type-password-enabled": false,
    "auth-type-client-enabled": false,
    "pkce-allowed": true, "pkce-method-plain-allowed": false,
    "request-parameter-allow": false, "request-maximum-exp": 3600,
    "secret-type": "public", "allowed-scope": ["openid", "email", "profile"],
    "scope": [], "additional-parameters": [],
    "name-claim": "mandatory", "email-claim": "mandatory", "scope-claim": "no",
    "address-claim": {type: "no", formatted: "", street_address: "", locality: "",
      region: "", postal_code: "", country: "", mandatory: false},
    claims: [
      {name: "preferred_username", "user-property": "username", type: "string",
        mandatory: true, "on-demand": false, scope: []},
      {name: "email_verified", "user-property": "email_verified", type: "boolean",
        "boolean-value-true": "yes", "boolean-value-false": "no",
        mandatory: true, "on-demand": false, scope: []},
      {name: "groups", "user-property": "groups", type: "string",
        mandatory: true, "on-demand": false, scope: []}
    ],
    "session-management-allowed": true, "session-cookie-name": "GLEWLWYD2_OIDC_SID",
    "session-cookie-expiration": 2419200,
    "front-channel-logout-allowed": true, "back-channel-logout-allowed": false
  }}')"

discovery=$(curl -sf "$ISSUER/.well-known/openid-configuration") \
  || fail "no discovery document at $ISSUER"
[ "$(jq -r .issuer <<<"$discovery")" = "$ISSUER" ] || fail "unexpected discovery: $discovery"
jq -e '.end_session_endpoint' <<<"$discovery" >/dev/null || fail "no end_session_endpoint"

echo "READY $ISSUER"
wait "$GLEWLWYD_PID"
