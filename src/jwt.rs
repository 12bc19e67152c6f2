//! The one reader of a JWT's payload (RFC 7519 §3, compact JWS RFC 7515 §7.1), for bearer
//! tokens, ID tokens and claim rules alike: exactly three dot-separated parts, and a payload
//! that is base64url-encoded JSON *object*. Anything else is not a JWT. No signature is
//! checked here: callers read an unverified payload only to route a token (its `iss`), and
//! trust its claims only after the signature has been verified.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

/// The decoded payload of a compact JWS, when the token has exactly three parts and the
/// payload is a JSON object; `None` otherwise.
pub(crate) fn payload(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
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
}
