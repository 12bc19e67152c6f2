#!/usr/bin/env bash
# Smoke test for the test OP (e2e/op/server.js), with curl and a cookie jar only:
# discovery → /auth → login form → consent → code (+ RFC 9207 iss) → token (PKCE, basic auth)
# → ID token claims and signature → userinfo → refresh → end_session (id_token_hint +
# post_logout_redirect_uri) → back-channel logout token → session-bound tokens dead; refresh
# token rotation and reuse detection; the counters of /test/stats and /test/reset.
# Needs: bash, curl, node (and `npm ci --prefix e2e/op` done). Exits non-zero on failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
[ -d "$HERE/node_modules/oidc-provider" ] || { echo "FAIL: run 'npm ci --prefix e2e/op' first" >&2; exit 1; }

WORK="$(mktemp -d)"
JAR="$WORK/jar"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf 'ok   %s\n' "$*"; }
fail() {
  printf 'FAIL %s\n' "$*" >&2
  if [ -f "$WORK/op.err" ]; then echo '--- OP stderr ---' >&2; tail -n 30 "$WORK/op.err" >&2; fi
  exit 1
}
# js 'expression using argv' args... — tiny node helper (no jq dependency)
js() { local code="$1"; shift; node -e "const a=process.argv.slice(1);const J=f=>JSON.parse(require(\"fs\").readFileSync(f,\"utf8\"));$code" -- "$@"; }
wait_ready() { # file pid → prints the READY payload
  for _ in $(seq 1 100); do
    if grep -q '^READY ' "$1" 2>/dev/null; then sed -n 's/^READY //p' "$1" | head -n1; return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# curl wrapper: never follows redirects, uses the jar; prints "<status> <location>"
req() {
  curl -sS -o "$WORK/body" -D "$WORK/headers" -c "$JAR" -b "$JAR" \
    -w '%{http_code} %{redirect_url}\n' "$@"
}

# stats 'k=v k=v' — /test/stats has exactly these counters (the others 0)
stats() {
  curl -sSf "$ISSUER/test/stats" > "$WORK/stats.json" || fail "GET /test/stats"
  js 'const got=J(a[0]); const want={refresh_grants:0,refresh_failures:0,backchannel_logouts:0,backchannel_errors:0,grants_revoked:0};
    for (const kv of a[1].split(" ").filter(Boolean)) { const [k,v]=kv.split("="); want[k]=Number(v); }
    if (JSON.stringify(Object.keys(got).sort())!==JSON.stringify(Object.keys(want).sort())||Object.keys(want).some(k=>got[k]!==want[k]))
      throw new Error("stats "+JSON.stringify(got)+" want "+JSON.stringify(want));' "$WORK/stats.json" "$1" || fail "stats"
}

# --- a stand-in RP endpoint that records back-channel logout POSTs ------------------------
cat > "$WORK/rp.cjs" <<'EOF'
const http = require('http'); const fs = require('fs');
const out = process.argv[2];
const s = http.createServer((req, res) => {
  let b = ''; req.on('data', (c) => { b += c; });
  req.on('end', () => { if (req.method === 'POST') fs.appendFileSync(out, b + '\n'); res.statusCode = 200; res.end(); });
});
s.listen(0, '127.0.0.1', () => console.log('READY ' + s.address().port));
EOF
node "$WORK/rp.cjs" "$WORK/backchannel.log" > "$WORK/rp.out" &
PIDS+=($!)
RP_PORT="$(wait_ready "$WORK/rp.out" "${PIDS[0]}")" || fail "RP stub did not start"
RP="http://127.0.0.1:$RP_PORT"
REDIRECT_URI="$RP/oauth2/callback/op"
POST_LOGOUT="$RP/oauth2/signed_out"

# --- start the OP ------------------------------------------------------------------------
CLIENT_ID=portcullis
CLIENT_SECRET=smoke-secret
OP_PORT=0 OP_CLIENT_ID="$CLIENT_ID" OP_CLIENT_SECRET="$CLIENT_SECRET" \
OP_REDIRECT_URIS="$REDIRECT_URI,$RP/other" OP_POST_LOGOUT_REDIRECT_URIS="$POST_LOGOUT" \
OP_BACKCHANNEL_LOGOUT_URI="$RP/oauth2/backchannel_logout" OP_ACCESS_TOKEN_TTL=120 \
  node "$HERE/server.js" > "$WORK/op.out" 2> "$WORK/op.err" &
PIDS+=($!)
ISSUER="$(wait_ready "$WORK/op.out" "${PIDS[1]}")" || fail "OP did not print READY"
[ "$(wc -l < "$WORK/op.out")" -eq 1 ] || fail "stdout has more than the READY line"
case "$ISSUER" in http://127.0.0.1:[0-9]*) ;; *) fail "odd issuer $ISSUER";; esac
step "OP ready: $ISSUER"
stats ''
step "GET /test/stats: $(cat "$WORK/stats.json")"

# --- discovery ---------------------------------------------------------------------------
curl -sSf "$ISSUER/.well-known/openid-configuration" > "$WORK/disc.json" || fail "discovery"
js 'const d=J(a[0]);
  const want={issuer:a[1],authorization_endpoint:a[1]+"/auth",token_endpoint:a[1]+"/token",
    userinfo_endpoint:a[1]+"/me",jwks_uri:a[1]+"/jwks",end_session_endpoint:a[1]+"/session/end"};
  for (const [k,v] of Object.entries(want)) if (d[k]!==v) throw new Error(k+"="+d[k]);
  if (d.authorization_response_iss_parameter_supported!==true) throw new Error("no RFC 9207");
  if (d.backchannel_logout_supported!==true||d.backchannel_logout_session_supported!==true) throw new Error("no backchannel");
  if (JSON.stringify(d.code_challenge_methods_supported)!=="[\"S256\"]") throw new Error("pkce methods");
  for (const s of ["openid","email","profile","groups","offline_access"]) if(!d.scopes_supported.includes(s)) throw new Error("scope "+s);' \
  "$WORK/disc.json" "$ISSUER" || fail "discovery content"
step "discovery: endpoints, iss param, S256, backchannel, scopes"

# --- PKCE is mandatory ---------------------------------------------------------------------
read -r st loc < <(req -G "$ISSUER/auth" --data-urlencode "client_id=$CLIENT_ID" \
  --data-urlencode response_type=code --data-urlencode scope=openid \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode state=nopkce)
case "$loc" in "$REDIRECT_URI?error=invalid_request"*state=nopkce*) ;; *) fail "no-PKCE request not rejected: $st $loc";; esac
step "authorize without code_challenge → invalid_request ($(sed -n 's/.*error_description=\([^&]*\).*/\1/p' <<<"$loc"))"
rm -f "$JAR"

