//! Header rewrite: a signed-in browser's navigation to the app under `/app` (nineteen fields,
//! the session cookie among others, and two identity headers a client forged), rewritten for
//! its upstream with the session's identity.

use axum::body::Body;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

use super::gateway::{self, Gateway, PUBLIC_HOST};
use super::routing::PREFIX_HIT;
use super::session::{alice, browser_cookies};
use crate::config::UpstreamConfig;
use crate::identity::header_values::HeaderValues;
use crate::identity::Identity;
use crate::proxy::{prepare_request, ForwardContext, IdentityHeaders};

/// The fields of the request besides its `Cookie`, as a desktop Chrome sends them, and the
/// two a client forged.
const FIELDS: [(&str, &str); 17] = [
    ("host", PUBLIC_HOST),
    ("connection", "keep-alive"),
    ("cache-control", "max-age=0"),
    ("sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", "\"Linux\""),
    ("upgrade-insecure-requests", "1"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
    ("sec-fetch-site", "same-origin"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-user", "?1"),
    ("sec-fetch-dest", "document"),
    ("referer", "https://gateway.example.com/app/projects/42"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("x-forwarded-user", "admin"),
    ("X_Auth_Request_Email", "admin@example.com"),
];

/// The request, the route it matched and the session's identity.
pub struct HeaderRewrite {
    upstream: UpstreamConfig,
    cookie_name: String,
    /// The public URL's scheme, sent as `X-Forwarded-Proto`.
    proto: String,
    identity: Identity,
    /// Its header values, made once, as the opened-session cache keeps them.
    values: HeaderValues,
    access_token: String,
    id_token: String,
    uri: Uri,
    headers: HeaderMap,
}

impl HeaderRewrite {
    pub fn new() -> anyhow::Result<HeaderRewrite> {
        let gateway = Gateway::discovered()?;
        let state = &gateway.state;
        let upstream = state
            .routes
            .route(Some(PREFIX_HIT.host), PREFIX_HIT.path)
            .ok_or_else(|| anyhow::anyhow!("no route for the rewritten request"))?
            .clone();
        let mut headers = HeaderMap::new();
        for (name, value) in FIELDS {
            headers.append(
                HeaderName::from_bytes(name.as_bytes())?,
                HeaderValue::from_str(value)?,
            );
        }
        headers.append(http::header::COOKIE, browser_cookies(&gateway)?);
        headers.append(
            http::header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.9"),
        );
        Ok(HeaderRewrite {
            upstream,
            cookie_name: state.cookies.name.clone(),
            proto: state.config.server.public_url.scheme().to_owned(),
            values: HeaderValues::new(&alice()),
            identity: alice(),
            access_token: "SlAV32hkKG2MAZdXnUqv0Iq4TWPcRzcXwjGgFIlyrcY".to_owned(),
            id_token: gateway.sign("JWT", &serde_json::json!({ "sub": alice().user }))?,
            uri: format!("{}?tab=members", PREFIX_HIT.path).parse()?,
            headers,
        })
    }

    /// A fresh copy of the browser's request (set-up for each measurement: the rewrite
    /// consumes it).
    pub fn request(&self) -> Request<Body> {
        let mut request = Request::new(Body::empty());
        *request.method_mut() = Method::GET;
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = self.headers.clone();
        request
    }

    /// The measured part: `request` rewritten for its upstream, as the gate does for a
    /// signed-in request.
    pub fn rewrite(&self, request: Request<Body>) -> Request<Body> {
        let ctx = ForwardContext {
            host: None,
            peer: gateway::client_address(),
            proto: &self.proto,
            gateway_cookie_name: &self.cookie_name,
            identity: Some(IdentityHeaders {
                identity: &self.identity,
                values: Some(&self.values),
                access_token: Some(&self.access_token),
                id_token: Some(&self.id_token),
            }),
        };
        prepare_request(request, &self.upstream, &ctx)
    }
}
