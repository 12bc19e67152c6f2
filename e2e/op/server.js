// A real OpenID Provider for portcullis' interoperability tests: panva's `oidc-provider`
// (OpenID Certified) with one confidential client, a small in-memory account table, and our
// own plain-HTML login / consent / logout pages (no JavaScript, stable element ids for
// WebDriver). Started and stopped by the Rust test suite: `node e2e/op/server.js`.
//
// Environment:
//   OP_PORT                        port on 127.0.0.1 (0 or unset: pick a free one; the issuer
//                                  then uses the real port, read it from the READY line)
//   OP_CLIENT_ID                   default "portcullis"
//   OP_CLIENT_SECRET               default "portcullis-secret"
//   OP_REDIRECT_URIS               comma separated (required in practice; has a default)
//   OP_POST_LOGOUT_REDIRECT_URIS   comma separated (optional)
//   OP_BACKCHANNEL_LOGOUT_URI      optional; when set, ID tokens and logout tokens carry `sid`
//                                  and ending an OP session POSTs a logout_token there
//   OP_ACCESS_TOKEN_TTL            seconds an access token and an ID token live (default 600)
//
// Refresh tokens rotate on every use (`rotateRefreshToken: true`), with reuse detection: an
// already-used refresh token gets invalid_grant and revokes the whole grant (see the comment
// at `rotateRefreshToken` below).
//
// Test-only endpoints, next to the provider's own (JSON, no authentication, loopback only):
//   GET  /test/stats   {"refresh_grants", "refresh_failures", "backchannel_logouts",
//                       "backchannel_errors", "grants_revoked"}, counted since start or reset:
//                      refresh_grants   token-endpoint requests with grant_type=refresh_token,
//                                       successful or not;
//                      refresh_failures those of them that got an error answer;
//                      backchannel_logouts / backchannel_errors  back-channel logout POSTs the
//                                       client's backchannel_logout_uri answered with 200/204,
//                                       or not;
//                      grants_revoked   distinct grants revoked (logout, refresh-token reuse,
//                                       revocation endpoint).
//   POST /test/reset   sets every counter to 0; answers the zeroed stats.
//   POST /test/logout?sub=<account>  ends every OP session of that account, as an admin would
//                      at the provider: what /session/end/confirm does with logout=yes, for
//                      each session (back-channel logout with the session's `sid` to each
//                      client with a backchannel_logout_uri, counted as above; the session's
//                      grants revoked; the session destroyed). Answers {"sessions_ended": n}.
// The user can end their own OP session without the relying party too: GET /session/end with
// the browser's `op_session` cookie and no id_token_hint, then POST the form it shows (`xsrf`
// from its hidden field, `logout=yes`) to /session/end/confirm; the provider then does the
// same for that one session.
//
// stdout carries exactly one line, `READY <issuer>`, once the socket is listening.
// Everything else (provider warnings, event log) goes to stderr.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const log = (...args) => console.error('[op]', ...args);

function list(value) {
  return (value || '').split(',').map((s) => s.trim()).filter(Boolean);
}