# --- authorize -----------------------------------------------------------------------------
VERIFIER="$(js 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))')"
CHALLENGE="$(js 'process.stdout.write(require("crypto").createHash("sha256").update(a[0]).digest("base64url"))' "$VERIFIER")"
STATE="st-$RANDOM$RANDOM"
NONCE="n-$RANDOM$RANDOM"
read -r st loc < <(req -G "$ISSUER/auth" --data-urlencode "client_id=$CLIENT_ID" \
  --data-urlencode response_type=code --data-urlencode "scope=openid email profile groups" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "state=$STATE" \
  --data-urlencode "nonce=$NONCE" --data-urlencode "code_challenge=$CHALLENGE" \
  --data-urlencode code_challenge_method=S256)
[ "$st" = 303 ] || fail "/auth status $st"
case "$loc" in "$ISSUER/interaction/"*) ;; *) fail "/auth did not go to interaction: $loc";; esac
step "GET /auth → $st $loc"

# --- login form ----------------------------------------------------------------------------
read -r st _ < <(req "$loc")
[ "$st" = 200 ] || fail "login page status $st"
for id in 'id="login"' 'name="login"' 'id="password"' 'name="password"' 'id="submit"'; do
  grep -q "$id" "$WORK/body" || fail "login page lacks $id"
