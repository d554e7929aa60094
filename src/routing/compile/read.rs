//! Typed access to the spanned TOML tree: each getter checks the type and reports a problem
//! with the value's line instead of stopping, so one pass finds every mistake.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ProblemKind, Problems, hint};

/// A value with its place in the file.
pub(crate) type Node<'i> = Spanned<DeValue<'i>>;

/// Reports every key of `table` that is not in `allowed`, with the closest allowed key.
pub(crate) fn unknown_keys(
    p: &mut Problems<'_>,
    table: &DeTable<'_>,
    allowed: &[&str],
    section: &str,
) {
    for key in table.keys() {
        if !allowed.contains(&key.get_ref().as_ref()) {
            p.add(
                key.span(),
                ProblemKind::UnknownKey,
                section,
                format!(
                    "unknown key \"{}\": {}",
                    key.get_ref(),
                    hint(key.get_ref(), allowed)
                ),
            );
        }
    }
}

/// The entries of a table in file order (the parser keeps them sorted by name).
pub(crate) fn in_file_order<'t, 'i>(
    table: &'t DeTable<'i>,
) -> Vec<(&'t Spanned<std::borrow::Cow<'i, str>>, &'t Node<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn type_error(
    p: &mut Problems<'_>,
    span: Range<usize>,
    section: &str,
    key: &str,
    expected: &str,
    found: &DeValue<'_>,
) {
    p.add(
        span,
        ProblemKind::BadValue,
        section,
        format!("\"{key}\" must be {expected}, not {}", found.type_str()),
    );
}

/// A string.
pub(crate) fn string(
    p: &mut Problems<'_>,
    v: &Node<'_>,
    section: &str,
    key: &str,
) -> Option<String> {
    match v.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        other => {
            type_error(p, v.span(), section, key, "a string in quotes", other);
            None
        }
    }
}

/// One string or a list of strings (`channel = "email"` or `channel = ["email", "vk"]`).
pub(crate) fn strings(
    p: &mut Problems<'_>,
    v: &Node<'_>,
    section: &str,
    key: &str,
) -> Option<Vec<Spanned<String>>> {
    match v.get_ref() {
        DeValue::String(s) => Some(vec![Spanned::new(v.span(), s.to_string())]),
        DeValue::Array(items) => {
            let mut out = Vec::new();
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
                    other => type_error(p, item.span(), section, key, "a list of strings", other),
                }
            }
            Some(out)
        }
        other => {
            type_error(
                p,
                v.span(),
                section,
                key,
                "a string or a list of strings",
                other,
            );
            None
        }
    }
}

/// An integer.
pub(crate) fn integer(p: &mut Problems<'_>, v: &Node<'_>, section: &str, key: &str) -> Option<i64> {
    match v.get_ref() {
        DeValue::Integer(i) => {
            let parsed = i64::from_str_radix(i.as_str(), i.radix()).ok();
            if parsed.is_none() {
                p.add(
                    v.span(),
                    ProblemKind::BadValue,
                    section,
                    format!("\"{key}\" is too large"),
                );
            }
            parsed
        }
        other => {
            type_error(p, v.span(), section, key, "a whole number", other);
            None
        }
    }
}

/// A whole number within `min..=max`.
pub(crate) fn integer_in(
    p: &mut Problems<'_>,
    v: &Node<'_>,
    section: &str,
    key: &str,
    min: i64,
    max: i64,
) -> Option<i64> {
    let n = integer(p, v, section, key)?;
    if n < min || n > max {
        p.add(
            v.span(),
            ProblemKind::BadValue,
            section,
            format!("\"{key}\" must be between {min} and {max}, not {n}"),
        );
        return None;
    }
    Some(n)
}

/// A number, whole or not.
pub(crate) fn number(p: &mut Problems<'_>, v: &Node<'_>, section: &str, key: &str) -> Option<f64> {
    match v.get_ref() {
        DeValue::Integer(_) => integer(p, v, section, key).map(|n| n as f64),
        DeValue::Float(f) => f.as_str().parse().ok(),
        other => {
            type_error(p, v.span(), section, key, "a number", other);
            None
        }
    }
}

/// `true` or `false`.
pub(crate) fn boolean(
    p: &mut Problems<'_>,
    v: &Node<'_>,
    section: &str,
    key: &str,
) -> Option<bool> {
    match v.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        other => {
            type_error(p, v.span(), section, key, "true or false", other);
            None
        }
    }
}

/// A table.
pub(crate) fn table<'t, 'i>(
    p: &mut Problems<'_>,
    v: &'t Node<'i>,
    section: &str,
    key: &str,
) -> Option<&'t DeTable<'i>> {
    match v.get_ref() {
        DeValue::Table(t) => Some(t),
        other => {
            type_error(
                p,
                v.span(),
                section,
                key,
                "a table such as { key = \"value\" }",
                other,
            );
            None
        }
    }
}

/// An array of tables (`[[rules]]`).
pub(crate) fn tables<'t, 'i>(
    p: &mut Problems<'_>,
    v: &'t Node<'i>,
    key: &str,
) -> Vec<(&'t DeTable<'i>, Range<usize>)> {
    match v.get_ref() {
        DeValue::Array(items) => items
            .iter()
            .filter_map(|item| match item.get_ref() {
                DeValue::Table(t) => Some((t, item.span())),
                other => {
                    type_error(
                        p,
                        item.span(),
                        "",
                        key,
                        &format!("written as [[{key}]] tables"),
                        other,
                    );
                    None
                }
            })
            .collect(),
        other => {
            type_error(
                p,
                v.span(),
                "",
                key,
                &format!("written as [[{key}]] tables"),
                other,
            );
            Vec::new()
        }
    }
}
