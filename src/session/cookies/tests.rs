use super::*;

fn settings() -> CookieSettings {
    CookieSettings {
        name: "_portcullis".into(),
        secure: true,
        lifetime: Duration::from_secs(3600),
        domain: None,
    }
}

fn request_with(cookies: &[String]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let line = cookies.join("; ");
    headers.insert(header::COOKIE, HeaderValue::from_str(&line).unwrap());
    headers
}

/// Turns Set-Cookie values into the Cookie pairs a browser would send back.
fn as_request_cookies(set: &[HeaderValue]) -> Vec<String> {
    set.iter()
        .map(|v| Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
        .filter(|c| !c.value().is_empty())
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect()
}

#[test]
fn small_session_is_one_cookie_with_safe_attributes() {
    let s = settings();
    let no_cookies = HeaderMap::new();
    let jar = CookieJar::from_headers(&s, &no_cookies);
    let set = jar.set_session("abc").unwrap();
    assert_eq!(set.len(), 1);
    let text = set[0].to_str().unwrap();
    for attr in [
        "_portcullis=abc",
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/",
        "Max-Age=3600",
    ] {
        assert!(text.contains(attr), "{text} lacks {attr}");
    }
}

#[test]
fn large_session_is_chunked_and_reassembled() {
    let s = settings();
    let value: String = "x".repeat(9000);
    let no_cookies = HeaderMap::new();
    let set = CookieJar::from_headers(&s, &no_cookies)
        .set_session(&value)
        .unwrap();
    assert_eq!(set.len(), 3);
    for v in &set {
        assert!(v.len() < 4096, "cookie too large: {}", v.len());
    }
    let headers = request_with(&as_request_cookies(&set));
    let jar = CookieJar::from_headers(&s, &headers);
    assert_eq!(jar.session_value().as_deref(), Some(value.as_str()));
}

#[test]
fn a_session_beyond_the_chunks_read_back_is_refused() {
    let s = settings();
    let no_cookies = HeaderMap::new();
    let jar = CookieJar::from_headers(&s, &no_cookies);
    assert!(jar
        .set_session(&"x".repeat(CHUNK_SIZE * MAX_CHUNKS))
        .is_ok());
    assert!(jar
        .set_session(&"x".repeat(CHUNK_SIZE * MAX_CHUNKS + 1))
        .is_err());
}

#[test]
fn shrinking_session_clears_old_chunks() {
    let s = settings();
    let headers = request_with(&["_portcullis_0=a".into(), "_portcullis_1=b".into()]);
    let set = CookieJar::from_headers(&s, &headers)
        .set_session("small")
        .unwrap();
    let texts: Vec<&str> = set.iter().map(|v| v.to_str().unwrap()).collect();
    assert!(texts.iter().any(|t| t.starts_with("_portcullis=small")));
    assert!(texts
        .iter()
        .any(|t| t.starts_with("_portcullis_0=;") && t.contains("Max-Age=0")));
    assert!(texts
        .iter()
        .any(|t| t.starts_with("_portcullis_1=;") && t.contains("Max-Age=0")));
}

#[test]
fn cookie_domain_applies_to_the_session_and_its_clearing_only() {
    let s = CookieSettings {
        domain: Some("example.com".into()),
        ..settings()
    };
    let headers = request_with(&["_portcullis_0=a".into()]);
    let jar = CookieJar::from_headers(&s, &headers);
    let texts = |set: Vec<HeaderValue>| -> Vec<String> {
        set.iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    };

    let set = texts(jar.set_session("abc").unwrap());
    assert!(set[0].starts_with("_portcullis=abc;") && set[0].contains("Domain=example.com"));
    let chunk_clears: Vec<_> = set
        .iter()
        .filter(|t| t.starts_with("_portcullis_0=;"))
        .collect();
    assert_eq!(chunk_clears.len(), 2, "{set:?}");
    assert!(chunk_clears
        .iter()
        .any(|t| t.contains("Domain=example.com")));
    assert!(chunk_clears.iter().any(|t| !t.contains("Domain=")));

    let cleared = texts(jar.clear_session());
    let plain: Vec<_> = cleared
        .iter()
        .filter(|t| t.starts_with("_portcullis=;"))
        .collect();
    assert_eq!(plain.len(), 2, "{cleared:?}");
    assert!(plain.iter().all(|t| t.contains("Max-Age=0")));
    assert!(plain.iter().any(|t| t.contains("Domain=example.com")));

    let flow = jar.build("_portcullis_flow_1", "x", "/oauth2/callback", None);
    assert!(!flow.to_str().unwrap().contains("Domain="));
}

#[test]
fn without_cookie_domain_cookies_are_host_only() {
    let s = settings();
    let no_cookies = HeaderMap::new();
    let jar = CookieJar::from_headers(&s, &no_cookies);
    for value in jar
        .set_session("abc")
        .unwrap()
        .iter()
        .chain(&jar.clear_session())
    {
        assert!(!value.to_str().unwrap().contains("Domain="), "{value:?}");
    }
}

#[test]
fn no_cookie_means_no_session() {
    let s = settings();
    let headers = request_with(&["other=1".into()]);
    assert_eq!(CookieJar::from_headers(&s, &headers).session_value(), None);
}

/// The jar reads a `Cookie` field exactly as the `cookie` crate's `split_parse` does, for
/// every field of up to six characters over the characters that matter to it, and skips a
/// field with a byte outside ASCII as `HeaderValue::to_str` does.
#[test]
fn the_jar_reads_cookies_as_the_cookie_crate_does() {
    const ALPHABET: [u8; 7] = [b'a', b'b', b'=', b';', b' ', b'\t', b'"'];
    let crate_reading = |value: &HeaderValue| -> Vec<(String, String)> {
        value
            .to_str()
            .into_iter()
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .map(|cookie| (cookie.name().to_owned(), cookie.value().to_owned()))
            .collect()
    };
    let s = settings();
    let mut checked = 0;
    for len in 0..=6u32 {
        for n in 0..ALPHABET.len().pow(len) {
            let mut rest = n;
            let field: Vec<u8> = (0..len)
                .map(|_| {
                    let byte = ALPHABET[rest % ALPHABET.len()];
                    rest /= ALPHABET.len();
                    byte
                })
                .collect();
            let Ok(value) = HeaderValue::from_bytes(&field) else {
                continue;
            };
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, value.clone());
            let jar = CookieJar::from_headers(&s, &headers);
            let pairs: Vec<(String, String)> = jar
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
            assert_eq!(pairs, crate_reading(&value), "{field:?}");
            checked += 1;
        }
    }
    assert!(checked > 100_000, "only {checked} fields");
    for field in ["a=b; c=\u{e9}", "\u{e9}=1", "a=\u{80}"] {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_bytes(field.as_bytes()).unwrap(),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("x=1"));
        let jar = CookieJar::from_headers(&s, &headers);
        assert_eq!(jar.iter().collect::<Vec<_>>(), [("x", "1")], "{field:?}");
    }
}
