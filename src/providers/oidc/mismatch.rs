//! What to change, and on which side, when a provider and its `[[provider]]` disagree in a way
//! the gateway refuses on purpose (issue 15): an issuer that differs from the configured one
//! (often only by a trailing `/`, LemonLDAP::NG's default), and ID tokens signed with HMAC
//! (`HS256`/`HS384`/`HS512`, LemonLDAP::NG's default) instead of an asymmetric key.

use openidconnect::{ClaimsVerificationError, SignatureVerificationError};

/// The advice after "the discovery document's issuer `found` is not `expected`".
pub(super) fn issuer_advice(found: &str, expected: &str) -> String {
    if found.trim_end_matches('/') == expected.trim_end_matches('/') {
        format!(
            "they differ only by a trailing `/`, and issuers are compared exactly (OpenID \
             Connect Discovery 1.0 §4.3): write `issuer = \"{found}\"` in providers.toml, or \
             change the provider's own issuer setting to `{expected}`"
        )
    } else {
        format!(
            "if this is the right provider, write `issuer = \"{found}\"` in providers.toml; \
             otherwise `{expected}` reaches another server than the one meant (or the provider's \
             base URL setting is wrong there)"
        )
    }
}

/// The issuer a discovery document named and the one expected, when the OpenID library
/// refused the document for that (its message: "unexpected issuer URI `found` (expected
/// `expected`)").
pub(super) fn issuer_mismatch<E: std::error::Error>(
    err: &openidconnect::DiscoveryError<E>,
) -> Option<(String, String)> {
    let openidconnect::DiscoveryError::Validation(message) = err else {
        return None;
    };
    let rest = message.strip_prefix("unexpected issuer URI `")?;
    let (found, rest) = rest.split_once('`')?;
    let expected = rest.strip_prefix(" (expected `")?.strip_suffix("`)")?;
    Some((found.to_owned(), expected.to_owned()))
}

/// The advice for an ID token the verifier refused for its algorithm, else `None`.
pub(super) fn algorithm_advice(err: &ClaimsVerificationError) -> Option<&'static str> {
    matches!(
        err,
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::DisallowedAlg(
            _
        ))
    )
    .then_some(
        "the gateway accepts only asymmetric signatures from the provider's JWKS (RS256, \
         RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA), never HMAC (HS256, HS384, \
         HS512) or none: nothing to change in providers.toml; set the provider to sign this \
         client's ID tokens with RS256 (its `id_token_signed_response_alg`; in LemonLDAP::NG, \
         the relying party's ID token signature algorithm) and publish the key in its JWKS",
    )
}

#[cfg(test)]
mod tests;