done
ACTION="$(sed -n 's/.*<form id="login-form" method="post" action="\([^"]*\)".*/\1/p' "$WORK/body")"
[ -n "$ACTION" ] || fail "no login form action"
grep -q '<script' "$WORK/body" && fail "login page has script"
step "login page: fields login/password, button submit, POST $ACTION"

read -r st _ < <(req --data-urlencode login=alice@example.com --data-urlencode password=wrong "$ISSUER$ACTION")
[ "$st" = 401 ] && grep -q 'id="error"' "$WORK/body" || fail "wrong password not rejected ($st)"
step "wrong password → 401 with id=error, form shown again"

read -r st loc < <(req --data-urlencode login=alice@example.com --data-urlencode password=secret "$ISSUER$ACTION")
[ "$st" = 303 ] || fail "login POST status $st"
step "POST login → $st $loc"
read -r st loc < <(req "$loc")
case "$st $loc" in "303 $ISSUER/interaction/"*) ;; *) fail "resume after login: $st $loc";; esac
step "resume → $st $loc"

# --- consent -------------------------------------------------------------------------------
read -r st _ < <(req "$loc")
[ "$st" = 200 ] && grep -q 'id="allow"' "$WORK/body" || fail "consent page ($st)"
ACTION="$(sed -n 's/.*<form id="consent-form" method="post" action="\([^"]*\)".*/\1/p' "$WORK/body")"
[ -n "$ACTION" ] || fail "no consent form action"
step "consent page: button allow, POST $ACTION"
read -r st loc < <(req -X POST "$ISSUER$ACTION")
[ "$st" = 303 ] || fail "consent POST status $st"
read -r st loc < <(req "$loc")
case "$st $loc" in "303 $REDIRECT_URI?"*) ;; *) fail "final redirect: $st $loc";; esac
step "resume → $st $loc"

CODE="$(js 'const u=new URL(a[0]);const p=u.searchParams;
  if(p.get("state")!==a[1]) throw new Error("state "+p.get("state"));
  if(p.get("iss")!==a[2]) throw new Error("iss "+p.get("iss"));
  process.stdout.write(p.get("code"))' "$loc" "$STATE" "$ISSUER")" || fail "callback params"
[ -n "$CODE" ] || fail "no code"
step "callback carries code, state and iss=$ISSUER (RFC 9207)"

