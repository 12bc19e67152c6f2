//! The one reader of a JWT's payload (RFC 7519 §3, compact JWS RFC 7515 §7.1), for bearer
//! tokens, ID tokens and claim rules alike: exactly three dot-separated parts, and a payload
//! that is base64url-encoded JSON *object*. Anything else is not a JWT. No signature is
//! checked here: callers read an unverified payload only to route a token (its `iss`), and
//! trust its claims only after the signature has been verified; [`compact_jws`] gives the
//! signature check (`providers/oidc/verify.rs`) the same reading plus the header and the
//! signature.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

/// The decoded payload of a compact JWS, when the token has exactly three parts and the
/// payload is a JSON object; `None` otherwise.
pub(crate) fn payload(token: &str) -> Option<Value> {
    let (_header, payload, _signature) = three_parts(token)?;
    json_object(payload)
}

/// What a signature check needs from a compact JWS (RFC 7515 §7.1), read as strictly as
/// [`payload`]: the header and the payload as JSON objects, the signing input
/// (`header.payload`, RFC 7515 §5.2) and the signature's bytes. No `Debug`: it holds a token.
pub(crate) struct CompactJws<'a> {
    pub(crate) header: Value,
    pub(crate) payload: Value,
    pub(crate) signing_input: &'a str,
    pub(crate) signature: Vec<u8>,
}

/// The parts of a compact JWS; `None` unless there are exactly three, the header and the
/// payload are base64url-encoded JSON objects and the signature is base64url.
pub(crate) fn compact_jws(token: &str) -> Option<CompactJws<'_>> {
    let (header, payload, signature) = three_parts(token)?;
    let signing_input = token.get(..header.len() + 1 + payload.len())?;
    Some(CompactJws {
        header: json_object(header)?,
        payload: json_object(payload)?,
        signing_input,
        signature: URL_SAFE_NO_PAD
            .decode(signature.trim_end_matches('='))
            .ok()?,
    })
}

fn three_parts(token: &str) -> Option<(&str, &str, &str)> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some((header, payload, signature))
}

fn json_object(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn a_three_part_token_with_an_object_payload_is_read() {
        let token = format!("{}.{}.sig", encode("{}"), encode(r#"{"iss":"https://i"}"#));
        assert_eq!(
            payload(&token),
            Some(serde_json::json!({ "iss": "https://i" }))
        );
    }

    /// The cases the two former readers disagreed on: the lenient one took the second part of
    /// any dot-separated string and any JSON value.
    #[test]
    fn anything_but_three_parts_and_an_object_is_not_a_jwt() {
        let claims = encode(r#"{"iss":"https://i"}"#);
        for token in [
            format!("h.{claims}"),
            format!("h.{claims}.s.extra"),
            format!("h.{claims}.s.e.t"),
            format!("h.{}.s", encode(r#""a string""#)),
            format!("h.{}.s", encode(r#"["iss"]"#)),
            format!("h.{}.s", encode("42")),
            "h.not base64!.s".to_owned(),
        ] {
            assert_eq!(payload(&token), None, "{token}");
        }
    }

    #[test]
    fn a_compact_jws_gives_its_header_payload_signing_input_and_signature() {
        let (header, claims) = (encode(r#"{"alg":"RS256"}"#), encode(r#"{"iss":"i"}"#));
        let token = format!("{header}.{claims}.{}", encode("sig"));

        let jws = compact_jws(&token).unwrap();

        assert_eq!(jws.header, serde_json::json!({ "alg": "RS256" }));
        assert_eq!(jws.payload, serde_json::json!({ "iss": "i" }));
        assert_eq!(jws.signing_input, format!("{header}.{claims}"));
        assert_eq!(jws.signature, b"sig");
    }

    #[test]
    fn a_compact_jws_needs_an_object_header_and_a_base64url_signature() {
        let claims = encode(r#"{"iss":"i"}"#);
        for token in [
            format!("{}.{claims}.{}", encode(r#""RS256""#), encode("sig")),
            format!("not base64!.{claims}.{}", encode("sig")),
            format!("{}.{claims}.not base64!", encode(r#"{"alg":"RS256"}"#)),
            format!("{}.{claims}", encode(r#"{"alg":"RS256"}"#)),
        ] {
            assert!(compact_jws(&token).is_none(), "{token}");
        }
    }
}
