//! The original request a proxy asks about, from its forwarding headers: believed only from
//! trusted peers, and refused when it could be the client's own description.

use axum::extract::Request;
use axum::http::{HeaderMap, Method};

use crate::error::AppError;
use crate::proxy::route::{normalize_host, request_host};

/// The request the proxy asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalRequest {
    pub method: Method,
    /// As the client sent it (any case, possibly with a port); `None` when unknown.
    pub host: Option<String>,
    /// Origin-form request target (path and optional query), exactly as received: never
    /// normalised here, so the route table sees `..` and `%2e%2e` and refuses them.
    pub uri: String,
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
    pub fn from_request(request: &Request, trusted: bool) -> Result<OriginalRequest, AppError> {
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
        let nginx = match single(headers, X_ORIGINAL_URL)? {
            Some(url) => {
                let (host, uri) = split_url(url)?;
                let method = single(headers, X_ORIGINAL_METHOD)?;
                Some(Description {
                    source: X_ORIGINAL_URL,
                    host,
                    uri,
                    method,
                })
            }
            None => None,
        };
        let traefik = match single(headers, X_FORWARDED_URI)? {
            Some(uri) => Some(Description {
                source: X_FORWARDED_URI,
                host: single(headers, X_FORWARDED_HOST)?,
                uri,
                method: single(headers, X_FORWARDED_METHOD)?,
            }),
            None => None,
        };
        match (nginx, traefik) {
            (None, None) => Ok(own),
            (Some(one), None) | (None, Some(one)) => one.read(own.host),
            (Some(nginx), Some(traefik)) => {
                let methods = (nginx.method, traefik.method);
                let nginx = nginx.read(own.host.clone())?;
                let traefik = traefik.read(own.host)?;
                let same_host = nginx.host.as_deref().map(normalize_host)
                    == traefik.host.as_deref().map(normalize_host);
                if nginx.uri != traefik.uri || !same_host {
                    return Err(bad_request(format!(
                        "{X_ORIGINAL_URL} and {X_FORWARDED_URI} describe different requests \
                         ({:?} {:?} and {:?} {:?}); the proxy must send one and remove the \
                         other",
                        nginx.host, nginx.uri, traefik.host, traefik.uri
                    )));
                }
                let method = match methods {
                    (Some(_), Some(_)) if nginx.method != traefik.method => {
                        return Err(bad_request(format!(
                            "{X_ORIGINAL_METHOD} and {X_FORWARDED_METHOD} name different \
                             methods ({} and {})",
                            nginx.method, traefik.method
                        )))
                    }
                    (Some(_), Some(_)) => nginx.method,
                    _ => unspecified_method(),
                };
                Ok(OriginalRequest { method, ..nginx })
            }
        }
    }
}

impl Description<'_> {
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
pub fn unspecified_method() -> Method {
    Method::from_bytes(b"UNSPECIFIED").unwrap_or(Method::CONNECT)
}