function esc(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// ---------------------------------------------------------------------------------------------
// Accounts. Every password is "secret".

const PASSWORD = 'secret';

const ACCOUNTS = [
  {
    sub: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice Liddell',
    preferred_username: 'alice',
    groups: ['staff', 'admins'],
  },
  {
    sub: 'bob',
    email: 'bob@example.org',
    email_verified: true,
    name: 'Bob Builder',
    preferred_username: 'bob',
    groups: ['staff'],
  },
  {
    sub: 'carol',
    email: 'carol@example.com',
    email_verified: false,
    name: 'Carol Danvers',
    preferred_username: 'carol',
    groups: [],
  },
];

const BY_SUB = new Map(ACCOUNTS.map((a) => [a.sub, a]));
const BY_LOGIN = new Map(ACCOUNTS.map((a) => [a.email.toLowerCase(), a]));

function authenticate(login, password) {
  const account = BY_LOGIN.get(String(login || '').trim().toLowerCase());
  if (!account || password !== PASSWORD) return undefined;
  return account;
}

async function findAccount(ctx, sub) {
  const account = BY_SUB.get(sub);
  if (!account) return undefined;
  return {
    accountId: sub,
    // oidc-provider masks these by the granted scopes / claims itself.
    async claims() {
      const { sub: _, ...rest } = account;
      return { sub, ...rest, groups: [...account.groups] };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pages. Plain HTML forms, no JavaScript, no external resources.

const STYLE = `
  *{box-sizing:border-box}
  body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#eef1f5;color:#1d2330;margin:0;padding:24px 12px}
  main{max-width:380px;margin:40px auto;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);padding:24px}
  h1{font-size:1.3rem;margin:0 0 4px}
  p.sub{margin:0 0 20px;color:#5b6472;font-size:.9rem}
  label{display:block;font-size:.9rem;margin:12px 0 4px}
  input[type=text],input[type=email],input[type=password]{width:100%;padding:10px;border:1px solid #b8c0cc;border-radius:4px;font-size:1rem}
  button{display:block;width:100%;margin-top:16px;padding:10px;border:0;border-radius:4px;font-size:1rem;cursor:pointer;background:#2f5fd0;color:#fff}
  button.secondary{background:#e3e7ee;color:#1d2330;margin-top:8px}
  .error{background:#fde8e8;color:#8a1c1c;border-radius:4px;padding:8px 10px;font-size:.9rem}
  ul{padding-left:20px}
  small{color:#5b6472}
`;

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Test OP</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, details, { error, login } = {}) {
  const hint = login ?? details.params.login_hint ?? '';
  return page('Sign in', `
<h1>Sign in</h1>
<p class="sub">to continue to <strong>${esc(details.params.client_id)}</strong></p>
${error ? `<p class="error" id="error" role="alert">${esc(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
  <label for="login">Email</label>
  <input type="email" id="login" name="login" value="${esc(hint)}" required autofocus>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" required>
  <button type="submit" id="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit" id="cancel" class="secondary">Cancel</button>
</form>
<p><small>Test accounts: alice@example.com, bob@example.org, carol@example.com — password <code>secret</code>.</small></p>
`);
}

function consentPage(uid, details, account) {
  const scopes = [
    ...(details.prompt.details.missingOIDCScope || []),
  ];
  const claims = details.prompt.details.missingOIDCClaims || [];
  return page('Authorize', `
<h1>Authorize access</h1>
<p class="sub">Signed in as <strong id="account">${esc(account?.email || details.session?.accountId)}</strong></p>
<p><strong>${esc(details.params.client_id)}</strong> asks for:</p>
<ul id="scopes">
${scopes.map((s) => `  <li>${esc(s)}</li>`).join('\n')}
${claims.map((c) => `  <li>claim: ${esc(c)}</li>`).join('\n')}
</ul>
<form id="consent-form" method="post" action="/interaction/${esc(uid)}/confirm">
  <button type="submit" id="allow">Allow</button>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit" id="deny" class="secondary">Deny</button>
</form>
`);
}

function messagePage(title, message) {
  return page(title, `<h1>${esc(title)}</h1>\n<p id="message">${esc(message)}</p>`);
}

// features.rpInitiatedLogout.logoutSource: `form` is
// <form id="op.logoutForm" method="post" action="/session/end/confirm"><input type="hidden" name="xsrf" ...></form>
// The buttons submit that form via the `form` attribute. logout=yes ends the whole OP session.
async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = page('Sign out', `
<h1>Sign out</h1>
<p class="sub">Do you want to sign out from ${esc(ctx.host)}?</p>
${form}
<button type="submit" form="op.logoutForm" id="logout" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" id="stay" class="secondary">No, stay signed in</button>
`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  const client = ctx.oidc.client;
  ctx.body = page('Signed out', `
<h1 id="signed-out">Signed out</h1>
<p>Your sign-out${client ? ` from ${esc(client.clientName || client.clientId)}` : ''} was successful.</p>
`);
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Error', `
<h1>Something went wrong</h1>
${Object.entries(out).map(([k, v]) => `<p class="error" id="${esc(k)}"><strong>${esc(k)}</strong>: ${esc(v)}</p>`).join('\n')}
`);
}

// ---------------------------------------------------------------------------------------------
// Provider configuration.

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}

// ---------------------------------------------------------------------------------------------
// Counters of GET /test/stats (see the header comment).

const ZERO = {
  refresh_grants: 0,
  refresh_failures: 0,
  backchannel_logouts: 0,
  backchannel_errors: 0,
};
let counters = { ...ZERO };
// grant.revoked fires twice for one grant when end_session logs out of one client only
// (lib/actions/end_session.js emits it after revoke() already did), so revoked grants are
// counted by id.
let revokedGrants = new Set();

// The uids of the OP sessions each account signed in with (an authorization answered for it),
// for POST /test/logout: the in-memory adapter cannot be searched by account.
const sessionsOf = new Map();

function rememberSession(ctx) {
  const session = ctx.oidc?.session;
  if (!session?.accountId) return;
  if (!sessionsOf.has(session.accountId)) sessionsOf.set(session.accountId, new Set());
  sessionsOf.get(session.accountId).add(session.uid);
}

// POST /test/logout?sub=…, modelled on endSession in
// node_modules/oidc-provider/lib/actions/end_session.js (logout=yes); returns how many sessions
// it ended.
async function endSessionsOf(provider, sub) {
  let ended = 0;
  for (const uid of sessionsOf.get(sub) || []) {
    const session = await provider.Session.findByUid(uid);
    if (!session || session.accountId !== sub) continue;
    for (const [clientId, { grantId }] of Object.entries(session.authorizations || {})) {
      const client = await provider.Client.find(clientId);
      if (client?.backchannelLogoutUri) {
        const sid = session.sidFor(clientId);
        try {
          await client.backchannelLogout(sub, sid);
          counters.backchannel_logouts += 1;
          log('test logout: backchannel.success', clientId, sub, sid);
        } catch (err) {
          counters.backchannel_errors += 1;
          log('test logout: backchannel.error', clientId, sub, sid, err.message);
        }
      }
      if (grantId) {
        await Promise.all([
          provider.AccessToken.revokeByGrantId(grantId),
          provider.RefreshToken.revokeByGrantId(grantId),
          provider.AuthorizationCode.revokeByGrantId(grantId),
          provider.Grant.adapter.destroy(grantId),
        ]);
        revokedGrants.add(grantId);
      }
    }
    await session.destroy();
    ended += 1;
  }
  sessionsOf.delete(sub);
  return ended;
}

function stats() {
  return { ...counters, grants_revoked: revokedGrants.size };
}

function resetStats() {
  counters = { ...ZERO };
  revokedGrants = new Set();
}

function accessTokenTtl() {
  const raw = (process.env.OP_ACCESS_TOKEN_TTL || '').trim();
  if (!raw) return 10 * 60;
  const ttl = Number(raw);
  if (!Number.isInteger(ttl) || ttl <= 0) {
    throw new Error(`OP_ACCESS_TOKEN_TTL must be a positive whole number of seconds, not ${raw}`);
  }
  return ttl;
}

// Counts token-endpoint requests whose grant_type is refresh_token. A Koa middleware rather
// than the grant.success / grant.error events: those miss an answer that is a server_error
// (the error handler emits `server_error` instead) and grant.error carries no grant type when
// the failure came early. After the route ran, ctx.oidc.params holds the parsed form
// (assembled before client authentication, so a request with a bad client secret counts too);
// a body that does not parse has no grant type and is not counted.
async function countRefreshGrants(ctx, next) {
  try {
    await next();
  } finally {
    if (ctx.method === 'POST' && ctx.oidc?.route === 'token'
        && ctx.oidc.params?.grant_type === 'refresh_token') {
      counters.refresh_grants += 1;
      if (ctx.status !== 200) counters.refresh_failures += 1;
    }
  }
}

function buildProvider(issuer) {
  const clientId = process.env.OP_CLIENT_ID || 'portcullis';
  const clientSecret = process.env.OP_CLIENT_SECRET || 'portcullis-secret';
  const redirectUris = list(process.env.OP_REDIRECT_URIS);
  const postLogoutRedirectUris = list(process.env.OP_POST_LOGOUT_REDIRECT_URIS);
  const backchannelLogoutUri = (process.env.OP_BACKCHANNEL_LOGOUT_URI || '').trim();
  const tokenTtl = accessTokenTtl();

  const client = {
    client_id: clientId,
    client_secret: clientSecret,
    client_name: 'portcullis',
    redirect_uris: redirectUris.length ? redirectUris : ['http://127.0.0.1:4180/oauth2/callback/op'],
    post_logout_redirect_uris: postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  };
  if (backchannelLogoutUri) {
    client.backchannel_logout_uri = backchannelLogoutUri;
    client.backchannel_logout_session_required = true;
  }

  const configuration = {
    clients: [client],
    findAccount,
    jwks: { keys: [signingKey()] },

    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
    },
    // Put scope-requested claims in the ID token as well, not only at userinfo.
    conformIdTokenClaims: false,

    pkce: {
      methods: ['S256'],
      required: () => true,
    },

    // Refresh tokens for this client whether or not offline_access was requested. Without
    // offline_access they are bound to the OP session and die with it (end_session).
    issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),

    // Every refresh returns a new refresh token and consumes the old one. Reuse detection is
    // oidc-provider's own, node_modules/oidc-provider/lib/actions/grants/refresh_token.js
    // (8.8.1): after finding the token, its grant and account, `if (refreshToken.consumed)` it
    // destroys that token and calls helpers/revoke.js for its grantId (access tokens, refresh
    // tokens and codes of the grant revoked by grant id, and the Grant itself destroyed since
    // revokeGrantPolicy defaults to true, emitting `grant.revoked`), then throws
    // InvalidGrant('refresh token already used'). So after a replay the newest refresh token
    // of that grant is dead too.
    rotateRefreshToken: true,

    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
    },

    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },

    cookies: {
      // Distinct from the gateway's cookie names: cookies ignore ports, so the gateway
      // (127.0.0.1:A) and this OP (127.0.0.1:B) share one cookie jar in the browser.
      names: {
        session: 'op_session',
        interaction: 'op_interaction',
        resume: 'op_interaction_resume',
      },
      // Plain-HTTP loopback: SameSite=None without Secure would be rejected by Chromium.
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
      keys: ['portcullis-e2e-op-cookie-key-1', 'portcullis-e2e-op-cookie-key-0'],
    },

    ttl: {
      AccessToken: tokenTtl,
      AuthorizationCode: 60,
      ClientCredentials: 10 * 60,
      IdToken: tokenTtl,
      RefreshToken: 60 * 60,
      Interaction: 10 * 60,
      Session: 60 * 60,
      Grant: 60 * 60,
      DeviceCode: 10 * 60,
      BackchannelAuthenticationRequest: 10 * 60,
    },

    responseTypes: ['code'],
    clientBasedCORS: () => false,
    renderError,
  };

  const provider = new Provider(issuer, configuration);

  for (const event of [
    'server_error', 'authorization.error', 'grant.error', 'end_session.error',
    'backchannel.error', 'userinfo.error', 'introspection.error', 'revocation.error',
  ]) {
    provider.on(event, (ctx, err) => {
      const e = err ?? ctx;
      log(event, e?.error || e?.name || '', e?.error_description || e?.message || '');
    });
  }
  provider.use(countRefreshGrants);
  provider.on('authorization.success', rememberSession);
  provider.on('backchannel.success', (ctx, c, accountId, sid) => {
    counters.backchannel_logouts += 1;
    log('backchannel.success', c.clientId, accountId, sid);
  });
  provider.on('backchannel.error', () => {
    counters.backchannel_errors += 1;
  });
  provider.on('grant.revoked', (ctx, grantId) => {
    revokedGrants.add(grantId);
    log('grant.revoked', grantId);
  });
  provider.on('end_session.success', () => log('end_session.success'));
  provider.on('grant.success', () => log('grant.success'));

  return provider;
}

// ---------------------------------------------------------------------------------------------
// Interaction routes (login + consent), served next to the provider.

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Frame-Options', 'DENY');
  res.end(html);
}

async function interaction(provider, req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      send(res, 400, messagePage('Sign-in expired', 'This sign-in request is no longer valid (expired, or cookies were lost). Go back to the application and start again.'));
      return;
    }
    throw err;
  }
  // The interaction cookie is path-scoped to /interaction/<uid>, so this only trips on a
  // tampered URL; guard anyway.
  if (details.uid !== uid) {
    send(res, 400, messagePage('Sign-in mismatch', 'This sign-in request does not match your browser session. Start again.'));
    return;
  }
  const { prompt } = details;

  if (req.method === 'GET' && action === '') {
    if (prompt.name === 'login') {
      send(res, 200, loginPage(uid, details));
    } else if (prompt.name === 'consent') {
      send(res, 200, consentPage(uid, details, BY_SUB.get(details.session?.accountId)));
    } else {
      send(res, 400, messagePage('Unsupported', `Unsupported prompt ${prompt.name}`));
    }
    return;
  }

  if (req.method !== 'POST') {
    send(res, 405, messagePage('Method not allowed', 'Use the form.'));
    return;
  }
  const form = await readForm(req);

  if (action === 'login') {
    if (prompt.name !== 'login') {
      send(res, 400, messagePage('Unexpected', 'Already signed in; reload the page.'));
      return;
    }
    const account = authenticate(form.get('login'), form.get('password'));
    if (!account) {
      log('login failed for', form.get('login'));
      send(res, 401, loginPage(uid, details, { error: 'Invalid email or password.', login: form.get('login') || '' }));
      return;
    }
    log('login ok', account.email);
    await provider.interactionFinished(req, res, {
      login: { accountId: account.sub, amr: ['pwd'] },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === 'confirm') {
    if (prompt.name !== 'consent') {
      send(res, 400, messagePage('Unexpected', 'Nothing to consent to; reload the page.'));
      return;
    }
    const { params, session: { accountId } } = details;
    let { grantId } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    grantId = await grant.save();
    const consent = {};
    if (!details.grantId) consent.grantId = grantId;
    await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
    return;
  }

  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  send(res, 404, messagePage('Not found', 'No such page.'));
}

// ---------------------------------------------------------------------------------------------
// Server.

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/;

const server = http.createServer();
let handler;

function sendJson(res, status, value) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(value));
}

// GET /test/stats, POST /test/reset and POST /test/logout; true when `path` was one of them.
function testEndpoint(req, res, path) {
  if (path === '/test/logout' && req.method === 'POST' && handler) {
    const sub = new URL(req.url, 'http://op').searchParams.get('sub') || '';
    endSessionsOf(handler.provider, sub).then(
      (ended) => sendJson(res, 200, { sessions_ended: ended }),
      (err) => {
        log('test logout error', err);
        sendJson(res, 500, { error: 'server_error', error_description: String(err.message) });
      },
    );
  } else if (path === '/test/stats' && req.method === 'GET') {
    sendJson(res, 200, stats());
  } else if (path === '/test/reset' && req.method === 'POST') {
    resetStats();
    sendJson(res, 200, stats());
  } else if (['/test/stats', '/test/reset', '/test/logout'].includes(path)) {
    sendJson(res, 405, { error: 'method_not_allowed' });
  } else {
    return false;
  }
  return true;
}

server.on('request', (req, res) => {
  const path = (req.url || '/').split('?')[0];
  if (testEndpoint(req, res, path)) return;
  const m = INTERACTION.exec(path);
  if (m && handler) {
    interaction(handler.provider, req, res, m[1], m[2] || '').catch((err) => {
      log('interaction error', err);
      if (!res.headersSent) send(res, 500, messagePage('Error', 'Internal error in the test OP.'));
      else res.end();
    });
    return;
  }
  if (!handler) {
    send(res, 503, messagePage('Starting', 'The test OP is starting.'));
    return;
  }
  handler.callback(req, res);
});

const requestedPort = Number.parseInt(process.env.OP_PORT || '0', 10);
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  log(`invalid OP_PORT ${process.env.OP_PORT}`);
  process.exit(2);
}

server.on('error', (err) => {
  log('listen error', err.message);
  process.exit(1);
});

server.listen(requestedPort, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  try {
    const provider = buildProvider(issuer);
    handler = { provider, callback: provider.callback() };
  } catch (err) {
    log('configuration error', err);
    process.exit(1);
  }
  process.stdout.write(`READY ${issuer}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