# --- token ---------------------------------------------------------------------------------
read -r st _ < <(req -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=authorization_code \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$REDIRECT_URI" \
  --data-urlencode "code_verifier=wrong-$VERIFIER" "$ISSUER/token")
[ "$st" = 400 ] && grep -q invalid_grant "$WORK/body" || fail "wrong verifier accepted ($st)"
step "token with wrong code_verifier → 400 invalid_grant"
# (a failed PKCE check does not consume the code: the right verifier still works)
read -r st _ < <(req -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=authorization_code \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$REDIRECT_URI" \
  --data-urlencode "code_verifier=$VERIFIER" "$ISSUER/token")
if [ "$st" != 200 ]; then fail "token exchange $st: $(cat "$WORK/body")"; fi
cp "$WORK/body" "$WORK/token.json"
curl -sSf "$ISSUER/jwks" > "$WORK/jwks.json"
js 'const crypto=require("crypto"); const t=J(a[0]); const jwks=J(a[1]);
  for (const k of ["access_token","id_token","refresh_token"]) if(!t[k]) throw new Error("missing "+k);
  if (t.token_type!=="Bearer") throw new Error("token_type");
  const [h,p,s]=t.id_token.split("."); const hdr=JSON.parse(Buffer.from(h,"base64url"));
  const c=JSON.parse(Buffer.from(p,"base64url"));
  if (hdr.alg!=="RS256") throw new Error("alg "+hdr.alg);
  const jwk=jwks.keys.find(k=>k.kid===hdr.kid); if(!jwk) throw new Error("kid not in jwks");
  const ok=crypto.verify("RSA-SHA256",Buffer.from(h+"."+p),crypto.createPublicKey({key:jwk,format:"jwk"}),Buffer.from(s,"base64url"));
  if(!ok) throw new Error("bad signature");
  const exp={iss:a[2],aud:a[3],nonce:a[4],sub:"alice",email:"alice@example.com",email_verified:true,
    name:"Alice Liddell",preferred_username:"alice",groups:["staff","admins"]};
  for (const [k,v] of Object.entries(exp)) if(JSON.stringify(c[k])!==JSON.stringify(v)) throw new Error(k+"="+JSON.stringify(c[k]));
  if(t.expires_in!==120||c.exp-c.iat!==120) throw new Error("OP_ACCESS_TOKEN_TTL not applied: "+t.expires_in+" "+(c.exp-c.iat));
  if(!c.sid) throw new Error("no sid"); if(!c.at_hash) console.error("(no at_hash)");
  console.log(JSON.stringify(c));' \
  "$WORK/token.json" "$WORK/jwks.json" "$ISSUER" "$CLIENT_ID" "$NONCE" > "$WORK/claims.json" || fail "id_token checks"
step "token: access+id+refresh tokens (both living OP_ACCESS_TOKEN_TTL=120 s); id_token RS256 verified against jwks"
step "id_token claims: $(cat "$WORK/claims.json")"
AT="$(js 'process.stdout.write(J(a[0]).access_token)' "$WORK/token.json")"
RT="$(js 'process.stdout.write(J(a[0]).refresh_token)' "$WORK/token.json")"
IDT="$(js 'process.stdout.write(J(a[0]).id_token)' "$WORK/token.json")"
SID="$(js 'process.stdout.write(J(a[0]).sid)' "$WORK/claims.json")"

# --- userinfo ------------------------------------------------------------------------------
read -r st _ < <(req -H "Authorization: Bearer $AT" "$ISSUER/me")
[ "$st" = 200 ] || fail "userinfo $st"
js 'const u=J(a[0]); if(u.email!=="alice@example.com"||JSON.stringify(u.groups)!=="[\"staff\",\"admins\"]") throw new Error(JSON.stringify(u))' \
  "$WORK/body" || fail "userinfo content"
step "userinfo: $(cat "$WORK/body")"

# --- refresh -------------------------------------------------------------------------------
read -r st _ < <(req -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=refresh_token --data-urlencode "refresh_token=$RT" "$ISSUER/token")
[ "$st" = 200 ] || fail "refresh $st: $(cat "$WORK/body")"
js 'const t=J(a[0]); if(!t.access_token||!t.id_token) throw new Error(JSON.stringify(t))' "$WORK/body" || fail "refresh content"
AT2="$(js 'process.stdout.write(J(a[0]).access_token)' "$WORK/body")"
step "refresh_token grant → new access_token and id_token"
stats 'refresh_grants=1'
step "stats after one refresh: $(cat "$WORK/stats.json")"

# --- second authorize in the same browser: SSO, no login/consent ---------------------------
read -r st loc < <(req -G "$ISSUER/auth" --data-urlencode "client_id=$CLIENT_ID" \
  --data-urlencode response_type=code --data-urlencode "scope=openid email profile groups" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode state=again \
  --data-urlencode "code_challenge=$CHALLENGE" --data-urlencode code_challenge_method=S256)
case "$st $loc" in "303 $REDIRECT_URI?code="*) ;; *) fail "SSO re-authorize: $st $loc";; esac
step "second /auth with OP session → straight back with a code (SSO)"

# --- end_session ---------------------------------------------------------------------------
read -r st _ < <(req -G "$ISSUER/session/end" --data-urlencode "id_token_hint=$IDT" \
  --data-urlencode "post_logout_redirect_uri=$POST_LOGOUT" --data-urlencode state=bye)
