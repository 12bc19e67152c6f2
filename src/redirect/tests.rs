use super::*;

fn allowed() -> Vec<String> {
    vec!["app.example.com".to_owned(), ".corp.example.org".to_owned()]
}

fn parse_with(raw: &str, hosts: &[&str]) -> String {
    let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    RedirectTarget::parse(Some(raw), &hosts).as_str().to_owned()
}

#[test]
fn hostile_inputs_become_root() {
    let hostile = [
        "//evil.com",
        "/\\evil.com",
        "/%5Cevil.com",
        "/%5cevil.com",
        "https://evil.com",
        "http://evil.com",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html,x",
        "vbscript:msgbox(1)",
        "/\t/evil.com",
        "/\n/evil.com",
        "/\r/evil.com",
        "/\r\n/evil.com",
        "/\u{7f}/evil.com",
        "/\u{85}/evil.com",
        "/\0/evil.com",
        "/x?next=a\r\nSet-Cookie:%20s=1",
        "/x#\t",
        "/x?a=\u{9b}",
        "/x?a=\\b",
        " //evil.com",
        "\t//evil.com",
        "\\\\evil.com",
        "\\/evil.com",
        "/x\\evil",
        "//evil.com@good",
        "https://good.example.com@evil.com",
        "https://app.example.com@evil.com",
        "https://app.example.com:x@evil.com",
        "/／evil.com",
        "／／evil.com",
        "/∕evil.com",
        "/⁄evil.com",
        "/＼evil.com",
        "/%EF%BC%8Fevil.com",
        "/%2f%2fevil.com",
        "/%2F%2Fevil.com",
        "/%2fevil.com",
        "/%252f%252fevil.com",
        "/%25252f%25252fevil.com",
        "/%255cevil.com",
        "/%09/evil.com",
        "/%0a/evil.com",
        "/%2525252525252f",
        "http:evil.com",
        "https:evil.com",
        "http:/evil.com",
        "https:\\\\evil.com",
        "///evil.com",
        "////evil.com",
        "evil.com",
        ".evil.com",
        "./evil.com",
        "../evil.com",
        "/.//evil.com",
        "/..//evil.com",
        "/a/..//evil.com",
        "/%2e%2e//evil.com",
        "/%2e//evil.com",
        "/..%2f/evil.com",
        "/.%2f%2fevil.com",
        "https://evil-example.com",
        "https://example.com.evil.org",
        "https://app.example.com.evil.org/",
        "https:///app.example.com",
        "ftp://app.example.com/",
        "https://app.example.com%2eevil.com",
        "https://[::1]/",
        "https://",
    ];
    let mut failures = Vec::new();
    for input in hostile {
        let got = RedirectTarget::parse(Some(input), &allowed());
        if got.as_str() != "/" {
            failures.push(format!("{input:?} -> {:?}", got.as_str()));
        }
    }
    assert!(hostile.len() >= 45);
    assert!(failures.is_empty(), "not refused: {failures:#?}");
}

#[test]
fn evil_example_is_not_a_subdomain_of_allowed_example() {
    for input in [
        "https://evil-example.com/",
        "https://example.com.evil.org/",
        "https://notexample.com/",
    ] {
        assert_eq!(parse_with(input, &[".example.com"]), "/", "{input}");
    }
}

#[test]
fn legitimate_local_paths_survive_unchanged() {
    for input in [
        "/",
        "/app",
        "/app/",
        "/app/page?x=1&y=%20#frag",
        "/a//b",
        "/a/../b",
        "/a/./b",
        "/evil.com",
        "/a:b",
        "/app?next=//evil.com",
        "/app?next=https://evil.com",
        "/#//evil.com",
        "/?q=%2f%2f",
        "/path%20with%20spaces",
        "/files/report%2Fq1.pdf",
        "/a@b",
        "/~user/index.html",
        "/search?q=a+b&lang=en",
    ] {
        assert_eq!(parse_with(input, &[]), input, "{input}");
    }
}

#[test]
fn local_paths_are_made_header_safe_without_changing_their_meaning() {
    assert_eq!(parse_with("/a b", &[]), "/a%20b");
    assert_eq!(parse_with("/docs/café", &[]), "/docs/caf%C3%A9");
    assert_eq!(parse_with("/x?q=\"<b>\"", &[]), "/x?q=%22%3Cb%3E%22");
    assert_eq!(parse_with("/café", &[]), "/");
}

