//! The original request a proxy asks about, from its forwarding headers: believed only from
//! trusted peers, and refused when it could be the client's own description.

use axum::extract::Request;
use axum::http::{HeaderMap, Method};

use crate::error::AppError;
use crate::proxy::route::{normalize_host, request_host};

/// The request the proxy asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OriginalRequest {
    pub(crate) method: Method,
    /// As the client sent it (any case, possibly with a port); `None` when unknown.
    pub(crate) host: Option<String>,
    /// Origin-form request target (path and optional query), exactly as received: never
    /// normalised here, so the route table sees `..` and `%2e%2e` and refuses them.
    pub(crate) uri: String,
}

const X_ORIGINAL_URL: &str = "x-original-url";
const X_ORIGINAL_METHOD: &str = "x-original-method";
const X_FORWARDED_METHOD: &str = "x-forwarded-method";
const X_FORWARDED_HOST: &str = "x-forwarded-host";
const X_FORWARDED_URI: &str = "x-forwarded-uri";

/// One proxy's description of the original request, as written.
struct Description<'h> {
    /// The header the target came in, for messages.
    source: &'static str,
    host: Option<&'h str>,
    uri: &'h str,
    method: Option<&'h str>,
}

impl OriginalRequest {
    /// From a trusted proxy, one of two descriptions, each read only from its own headers:
    /// `X-Original-URL` with `X-Original-Method` (nginx), or `X-Forwarded-Uri` with
    /// `X-Forwarded-Host` (else the request's `Host`) and `X-Forwarded-Method` (Traefik,
    /// Caddy). A proxy that sets only its own form passes the other on from the client as
    /// it came, so when both are present they must describe the same request — the same
    /// target byte for byte, the same host — or it is a 400: believing either could be
    /// believing the client. Then a method counts only if both name it (and the same one).
    /// A header given twice, a target that is not origin-form and a host that is not
    /// `host[:port]` are 400s too. A description without its method gets
    /// [`unspecified_method`]: the auth request's own method says nothing (nginx, Traefik
    /// and Caddy all ask with `GET`). Without any description: the auth request's own
    /// method and `Host`, path `/`.
    ///
    /// From a peer that is not trusted, a description is refused
    /// ([`AppError::UntrustedProxy`]): judging another path than the one the proxy asks
    /// about would answer for the wrong request (every request of a proxy missing from
    /// `trusted_proxies` would be judged as `/`).
    pub(crate) fn from_request(
        request: &Request,
        trusted: bool,
    ) -> Result<OriginalRequest, AppError> {
        let headers = request.headers();
        let own_host = request_host(headers, request.uri(), request.version())
            .map_err(|bad| bad_request(bad.to_string()))?
            .map(str::to_owned);
        let own = OriginalRequest {
            method: request.method().clone(),
            host: own_host,
            uri: "/".to_owned(),
        };
        if !trusted {
            return match [X_ORIGINAL_URL, X_FORWARDED_URI]
                .into_iter()
                .find(|name| headers.contains_key(*name))
            {
                Some(name) => Err(AppError::UntrustedProxy(format!(
                    "a peer outside server.trusted_proxies sent {name}"
                ))),
                None => Ok(own),
            };
        }
        match (Description::nginx(headers)?, Description::traefik(headers)?) {
            (None, None) => Ok(own),
            (Some(one), None) | (None, Some(one)) => one.read(own.host),
            (Some(nginx), Some(traefik)) => same_request(nginx, traefik, own.host),
        }
    }
}

/// The one request that both descriptions describe (see [`OriginalRequest::from_request`]),
/// or a 400.
fn same_request(
    nginx: Description<'_>,
    traefik: Description<'_>,
    own_host: Option<String>,
) -> Result<OriginalRequest, AppError> {
    let methods = (nginx.method, traefik.method);
    let nginx = nginx.read(own_host.clone())?;
    let traefik = traefik.read(own_host)?;
    let same_host =
        nginx.host.as_deref().map(normalize_host) == traefik.host.as_deref().map(normalize_host);
    if nginx.uri != traefik.uri || !same_host {
        return Err(bad_request(format!(
            "{X_ORIGINAL_URL} and {X_FORWARDED_URI} describe different requests \
             ({:?} {:?} and {:?} {:?}); the proxy must send one and remove the other",
            nginx.host, nginx.uri, traefik.host, traefik.uri
        )));
    }
    let method = match methods {
        (Some(_), Some(_)) if nginx.method != traefik.method => {
            return Err(bad_request(format!(
                "{X_ORIGINAL_METHOD} and {X_FORWARDED_METHOD} name different methods \
                 ({} and {})",
                nginx.method, traefik.method
            )))
        }
        (Some(_), Some(_)) => nginx.method,
        _ => unspecified_method(),
    };
    Ok(OriginalRequest { method, ..nginx })
}

