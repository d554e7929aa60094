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

/// A key pattern, read once: case-insensitive segments split on `.`, `*` matching any one
/// segment, a trailing `**` any number more, and a trailing `*` inside a segment (`utm_*`) its
/// prefix. Every field of every submission is asked against every pattern of its connector,
/// so the pattern is read when the connector is loaded, not at each question.
#[derive(Debug, Clone)]
pub struct KeyPattern {
    /// Each segment lower-cased, and whether it is a prefix (`*` alone: the empty prefix).
    segments: Vec<(String, bool)>,
    /// A trailing `**`: more segments may follow.
    open: bool,
}

impl KeyPattern {
    /// Reads `pattern`.
    pub fn new(pattern: &str) -> KeyPattern {
        let (head, open) = match pattern.strip_suffix("**") {
            Some("") => ("", true),
            Some(h) if h.ends_with('.') => (&h[..h.len() - 1], true),
            _ => (pattern, false),
        };
        let segments = (head.split('.'))
            .filter(|_| !head.is_empty())
            .map(|s| {
                let s = s.to_lowercase();
                match s.strip_suffix('*') {
                    Some(prefix) => (prefix.to_string(), true),
                    None => (s, false),
                }
            })
            .collect();
        KeyPattern { segments, open }
    }

    /// Whether a key matches as a labels scope (`answers.*`): when the label's `*` (the
    /// first one) is the last segment, it takes the rest of the key, dots and all, since a
    /// question's title may hold them ("Эл. почта", "Ф.И.О.") and the flat key joins it to
    /// its parents with a dot.
    pub fn matches_labelled(&self, key: &[String]) -> bool {
        let label_at = (self.segments.iter()).position(|(p, prefix)| *prefix && p.is_empty());
        match label_at {
            Some(at) if at + 1 == self.segments.len() && !self.open => {
                key.len() > at
                    && (self.segments[..at].iter().zip(key)).all(|((p, prefix), k)| match prefix {
                        true => k.starts_with(p.as_str()),
                        false => k == p,
                    })
            }
            _ => self.matches(key),
        }
    }

    /// Whether a key, as [`key_segments`] splits it, matches.
    pub fn matches(&self, key: &[String]) -> bool {
        let fits = match self.open {
            true => key.len() > self.segments.len(),
            false => key.len() == self.segments.len(),
        };
        fits && (self.segments.iter().zip(key)).all(|((p, prefix), k)| match prefix {
            true => k.starts_with(p.as_str()),
            false => k == p,
        })
    }
}

/// A flat key's segments, trimmed and lower-cased: split once, asked of every pattern.
pub fn key_segments(key: &str) -> Vec<String> {
    key.split('.').map(|s| s.trim().to_lowercase()).collect()
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
        let matches = |p: &str, k: &str| KeyPattern::new(p).matches(&key_segments(k));
        assert!(matches("Name", "name"));
        assert!(matches("utm_*", "UTM_Source"));
        assert!(matches("answers.*.email", "answers.e1.email"));
        assert!(!matches("answers.*.email", "answers.email"));
        assert!(!matches("name", "name2"));
        assert!(matches("a.**", "a.b.c"));
        assert!(!matches("a.**", "a"));
        assert!(matches("**", "a"));
        assert!(matches("Телефон", " ТЕЛЕФОН "));
    }
}
