use super::*;

#[test]
fn line_column_counts_from_one_and_in_characters() {
    let source = "a = 1\nbé = \"x\"\n";
    let cases = [
        (0, (1, 1)),
        (4, (1, 5)),
        (6, (2, 1)),
        (10, (2, 4)),
        (999, (3, 1)),
    ];
    for (offset, expected) in cases {
        assert_eq!(line_column(source, offset), expected, "offset {offset}");
    }
    // An offset inside a multi-byte character rounds down to its start.
    assert_eq!(line_column(source, 8), (2, 2));
}

#[test]
fn display_names_file_position_and_key() {
    let mut diagnostics = Diagnostics::new("providers.toml", "[server]\nlisten = 1\n");
    diagnostics.error(18, "server.listen", "expected a string");
    diagnostics.error(0, "", "first");
    let errors = diagnostics.finish();
    assert_eq!(
        errors.to_string(),
        "providers.toml:1:1: first\nproviders.toml:2:10: server.listen: expected a string"
    );
}
