//! Duration keys (`lifetime = "12h"`): read as [`Text`] like any string and parsed by
//! `validate`, but a value of another type is refused with an example of what to write,
//! where serde would only say "expected a string" (`lifetime = 12` reads as twelve what?).

use std::fmt;

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::Text;

/// `#[serde(default, deserialize_with = "duration::optional")]` on an `Option<Text>` key.
pub(super) fn optional<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Text>, D::Error> {
    let spanned = Option::<Spanned<DurationString>>::deserialize(deserializer)?;
    Ok(spanned.map(|spanned| {
        let span = spanned.span();
        Spanned::new(span, spanned.into_inner().0)
    }))
}

/// A string, which the error of any other type calls a duration.
struct DurationString(String);

impl<'de> Deserialize<'de> for DurationString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = DurationString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration in quotes, like \"90s\", \"15m\" or \"12h\"")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<DurationString, E> {
        Ok(DurationString(value.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<DurationString, E> {
        Ok(DurationString(value))
    }
}