/// The one value of `name`; `None` when absent; 400 when repeated or not visible ASCII.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AppError> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.contains_key(name) {
            true => Err(bad_request(format!("{name} is given more than once"))),
            false => Ok(None),
        };
    };
    value
        .to_str()
        .map(|value| Some(value.trim()))
        .map_err(|_| bad_request(format!("{name} is not visible ASCII")))
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
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri("/oauth2/auth");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    fn original(method: &str, host: &str, uri: &str) -> OriginalRequest {
        OriginalRequest {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            host: Some(host.to_owned()),
            uri: uri.to_owned(),
        }
    }

    type Headers<'a> = &'a [(&'a str, &'a str)];

    /// Every way of naming the original request, each heard from a trusted and from an
    /// untrusted peer (asked with `GET`, as nginx, Traefik and Caddy ask).
    #[test]
    fn forwarding_headers_count_only_from_trusted_peers() {
        let own = original("GET", "gate.test", "/");
        let cases: &[(Headers, OriginalRequest)] = &[
            (&[("host", "gate.test")], own.clone()),
            (
                &[
                    ("host", "gate.test"),
                    ("x-forwarded-method", "POST"),
                    ("x-forwarded-host", "app.example.com"),
                    ("x-forwarded-uri", "/admin/x?y=1"),
                    ("x-original-method", "GET"),
                ],
                original("POST", "app.example.com", "/admin/x?y=1"),
            ),
            (
                &[("host", "gate.test"), ("x-forwarded-uri", "/admin")],
                original("UNSPECIFIED", "gate.test", "/admin"),
            ),
            (
                &[
                    ("host", "gate.test"),
                    (
                        "x-original-url",
                        "https://App.example.com:8443/public/../admin?q",
                    ),
                    ("x-original-method", "DELETE"),
                    ("x-forwarded-host", "ignored.test"),
                    ("x-forwarded-method", "GET"),
                ],
                original("DELETE", "App.example.com:8443", "/public/../admin?q"),
            ),
            (
                &[
                    ("host", "gate.test"),
                    ("x-original-url", "http://app.example.com"),
                ],
                original("UNSPECIFIED", "app.example.com", "/"),
            ),
            (
                &[
                    ("host", "gate.test"),
                    ("x-original-url", "/admin"),
                    ("x-original-method", "PUT"),
                ],
                original("PUT", "gate.test", "/admin"),
            ),
            (
                &[
                    ("host", "gate.test"),
                    ("x-forwarded-host", "app.example.com"),
                    ("x-forwarded-method", "POST"),
                    ("x-original-method", "POST"),
                ],
                own.clone(),
            ),
        ];
        for (headers, from_trusted) in cases {
            let got = OriginalRequest::from_request(&request("GET", headers), true).unwrap();
            assert_eq!(&got, from_trusted, "trusted {headers:?}");
            let got = OriginalRequest::from_request(&request("GET", headers), false);
            if describes(headers) {
                assert!(
                    matches!(got, Err(AppError::UntrustedProxy(_))),
                    "untrusted {headers:?}: {got:?}"
                );
            } else {
                assert_eq!(got.unwrap(), own, "untrusted {headers:?}");
            }
        }
    }

    fn describes(headers: Headers) -> bool {
        headers
            .iter()
            .any(|(name, _)| ["x-original-url", "x-forwarded-uri"].contains(name))
    }

    /// Both forms at once, describing the same request: the same target byte for byte, the
    /// same host (the request's own `Host` where a form names none); a method only when
    /// both name the same one.
    #[test]
    fn both_descriptions_are_read_when_they_agree() {
        let cases: &[(Headers, OriginalRequest)] = &[
            (
                &[("x-original-url", "/a?b"), ("x-forwarded-uri", "/a?b")],
                original("UNSPECIFIED", "gate.test", "/a?b"),
            ),
            (
                &[
                    ("x-original-url", "https://App.example.com:8443/a"),
                    ("x-original-method", "POST"),
                    ("x-forwarded-uri", "/a"),
                    ("x-forwarded-host", "app.example.com"),
                    ("x-forwarded-method", "POST"),
                ],
                original("POST", "App.example.com:8443", "/a"),
            ),
            (
                &[
                    ("x-original-url", "http://gate.test/a"),
                    ("x-original-method", "GET"),
                    ("x-forwarded-uri", "/a"),
                ],
                original("UNSPECIFIED", "gate.test", "/a"),
            ),
        ];
        for (headers, expected) in cases {
            let headers = &[&[("host", "gate.test")], *headers].concat();
            let got = OriginalRequest::from_request(&request("GET", headers), true);
            assert_eq!(&got.unwrap(), expected, "{headers:?}");
        }
    }

    #[test]
    fn ambiguous_or_malformed_forwarding_headers_are_refused_from_trusted_peers() {
        let cases: &[Headers] = &[
            &[("x-forwarded-uri", "/a"), ("x-forwarded-uri", "/b")],
            &[
                ("x-forwarded-uri", "/a"),
                ("x-forwarded-host", "a.test"),
                ("x-forwarded-host", "b.test"),
            ],
            &[("x-original-url", "/a"), ("x-forwarded-uri", "/a/")],
            &[("x-original-url", "/a"), ("x-forwarded-uri", "/A")],
            &[
                ("x-original-url", "http://a.test/a"),
                ("x-forwarded-uri", "/a"),
            ],
            &[
                ("x-original-url", "/a"),
                ("x-original-method", "GET"),
                ("x-forwarded-uri", "/a"),
                ("x-forwarded-method", "POST"),
            ],
            &[("x-forwarded-uri", "/a"), ("x-forwarded-host", "a.test,b")],
            &[("x-forwarded-uri", "/a"), ("x-forwarded-host", "b;a.test")],
            &[("x-original-url", "https://a.test,b/")],
            &[
                ("x-original-url", "https://app.example.com/admin"),
                ("x-forwarded-uri", "/public"),
            ],
            &[("x-forwarded-uri", "admin")],
            &[("x-forwarded-uri", "https://evil.test/admin")],
            &[("x-forwarded-uri", "/"), ("x-forwarded-method", "G E T")],
            &[("x-original-url", "ftp://app.example.com/")],
            &[("x-original-url", "https://user@evil.test/")],
            &[("x-original-url", "https:///admin")],
            &[("x-original-url", "https://app.example.com?x")],
            &[("x-original-url", "app.example.com/admin")],
        ];
        for headers in cases {
            let headers = &[&[("host", "gate.test")], *headers].concat();
            let result = OriginalRequest::from_request(&request("GET", headers), true);
            assert!(
                matches!(result, Err(AppError::BadRequest(_))),
                "{headers:?}: {result:?}"
            );
            let untrusted = OriginalRequest::from_request(&request("GET", headers), false);
            assert!(
                matches!(untrusted, Err(AppError::UntrustedProxy(_))),
                "untrusted {headers:?}: {untrusted:?}"
            );
        }
    }

    #[test]
    fn the_auth_requests_own_method_counts_only_without_a_description() {
        let got = OriginalRequest::from_request(&request("HEAD", &[("host", "h")]), false);
        assert_eq!(got.unwrap(), original("HEAD", "h", "/"));
        let got = OriginalRequest::from_request(&request("HEAD", &[("host", "h")]), true);
        assert_eq!(got.unwrap(), original("HEAD", "h", "/"));
        let described = request("POST", &[("host", "h"), ("x-forwarded-uri", "/x")]);
        let got = OriginalRequest::from_request(&described, true).unwrap();
        assert_eq!(got.method, unspecified_method());
    }
}
