//! Query-string parameters with strict semantics: a parameter given more than once counts as
//! absent, so `?state=a&state=b` cannot play two checks against each other. Form bodies
//! are read the same way.

use axum::http::Uri;

/// The decoded query parameters of one request.
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn from_uri(uri: &Uri) -> QueryParams {
        QueryParams::from_form(uri.query().unwrap_or_default().as_bytes())
    }

    /// The fields of an `application/x-www-form-urlencoded` body, read the same way.
    pub(crate) fn from_form(body: &[u8]) -> QueryParams {
        let pairs = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        QueryParams(pairs)
    }

    /// The value of `name` when it appears exactly once.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        let mut values = self.0.iter().filter(|(k, _)| k == name);
        match (values.next(), values.next()) {
            (Some((_, v)), None) => Some(v.as_str()),
            _ => None,
        }
    }

    /// The first parameter name that appears more than once (RFC 6749 §3.1 and §3.2: request
    /// parameters must not be included more than once).
    pub(crate) fn repeated(&self) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(index, (name, _))| {
            self.0
                .iter()
                .skip(index + 1)
                .any(|(other, _)| other == name)
                .then_some(name.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_duplicate_and_missing() {
        let uri: Uri = "/x?a=1&b=2&b=3&c=%2Fp%20q".parse().unwrap();
        let params = QueryParams::from_uri(&uri);
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("/p q"));
        assert_eq!(params.get("d"), None);
        assert_eq!(params.repeated(), Some("b"));
        assert_eq!(QueryParams::from_form(b"a=1&c=2").repeated(), None);
    }
}
