//! "unknown key `lisen`, did you mean `listen`?": the documented key closest to a mistyped
//! one, by the measure clap uses for mistyped flags (Jaro similarity above 0.7), so the file
//! and the command line suggest alike.

/// Below this similarity a documented key is no suggestion (clap's threshold).
const SIMILAR: f64 = 0.7;

/// serde's message for an unknown key, in TOML terms (`` unknown key `lisen`, expected one
/// of `listen`, `public_url`, … ``), with the list replaced by the closest key when one is
/// similar enough; `None` for any other message, or when no key is.
pub(super) fn suggest_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown key `")?;
    let (written, expected) = rest.split_once("`, expected ")?;
    let closest = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|key| (strsim::jaro(written, key), key))
        .filter(|(similarity, _)| *similarity > SIMILAR)
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(format!(
        "unknown key `{written}`, did you mean `{}`?",
        closest.1
    ))
}

#[cfg(test)]
mod tests;
