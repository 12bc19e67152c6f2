//! Span recovery for `providers.toml`: every unknown key and wrong type reported at its
//! file position, not just the first.
//!
//! serde stops at the first problem. So the span-preserving document is deserialized, and
//! when serde rejects a key, the error's span is mapped back to the deepest key whose name or
//! value holds it (a path such as `provider[1].scopes`); the problem is recorded there, that
//! key is removed and deserializing starts again. [`Places`] keeps what later checks need to
//! place their own messages: where each table starts and which keys were already reported.

use std::collections::{HashMap, HashSet};

use serde::de::{DeserializeOwned, IntoDeserializer as _};
use toml_edit::{ImDocument, Item, Value};

use super::errors::Diagnostics;

mod did_you_mean;
mod key_path;

use key_path::{display_path, find_key, remove};

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
pub(super) const MAX_STRUCTURAL_PROBLEMS: usize = 100;

/// Deserializes the source of `diagnostics` into `T`; `None` when it is not TOML at all.
/// Unknown keys and wrong types are recorded in `diagnostics` (at the key's position) and
/// dropped, and deserializing starts again, so the rest of the file is still checked. The keys
/// in `tables` must be tables and those in `arrays_of_tables` arrays of tables.
pub(super) fn deserialize_reporting_all<T: DeserializeOwned>(
    diagnostics: &mut Diagnostics<'_>,
    tables: &[&str],
    arrays_of_tables: &[&str],
) -> Option<(T, Places)> {
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
    check_section_shapes(
        &mut root,
        diagnostics,
        &mut dropped,
        tables,
        arrays_of_tables,
    );
    let starts = table_starts(&root);
    loop {
        let attempt = root
            .clone()
            .into_value()
            .map_err(|_| None)
            .and_then(|value| T::deserialize(value.into_deserializer()).map_err(Some));
        let error = match attempt {
            Ok(config) => {
                let places = Places {
                    tables: starts,
                    dropped,
                };
                return Some((config, places));
            }
            Err(error) => error,
        };
        let span = error.as_ref().and_then(toml_edit::de::Error::span);
        let message = error.as_ref().map_or_else(
            || "the document is not a table".to_owned(),
            |error| {
                let message = in_toml_terms(error.message());
                did_you_mean::suggest_key(&message).unwrap_or(message)
            },
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
    tables: &[&str],
    arrays_of_tables: &[&str],
) {
    let Some(table) = root.as_table_mut() else {
        return;
    };
    let mut wrong = Vec::new();
    for (key, item) in table.iter() {
        let message = if tables.contains(&key) && !item.is_table_like() {
            format!("`{key}` must be a table: write it as a `[{key}]` section")
        } else if arrays_of_tables.contains(&key) && !is_array_of_tables(item) {
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
