//! The login flow: the sign-in page, `/oauth2/start`, `/oauth2/callback/{id}`, sign-out and
//! userinfo (DESIGN §1 and §3).
//!
//! `start` derives the state (256 bits), nonce and PKCE verifier from a fresh random seed and
//! keeps it, with the provider and `rd`, in an encrypted *flow cookie* whose name is derived
//! from the state (see `flow_cookie`): each login has its own cookie (several tabs do not
//! clobber each other), a browser holds a bounded number of them, and the callback only
//! completes in the browser that started it, once (see `crate::one_time`). Specs: RFC 6749 §10.12
//! (state), RFC 7636 (PKCE), OpenID Connect Core §3.1.2.1 (nonce), RFC 9207 (`iss`),
//! RFC 9700 §2.1.

mod establish;
mod flow_cookie;
mod logout_return;
mod sign_in_page;
mod sign_out;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use openidconnect::{PkceCodeChallenge, PkceCodeVerifier};
use subtle::ConstantTimeEq;

use crate::authz;
use crate::caller::Caller;
use crate::error::{AppError, LoginError};
use crate::links::{redirect, CHOOSE_ACCOUNT};
use crate::providers::unverified_email::EmailDrop;
use crate::query::QueryParams;
use crate::redirect::RedirectTarget;
use crate::session::{unix_now, CookieJar, Issued, Session};
use crate::state::AppState;
use crate::telemetry::RequestId;

pub(crate) use establish::{establish, login_failed, Failure};
use flow_cookie::flow_cookie_name;
/// For the fuzz targets (`crate::fuzzing`).
pub(crate) use flow_cookie::FlowState;
pub(crate) use logout_return::signed_out;
pub(crate) use sign_in_page::{sign_in_page, FormNotice};
pub(crate) use sign_out::sign_out;

/// `GET /oauth2/sign_in?rd=`: one button per provider, in configuration order, and a form
/// per local provider.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = QueryParams::from_uri(&uri);
    let rd = RedirectTarget::parse(
        params.get("rd"),
        &state.config.server.allowed_redirect_hosts,
    );
    let jar = CookieJar::from_headers(&state.cookies, &headers);
    sign_in_page(&state, &jar, &rd, &request_id, None, StatusCode::OK)
}

