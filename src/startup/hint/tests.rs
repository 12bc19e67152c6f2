//! The start-up line names the address browsers use and what the sign-in page offers.

use super::sign_in_hint;
use crate::config::Config;
use crate::state::AppState;

const SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn hint(source: &str) -> String {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/providers.toml");
    let config = Config::parse(source, file, &|_| None).unwrap();
    sign_in_hint(&AppState::new(config).unwrap())
}

/// The dev provider's button label, whatever the pages call it by default.
fn dev_name() -> String {
    Config::parse(
        &config(LOOPBACK, DEV, PROTECTED_ROOT),
        "providers.toml",
        &|_| None,
    )
    .unwrap()
    .providers[0]
        .name
        .clone()
}

/// A configuration with `server` lines, `providers` blocks and `upstreams` blocks.
fn config(server: &str, providers: &str, upstreams: &str) -> String {
    format!(
        "[server]\n{server}\n\n[session]\nsecret = \"{SECRET}\"\n\n{providers}\n\
         [authorize]\nemail_domains = [\"example.com\"]\n\n{upstreams}\n"
    )
}

const LOOPBACK: &str = "listen = \"127.0.0.1:4180\"\npublic_url = \"http://127.0.0.1:4180\"";
const DEV: &str = "[[provider]]\nid = \"dev\"\nkind = \"dev\"\n";
const PROTECTED_ROOT: &str = "[[upstream]]\npath = \"/\"\nurl = \"builtin:echo\"\n";

#[tokio::test]
async fn the_shipped_configuration_says_to_open_the_root_and_choose_the_dev_provider() {
    let shipped = include_str!("../../../providers.toml");

    assert_eq!(
        hint(shipped),
        format!("open http://127.0.0.1:4180/ and choose {}", dev_name())
    );
}

#[tokio::test]
async fn a_public_root_sends_the_newcomer_to_the_sign_in_page_itself() {
    let public_root = "[[upstream]]\npath = \"/\"\nurl = \"builtin:echo\"\npublic = true\n\
                       [[upstream]]\npath = \"/admin\"\nurl = \"builtin:echo\"\n";
    let skipped_root = "[[upstream]]\npath = \"/\"\nurl = \"builtin:echo\"\n\
                        skip_auth = [{ methods = [\"GET\"], path = \"^/$\" }]\n";
    let elsewhere = "[[upstream]]\nhost = \"app.example.com\"\npath = \"/\"\n\
                     url = \"builtin:echo\"\n";

    for upstreams in [public_root, skipped_root, elsewhere] {
        assert_eq!(
            hint(&config(LOOPBACK, DEV, upstreams)),
            format!(
                "open http://127.0.0.1:4180/oauth2/sign_in and choose {}",
                dev_name()
            ),
            "{upstreams}"
        );
    }
}

#[tokio::test]
async fn the_address_is_public_url_and_every_choice_of_the_sign_in_page_is_named() {
    let server = "listen = \"127.0.0.1:4180\"\npublic_url = \"https://auth.example.com\"";
    let users = concat!(env!("CARGO_MANIFEST_DIR"), "/users.example.toml");
    let providers = format!(
        "[[provider]]\nid = \"sso\"\nkind = \"oidc\"\nname = \"Example SSO\"\n\
         issuer = \"https://idp.example.com\"\nclient_id = \"gateway\"\n\
         client_secret = \"a client secret\"\n\n\
         [[provider]]\nid = \"staff\"\nkind = \"local\"\nname = \"Staff\"\n\
         users_file = \"{users}\"\n"
    );

    assert_eq!(
        hint(&config(server, &providers, PROTECTED_ROOT)),
        "open https://auth.example.com/ and choose one of: Example SSO, \
         Staff (username and password)"
    );
}

#[tokio::test]
async fn with_auto_redirect_the_root_goes_straight_to_the_only_provider() {
    let server = format!("{LOOPBACK}\nauto_redirect = true");

    assert_eq!(
        hint(&config(&server, DEV, PROTECTED_ROOT)),
        format!("open http://127.0.0.1:4180/ to sign in with {}", dev_name())
    );
}

#[tokio::test]
async fn an_http_public_url_in_front_of_server_tls_is_called_out() {
    let dir = std::env::temp_dir().join(format!("portcullis-hint-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let tls = format!(
        "tls = {{ cert = \"{}\", key = \"{}\" }}",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    let https = LOOPBACK.replace("http://", "https://");

    let plain = hint(&config(&format!("{LOOPBACK}\n{tls}"), DEV, PROTECTED_ROOT));
    let secure = hint(&config(&format!("{https}\n{tls}"), DEV, PROTECTED_ROOT));
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(
        plain,
        format!(
            "open http://127.0.0.1:4180/ and choose {}; but server.tls is set, so \
             127.0.0.1:4180 speaks https only and that http:// address fails: write public_url \
             as https://",
            dev_name()
        )
    );
    assert_eq!(
        secure,
        format!("open https://127.0.0.1:4180/ and choose {}", dev_name())
    );
}
