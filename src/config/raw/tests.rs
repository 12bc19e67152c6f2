use super::*;
use crate::config::spans::MAX_STRUCTURAL_PROBLEMS;

fn structural_errors(source: &str) -> Vec<(String, usize, usize, String)> {
    let mut diagnostics = Diagnostics::new("test.toml", source);
    parse(&mut diagnostics);
    diagnostics
        .finish()
        .0
        .into_iter()
        .map(|e| (e.key, e.line, e.column, e.message))
        .collect()
}

#[test]
fn every_unknown_key_and_wrong_type_is_reported() {
    let source = "\
[server]
listen = \"127.0.0.1:4180\"
listn = \"x\"
auto_redirect = \"yes\"

[[provider]]
id = \"a\"
scopes = [\"openid\", 7]

[[provider]]
id = 5
secret = \"x\"

[extra]
a = 1

[server.acme]
cert = \"c\"
";
    let errors = structural_errors(source);
    let expected = [
        ("server.listn", 3, 1, "unknown key `listn`"),
        ("server.auto_redirect", 4, 17, "expected a boolean"),
        ("provider[0].scopes", 8, 21, "expected a string"),
        ("provider[1].id", 11, 6, "expected a string"),
        ("provider[1].secret", 12, 1, "unknown key `secret`"),
        ("extra", 14, 2, "unknown key `extra`"),
        ("server.acme", 17, 9, "unknown key `acme`"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, (key, line, column, fragment)) in errors.iter().zip(expected) {
        assert_eq!(
            (error.0.as_str(), error.1, error.2),
            (key, line, column),
            "{error:?}"
        );
        assert!(error.3.contains(fragment), "{error:?}");
    }
}

#[test]
fn dropped_keys_are_remembered() {
    let mut diagnostics = Diagnostics::new("t", "[server]\nlisten = 1\n[[upstream]]\npath = 2\n");
    let document = parse(&mut diagnostics).expect("still parses");
    let places = document.places;
    assert!(places.was_dropped("server.listen"));
    assert!(places.was_dropped("upstream[0].path"));
    assert!(!places.was_dropped("server.public_url"));
    assert!(!places.was_dropped("server.listen_more"));
    assert_eq!(places.table_start("upstream[0]"), 20);
    assert_eq!(places.table_start("authorize"), 0);
}

#[test]
fn wrong_section_shapes_are_explained() {
    let errors = structural_errors("server = 1\nprovider = [1]\n[[session]]\nsecret = \"x\"\n");
    let keys: Vec<_> = errors.iter().map(|e| (e.0.as_str(), e.1, e.2)).collect();
    assert_eq!(
        keys,
        [("server", 1, 1), ("provider", 2, 1), ("session", 3, 3)]
    );
    assert!(errors[0].3.contains("`[server]` section"), "{errors:?}");
    assert!(errors[2].3.contains("`[session]` section"), "{errors:?}");
}

#[test]
fn syntax_errors_stop_with_a_position() {
    let errors = structural_errors("[server]\nlisten = \n");
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].1, errors[0].2), (2, 10));
    assert!(errors[0].3.starts_with("invalid TOML"), "{errors:?}");
}

#[test]
fn a_flood_of_unknown_keys_stops_early() {
    let source: String = (0..5000).map(|i| format!("key{i} = {i}\n")).collect();
    let errors = structural_errors(&source);
    assert_eq!(errors.len(), MAX_STRUCTURAL_PROBLEMS + 1);
    assert!(errors.last().unwrap().3.contains("too many problems"));
}

#[test]
fn inline_arrays_of_tables_are_accepted() {
    let mut diagnostics = Diagnostics::new(
        "t",
        "provider = [{ id = \"a\" }, { id = \"b\", bogus = 1 }]\n",
    );
    let document = parse(&mut diagnostics).expect("parses");
    assert_eq!(document.config.provider.len(), 2);
    let errors = diagnostics.finish().0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "provider[1].bogus");
    assert_eq!((errors[0].line, errors[0].column), (1, 39));
}
