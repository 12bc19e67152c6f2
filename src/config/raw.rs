//! `providers.toml` as written: serde structs that accept exactly the documented keys.
//!
//! Every field is optional here (defaults and requirements are decided in `validate`) and every
//! string keeps its span, so later problems point at the value. `parse` reports *all* unknown
//! keys and wrong types, not just the first: it deserializes the span-preserving document, and
//! when serde rejects a key it records the problem, removes that key and tries again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use serde::de::IntoDeserializer as _;
use serde::Deserialize;
use toml::Spanned;
use toml_edit::{ImDocument, Item, TableLike, Value};

use super::errors::Diagnostics;

/// A string value with its position in the file.
pub(super) type Text = Spanned<String>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) server: Option<RawServer>,
    pub(super) session: Option<RawSession>,
    #[serde(default)]
    pub(super) provider: Vec<RawProvider>,
    pub(super) authorize: Option<RawAuthorize>,
    #[serde(default)]
    pub(super) upstream: Vec<RawUpstream>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Text>,
    pub(super) public_url: Option<Text>,
    pub(super) auto_redirect: Option<bool>,
    pub(super) allow_insecure_http: Option<bool>,
    pub(super) trusted_proxies: Option<Vec<Text>>,
    pub(super) allowed_redirect_hosts: Option<Vec<Text>>,
    pub(super) header_timeout: Option<Text>,
    pub(super) keepalive_timeout: Option<Text>,
    pub(super) max_connections: Option<Spanned<i64>>,
    pub(super) max_connections_per_client: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSession {
    pub(super) secret: Option<Text>,
    pub(super) previous_secrets: Option<Vec<Text>>,
    pub(super) cookie_name: Option<Text>,
    pub(super) lifetime: Option<Text>,
    pub(super) login_timeout: Option<Text>,
    pub(super) cookie_domain: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    pub(super) id: Option<Text>,
    pub(super) kind: Option<Text>,
    pub(super) name: Option<Text>,
    pub(super) issuer: Option<Text>,
    pub(super) client_id: Option<Text>,
    pub(super) client_secret: Option<Text>,
    pub(super) scopes: Option<Vec<Text>>,
    pub(super) token_endpoint_auth: Option<Text>,
    pub(super) bearer: Option<RawBearer>,
    /// `google`.
    pub(super) hosted_domain: Option<Text>,
    /// `github`, `gitlab`, `microsoft`.
    pub(super) base_url: Option<Text>,
    /// `microsoft`.
    pub(super) tenant: Option<Text>,
    pub(super) tenants: Option<Vec<Text>>,
    /// `keycloak`.
    pub(super) realm_url: Option<Text>,
    /// `github`.
    pub(super) orgs: Option<Vec<Text>>,
    pub(super) teams: Option<Vec<Text>>,
    pub(super) membership_refresh: Option<Text>,
    /// `oauth2`.
    pub(super) auth_url: Option<Text>,
    pub(super) token_url: Option<Text>,
    pub(super) userinfo_url: Option<Text>,
    pub(super) claims: Option<RawClaimMapping>,
}

/// An `oauth2` provider's `claims = { id = "/id", ... }`: JSON pointers into userinfo.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClaimMapping {
    pub(super) id: Option<Text>,
    pub(super) email: Option<Text>,
    pub(super) email_verified: Option<Text>,
    pub(super) name: Option<Text>,
    pub(super) username: Option<Text>,
    pub(super) groups: Option<Text>,
}

/// A provider's `bearer = { audiences = [...] }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBearer {
    pub(super) audiences: Option<Vec<Text>>,
}

/// `[authorize]`, and an upstream's `allow` (inline or as an `[upstream.allow]` table).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthorize {
    pub(super) emails: Option<Vec<Text>>,
    pub(super) email_domains: Option<Vec<Text>>,
    pub(super) groups: Option<Vec<Text>>,
    pub(super) providers: Option<Vec<Text>>,
    /// Claim name or JSON pointer → accepted values (any TOML scalar; checked in `validate`).
    pub(super) claims: Option<BTreeMap<String, Spanned<Vec<Spanned<toml::Value>>>>>,
}

/// One `skip_auth = [{ methods = ["GET"], path = "^/health$" }]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSkipAuth {
    pub(super) methods: Option<Vec<Text>>,
    pub(super) path: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    pub(super) path: Option<Text>,
    pub(super) url: Option<Text>,
    pub(super) public: Option<bool>,
    pub(super) pass_access_token: Option<bool>,
    pub(super) pass_authorization_header: Option<bool>,
    pub(super) timeout: Option<Text>,
    pub(super) websocket_idle_timeout: Option<Text>,
    pub(super) host: Option<Text>,
    pub(super) allow: Option<RawAuthorize>,
    pub(super) skip_auth: Option<Vec<RawSkipAuth>>,
    pub(super) cors_preflight: Option<bool>,
}

