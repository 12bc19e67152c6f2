use hkdf::hmac::{Hmac, Mac as _};
use serde_json::{json, Value};

use super::*;

const ISSUER: &str = "https://gate.example.com";
const AUDIENCE: &str = "staff";
const NOW: u64 = 1_800_000_000;
const SECRET: &[u8] = b"the current session secret, 32+ bytes";
const OLD_SECRET: &[u8] = b"the session secret before rotation";

fn keys() -> TokenKeys {
    TokenKeys::derive(SECRET, &[]).unwrap()
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: "alice".to_owned(),
        email: Some("alice@example.com".to_owned()),
        name: None,
        preferred_username: Some("alice".to_owned()),
        groups: vec!["staff".to_owned()],
        exp: NOW + 900,
        iat: NOW,
        jti: new_jti(),
        client_id: None,
        scope: None,
    }
}

fn verify(keys: &TokenKeys, token: &str) -> Result<AccessClaims, InvalidToken> {
    keys.verify(token, ISSUER, &["other-local", AUDIENCE], NOW)
}

fn encode(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

fn current_kid(keys: &TokenKeys) -> String {
    keys.verification_keys[0].kid.clone()
}

/// The header [`TokenKeys::sign`] writes, to be altered.
fn header(keys: &TokenKeys) -> Value {
    json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": current_kid(keys) })
}

/// The payload of [`claims`], to be altered.
fn payload() -> Value {
    serde_json::to_value(claims()).unwrap()
}

fn with(mut json: Value, name: &str, value: Value) -> Value {
    json[name] = value;
    json
}

fn without(mut json: Value, name: &str) -> Value {
    json.as_object_mut().unwrap().remove(name);
    json
}

/// `header` and `payload` signed with the current key of `keys`, whatever they say.
fn signed(keys: &TokenKeys, header: &Value, payload: &Value) -> String {
    keys.sign_input(format!("{}.{}", encode(header), encode(payload)))
        .unwrap()
}

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

#[test]
fn a_signed_token_verifies_to_its_claims() {
    let keys = keys();
    let claims = claims();

    let token = keys.sign(&claims).unwrap();

    assert_eq!(verify(&keys, &token).unwrap(), claims);
    let jws = crate::jwt::compact_jws(&token).unwrap();
    assert_eq!(jws.header, header(&keys));
}

#[test]
fn options_are_left_out_when_none_and_read_back_when_set() {
    let keys = keys();
    let claims = AccessClaims {
        name: Some("Alice Example".to_owned()),
        client_id: Some("cli".to_owned()),
        scope: Some("openid".to_owned()),
        ..claims()
    };

    let token = keys.sign(&claims).unwrap();
    let bare = crate::jwt::payload(&keys.sign(&self::claims()).unwrap()).unwrap();

    assert_eq!(verify(&keys, &token).unwrap(), claims);
    for absent in ["name", "client_id", "scope"] {
        assert!(bare.get(absent).is_none(), "{absent} in {bare}");
    }
}

#[test]
fn replicas_given_the_same_secret_hold_the_same_keys() {
    let (one, other) = (keys(), keys());

    let token = one.sign(&claims()).unwrap();

    assert_eq!(one.jwks(), other.jwks());
    assert!(verify(&other, &token).is_ok());
}

#[test]
fn a_token_signed_before_a_rotation_verifies_while_its_secret_is_listed() {
    let old = TokenKeys::derive(OLD_SECRET, &[]).unwrap();
    let token = old.sign(&claims()).unwrap();

    let rotated = TokenKeys::derive(SECRET, &[OLD_SECRET]).unwrap();
    let dropped = TokenKeys::derive(SECRET, &[]).unwrap();

    assert!(verify(&rotated, &token).is_ok());
    assert!(matches!(
        verify(&dropped, &token),
        Err(InvalidToken::UnknownKey)
    ));
}

#[test]
fn the_jwks_publishes_the_current_key_first_then_the_previous_ones() {
    let keys = TokenKeys::derive(SECRET, &[OLD_SECRET]).unwrap();
    let old_kid = current_kid(&TokenKeys::derive(OLD_SECRET, &[]).unwrap());
    let token = keys.sign(&claims()).unwrap();
    let signed_kid = crate::jwt::compact_jws(&token).unwrap().header["kid"].clone();

    let jwks = keys.jwks()["keys"].as_array().unwrap();

    assert_eq!(jwks.len(), 2);
    assert_eq!(jwks[0]["kid"], signed_kid);
    assert_eq!(jwks[1]["kid"], json!(old_kid));
    assert_ne!(jwks[0]["kid"], jwks[1]["kid"]);
    for jwk in jwks {
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        assert_eq!(x.len(), 32, "{jwk}");
        assert_eq!(
            without(jwk.clone(), "x"),
            json!({ "kty": "OKP", "crv": "Ed25519", "kid": jwk["kid"], "use": "sig", "alg": "EdDSA" }),
        );
    }
}

#[test]
fn a_secret_listed_twice_is_published_once() {
    let keys = TokenKeys::derive(SECRET, &[SECRET, OLD_SECRET, OLD_SECRET]).unwrap();

    assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
}

#[test]
fn the_debug_output_names_the_keys_and_holds_no_key_material() {
    let keys = keys();

    assert_eq!(
        format!("{keys:?}"),
        format!("TokenKeys {{ kids: [{:?}], .. }}", current_kid(&keys))
    );
}

#[test]
fn a_changed_claim_under_the_original_signature_is_refused() {
    let keys = keys();
    let token = parts(&keys.sign(&claims()).unwrap());
    let forged = encode(&with(payload(), "sub", json!("mallory")));

    let result = verify(&keys, &format!("{}.{forged}.{}", token[0], token[2]));

    assert!(
        matches!(result, Err(InvalidToken::Signature(_))),
        "{result:?}"
    );
}

#[test]
fn a_changed_signature_is_refused() {
    let keys = keys();
    let token = parts(&keys.sign(&claims()).unwrap());
    let mut signature = URL_SAFE_NO_PAD.decode(&token[2]).unwrap();
    signature[0] ^= 1;

    let forged = format!(
        "{}.{}.{}",
        token[0],
        token[1],
        URL_SAFE_NO_PAD.encode(signature)
    );

    let result = verify(&keys, &forged);
    assert!(
        matches!(result, Err(InvalidToken::Signature(_))),
        "{result:?}"
    );
}

#[test]
fn a_token_signed_by_another_key_under_the_gateways_kid_is_refused() {
    let keys = keys();
    let foreign = TokenKeys::derive(b"an unrelated key's secret", &[]).unwrap();

    let token = signed(&foreign, &header(&keys), &payload());

    let result = verify(&keys, &token);
    assert!(
        matches!(result, Err(InvalidToken::Signature(_))),
        "{result:?}"
    );
}

#[test]
fn an_unsigned_token_is_refused() {
    let keys = keys();
    let header = encode(&with(header(&keys), "alg", json!("none")));

    let result = verify(&keys, &format!("{header}.{}.", encode(&payload())));

    assert!(matches!(result, Err(InvalidToken::Algorithm)), "{result:?}");
}

/// The classic confusion: an HMAC keyed with the published public key.
#[test]
fn an_hmac_keyed_with_the_public_key_is_refused() {
    let keys = keys();
    let public_key = URL_SAFE_NO_PAD
        .decode(keys.jwks()["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let header = encode(&with(header(&keys), "alg", json!("HS256")));
    let signing_input = format!("{header}.{}", encode(&payload()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&public_key).unwrap();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());

    let result = verify(&keys, &format!("{signing_input}.{signature}"));

    assert!(matches!(result, Err(InvalidToken::Algorithm)), "{result:?}");
}

#[test]
fn any_alg_but_eddsa_is_refused_even_under_a_valid_signature() {
    let keys = keys();
    for alg in [json!("RS256"), json!("ES256"), json!("eddsa"), json!(null)] {
        let token = signed(&keys, &with(header(&keys), "alg", alg.clone()), &payload());

        let result = verify(&keys, &token);

        assert!(
            matches!(result, Err(InvalidToken::Algorithm)),
            "{alg}: {result:?}"
        );
    }
}

#[test]
fn the_typ_must_be_at_jwt() {
    let keys = keys();
    for header in [
        without(header(&keys), "typ"),
        with(header(&keys), "typ", json!("JWT")),
        with(header(&keys), "typ", json!("application/jwt")),
        with(header(&keys), "typ", json!(["at+jwt"])),
    ] {
        let result = verify(&keys, &signed(&keys, &header, &payload()));

        assert!(
            matches!(result, Err(InvalidToken::Type)),
            "{header}: {result:?}"
        );
    }
}

#[test]
fn the_typ_is_compared_as_a_media_type() {
    let keys = keys();
    for typ in ["application/at+jwt", "AT+JWT", "Application/At+Jwt"] {
        let header = with(header(&keys), "typ", json!(typ));

        let result = verify(&keys, &signed(&keys, &header, &payload()));

        assert!(result.is_ok(), "{typ}: {result:?}");
    }
}

#[test]
fn a_crit_header_is_refused() {
    let keys = keys();
    let header = with(header(&keys), "crit", json!(["exp"]));

    let result = verify(&keys, &signed(&keys, &header, &payload()));

    assert!(matches!(result, Err(InvalidToken::Critical)), "{result:?}");
}

#[test]
fn the_kid_must_be_a_string() {
    let keys = keys();
    for header in [
        without(header(&keys), "kid"),
        with(header(&keys), "kid", json!(1)),
    ] {
        let result = verify(&keys, &signed(&keys, &header, &payload()));

        assert!(
            matches!(result, Err(InvalidToken::MissingKeyId)),
            "{header}: {result:?}"
        );
    }
}

#[test]
fn an_unknown_kid_is_refused() {
    let keys = keys();
    let header = with(header(&keys), "kid", json!("not-a-kid"));

    let result = verify(&keys, &signed(&keys, &header, &payload()));

    assert!(
        matches!(result, Err(InvalidToken::UnknownKey)),
        "{result:?}"
    );
}

#[test]
fn a_token_expires_at_its_exp_without_leeway() {
    let keys = keys();
    let at_exp = signed(&keys, &header(&keys), &with(payload(), "exp", json!(NOW)));
    let before_exp = signed(
        &keys,
        &header(&keys),
        &with(payload(), "exp", json!(NOW + 1)),
    );

    assert!(matches!(
        verify(&keys, &at_exp),
        Err(InvalidToken::Expired { exp: NOW, now: NOW })
    ));
    assert!(verify(&keys, &before_exp).is_ok());
}

#[test]
fn a_token_issued_in_the_future_is_refused() {
    let keys = keys();
    let token = signed(
        &keys,
        &header(&keys),
        &with(payload(), "iat", json!(NOW + 1)),
    );

    let result = verify(&keys, &token);

    assert!(
        matches!(result, Err(InvalidToken::IssuedInTheFuture { .. })),
        "{result:?}"
    );
}

#[test]
fn another_audience_is_refused() {
    let keys = keys();
    let token = signed(
        &keys,
        &header(&keys),
        &with(payload(), "aud", json!("guests")),
    );

    let result = verify(&keys, &token);

    assert!(
        matches!(result, Err(InvalidToken::Audience { .. })),
        "{result:?}"
    );
}

#[test]
fn an_array_audience_is_refused_even_naming_an_accepted_one() {
    let keys = keys();
    let token = signed(
        &keys,
        &header(&keys),
        &with(payload(), "aud", json!([AUDIENCE])),
    );

    let result = verify(&keys, &token);

    assert!(
        matches!(result, Err(InvalidToken::AudienceArray)),
        "{result:?}"
    );
}

#[test]
fn another_issuer_is_refused() {
    let keys = keys();
    for iss in ["https://other.example.com", "https://gate.example.com/"] {
        let token = signed(&keys, &header(&keys), &with(payload(), "iss", json!(iss)));

        let result = verify(&keys, &token);

        assert!(
            matches!(result, Err(InvalidToken::Issuer { .. })),
            "{iss}: {result:?}"
        );
    }
}

#[test]
fn claims_of_the_wrong_type_or_missing_are_refused() {
    let keys = keys();
    for payload in [
        with(payload(), "exp", json!((NOW + 900).to_string())),
        with(payload(), "iat", json!(NOW as f64 + 0.5)),
        with(payload(), "groups", json!("staff")),
        without(payload(), "jti"),
        without(payload(), "exp"),
    ] {
        let result = verify(&keys, &signed(&keys, &header(&keys), &payload));

        assert!(
            matches!(result, Err(InvalidToken::Claims(_))),
            "{payload}: {result:?}"
        );
    }
}

#[test]
fn an_empty_sub_or_jti_is_refused() {
    let keys = keys();
    let no_sub = signed(&keys, &header(&keys), &with(payload(), "sub", json!("")));
    let no_jti = signed(&keys, &header(&keys), &with(payload(), "jti", json!("")));

    assert!(matches!(
        verify(&keys, &no_sub),
        Err(InvalidToken::EmptySubject)
    ));
    assert!(matches!(
        verify(&keys, &no_jti),
        Err(InvalidToken::EmptyTokenId)
    ));
}

#[test]
fn what_is_not_a_compact_jws_is_refused() {
    let keys = keys();
    let token = keys.sign(&claims()).unwrap();
    for token in [
        String::new(),
        "not a token".to_owned(),
        "a.b".to_owned(),
        format!("{token}.{}", parts(&token)[2]),
        format!(
            "{}.{}",
            encode(&json!("EdDSA")),
            parts(&token)[1..].join(".")
        ),
    ] {
        let result = verify(&keys, &token);

        assert!(
            matches!(result, Err(InvalidToken::Malformed)),
            "{token}: {result:?}"
        );
    }
}

#[test]
fn token_ids_are_128_random_bits() {
    let (one, other) = (new_jti(), new_jti());

    assert_eq!(URL_SAFE_NO_PAD.decode(&one).unwrap().len(), 16);
    assert_ne!(one, other);
}
