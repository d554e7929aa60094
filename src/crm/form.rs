//! PHP-style form fields (`leads[status][0][id]=1`), as amoCRM and Bitrix24 post them, read
//! into groups: the fields of each `leads[status][0]` by their last name.

use std::collections::BTreeMap;

/// A key's segments: `leads[status][0][id]` → `["leads", "status", "0", "id"]`; `None` when
/// the brackets do not close.
pub(super) fn segments(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    let mut out = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        out.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    Some(out)
}

/// The body's fields, in order.
pub(super) fn pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Every entity of `entity[action][N][field]` fields (`leads[status][0][id]`), by
/// `(action, N)`, each with its direct fields (nested ones such as `custom_fields` are left
/// out).
pub(super) fn entities(
    fields: &[(String, String)],
    entity: &str,
) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut out: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
    for (key, value) in fields {
        let Some(s) = segments(key) else {
            continue;
        };
        if let [head, action, index, field] = s.as_slice()
            && *head == entity
        {
            out.entry((action.to_string(), index.to_string()))
                .or_default()
                .insert(field.to_string(), value.clone());
        }
    }
    out
}

/// The value of a plain or bracketed field (`auth[application_token]`).
pub(super) fn field<'a>(fields: &'a [(String, String)], path: &[&str]) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| segments(k).is_some_and(|s| s == path))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_keys_split_into_their_names() {
        assert_eq!(
            segments("leads[status][0][id]"),
            Some(vec!["leads", "status", "0", "id"])
        );
        assert_eq!(segments("event"), Some(vec!["event"]));
        assert_eq!(segments("a[b"), None);
        let f = pairs(b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=7&leads[status][0][status_id]=142&leads[status][0][custom_fields][0][id]=3&account[subdomain]=teplo");
        let e = entities(&f, "leads");
        assert_eq!(e.len(), 1);
        let status = &e[&("status".to_string(), "0".to_string())];
        assert_eq!(status.get("id").map(String::as_str), Some("7"));
        assert_eq!(status.get("status_id").map(String::as_str), Some("142"));
        assert_eq!(field(&f, &["account", "subdomain"]), Some("teplo"));
    }
}
