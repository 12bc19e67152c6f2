//! Key paths in a span-preserving TOML document (`provider[1].scopes`): the key that holds a
//! span, and removing the key at a path.

use std::ops::Range;

use toml_edit::{Item, TableLike, Value};

/// One step of a key path: a key in a table, or an element of an array of tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Key(String),
    Index(usize),
}

/// `provider[1].scopes`: the path as messages name the key.
pub(super) fn display_path(path: &[Segment]) -> String {
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
pub(super) fn find_key(
    item: &Item,
    span: &Range<usize>,
    path: &mut Vec<Segment>,
) -> Option<Vec<Segment>> {
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
pub(super) fn remove(table: &mut dyn TableLike, path: &[Segment]) -> bool {
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
