//! How `redis_url` is read: one string or a list of strings, each keeping its span.
//!
//! `#[serde(untagged)]` cannot do this: it buffers the value before trying the variants, and
//! a buffered value has lost the position `toml::Spanned` asks the TOML deserializer for, so
//! every `redis_url` was refused ("data did not match any variant"). Here the whole value
//! is read as a `Spanned` (the string case keeps that span) and a list's items are each read
//! as `Spanned<String>` straight from the TOML deserializer.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use super::{RawRedisUrls, Text};

/// `redis_url` before the string case gets the span of the whole value.
enum Urls {
    One(String),
    Several(Vec<Text>),
}

impl<'de> Deserialize<'de> for RawRedisUrls {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Urls>::deserialize(deserializer)?;
        let span = spanned.span();
        Ok(match spanned.into_inner() {
            Urls::One(url) => RawRedisUrls::One(Spanned::new(span, url)),
            Urls::Several(urls) => RawRedisUrls::Several(urls),
        })
    }
}

impl<'de> Deserialize<'de> for Urls {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UrlsVisitor)
    }
}

/// Accepts a string or a sequence of strings.
struct UrlsVisitor;

impl<'de> Visitor<'de> for UrlsVisitor {
    type Value = Urls;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a Redis URL, or a list of them")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Urls, E> {
        Ok(Urls::One(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Urls, E> {
        Ok(Urls::One(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Urls, A::Error> {
        let mut urls = Vec::new();
        while let Some(url) = items.next_element::<Text>()? {
            urls.push(url);
        }
        Ok(Urls::Several(urls))
    }
}