/// `GET /oauth2/start?provider=ID&rd=PATH`: 302 to the provider's authorization endpoint.
pub(crate) async fn start(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let params = QueryParams::from_uri(&uri);
    let provider_id = params.get("provider").unwrap_or_default();
    let provider = state
        .providers
        .get(provider_id)
        .ok_or(AppError::UnknownProvider)?;
    let rd = RedirectTarget::parse(
        params.get("rd"),
        &state.config.server.allowed_redirect_hosts,
    );

    let flow = FlowState::new(
        provider.id(),
        &rd,
        &state.config.server.allowed_redirect_hosts,
    );
    let secrets = flow
        .secrets()
        .ok_or_else(|| AppError::Internal("a flow seed that derives nothing".into()))?;
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
        secrets.pkce_verifier.clone(),
    ));
    // "Sign in with a different account" (the "Access denied" page): the one `prompt` asked
    // for by name, translated for the provider (`Provider::offers_other_account`).
    let choose_account = params.get("prompt") == Some(CHOOSE_ACCOUNT);
    let authorize_url = provider
        .authorization_url(
            &secrets.state,
            &secrets.nonce,
            challenge.as_str(),
            choose_account,
        )
        .ok_or_else(|| AppError::ProviderUnavailable(provider.id().to_owned()))?;

    let sealed = flow
        .seal(&state.codec)
        .map_err(|err| AppError::Internal(err.to_string()))?;
    let jar = CookieJar::from_headers(&state.cookies, &headers);
    let mut response = redirect(authorize_url.as_str());
    let cookies = flow_cookie::start_cookies(
        &jar,
        &state.codec,
        state.config.session.login_timeout,
        &secrets.state,
        &sealed,
    );
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `GET /oauth2/callback/{id}`: checks the flow, exchanges the code, validates the tokens,
/// authorizes, sets the session and redirects to `rd`. Every failure is a 4xx page, the flow
/// cookie is cleared, and no session cookie is set.
pub(crate) async fn callback(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = QueryParams::from_uri(&uri);
    let jar = CookieJar::from_headers(&state.cookies, &headers);
    let flow_cookie = params
        .get("state")
        .map(|s| flow_cookie_name(&state.cookies.name, s));
    let outcome = complete(&state, &provider_id, &params, &jar, flow_cookie.as_deref()).await;
    let mut response = match outcome {
        Ok((session, rd)) => establish(&state, &jar, &session, &rd, redirect).await,
        Err(failure) => login_failed(&state, &provider_id, failure),
    };
    let cookies = flow_cookie::callback_cookies(
        &jar,
        &state.codec,
        state.config.session.login_timeout,
        flow_cookie.as_deref(),
    );
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn complete(
    state: &AppState,
    provider_id: &str,
    params: &QueryParams,
    jar: &CookieJar<'_>,
    flow_cookie: Option<&str>,
) -> Result<(Session, RedirectTarget), Failure> {
    let provider = state
        .providers
        .get(provider_id)
        .ok_or(LoginError::ProviderMismatch)?;
    let returned_state = params.get("state").ok_or(LoginError::MissingState)?;
    let sealed = flow_cookie
        .and_then(|name| jar.get(name))
        .ok_or(LoginError::NoFlowCookie)?;
    let flow = FlowState::open(&state.codec, sealed).ok_or(LoginError::NoFlowCookie)?;
    let secrets = flow.secrets().ok_or(LoginError::NoFlowCookie)?;
    if !bool::from(secrets.state.as_bytes().ct_eq(returned_state.as_bytes())) {
        return Err(LoginError::StateMismatch.into());
    }
    // The destination was validated at start; validate again in case the secret leaked.
    let rd = RedirectTarget::parse(Some(&flow.rd), &state.config.server.allowed_redirect_hosts);
    let failed = |error: LoginError| Failure {
        error,
        user: None,
        account: None,
        rd: Some(rd.clone()),
    };
    let now = unix_now();
    let timeout = state.config.session.login_timeout.as_secs();
    if now.saturating_sub(flow.created_at()) > timeout {
        return Err(failed(LoginError::FlowExpired));
    }
    // One flow, one callback: before anything is asked of the provider, so a replayed flow
    // cookie redeems no second code.
    let expires_at = flow.created_at().saturating_add(timeout);
    match state
        .one_time
        .first_use("flow", &secrets.state, expires_at, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(failed(LoginError::FlowReplayed)),
        Err(err) => {
            tracing::error!(error = %crate::error_chain::error_chain(&err), "the flow could not be recorded as used");
            return Err(failed(LoginError::StoreUnavailable));
        }
    }
    if flow.provider != provider.id() {
        return Err(failed(LoginError::ProviderMismatch));
    }
    provider
        .check_callback_issuer(params.get("iss"))
        .map_err(failed)?;
    if let Some(error) = params.get("error") {
        let detail = match params.get("error_description") {
            Some(description) => format!("{error}: {description}"),
            None => error.to_owned(),
        };
        return Err(failed(LoginError::ProviderError {
            code: sanitize(error),
            detail: sanitize(&detail),
        }));
    }
    let code = params
        .get("code")
        .ok_or_else(|| failed(LoginError::MissingCode))?;
    let login = provider
        .complete_login(code, &secrets.pkce_verifier, &secrets.nonce)
        .await
        .map_err(failed)?;
    // A value an upstream would read as another one ("admin " is `admin` to every header
    // parser) names nobody the gateway may vouch for.
    if let Some((field, value)) = login.identity.ambiguous_field() {
        tracing::warn!(provider = %provider_id, field, value = ?value, "login refused: an identity value that does not read as written");
        return Err(failed(LoginError::AmbiguousIdentity(field)));
    }
    let dropped = login
        .email_drop
        .map(|drop| (drop.explain(provider_id), drop == EmailDrop::NotVerified));
    if let Some((why, _)) = &dropped {
        tracing::warn!(provider = %provider_id, user = %login.identity.user, "email not counted: {why}");
    }
    let subject = authz::Subject::new(&login.identity, login.id_token.as_deref().into());
    if let Err(denial) = authz::authorize(&state.config.authorize, &subject) {
        let error = match dropped {
            Some((why, said_false)) if login.identity.email.is_none() => {
                LoginError::UnverifiedEmail {
                    denial: denial.to_string(),
                    why,
                    said_false,
                }
            }
            _ => LoginError::NotAuthorized(denial.to_string()),
        };
        return Err(Failure {
            error,
            account: login.identity.shown_account().map(str::to_owned),
            user: Some(login.identity.user),
            rd: Some(rd),
        });
    }
    let issued = Issued {
        identity: login.identity,
        id_token: login.id_token,
        access_token: login.access_token,
        refresh_token: login.refresh_token,
        expires_in: login.expires_in,
        sid: login.sid,
        reads_memberships: provider.membership_check().is_some(),
    };
    Ok((state.needs.new_session(issued, now), rd))
}

/// Provider-supplied text shown on a page: printable ASCII only, bounded length.
fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect()
}

/// `GET /oauth2/userinfo`: who is signed in, as JSON (memberships read again when due,
/// see `crate::membership`), or whom a valid bearer token names (the "users/me" of API
/// clients, `crate::caller`); 401 when nobody is.
pub(crate) async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let caller = match Caller::identify(&state, &headers).await {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let response = match caller.session() {
        Some(session) => {
            let identity = &session.identity;
            axum::Json(serde_json::json!({
                "user": identity.user,
                "email": identity.email,
                "groups": identity.groups,
                "preferred_username": identity.preferred_username,
                "provider": identity.provider,
            }))
            .into_response()
        }
        None => AppError::Unauthenticated.into_response(),
    };
    caller.record_on(response)
}