/// The raw configuration plus what `validate` needs to place its own messages.
pub(super) struct RawDocument {
    pub(super) config: RawConfig,
    pub(super) places: Places,
}

/// Where tables start, and which keys were already reported and dropped.
pub(super) struct Places {
    /// Start offset of each table (`server`, `provider[1]`, …), for "missing key" problems.
    tables: HashMap<String, usize>,
    /// Paths of keys removed because they were unknown or of the wrong type: already reported,
    /// so their absence must not be reported again as "missing".
    dropped: HashSet<String>,
}

impl Places {
    /// Start of the table at `path`; 0 (line 1, column 1) when the file has no such table.
    pub(super) fn table_start(&self, path: &str) -> usize {
        self.tables.get(path).copied().unwrap_or(0)
    }

    /// Whether a key inside the table at `path` was dropped after a structural problem.
    pub(super) fn dropped_inside(&self, path: &str) -> bool {
        self.dropped.iter().any(|dropped| {
            dropped
                .strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }

    /// Whether `path` or one of its parents was dropped after a structural problem.
    pub(super) fn was_dropped(&self, path: &str) -> bool {
        self.dropped.iter().any(|dropped| {
            path == dropped
                || path
                    .strip_prefix(dropped.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

/// Past this many unknown or mistyped keys, stop: the file is likely not a `providers.toml`.
const MAX_STRUCTURAL_PROBLEMS: usize = 100;

const TABLES: [&str; 3] = ["server", "session", "authorize"];
const ARRAYS_OF_TABLES: [&str; 2] = ["provider", "upstream"];

/// Parses `source`; `None` when it is not TOML at all. Unknown keys and wrong types are
/// recorded in `diagnostics` and dropped, so the rest of the file is still checked.
pub(super) fn parse(diagnostics: &mut Diagnostics<'_>) -> Option<RawDocument> {
    let document = match ImDocument::parse(diagnostics.source()) {
        Ok(document) => document,
        Err(error) => {
            let offset = error.span().map_or(0, |span| span.start);
            let message = error.message().trim_end().replace('\n', "; ");
            diagnostics.error(offset, "", format!("invalid TOML: {message}"));
            return None;
        }
    };
    let mut root = document.into_item();
    let mut dropped = HashSet::new();
    check_section_shapes(&mut root, diagnostics, &mut dropped);
    let tables = table_starts(&root);
    loop {
        let attempt = root
            .clone()
            .into_value()
            .map_err(|_| None)
            .and_then(|value| RawConfig::deserialize(value.into_deserializer()).map_err(Some));
        let error = match attempt {
            Ok(config) => {
                let places = Places { tables, dropped };
                return Some(RawDocument { config, places });
            }
            Err(error) => error,
        };
        let span = error.as_ref().and_then(toml_edit::de::Error::span);
        let message = error.as_ref().map_or_else(
            || "the document is not a table".to_owned(),
            |error| in_toml_terms(error.message()),
        );
        let found = span
            .as_ref()
            .and_then(|span| find_key(&root, span, &mut Vec::new()));
        let offset = span.map_or(0, |span| span.start);
        match found {
            Some(path)
                if root
                    .as_table_like_mut()
                    .is_some_and(|table| remove(table, &path)) =>
            {
                let key = display_path(&path);
                diagnostics.error(offset, &key, message);
                dropped.insert(key);
                if dropped.len() >= MAX_STRUCTURAL_PROBLEMS {
                    diagnostics.error(offset, "", "too many problems; fix the ones above first");
                    return None;
                }
            }
            _ => {
                diagnostics.error(offset, "", message);
                return None;
            }
        }
    }
}

/// serde speaks of fields, sequences and maps; the file has keys, arrays and tables.
fn in_toml_terms(message: &str) -> String {
    message
        .replacen("unknown field", "unknown key", 1)
        .replacen("invalid type: sequence", "invalid type: array", 1)
        .replacen("invalid type: map", "invalid type: table", 1)
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table")
}

/// `[server]` must be a table and `[[provider]]` an array of tables; serde's own messages for
/// these mistakes are confusing, so say it plainly and drop the section.
fn check_section_shapes(
    root: &mut Item,
    diagnostics: &mut Diagnostics<'_>,
    dropped: &mut HashSet<String>,
) {
    let Some(table) = root.as_table_mut() else {
        return;
    };
    let mut wrong = Vec::new();
    for (key, item) in table.iter() {
        let message = if TABLES.contains(&key) && !item.is_table_like() {
            format!("`{key}` must be a table: write it as a `[{key}]` section")
        } else if ARRAYS_OF_TABLES.contains(&key) && !is_array_of_tables(item) {
            format!("`{key}` must be an array of tables: write each one as a `[[{key}]]` section")
        } else {
            continue;
        };
        let offset = table
            .key(key)
            .and_then(toml_edit::Key::span)
            .or_else(|| item.span())
            .map_or(0, |span| span.start);
        wrong.push((key.to_owned(), offset, message));
    }
    for (key, offset, message) in wrong {
        diagnostics.error(offset, &key, message);
        table.remove(&key);
        dropped.insert(key);
    }
}

fn is_array_of_tables(item: &Item) -> bool {
    match item {
        Item::ArrayOfTables(_) => true,
        Item::Value(Value::Array(array)) => array.iter().all(Value::is_inline_table),
        _ => false,
    }
}

fn table_starts(root: &Item) -> HashMap<String, usize> {
    let mut starts = HashMap::new();
    let Some(table) = root.as_table() else {
        return starts;
    };
    for (key, item) in table.iter() {
        match item {
            Item::ArrayOfTables(array) => {
                for (index, element) in array.iter().enumerate() {
                    if let Some(span) = element.span() {
                        starts.insert(format!("{key}[{index}]"), span.start);
                    }
                }
            }
            Item::Value(Value::Array(array)) => {
                for (index, element) in array.iter().enumerate() {
                    if let Some(span) = element.span() {
                        starts.insert(format!("{key}[{index}]"), span.start);
                    }
                }
            }
            _ => {
                if let Some(span) = item.span() {
                    starts.insert(key.to_owned(), span.start);
                }
            }
        }
    }
    starts
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn display_path(path: &[Segment]) -> String {
    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// The deepest key whose name or value contains `span`, as a path from the root.
fn find_key(item: &Item, span: &Range<usize>, path: &mut Vec<Segment>) -> Option<Vec<Segment>> {
    match item {
        Item::Table(table) => find_in_table(table, span, path),
        Item::Value(Value::InlineTable(table)) => find_in_table(table, span, path),
        Item::ArrayOfTables(array) => {
            for (index, table) in array.iter().enumerate() {
                path.push(Segment::Index(index));
                let found = find_in_table(table, span, path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        Item::Value(Value::Array(array)) => {
            for (index, value) in array.iter().enumerate() {
                if let Value::InlineTable(table) = value {
                    path.push(Segment::Index(index));
                    let found = find_in_table(table, span, path);
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
            }
            None
        }
        Item::Value(_) | Item::None => None,
    }
}

fn find_in_table(
    table: &dyn TableLike,
    span: &Range<usize>,
    path: &mut Vec<Segment>,
) -> Option<Vec<Segment>> {
    for (key, item) in table.iter() {
        path.push(Segment::Key(key.to_owned()));
        let found = find_key(item, span, path).or_else(|| {
            let key_span = table.key(key).and_then(toml_edit::Key::span);
            let hit = key_span
                .iter()
                .chain(item.span().iter())
                .any(|outer| contains(outer, span));
            hit.then(|| path.clone())
        });
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Removes the key at `path`; false when the path does not lead to a key.
fn remove(table: &mut dyn TableLike, path: &[Segment]) -> bool {
    match path {
        [Segment::Key(key)] => table.remove(key).is_some(),
        [Segment::Key(key), rest @ ..] => table
            .get_mut(key)
            .is_some_and(|child| remove_below(child, rest)),
        _ => false,
    }
}

fn remove_below(item: &mut Item, path: &[Segment]) -> bool {
    match (item, path) {
        (Item::ArrayOfTables(array), [Segment::Index(index), rest @ ..]) => array
            .get_mut(*index)
            .is_some_and(|table| remove(table, rest)),
        (Item::Value(Value::Array(array)), [Segment::Index(index), rest @ ..]) => {
            match array.get_mut(*index) {
                Some(Value::InlineTable(table)) => remove(table, rest),
                _ => false,
            }
        }
        (item, path) => item
            .as_table_like_mut()
            .is_some_and(|table| remove(table, path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

[server.tls]
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
            ("server.tls", 17, 9, "unknown key `tls`"),
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
        let mut diagnostics =
            Diagnostics::new("t", "[server]\nlisten = 1\n[[upstream]]\npath = 2\n");
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
}