[ "$st" = 200 ] || fail "end_session page $st"
grep -q 'id="logout"' "$WORK/body" || fail "logout page lacks id=logout"
grep -q '<script' "$WORK/body" && fail "logout page has script"
XSRF="$(sed -n 's/.*name="xsrf" value="\([^"]*\)".*/\1/p' "$WORK/body")"
LACTION="$(sed -n 's/.*<form id="op.logoutForm" method="post" action="\([^"]*\)".*/\1/p' "$WORK/body")"
[ -n "$XSRF" ] && [ -n "$LACTION" ] || fail "logout form parse"
step "GET /session/end (id_token_hint, post_logout_redirect_uri) → logout page, POST $LACTION"
read -r st loc < <(req --data-urlencode "xsrf=$XSRF" -d logout=yes "$LACTION")
[ "$st" = 303 ] && [ "$loc" = "$POST_LOGOUT?state=bye" ] || fail "end_session confirm: $st $loc"
step "POST confirm logout=yes → $st $loc"

# back-channel logout delivered before the redirect
[ -s "$WORK/backchannel.log" ] || fail "no back-channel logout POST received"
js 'const fs=require("fs"); const body=fs.readFileSync(a[0],"utf8").trim().split("\n")[0];
  const lt=new URLSearchParams(body).get("logout_token"); const c=JSON.parse(Buffer.from(lt.split(".")[1],"base64url"));
  if(c.iss!==a[1]||c.aud!==a[2]||c.sub!=="alice"||c.sid!==a[3]||!c.events["http://schemas.openid.net/event/backchannel-logout"]||c.nonce) throw new Error(JSON.stringify(c));
  console.log(JSON.stringify(c))' "$WORK/backchannel.log" "$ISSUER" "$CLIENT_ID" "$SID" > "$WORK/lt.json" || fail "logout token"
step "back-channel logout_token: $(cat "$WORK/lt.json")"

# session-bound tokens are dead now
read -r st _ < <(req -H "Authorization: Bearer $AT2" "$ISSUER/me")
[ "$st" = 401 ] || fail "userinfo after logout $st"
read -r st _ < <(req -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=refresh_token --data-urlencode "refresh_token=$RT" "$ISSUER/token")
[ "$st" = 400 ] || fail "refresh after logout $st"
step "after logout: userinfo 401, refresh 400 invalid_grant"
stats 'refresh_grants=2 refresh_failures=1 backchannel_logouts=1 grants_revoked=1'
step "stats after logout: $(cat "$WORK/stats.json")"
curl -sSf -X POST "$ISSUER/test/reset" > /dev/null || fail "POST /test/reset"
stats ''
step "POST /test/reset → all counters 0"

# and a new authorize needs a login again
read -r st loc < <(req -G "$ISSUER/auth" --data-urlencode "client_id=$CLIENT_ID" \
  --data-urlencode response_type=code --data-urlencode scope=openid \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode state=after \
  --data-urlencode "code_challenge=$CHALLENGE" --data-urlencode code_challenge_method=S256)
read -r st2 _ < <(req "$loc")
grep -q 'id="password"' "$WORK/body" || fail "no login form after logout ($st $loc $st2)"
step "after logout: /auth → login form again"

# --- carol (email_verified false, no groups) on a fresh flow ------------------------------------
rm -f "$JAR"
read -r st loc < <(req -G "$ISSUER/auth" --data-urlencode "client_id=$CLIENT_ID" \
  --data-urlencode response_type=code --data-urlencode "scope=openid email profile groups" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode state=carol \
  --data-urlencode "code_challenge=$CHALLENGE" --data-urlencode code_challenge_method=S256)
req "$loc" > /dev/null
ACTION="$(sed -n 's/.*<form id="login-form" method="post" action="\([^"]*\)".*/\1/p' "$WORK/body")"
read -r st loc < <(req --data-urlencode login=Carol@Example.com --data-urlencode password=secret "$ISSUER$ACTION")
read -r st loc < <(req "$loc"); req "$loc" > /dev/null
ACTION="$(sed -n 's/.*<form id="consent-form" method="post" action="\([^"]*\)".*/\1/p' "$WORK/body")"
read -r st loc < <(req -X POST "$ISSUER$ACTION"); read -r st loc < <(req "$loc")
CODE="$(js 'process.stdout.write(new URL(a[0]).searchParams.get("code")||"")' "$loc")"
[ -n "$CODE" ] || fail "carol flow: $st $loc"
read -r st _ < <(req -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=authorization_code \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$REDIRECT_URI" \
  --data-urlencode "code_verifier=$VERIFIER" "$ISSUER/token")
[ "$st" = 200 ] || fail "carol token $st"
js 'const c=JSON.parse(Buffer.from(J(a[0]).id_token.split(".")[1],"base64url"));
  if(c.email!=="carol@example.com"||c.email_verified!==false||JSON.stringify(c.groups)!=="[]") throw new Error(JSON.stringify(c));' \
  "$WORK/body" || fail "carol claims"
step "carol (login is case-insensitive): id_token email_verified=false, groups=[]"

# --- refresh token rotation and reuse detection ----------------------------------------------
RT="$(js 'process.stdout.write(J(a[0]).refresh_token)' "$WORK/body")"
read -r st _ < <(req -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=refresh_token --data-urlencode "refresh_token=$RT" "$ISSUER/token")
[ "$st" = 200 ] || fail "carol refresh $st"
RT2="$(js 'process.stdout.write(J(a[0]).refresh_token||"")' "$WORK/body")"
[ -n "$RT2" ] && [ "$RT2" != "$RT" ] || fail "refresh token not rotated"
step "refresh → a new refresh token (rotation)"
read -r st _ < <(req -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=refresh_token --data-urlencode "refresh_token=$RT" "$ISSUER/token")
[ "$st" = 400 ] && grep -q invalid_grant "$WORK/body" || fail "reused refresh token accepted ($st)"
read -r st _ < <(req -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=refresh_token --data-urlencode "refresh_token=$RT2" "$ISSUER/token")
[ "$st" = 400 ] && grep -q invalid_grant "$WORK/body" || fail "rotated token still valid after reuse ($st)"
stats 'refresh_grants=3 refresh_failures=2 grants_revoked=1'
step "reused refresh token → invalid_grant, grant revoked, its successor dead: $(cat "$WORK/stats.json")"

# --- an admin ends carol's OP session: back-channel logout, session gone --------------------
read -r st _ < <(req -X POST "$ISSUER/test/logout?sub=carol")
[ "$st" = 200 ] && grep -q '"sessions_ended":1' "$WORK/body" || fail "POST /test/logout: $st $(cat "$WORK/body")"
js 'const fs=require("fs"); const lines=fs.readFileSync(a[0],"utf8").trim().split("\n");
  const c=JSON.parse(Buffer.from(new URLSearchParams(lines[lines.length-1]).get("logout_token").split(".")[1],"base64url"));
  if(c.sub!=="carol"||!c.sid) throw new Error(JSON.stringify(c));' "$WORK/backchannel.log" || fail "carol logout token"
stats 'refresh_grants=3 refresh_failures=2 grants_revoked=1 backchannel_logouts=1'
read -r st loc < <(req -G "$ISSUER/auth" --data-urlencode "client_id=$CLIENT_ID" \
  --data-urlencode response_type=code --data-urlencode scope=openid \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode state=after \
  --data-urlencode "code_challenge=$CHALLENGE" --data-urlencode code_challenge_method=S256)
req "$loc" > /dev/null
grep -q 'id="password"' "$WORK/body" || fail "carol still has an OP session after /test/logout"
read -r st _ < <(req -X POST "$ISSUER/test/logout?sub=carol")
grep -q '"sessions_ended":0' "$WORK/body" || fail "second /test/logout: $(cat "$WORK/body")"
step "POST /test/logout?sub=carol → back-channel logout (sub carol, sid), OP session gone, login form again"

# --- an interaction URL without its cookie gives a clear page ---------------------------------
rm -f "$JAR"
read -r st _ < <(req "$ISSUER/interaction/doesnotexist")
[ "$st" = 400 ] && grep -q 'Sign-in expired' "$WORK/body" || fail "stale interaction: $st"
step "interaction URL without cookie/expired → 400 'Sign-in expired' page"

echo "SMOKE OK"
