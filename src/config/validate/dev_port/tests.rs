use crate::config::Config;

fn config(listen: &str, public_url: &str, kind: &str) -> String {
    let provider = match kind {
        "dev" => "id = \"dev\"\nkind = \"dev\"".to_owned(),
        _ => "id = \"corp\"\nkind = \"oidc\"\nissuer = \"https://sso.example.com\"\n\
              client_id = \"c\"\nclient_secret = \"s\""
            .to_owned(),
    };
    format!(
        "[server]\nlisten = \"{listen}\"\npublic_url = \"{public_url}\"\n\n\
         [session]\nsecret = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"\n\n\
         [[provider]]\n{provider}\n\n[authorize]\nemail_domains = [\"*\"]\n\n\
         [[upstream]]\npath = \"/\"\nurl = \"builtin:echo\"\n"
    )
}

fn problems(source: &str) -> Vec<String> {
    match Config::parse(source, "providers.toml", &|_| None) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.to_string().lines().map(str::to_owned).collect(),
    }
}

#[test]
fn a_dev_provider_on_another_loopback_port_than_listen_is_refused_naming_both() {
    for (listen, public_url) in [
        ("127.0.0.1:8080", "http://127.0.0.1:4180"),
        ("127.0.0.1:8080", "http://localhost"),
        ("[::1]:8080", "http://[::1]:4180"),
    ] {
        let problems = problems(&config(listen, public_url, "dev"));

        let problem = problems
            .iter()
            .find(|p| p.contains("server.public_url"))
            .unwrap_or_else(|| panic!("{listen} / {public_url} accepted: {problems:?}"));
        assert!(problem.contains("Change both"), "{problem}");
        assert!(
            problem.contains(&format!("listen = \"{listen}\"")),
            "{problem}"
        );
    }
}

#[test]
fn the_same_port_another_host_or_another_provider_passes() {
    for (listen, public_url, kind) in [
        ("127.0.0.1:8080", "http://127.0.0.1:8080", "dev"),
        ("127.0.0.1:80", "http://localhost", "dev"),
        ("127.0.0.1:8080", "https://auth.example.com", "dev"),
        ("127.0.0.1:8080", "http://127.0.0.1:4180", "oidc"),
    ] {
        let problems = problems(&config(listen, public_url, kind));

        assert!(
            !problems.iter().any(|p| p.contains("server.public_url")),
            "{listen} / {public_url} / {kind}: {problems:?}"
        );
    }
}
