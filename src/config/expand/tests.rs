use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "SECRET" => Some("s3cr3t".into()),
        "EMPTY" => Some(String::new()),
        "WITH_DOLLAR" => Some("a${SECRET}b".into()),
        _ => None,
    }
}

#[test]
fn substitutes_variables_and_keeps_literals() {
    let cases = [
        ("plain", "plain"),
        ("${SECRET}", "s3cr3t"),
        ("x-${SECRET}-${SECRET}", "x-s3cr3t-s3cr3t"),
        ("${EMPTY}", ""),
        ("$${SECRET}", "${SECRET}"),
        ("cost: $$5", "cost: $5"),
        ("a$b", "a$b"),
        ("trailing $", "trailing $"),
        ("é${SECRET}é", "és3cr3té"),
        // Values are not expanded again.
        ("${WITH_DOLLAR}", "a${SECRET}b"),
    ];
    for (input, expected) in cases {
        assert_eq!(
            expand(input, &env).as_deref(),
            Ok(expected),
            "input {input:?}"
        );
    }
}

#[test]
fn reports_every_problem_with_its_offset() {
    let cases: [(&str, &[(usize, &str)]); 5] = [
        ("${MISSING}", &[(0, "`MISSING` is not set")]),
        (
            "a${ONE}b${SECRET}${TWO}",
            &[(1, "`ONE` is not set"), (17, "`TWO` is not set")],
        ),
        ("x${SECRET", &[(1, "is not closed")]),
        ("${}", &[(0, "not a valid variable reference")]),
        ("${1A}", &[(0, "not a valid variable reference")]),
    ];
    for (input, expected) in cases {
        let errors = expand(input, &env).expect_err(input);
        assert_eq!(errors.len(), expected.len(), "input {input:?}: {errors:?}");
        for (error, (offset, fragment)) in errors.iter().zip(expected) {
            assert_eq!(error.offset, *offset, "input {input:?}");
            assert!(
                error.message.contains(fragment),
                "{input:?}: {}",
                error.message
            );
        }
    }
}
