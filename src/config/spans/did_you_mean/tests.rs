use super::suggest_key;

const SERVER: &str = "unknown key `{}`, expected one of `listen`, `public_url`, \
                      `auto_redirect`, `header_timeout`, `keepalive_timeout`, `tls`, `ca_file`";

fn unknown(key: &str) -> String {
    SERVER.replace("{}", key)
}

#[test]
fn a_mistyped_key_is_told_the_documented_one_it_resembles() {
    for (written, meant) in [
        ("lisen", "listen"),
        ("lsiten", "listen"),
        ("public_uri", "public_url"),
        ("publicurl", "public_url"),
        ("header_timout", "header_timeout"),
        ("ca-file", "ca_file"),
    ] {
        assert_eq!(
            suggest_key(&unknown(written)).as_deref(),
            Some(&*format!(
                "unknown key `{written}`, did you mean `{meant}`?"
            )),
            "{written}"
        );
    }
}

#[test]
fn a_key_like_none_of_them_keeps_the_list() {
    assert_eq!(suggest_key(&unknown("colour")), None);
    assert_eq!(suggest_key(&unknown("x")), None);
}

#[test]
fn a_single_expected_key_is_suggested_too_and_other_messages_are_left_alone() {
    assert_eq!(
        suggest_key("unknown key `audience`, expected `audiences`").as_deref(),
        Some("unknown key `audience`, did you mean `audiences`?")
    );
    assert_eq!(
        suggest_key("invalid type: integer `12`, expected a string"),
        None
    );
    assert_eq!(
        suggest_key("unknown variant `lisen`, expected `listen`"),
        None
    );
}
