use super::*;
use crate::config::{ProviderPreset, TokenEndpointAuth};
use openidconnect::core::CoreJsonWebKeySet;
use openidconnect::{JsonWebKey as _, JsonWebKeySetUrl};
use secrecy::SecretString;

/// A discovered provider whose JWKS holds one RSA key, `kid`.
fn provider_holding(kid: &str) -> OidcProvider {
    let provider = OidcProvider::new(
        ProviderSettings {
            id: "p".into(),
            name: "P".into(),
            issuer: "https://issuer.test".into(),
            client_id: "client".into(),
            client_secret: SecretString::from("secret"),
            scopes: vec!["openid".into()],
            token_endpoint_auth: TokenEndpointAuth::ClientSecretBasic,
            redirect_uri: "https://gateway.test/oauth2/callback/p".into(),
            preset: ProviderPreset::None,
            logo: "key.svg",
            allow_unverified_email: false,
        },
        reqwest::Client::new(),
    );
    let url = |path: &str| Url::parse(&format!("https://issuer.test{path}")).unwrap();
    let jwks: CoreJsonWebKeySet = serde_json::from_value(serde_json::json!({
        "keys": [{ "kty": "RSA", "use": "sig", "kid": kid, "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB" }]
    }))
    .unwrap();
    provider.store(Discovered {
        authorization_endpoint: url("/authorize"),
        token_endpoint: url("/token"),
        userinfo_endpoint: None,
        end_session_endpoint: None,
        iss_parameter_supported: false,
        select_account_supported: false,
        jwks_uri: JsonWebKeySetUrl::from_url(url("/jwks")),
        jwks,
    });
    provider
}

#[tokio::test]
async fn a_rate_limited_refetch_answers_the_keys_another_refetch_just_stored() {
    // Another token's refetch has just run (and stored the rotated key) while this token,
    // checked against the keys from before it, waited for the lock.
    let provider = provider_holding("rotated");
    *provider.last_jwks_refetch.lock().await = Some(Instant::now());

    let keys = provider.refetch_jwks().await;

    let kids: Vec<_> = keys
        .unwrap()
        .keys()
        .iter()
        .filter_map(|key| key.key_id().map(|kid| kid.as_str().to_owned()))
        .collect();
    assert_eq!(kids, ["rotated"]);
}
