//! The `forward_auth` target: the original request a proxy describes to `/oauth2/auth`.

use axum::body::Body;
use axum::extract::Request;
use http::{HeaderValue, Method, Uri};

use super::outcome::{ensure, Outcome};
use crate::forward_auth::{unspecified_method, OriginalRequest};
use crate::proxy::route::request_host;

/// `OriginalRequest::from_request` of a request written as text: a first line
/// `METHOD target`, then `name: value` lines. From an untrusted peer the answer is the
/// request itself, for `/`, and a description is refused. From a trusted one, an answer is
/// an origin-form target taken byte for byte from the description given (both only when they
/// agree; none of its headers twice), with that description's method or the unspecified one.
pub fn forward_auth(data: &[u8]) -> Outcome {
    let Some(request) = request_from_text(data) else {
        return Ok(());
    };
    let own_host = request_host(request.headers(), request.uri(), request.version())
        .map(|host| host.map(str::to_owned));
    let described = ["x-original-url", "x-forwarded-uri"]
        .iter()
        .any(|name| request.headers().contains_key(*name));
    match OriginalRequest::from_request(&request, false) {
        Ok(original) => {
            let own = OriginalRequest {
                method: request.method().clone(),
                host: own_host.clone().unwrap_or_default(),
                uri: "/".to_owned(),
            };
            ensure(own_host.is_ok() && !described && original == own, || {
                format!("an untrusted peer was believed: {original:?}")
            })?;
        }
        Err(_) => ensure(own_host.is_err() || described, || {
            "an untrusted request without a description, with a good Host, was refused".to_owned()
        })?,
    }
    let Ok(original) = OriginalRequest::from_request(&request, true) else {
        return Ok(());
    };
    let headers = request.headers();
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
            .collect()
    };
    let original_url = values("x-original-url").pop();
    let forwarded_uri = values("x-forwarded-uri").pop();
    ensure(
        original.uri.starts_with('/') && original.uri.bytes().all(|b| b.is_ascii_graphic()),
        || format!("target {:?} is not origin-form visible ASCII", original.uri),
    )?;
    let single = |names: &[&str]| -> Outcome {
        for name in names {
            ensure(values(name).len() <= 1, || {
                format!("{name} twice was believed")
            })?;
        }
        Ok(())
    };
    if let (Some(url), Some(uri)) = (&original_url, &forwarded_uri) {
        // Both descriptions are believed only when they name the same request.
        return ensure(
            *uri == original.uri && (url.ends_with(original.uri.as_str()) || original.uri == "/"),
            || format!("{url:?} and {uri:?} gave {:?}", original.uri),
        );
    }
    let method_header = match (&original_url, &forwarded_uri) {
        (Some(url), None) => {
            single(&["x-original-url", "x-original-method"])?;
            ensure(
                url.ends_with(original.uri.as_str()) || original.uri == "/",
                || {
                    format!(
                        "target {:?} is not from X-Original-URL {url:?}",
                        original.uri
                    )
                },
            )?;
            values("x-original-method").pop()
        }
        (None, Some(uri)) => {
            single(&["x-forwarded-uri", "x-forwarded-host", "x-forwarded-method"])?;
            ensure(*uri == original.uri, || {
                format!("target {:?} is not X-Forwarded-Uri {uri:?}", original.uri)
            })?;
            values("x-forwarded-method").pop()
        }
        _ => {
            ensure(
                original.uri == "/" && original.method == request.method(),
                || format!("no description, yet {original:?}"),
            )?;
            return Ok(());
        }
    };
    let expected = match method_header {
        Some(method) => Method::from_bytes(method.as_bytes()).ok(),
        None => Some(unspecified_method()),
    };
    ensure(expected.as_ref() == Some(&original.method), || {
        format!("method {} is not the described one", original.method)
    })
}

/// `METHOD target\nname: value\n…` as a request; `None` when it is not one.
fn request_from_text(data: &[u8]) -> Option<Request> {
    let mut lines = data.split(|&b| b == b'\n');
    let first = lines.next()?;
    let mut words = first.splitn(2, |&b| b == b' ');
    let method = Method::from_bytes(words.next()?).ok()?;
    let target = Uri::try_from(words.next().unwrap_or(b"/oauth2/auth")).ok()?;
    let mut builder = Request::builder().method(method).uri(target);
    for line in lines {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = line.split_at(colon);
        let value = value.get(1..)?;
        let value = value.strip_prefix(b" ").unwrap_or(value);
        builder = builder.header(
            http::HeaderName::from_bytes(name).ok()?,
            HeaderValue::from_bytes(value).ok()?,
        );
    }
    builder.body(Body::empty()).ok()
}
