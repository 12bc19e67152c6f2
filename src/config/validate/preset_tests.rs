//! `[[provider]]` kinds beyond `oidc` and `dev`: what each fills in, and every mistake named
//! with its key, line and column.

use crate::config::{ClaimMapping, Config, ConfigErrors, OAuth2Api, ProviderKind, ProviderPreset};

/// Line 8 is `[[provider]]`; the block goes from line 9 on.
fn file(block: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:4180\"\npublic_url = \"https://auth.example.com\"\n\n\
         [session]\nsecret = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"\n\n\
         [[provider]]\n{block}\nclient_id = \"cid\"\nclient_secret = \"s3cret\"\n\n\
         [authorize]\nemail_domains = [\"example.com\"]\n\n[[upstream]]\npath = \"/\"\n\
         url = \"http://127.0.0.1:8080\"\n"
    )
}

fn parse(block: &str) -> Result<Config, ConfigErrors> {
    Config::parse(&file(block), "providers.toml", &|_| None)
}

#[test]
fn each_kind_needs_at_most_one_key_and_fills_in_the_rest() {
    let google = parse("id = \"g\"\nkind = \"google\"").unwrap();
    let g = &google.providers[0];
    assert_eq!(g.kind, ProviderKind::Google);
    assert_eq!(g.name, "Google");
    assert_eq!(g.issuer(), Some("https://accounts.google.com"));
    assert_eq!(g.scopes, ["openid", "email", "profile"]);
    assert_eq!(
        g.preset(),
        Some(&ProviderPreset::Google {
            hosted_domain: None
        })
    );

    let hd = parse("id = \"g\"\nkind = \"google\"\nhosted_domain = \"Example.COM\"").unwrap();
    assert_eq!(
        hd.providers[0].preset(),
        Some(&ProviderPreset::Google {
            hosted_domain: Some("example.com".into())
        })
    );

    let gitlab = parse("id = \"gl\"\nkind = \"gitlab\"").unwrap();
    assert_eq!(gitlab.providers[0].issuer(), Some("https://gitlab.com"));
    let gitlab =
        parse("id = \"gl\"\nkind = \"gitlab\"\nbase_url = \"https://git.example.com/\"").unwrap();
    assert_eq!(
        gitlab.providers[0].issuer(),
        Some("https://git.example.com")
    );

    let ms = parse(
        "id = \"ms\"\nkind = \"microsoft\"\ntenant = \"72F988BF-86F1-41AF-91AB-2D7CD011DB47\"",
    )
    .unwrap();
    assert_eq!(
        ms.providers[0].issuer(),
        Some("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")
    );
    let multi = parse(
        "id = \"ms\"\nkind = \"microsoft\"\ntenant = \"organizations\"\n\
         tenants = [\"72f988bf-86f1-41af-91ab-2d7cd011db47\"]",
    )
    .unwrap();
    assert_eq!(
        multi.providers[0].preset(),
        Some(&ProviderPreset::Microsoft {
            tenant: "organizations".into(),
            tenants: vec!["72f988bf-86f1-41af-91ab-2d7cd011db47".into()],
        })
    );

    let kc = parse(
        "id = \"kc\"\nkind = \"keycloak\"\nrealm_url = \"https://sso.example.com/realms/staff\"",
    )
    .unwrap();
    assert_eq!(
        kc.providers[0].issuer(),
        Some("https://sso.example.com/realms/staff")
    );
    assert_eq!(kc.providers[0].preset(), Some(&ProviderPreset::Keycloak));

    let gh =
        parse("id = \"gh\"\nkind = \"github\"\norgs = [\"Acme\"]\nteams = [\"acme/Platform\"]")
            .unwrap();
    let Some(OAuth2Api::Github(github)) = gh.providers[0].oauth2_api() else {
        panic!("not github: {:?}", gh.providers[0].protocol)
    };
    assert_eq!(github.base_url.as_str(), "https://github.com/");
    assert_eq!(github.orgs, ["acme"]);
    assert_eq!(github.teams, ["acme/platform"]);
    assert_eq!(
        github.membership_refresh,
        std::time::Duration::from_secs(3600),
        "memberships are read again every hour by default"
    );
    assert_eq!(
        gh.providers[0].scopes,
        ["read:user", "user:email", "read:org"]
    );
    assert_eq!(gh.providers[0].issuer(), None);

    let gh = parse("id = \"gh\"\nkind = \"github\"\nmembership_refresh = \"15m\"").unwrap();
    let Some(OAuth2Api::Github(github)) = gh.providers[0].oauth2_api() else {
        panic!("not github: {:?}", gh.providers[0].protocol)
    };
    assert_eq!(
        github.membership_refresh,
        std::time::Duration::from_secs(15 * 60)
    );

    let oauth = parse(
        "id = \"corp\"\nkind = \"oauth2\"\nauth_url = \"https://id.example.com/authorize\"\n\
         token_url = \"https://id.example.com/token\"\nuserinfo_url = \"https://id.example.com/me\"\n\
         scopes = [\"profile\"]\nclaims = { id = \"/id\", username = \"/login\" }",
    )
    .unwrap();
    let Some(OAuth2Api::Generic(generic)) = oauth.providers[0].oauth2_api() else {
        panic!("not oauth2")
    };
    assert_eq!(generic.userinfo_url.as_str(), "https://id.example.com/me");
    assert_eq!(
        generic.claims,
        ClaimMapping {
            id: "/id".into(),
            username: "/login".into(),
            ..ClaimMapping::default()
        }
    );
    assert_eq!(
        oauth.providers[0].scopes,
        ["profile"],
        "no openid for plain OAuth 2.0"
    );
}