#[test]
fn none_empty_and_oversized_become_root() {
    assert_eq!(
        RedirectTarget::parse(None, &allowed()),
        RedirectTarget::root()
    );
    assert_eq!(RedirectTarget::parse(Some(""), &allowed()).as_str(), "/");
    let long = format!("/{}", "a".repeat(MAX_LEN));
    assert_eq!(parse_with(&long, &[]), "/");
    let fits = format!("/{}", "a".repeat(MAX_LEN - 1));
    assert_eq!(parse_with(&fits, &[]), fits);
}

#[test]
fn exact_allowed_host_is_accepted() {
    assert_eq!(
        parse_with("https://app.example.com/x?y=1#z", &["app.example.com"]),
        "https://app.example.com/x?y=1#z"
    );
    assert_eq!(
        parse_with("https://other.example.com/", &["app.example.com"]),
        "/"
    );
    assert_eq!(
        parse_with("https://example.com/", &["app.example.com"]),
        "/"
    );
    assert_eq!(
        parse_with("https://sub.app.example.com/", &["app.example.com"]),
        "/"
    );
}

#[test]
fn leading_dot_allows_domain_and_subdomains() {
    let hosts = [".example.com"];
    assert_eq!(
        parse_with("https://example.com/", &hosts),
        "https://example.com/"
    );
    assert_eq!(
        parse_with("https://a.example.com/", &hosts),
        "https://a.example.com/"
    );
    assert_eq!(
        parse_with("https://a.b.example.com/p", &hosts),
        "https://a.b.example.com/p"
    );
    assert_eq!(parse_with("https://evil-example.com/", &hosts), "/");
    assert_eq!(parse_with("https://example.com.evil.org/", &hosts), "/");
}

#[test]
fn port_is_ignored_when_matching() {
    assert_eq!(
        parse_with("https://app.example.com:8443/x", &["app.example.com"]),
        "https://app.example.com:8443/x"
    );
    assert_eq!(
        parse_with("http://a.example.com:8080/", &[".example.com"]),
        "http://a.example.com:8080/"
    );
    assert_eq!(
        parse_with("https://app.example.com/", &["app.example.com:9000"]),
        "https://app.example.com/"
    );
}

#[test]
fn host_matching_ignores_case() {
    assert_eq!(
        parse_with("HTTPS://APP.Example.COM/Path", &["app.example.com"]),
        "https://app.example.com/Path"
    );
    assert_eq!(
        parse_with("https://app.example.com/", &["APP.EXAMPLE.COM"]),
        "https://app.example.com/"
    );
    assert_eq!(
        parse_with("https://X.Example.Com/", &[".EXAMPLE.com"]),
        "https://x.example.com/"
    );
}

#[test]
fn http_and_https_are_both_accepted_other_schemes_are_not() {
    let hosts = ["app.example.com"];
    assert_eq!(
        parse_with("http://app.example.com/", &hosts),
        "http://app.example.com/"
    );
    assert_eq!(
        parse_with("https://app.example.com/", &hosts),
        "https://app.example.com/"
    );
    assert_eq!(parse_with("ftp://app.example.com/", &hosts), "/");
    assert_eq!(parse_with("ws://app.example.com/", &hosts), "/");
    assert_eq!(
        parse_with("javascript://app.example.com/%0aalert(1)", &hosts),
        "/"
    );
}

#[test]
fn allowed_host_with_userinfo_is_refused() {
    let hosts = ["app.example.com", ".example.com"];
    for input in [
        "https://user@app.example.com/",
        "https://user:pass@app.example.com/",
        "https://:pass@app.example.com/",
        "https://@app.example.com/",
        "https://evil.com@app.example.com/",
        "https://app.example.com@evil.com/",
    ] {
        assert_eq!(parse_with(input, &hosts), "/", "{input}");
    }
}

