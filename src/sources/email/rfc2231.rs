//! RFC 2231 parameter continuations, joined as bytes before they are decoded.
//!
//! A long file name is sent in pieces (`filename*0*=utf-8''%D0%97...%D0%BE%D1;
//! filename*1*=%82%D0%BE...`), and a mail client may cut it in the middle of a UTF-8
//! character. mail-parser decodes each piece on its own, so such a name came out with
//! replacement characters ("Заявка_о��опление.pdf"), and the pieces after the first, which
//! carry no charset of their own, came out as UTF-8 even in a windows-1251 name. This reads the
//! raw header again: the pieces' bytes in order, then the charset the first piece names.

use encoding_rs::{Encoding, UTF_8};

/// The value of parameter `name` in a raw header value (`attachment; filename*0*=...`) when it
/// is sent in RFC 2231 continuations (`name*0`, `name*0*`, `name*1*`...); `None` when it is not,
/// so the parser library's reading stands.
pub fn continued_param(raw_value: &[u8], name: &str) -> Option<String> {
    let mut pieces: Vec<(u32, bool, &[u8])> = params(raw_value)
        .into_iter()
        .filter_map(|(key, value)| {
            let rest = key.strip_prefix(name.as_bytes())?.strip_prefix(b"*")?;
            let (number, encoded) = match rest.strip_suffix(b"*") {
                Some(number) => (number, true),
                None => (rest, false),
            };
            let number = std::str::from_utf8(number).ok()?.parse().ok()?;
            Some((number, encoded, value))
        })
        .collect();
    pieces.sort_by_key(|(number, _, _)| *number);
    if pieces.first().map(|(number, _, _)| *number) != Some(0) {
        return None;
    }
    let mut charset = UTF_8;
    let mut bytes = Vec::new();
    for (number, encoded, value) in pieces {
        if !encoded {
            bytes.extend_from_slice(value);
            continue;
        }
        let mut value = value;
        // Only the first piece names the charset and language: `utf-8'ru'%D0...`.
        if number == 0 {
            let mut parts = value.splitn(3, |&b| b == b'\'');
            if let (Some(label), Some(_lang), Some(rest)) =
                (parts.next(), parts.next(), parts.next())
            {
                charset = Encoding::for_label(label).unwrap_or(UTF_8);
                value = rest;
            }
        }
        bytes.extend(percent_encoding::percent_decode(value));
    }
    let (text, _, _) = charset.decode(&bytes);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The `key=value` parameters of a raw header value, keys lower-cased, quotes taken off the
/// values, folding undone.
fn params(raw_value: &[u8]) -> Vec<(Vec<u8>, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw_value.len() {
        // A parameter starts after a `;`.
        let Some(semicolon) = raw_value[i..].iter().position(|&b| b == b';') else {
            break;
        };
        let start = i + semicolon + 1;
        let Some(eq) = raw_value[start..].iter().position(|&b| b == b'=') else {
            break;
        };
        let key: Vec<u8> = raw_value[start..start + eq]
            .iter()
            .filter(|b| !b.is_ascii_whitespace())
            .map(u8::to_ascii_lowercase)
            .collect();
        let mut at = start + eq + 1;
        while raw_value.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let (value, end) = if raw_value.get(at) == Some(&b'"') {
            let close = raw_value[at + 1..]
                .iter()
                .position(|&b| b == b'"')
                .map_or(raw_value.len(), |p| at + 1 + p);
            (&raw_value[at + 1..close], close + 1)
        } else {
            let end = raw_value[at..]
                .iter()
                .position(|&b| b == b';' || b.is_ascii_whitespace())
                .map_or(raw_value.len(), |p| at + p);
            (&raw_value[at..end], end)
        };
        out.push((key, value));
        i = end.min(raw_value.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf8_name_cut_inside_a_character_is_joined_before_decoding() {
        // "т" is D1 82: the first piece ends with %D1, the second starts with %82.
        let raw = b" attachment;\r\n filename*0*=utf-8''%D0%97%D0%B0%D1%8F%D0%B2%D0%BA%D0%B0_%D0%BE%D1;\r\n filename*1*=%82%D0%BE%D0%BF%D0%BB%D0%B5%D0%BD%D0%B8%D0%B5.pdf\r\n";
        assert_eq!(
            continued_param(raw, "filename").as_deref(),
            Some("Заявка_отопление.pdf")
        );
    }

    #[test]
    fn pieces_in_any_order_quoted_or_not_in_the_first_pieces_charset() {
        // windows-1251 "Смета котла.xls", the second piece plain and quoted.
        let raw = b"application/vnd.ms-excel; name*1=\" \"; name*2*=%EA%EE%F2%EB%E0.xls; name*0*=windows-1251'ru'%D1%EC%E5%F2%E0";
        assert_eq!(
            continued_param(raw, "name").as_deref(),
            Some("Смета котла.xls")
        );
    }

    #[test]
    fn a_parameter_without_continuations_is_left_to_the_library() {
        assert_eq!(
            continued_param(b"attachment; filename=\"a.pdf\"", "filename"),
            None
        );
        assert_eq!(
            continued_param(b"attachment; filename*=utf-8''%D0%90.pdf", "filename"),
            None
        );
        assert_eq!(
            continued_param(b"attachment; filename*1*=x", "filename"),
            None
        );
        assert_eq!(continued_param(b"", "filename"), None);
        assert_eq!(continued_param(b";;=;\"", "filename"), None);
    }
}
