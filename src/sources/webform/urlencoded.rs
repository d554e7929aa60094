//! Urlencoded form bodies in the charset they were sent in.
//!
//! Browsers encode a form in the page's charset. An old site in windows-1251 or koi8-r says so
//! in the `Content-Type` (`application/x-www-form-urlencoded; charset=windows-1251`) or in the
//! `_charset_` field the browser fills in. Names and values are percent-decoded to bytes and
//! decoded by that charset (UTF-8 when none is declared); a body is refused only when its bytes
//! do not decode, so a U+FFFD the person really typed (`%EF%BF%BD`) is kept like any other
//! character. A browser sends what a legacy charset cannot hold ("м²" in windows-1251) as an
//! HTML numeric reference (`&#178;`); in a form sent in such a charset those are read back.

use super::body::{BodyError, FormBody};
use encoding_rs::{Encoding, UTF_8};
use serde_json::Value;

/// The `charset` parameter of a content type; an error naming it when it is not one the
/// WHATWG Encoding Standard knows.
pub(super) fn declared_charset(content_type: &str) -> Result<Option<&'static Encoding>, BodyError> {
    let param = content_type.split(';').skip(1).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    });
    param.map(charset_by_label).transpose()
}

fn charset_by_label(label: &str) -> Result<&'static Encoding, BodyError> {
    Encoding::for_label(label.as_bytes()).ok_or_else(|| {
        BodyError::Malformed(format!(
            "unknown charset {label:?}: send utf-8, windows-1251, koi8-r or another WHATWG encoding"
        ))
    })
}

/// The field a browser fills with the charset it encoded the form in (HTML's `_charset_`).
const CHARSET_FIELD: &str = "_charset_";

/// Reads an urlencoded body: names and values percent-decoded to bytes, then decoded as
/// [`decode_fields`] does.
pub(super) fn read(
    body: &[u8],
    declared: Option<&'static Encoding>,
) -> Result<FormBody, BodyError> {
    Ok(FormBody {
        fields: decode_fields(&raw_pairs(body), declared)?,
        ..FormBody::default()
    })
}

/// A form's text fields given as bytes (an urlencoded body's pairs, a multipart form's text
/// parts), decoded by `declared`, else by the `_charset_` field, else as UTF-8; bytes that do
/// not decode are refused, naming the field. The `_charset_` field itself is not one of the
/// person's fields.
pub(super) fn decode_fields(
    pairs: &[(Vec<u8>, Vec<u8>)],
    declared: Option<&'static Encoding>,
) -> Result<Vec<(String, Value)>, BodyError> {
    let charset = match declared {
        Some(charset) => charset,
        None => charset_field(pairs)?.unwrap_or(UTF_8),
    };
    let refuse =
        |what: String| BodyError::Malformed(format!("{what} is not valid {}", charset.name()));
    let mut fields = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        let name = decode(charset, name).ok_or_else(|| refuse("a field name".into()))?;
        if name == CHARSET_FIELD {
            continue;
        }
        let value = decode(charset, value).ok_or_else(|| refuse(format!("field {name:?}")))?;
        let value = match charset == UTF_8 {
            true => value,
            false => numeric_references(&value),
        };
        fields.push((name, Value::String(value)));
    }
    Ok(fields)
}

/// `bytes` in `charset`, or `None` when they are not valid in it (never replaced).
fn decode(charset: &'static Encoding, bytes: &[u8]) -> Option<String> {
    charset
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(std::borrow::Cow::into_owned)
}

/// `text` with each decimal HTML numeric reference (`&#178;`, what a browser sends for a
/// character the form's legacy charset cannot hold) turned into its character.
fn numeric_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let closed = (1..=7).contains(&digits) && after[digits..].starts_with(';');
        let reference = closed
            .then(|| after[..digits].parse::<u32>().ok().and_then(char::from_u32))
            .flatten();
        match reference {
            Some(c) => {
                out.push(c);
                rest = &after[digits + 1..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `name=value` pairs split on `&`, `+` read as a space and percent escapes decoded, as bytes.
fn raw_pairs(body: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let unescape = |part: &[u8]| -> Vec<u8> {
        let spaced: Vec<u8> = part
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        percent_encoding::percent_decode(&spaced).collect()
    };
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &b""[..]),
            };
            (unescape(name), unescape(value))
        })
        .collect()
}