#[test]
fn absolute_urls_with_tricks_on_allowed_hosts_are_refused() {
    let hosts = ["app.example.com"];
    for input in [
        "https://app.example.com\\@evil.com/",
        "https://app.example.com\t/",
        "https://app.example.com\n.evil.com/",
        "https://app.example.com /",
        "https://app.ｅxample.com/",
        "https:/app.example.com/",
        "https:app.example.com/",
        "https:///app.example.com/",
    ] {
        assert_eq!(parse_with(input, &hosts), "/", "{input:?}");
    }
}

#[test]
fn no_allowed_hosts_means_no_absolute_urls() {
    assert_eq!(parse_with("https://app.example.com/", &[]), "/");
    assert_eq!(parse_with("https://app.example.com/", &["", ".", " "]), "/");
}

#[test]
fn result_is_always_visible_ascii() {
    for input in ["/x/ü?ä#ö", "/a b", "https://app.example.com/ü"] {
        let got = parse_with(input, &["app.example.com"]);
        assert!(
            got.chars().all(|c| c.is_ascii_graphic()),
            "{input} -> {got}"
        );
    }
}

/// The routing checks read IIS's `%uXXXX` escapes and `rd` did not: a server that decodes the
/// value once more, the IIS way, would read `/%u002f%u002fevil.com` as `//evil.com`.
#[test]
fn iis_escapes_are_checked_like_percent_escapes() {
    for input in [
        "/%u002f%u002fevil.com",
        "/%U002F%U002Fevil.com",
        "/%u005cevil.com",
        "/%u002fevil.com",
        "/%u002e%u002e//evil.com",
        "/%u0025u002f%u0025u002fevil.com",
        "/%uff0fevil.com",
        "/%u0009/evil.com",
    ] {
        assert_eq!(parse_with(input, &[]), "/", "{input}");
    }
    assert_eq!(parse_with("/app/%u0041", &[]), "/app/%u0041");
    assert_eq!(parse_with("/app/%u00zz", &[]), "/app/%u00zz");
}

/// The `skip_auth` path refuses malformed escapes and `rd` keeps them: an `rd` path is checked
/// at every decoding layer, so what a malformed escape turns into is checked too.
#[test]
fn malformed_escapes_are_kept_and_what_they_decode_to_is_still_checked() {
    for input in ["/100%", "/a%zz/b", "/a%4", "/%%41"] {
        assert_eq!(parse_with(input, &[]), input, "{input}");
    }
    assert_eq!(parse_with("/%%32%66%%32%66evil.com", &[]), "/");
    assert_eq!(parse_with("/%%35%63evil.com", &[]), "/");
}

/// Found by the `redirect` fuzz target: 243 bytes of non-ASCII became more than 2048
/// once percent-encoded, so the callback, validating the `rd` from the flow cookie again,
/// sent the browser to `/` instead.
#[test]
fn what_is_returned_fits_the_limit_and_validates_to_itself() {
    let hosts = ["app.example.com"];
    for input in [
        format!("/docs/{}", "é".repeat(700)),
        format!("/docs/{}", "\u{fffd}".repeat(300)),
        format!("/x?q={}", "€".repeat(600)),
        format!("https://app.example.com/{}", "é".repeat(700)),
        format!("https://app.example.com/?{}", " ".repeat(1500)),
    ] {
        assert!(input.len() <= MAX_LEN, "{}", input.len());
        let got = parse_with(&input, &hosts);
        assert!(got.len() <= MAX_LEN, "{} bytes from {input:?}", got.len());
        assert_eq!(parse_with(&got, &hosts), got);
    }
    let fits = format!("/docs/{}", "é".repeat(300));
    assert_eq!(
        parse_with(&fits, &hosts),
        format!("/docs/{}", "%C3%A9".repeat(300))
    );
}

/// Found by the `redirect` fuzz target: `.corp.example.org` and `x..corp.example.org`
/// end in the allowed domain but are no host names (RFC 1035 §2.3.1: labels are not
/// empty), so no resolver agrees on what they name.
#[test]
fn hosts_with_empty_labels_are_refused() {
    let hosts = [".corp.example.org", "app.example.com"];
    for input in [
        "http://.corp.example.org#x",
        "https://.corp.example.org/",
        "https://x..corp.example.org/",
        "https://z-0..corp.example.org//....http://evil.com",
        "https://a.b..c.corp.example.org/",
        "https://..corp.example.org/",
    ] {
        assert_eq!(parse_with(input, &hosts), "/", "{input}");
    }
}
