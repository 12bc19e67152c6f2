//! The JOSE header of the gateway's access tokens (RFC 7515 §4.1, RFC 9068 §2.1), read
//! before any key is touched: nothing but what the gateway itself writes is accepted.

use serde_json::Value;

use super::errors::InvalidToken;

/// The only signature algorithm of the gateway's tokens. `none`, the HMAC family (an HMAC
/// keyed with the published public key must not verify, DESIGN §5) and every other
/// algorithm are refused by name, before a key is chosen.
pub(super) const ALGORITHM: &str = "EdDSA";
/// RFC 9068 §2.1: access tokens say `at+jwt`; `application/at+jwt` is the same media type
/// (RFC 7515 §4.1.9).
pub(super) const TYPE: &str = "at+jwt";

/// The header's `kid`, when `alg` is exactly [`ALGORITHM`], `typ` is [`TYPE`] (case aside,
/// `application/` optional) and there is no `crit` (RFC 7515 §4.1.11: the gateway uses no
/// extension, so none can be understood).
pub(super) fn key_id(header: &Value) -> Result<&str, InvalidToken> {
    if header.get("alg").and_then(Value::as_str) != Some(ALGORITHM) {
        return Err(InvalidToken::Algorithm);
    }
    let typ = header
        .get("typ")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .ok_or(InvalidToken::Type)?;
    if typ.strip_prefix("application/").unwrap_or(&typ) != TYPE {
        return Err(InvalidToken::Type);
    }
    if header.get("crit").is_some() {
        return Err(InvalidToken::Critical);
    }
    header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(InvalidToken::MissingKeyId)
}