/// The charset the `_charset_` field names (an empty field names none).
fn charset_field(pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<Option<&'static Encoding>, BodyError> {
    let value = pairs
        .iter()
        .find(|(name, _)| name == CHARSET_FIELD.as_bytes())
        .map(|(_, value)| String::from_utf8_lossy(value).trim().to_string())
        .filter(|value| !value.is_empty());
    value.map(|label| charset_by_label(&label)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Заявка на котёл" in each charset, percent-encoded as a browser sends it.
    const CP1251: &str = "%C7%E0%FF%E2%EA%E0+%ED%E0+%EA%EE%F2%B8%EB";
    const KOI8R: &str = "%FA%C1%D1%D7%CB%C1+%CE%C1+%CB%CF%D4%A3%CC";
    const WANT: &str = "Заявка на котёл";

    fn text(form: &FormBody, name: &str) -> Option<String> {
        form.fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    }

    fn read_as(content_type: &str, body: &str) -> Result<FormBody, BodyError> {
        read(body.as_bytes(), declared_charset(content_type)?)
    }

    #[test]
    fn a_declared_charset_decodes_the_form() {
        let ct = "application/x-www-form-urlencoded; charset=windows-1251";
        let form = read_as(ct, &format!("message={CP1251}")).expect("reads");
        assert_eq!(text(&form, "message").as_deref(), Some(WANT));
        let ct = "application/x-www-form-urlencoded;charset=\"KOI8-R\"";
        let form = read_as(ct, &format!("message={KOI8R}")).expect("reads");
        assert_eq!(text(&form, "message").as_deref(), Some(WANT));
        let ct = "application/x-www-form-urlencoded; charset=utf-8";
        let utf8 = "%D0%97%D0%B0%D1%8F%D0%B2%D0%BA%D0%B0";
        let form = read_as(ct, &format!("message={utf8}")).expect("reads");
        assert_eq!(text(&form, "message").as_deref(), Some("Заявка"));
    }

    #[test]
    fn names_are_decoded_too_and_raw_bytes_follow_the_charset() {
        // "Имя" as a field name, and a value sent as raw (unescaped) windows-1251 bytes.
        let mut body = b"%C8%EC%FF=".to_vec();
        body.extend_from_slice(&[0xC0, 0xED, 0xED, 0xE0]);
        let form = read(&body, Some(encoding_rs::WINDOWS_1251)).expect("reads");
        assert_eq!(text(&form, "Имя").as_deref(), Some("Анна"));
    }

    #[test]
    fn the_charset_field_decodes_the_form_and_is_not_a_field() {
        let body = format!("_charset_=windows-1251&message={CP1251}&phone=%2B7+916");
        let form = read(body.as_bytes(), None).expect("reads");
        assert_eq!(text(&form, "message").as_deref(), Some(WANT));
        assert_eq!(text(&form, "phone").as_deref(), Some("+7 916"));
        assert!(text(&form, CHARSET_FIELD).is_none());
        // Anywhere in the body, and an empty one (not filled in) means UTF-8.
        let body = format!("message={KOI8R}&_charset_=koi8-r");
        let form = read(body.as_bytes(), None).expect("reads");
        assert_eq!(text(&form, "message").as_deref(), Some(WANT));
        let form = read(b"_charset_=&a=%D0%AF", None).expect("reads");
        assert_eq!(text(&form, "a").as_deref(), Some("Я"));
    }

    #[test]
    fn the_content_type_wins_over_the_field() {
        let body = format!("_charset_=koi8-r&message={CP1251}");
        let form = read(body.as_bytes(), Some(encoding_rs::WINDOWS_1251)).expect("reads");
        assert_eq!(text(&form, "message").as_deref(), Some(WANT));
    }

    #[test]
    fn what_a_legacy_charset_cannot_hold_comes_as_a_numeric_reference() {
        // "м&#178;" in windows-1251: the browser's way of sending "м²".
        let body = "message=60+%EC%26%23178%3B%2C+%26%23128512%3B+%26%23x41%3B+%26%23;";
        let form = read(body.as_bytes(), Some(encoding_rs::WINDOWS_1251)).expect("reads");
        assert_eq!(
            text(&form, "message").as_deref(),
            Some("60 м², 😀 &#x41; &#;")
        );
        let form = read(b"message=%26%23178%3B", None).expect("reads");
        assert_eq!(
            text(&form, "message").as_deref(),
            Some("&#178;"),
            "UTF-8 needs none"
        );
    }

    #[test]
    fn a_real_replacement_character_is_kept() {
        let form = read(b"message=%EF%BF%BD+%D0%BA%D0%BE%D1%82%D1%91%D0%BB", None).expect("reads");
        assert_eq!(text(&form, "message").as_deref(), Some("\u{fffd} котёл"));
    }

    #[test]
    fn only_bytes_that_do_not_decode_are_refused() {
        for (declared, body) in [
            (None, format!("message={CP1251}")),
            (Some(UTF_8), format!("message={CP1251}")),
            (None, "a=%FF%FE".to_string()),
            (None, format!("_charset_=utf-8&message={KOI8R}")),
        ] {
            let err = read(body.as_bytes(), declared).expect_err("undecodable");
            assert!(
                matches!(&err, BodyError::Malformed(m) if m.contains("message") || m.contains("\"a\"")),
                "{err}"
            );
        }
    }

    #[test]
    fn an_unknown_charset_is_refused_with_its_name() {
        let err = declared_charset("application/x-www-form-urlencoded; charset=klingon")
            .expect_err("unknown");
        assert!(matches!(err, BodyError::Malformed(m) if m.contains("klingon")));
        let err = read(b"_charset_=klingon&a=1", None).expect_err("unknown");
        assert!(matches!(err, BodyError::Malformed(m) if m.contains("klingon")));
        assert_eq!(
            declared_charset("application/x-www-form-urlencoded"),
            Ok(None)
        );
    }
}
