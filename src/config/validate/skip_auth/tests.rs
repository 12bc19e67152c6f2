use super::is_anchored;

#[test]
fn only_patterns_anchored_at_both_ends_are_accepted() {
    let cases = [
        ("^/health$", true),
        ("(?i)^/health$", true),
        ("(?i)(?-u)^/health$", true),
        ("^$", true),
        ("^/a\\\\$", true),
        ("/health$", false),
        ("^/health", false),
        ("^/health\\$", false),
        ("^/health$\n", false),
        ("(?i^/health$", false),
        ("", false),
        ("^", false),
    ];
    for (pattern, anchored) in cases {
        assert_eq!(is_anchored(pattern), anchored, "{pattern:?}");
    }
}
