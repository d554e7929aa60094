//! A payload's fields as flat `(key, value)` pairs: nested JSON objects become dotted keys
//! (`contacts.phone`), so one mapping language covers flat forms and nested webhooks alike.

use serde_json::Value;

/// An array of objects keyed by one of their own fields instead of by position, so a
/// connector can say `form_response.answers.email.email` rather than `answers.3.email`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyedArray {
    /// The array's dotted path (`data.submissions`).
    pub path: String,
    /// The dotted path, inside each element, of the text that names it (`label`, `field.ref`).
    pub key: String,
    /// The dotted path, inside each element, of its value; without it the whole element is
    /// flattened under the name.
    pub value: Option<String>,
}

/// Flattens `fields` (top-level name/value pairs as the body reader gives them).
pub fn flatten(fields: &[(String, Value)], arrays: &[KeyedArray]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (key, value) in fields {
        walk(key, value, arrays, &mut out);
    }
    out
}

fn walk(prefix: &str, value: &Value, arrays: &[KeyedArray], out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                walk(&format!("{prefix}.{k}"), v, arrays, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            let rule = arrays.iter().find(|a| a.path.eq_ignore_ascii_case(prefix));
            for (i, item) in items.iter().enumerate() {
                let named = rule.and_then(|r| {
                    let name = text_at(item, &r.key)?;
                    let inner = match &r.value {
                        Some(path) => at(item, path)?.clone(),
                        None => item.clone(),
                    };
                    Some((name, inner))
                });
                match named {
                    Some((name, inner)) => walk(&format!("{prefix}.{name}"), &inner, arrays, out),
                    None => walk(&format!("{prefix}.{i}"), item, arrays, out),
                }
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, segment| v.get(segment))
}

fn text_at(value: &Value, path: &str) -> Option<String> {
    match at(value, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a flat key matches a pattern: case-insensitive, segments split on `.`, `*` matches
/// any one segment, a trailing `**` any number of them, and a trailing `*` inside a segment
/// (`utm_*`) matches its prefix.
pub fn matches(pattern: &str, key: &str) -> bool {
    // Asked for every field of every submission against every pattern: no allocation.
    let (head, rest) = match pattern.strip_suffix("**") {
        Some("") => ("", true),
        Some(h) if h.ends_with('.') => (&h[..h.len() - 1], true),
        _ => (pattern, false),
    };
    let wanted = if head.is_empty() {
        0
    } else {
        head.split('.').count()
    };
    let given = key.split('.').count();
    let lengths_fit = if rest {
        given > wanted
    } else {
        given == wanted
    };
    lengths_fit
        && (wanted == 0
            || head
                .split('.')
                .zip(key.split('.'))
                .all(|(p, k)| segment_matches(p, k.trim())))
}

/// One segment of a key against one of a pattern, ignoring case; a pattern segment ending
/// in `*` matches any key segment it begins.
fn segment_matches(pattern: &str, key: &str) -> bool {
    let mut key = key.chars().flat_map(char::to_lowercase);
    match pattern.strip_suffix('*') {
        Some(prefix) => prefix
            .chars()
            .flat_map(char::to_lowercase)
            .all(|c| key.next() == Some(c)),
        None => pattern.chars().flat_map(char::to_lowercase).eq(key),
    }
}

/// A value as text: strings as they are, arrays of scalars joined with `, `, null as empty.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items
            .iter()
            .map(value_text)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_and_keyed_arrays() {
        let fields = vec![(
            "form_response".to_string(),
            json!({"answers": [{"field": {"ref": "email"}, "email": "a@b.ru"}, {"x": 1}], "hidden": {"utm_source": "vk"}}),
        )];
        let arrays = [KeyedArray {
            path: "form_response.answers".into(),
            key: "field.ref".into(),
            value: None,
        }];
        let flat = flatten(&fields, &arrays);
        assert!(flat.contains(&("form_response.answers.email.email".into(), json!("a@b.ru"))));
        assert!(flat.contains(&("form_response.answers.1.x".into(), json!(1))));
        assert!(flat.contains(&("form_response.hidden.utm_source".into(), json!("vk"))));
    }

    #[test]
    fn patterns() {
        assert!(matches("Name", "name"));
        assert!(matches("utm_*", "UTM_Source"));
        assert!(matches("answers.*.email", "answers.e1.email"));
        assert!(!matches("answers.*.email", "answers.email"));
        assert!(!matches("name", "name2"));
        assert!(matches("a.**", "a.b.c"));
        assert!(!matches("a.**", "a"));
    }
}