#[test]
fn preset_mistakes_name_key_line_and_column() {
    // (block, key, line, column, fragment)
    let cases: &[(&str, &str, usize, usize, &str)] = &[
        ("id = \"g\"\nkind = \"google\"\ntenant = \"common\"", "provider[0].tenant", 11, 10, "does not apply to kind \"google\""),
        ("id = \"g\"\nkind = \"google\"\nhosted_domain = \"not a domain\"", "provider[0].hosted_domain", 11, 17, "not a domain name"),
        ("id = \"g\"\nkind = \"google\"\nissuer = \"http://accounts.example.com\"", "provider[0].issuer", 11, 10, "https://"),
        ("id = \"ms\"\nkind = \"microsoft\"", "provider[0].tenant", 8, 1, "`tenant` is required"),
        ("id = \"ms\"\nkind = \"microsoft\"\ntenant = \"contoso.onmicrosoft.com\"", "provider[0].tenant", 11, 10, "Directory (tenant) ID"),
        ("id = \"ms\"\nkind = \"microsoft\"\ntenant = \"common\"\ntenants = [\"contoso\"]", "provider[0].tenants[0]", 12, 12, "not a Directory"),
        ("id = \"kc\"\nkind = \"keycloak\"", "provider[0].realm_url", 8, 1, "`realm_url` is required"),
        ("id = \"gh\"\nkind = \"github\"\nteams = [\"platform\"]", "provider[0].teams[0]", 11, 10, "org/team-slug"),
        ("id = \"gh\"\nkind = \"github\"\nissuer = \"https://github.com\"", "provider[0].issuer", 11, 10, "does not apply"),
        ("id = \"gh\"\nkind = \"github\"\nbearer = { audiences = [\"x\"] }", "provider[0].bearer", 8, 1, "OpenID Connect"),
        ("id = \"gh\"\nkind = \"github\"\nmembership_refresh = \"500ms\"", "provider[0].membership_refresh", 11, 22, "at most once a second"),
        ("id = \"gh\"\nkind = \"github\"\nmembership_refresh = \"0s\"", "provider[0].membership_refresh", 11, 22, "longer than zero"),
        ("id = \"gh\"\nkind = \"github\"\nmembership_refresh = \"hourly\"", "provider[0].membership_refresh", 11, 22, "not a duration"),
        ("id = \"gl\"\nkind = \"gitlab\"\nmembership_refresh = \"15m\"", "provider[0].membership_refresh", 11, 22, "does not apply to kind \"gitlab\" (only to \"github\")"),
        ("id = \"o\"\nkind = \"oauth2\"\nauth_url = \"https://a.example/x\"\ntoken_url = \"https://a.example/t\"\nuserinfo_url = \"https://a.example/u\"\nmembership_refresh = \"15m\"", "provider[0].membership_refresh", 14, 22, "does not apply to kind \"oauth2\""),
        ("id = \"o\"\nkind = \"oauth2\"\nauth_url = \"https://a.example/x\"\ntoken_url = \"https://a.example/t\"", "provider[0].userinfo_url", 8, 1, "`userinfo_url` is required"),
        ("id = \"o\"\nkind = \"oauth2\"\nauth_url = \"https://a.example/x\"\ntoken_url = \"https://a.example/t\"\nuserinfo_url = \"https://a.example/u\"\nclaims = { id = \"id\" }", "provider[0].claims.id", 14, 17, "JSON pointer"),
        ("id = \"o\"\nkind = \"keycloak\"\nrealm_url = \"https://k.example/realms/a\"\nclaims = { id = \"/id\" }", "provider[0].claims", 8, 1, "oauth2"),
        ("id = \"o\"\nkind = \"okta\"", "provider[0].kind", 10, 8, "\"github\""),
    ];
    for (block, key, line, column, fragment) in cases {
        let errors = parse(block).expect_err(block).0;
        let found = errors.iter().find(|e| e.key == *key);
        let Some(error) = found else {
            panic!("{block}: no problem at {key}: {errors:#?}");
        };
        assert_eq!(
            (error.line, error.column),
            (*line, *column),
            "{block}: {error:?}"
        );
        assert!(
            error.message.contains(fragment),
            "{block}: {}",
            error.message
        );
    }
}

#[test]
fn unknown_keys_in_the_claim_mapping_are_refused() {
    let errors = parse(
        "id = \"o\"\nkind = \"oauth2\"\nauth_url = \"https://a.example/x\"\ntoken_url = \"https://a.example/t\"\n\
         userinfo_url = \"https://a.example/u\"\nclaims = { login = \"/login\" }",
    )
    .expect_err("unknown key");
    assert!(
        errors.0.iter().any(|e| e.key.contains("claims.login")),
        "{errors:#?}"
    );
}