impl<'h> Description<'h> {
    /// nginx's form: `X-Original-URL` (absolute or origin-form) and `X-Original-Method`.
    fn nginx(headers: &'h HeaderMap) -> Result<Option<Description<'h>>, AppError> {
        let Some(url) = single(headers, X_ORIGINAL_URL)? else {
            return Ok(None);
        };
        let (host, uri) = split_url(url)?;
        Ok(Some(Description {
            source: X_ORIGINAL_URL,
            host,
            uri,
            method: single(headers, X_ORIGINAL_METHOD)?,
        }))
    }

    /// Traefik's and Caddy's form: `X-Forwarded-Uri`, `-Host` and `-Method`.
    fn traefik(headers: &'h HeaderMap) -> Result<Option<Description<'h>>, AppError> {
        let Some(uri) = single(headers, X_FORWARDED_URI)? else {
            return Ok(None);
        };
        Ok(Some(Description {
            source: X_FORWARDED_URI,
            host: single(headers, X_FORWARDED_HOST)?,
            uri,
            method: single(headers, X_FORWARDED_METHOD)?,
        }))
    }

    /// The request described, on `own_host` when the description names none.
    fn read(self, own_host: Option<String>) -> Result<OriginalRequest, AppError> {
        let method = match self.method {
            Some(method) => Method::from_bytes(method.as_bytes())
                .map_err(|_| bad_request(format!("`{method}` is not an HTTP method")))?,
            None => unspecified_method(),
        };
        if !self.uri.starts_with('/') {
            return Err(bad_request(format!(
                "the original request target `{}` does not start with `/`",
                self.uri
            )));
        }
        if let Some(host) = self.host {
            normalize_host(host).ok_or_else(|| {
                bad_request(format!(
                    "the host `{host}` of the {} description is not a valid host[:port]",
                    self.source
                ))
            })?;
        }
        Ok(OriginalRequest {
            method,
            host: self.host.map(str::to_owned).or(own_host),
            uri: self.uri.to_owned(),
        })
    }
}

/// Stands in for the original method when the proxy does not name it: an extension method
/// (RFC 9110 §9.1) that no `skip_auth` method list and no CORS preflight check will match,
/// so only rules for any method apply.
pub(crate) fn unspecified_method() -> Method {
    Method::from_bytes(b"UNSPECIFIED").unwrap_or(Method::CONNECT)
}

/// The one value of `name`, without the white space around it; `None` when absent; 400 when
/// repeated or not visible ASCII. None of these headers may hold a space or a tab inside:
/// a request target, a method and a host have none (RFC 9112 §3), so `/public/x /admin`
/// is not a target whose path any server would agree on.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AppError> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.contains_key(name) {
            true => Err(bad_request(format!("{name} is given more than once"))),
            false => Ok(None),
        };
    };
    std::str::from_utf8(value.as_bytes())
        .ok()
        .map(str::trim)
        .filter(|value| value.bytes().all(|b| b.is_ascii_graphic()))
        .map(Some)
        .ok_or_else(|| bad_request(format!("{name} is not visible ASCII")))
}

/// `scheme://host[:port]/path?query` (or an origin-form target) split into the authority and
/// the request target, the target kept byte for byte (a URL parser would resolve `..`).
fn split_url(url: &str) -> Result<(Option<&str>, &str), AppError> {
    if url.starts_with('/') {
        return Ok((None, url));
    }
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| {
            url.get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .and_then(|_| url.get(scheme.len()..))
        })
        .ok_or_else(|| bad_request(format!("X-Original-URL `{url}` is not an http(s) URL")))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at_checked(end).unwrap_or((rest, ""));
    if authority.is_empty() || authority.contains('@') {
        return Err(bad_request(format!(
            "X-Original-URL `{url}` has no plain host"
        )));
    }
    match target {
        "" => Ok((Some(authority), "/")),
        target if target.starts_with('/') => Ok((Some(authority), target)),
        _ => Err(bad_request(format!(
            "X-Original-URL `{url}` has no path after its host"
        ))),
    }
}

fn bad_request(message: String) -> AppError {
    AppError::BadRequest(format!("forward auth: {message}"))
}

#[cfg(test)]
mod tests;
