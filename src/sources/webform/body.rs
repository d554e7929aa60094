//! Reading a form's body: urlencoded (`urlencoded.rs`: its charsets), multipart (with files)
//! and JSON, within the limits.

use super::urlencoded;
use bytes::Bytes;
use encoding_rs::Encoding;
use serde_json::Value;

/// A file a person attached: listed with the lead, kept in the stored raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name as the browser sent it.
    pub name: String,
    /// The media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: usize,
    /// The file's bytes (a view of the body, not a copy).
    pub data: Bytes,
}

/// The form as name/value pairs in the order sent, plus files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormBody {
    /// Text fields; JSON values that are not strings keep their JSON form.
    pub fields: Vec<(String, Value)>,
    /// Attached files.
    pub files: Vec<Attachment>,
}

/// Why a body cannot be read; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// 400: the body does not parse as its content type says.
    #[error("{0}")]
    Malformed(String),
    /// 415: a content type forms do not use.
    #[error(
        "unsupported content type {0:?}: send application/x-www-form-urlencoded, multipart/form-data or application/json"
    )]
    Unsupported(String),
    /// 413: over the limit.
    #[error("the form is over the {limit}-byte limit")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// 413: more files, fields or parts than a form may have.
    #[error("the form has more than {limit} {what}")]
    TooMany {
        /// `files`, `fields` or `parts`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// The kinds of body a form may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`, with the charset its `Content-Type` declares
    /// (`None`: the `_charset_` field's, else UTF-8).
    Urlencoded(Option<&'static Encoding>),
    /// `multipart/form-data` with its boundary.
    Multipart(String),
    /// `application/json`.
    Json,
}

/// Recognises the content type (parameters such as `charset` allowed).
pub fn body_kind(content_type: Option<&str>) -> Result<BodyKind, BodyError> {
    let ct = content_type.unwrap_or("").trim();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            urlencoded::declared_charset(ct).map(BodyKind::Urlencoded)
        }
        "application/json" => Ok(BodyKind::Json),
        "multipart/form-data" => multer::parse_boundary(ct)
            .map(BodyKind::Multipart)
            .map_err(|_| BodyError::Malformed("multipart/form-data without a boundary".into())),
        _ => Err(BodyError::Unsupported(ct.to_string())),
    }
}

/// What one form may hold, so that a request's memory is bounded by its limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Text: the whole urlencoded or JSON body, or the text parts of a multipart body, in
    /// bytes.
    pub text: usize,
    /// The whole multipart body, files included, in bytes.
    pub upload: usize,
    /// Files attached.
    pub files: usize,
    /// Text fields (a JSON body's top-level keys).
    pub fields: usize,
}

impl Limits {
    /// No limit: a stored item is read again as it was taken.
    pub const UNLIMITED: Limits = Limits {
        text: usize::MAX,
        upload: usize::MAX,
        files: usize::MAX,
        fields: usize::MAX,
    };
}

impl Default for Limits {
    /// The defaults of `[[sources.webform]]`: 64 KiB of text, 10 MiB with files, 10 files,
    /// 200 fields.
    fn default() -> Limits {
        Limits {
            text: 64 * 1024,
            upload: 10 << 20,
            files: 10,
            fields: 200,
        }
    }
}

/// The longest field name read (names are the form's own labels; no form needs more).
pub const MAX_NAME: usize = 256;

/// The longest file name kept; a longer one is cut, keeping its extension.
pub const MAX_FILE_NAME: usize = 255;

/// Reads a body of the given kind (an urlencoded one in its charset: `urlencoded.rs`).
pub async fn read_body(
    kind: &BodyKind,
    body: Bytes,
    limits: Limits,
) -> Result<FormBody, BodyError> {
    let form = read_kind(kind, body, limits).await?;
    if form.fields.len() > limits.fields {
        return Err(BodyError::TooMany {
            what: "fields",
            limit: limits.fields,
        });
    }
    if let Some((name, _)) = form.fields.iter().find(|(k, _)| k.len() > MAX_NAME) {
        return Err(long_name(name));
    }
    Ok(form)
}

fn long_name(name: &str) -> BodyError {
    let start: String = name.chars().take(16).collect();
    BodyError::Malformed(format!(
        "the field name starting {start:?} is over {MAX_NAME} bytes"
    ))
}

async fn read_kind(kind: &BodyKind, body: Bytes, limits: Limits) -> Result<FormBody, BodyError> {
    match kind {
        BodyKind::Urlencoded(charset) => {
            if body.len() > limits.text {
                return Err(BodyError::TooLarge { limit: limits.text });
            }
            urlencoded::read(&body, *charset)
        }
        BodyKind::Json => {
            if body.len() > limits.text {
                return Err(BodyError::TooLarge { limit: limits.text });
            }
            read_json(&body)
        }
        BodyKind::Multipart(boundary) => {
            if body.len() > limits.upload {
                return Err(BodyError::TooLarge {
                    limit: limits.upload,
                });
            }
            read_multipart(boundary, body, limits).await
        }
    }
}

fn read_json(body: &[u8]) -> Result<FormBody, BodyError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BodyError::Malformed(format!("the JSON body does not parse: {e}")))?;
    let Value::Object(map) = value else {
        return Err(BodyError::Malformed(
            "the JSON body must be an object of fields".into(),
        ));
    };
    Ok(FormBody {
        fields: map.into_iter().collect(),
        files: Vec::new(),
    })
}

async fn read_multipart(
    boundary: &str,
    body: Bytes,
    limits: Limits,
) -> Result<FormBody, BodyError> {
    let text_limit = limits.text;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut form = FormBody::default();
    // The text parts as bytes, decoded at the end in the charset the form was sent in (a
    // browser fills `_charset_` on a windows-1251 page as it does for urlencoded forms).
    let mut texts: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut text_bytes = 0usize;
    let malformed =
        |e: multer::Error| BodyError::Malformed(format!("the multipart body does not parse: {e}"));
    // Every part costs memory whatever it holds, so parts are counted, not only fields.
    let max_parts = limits.fields.saturating_add(limits.files);
    let mut parts = 0usize;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        parts += 1;
        if parts > max_parts {
            return Err(BodyError::TooMany {
                what: "parts",
                limit: max_parts,
            });
        }
        let name = field.name().unwrap_or("").to_string();
        if name.len() > MAX_NAME {
            return Err(long_name(&name));
        }
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.map_err(malformed)?;
        match file_name {
            Some(file) if !file.is_empty() || !data.is_empty() => {
                if form.files.len() == limits.files {
                    return Err(BodyError::TooMany {
                        what: "files",
                        limit: limits.files,
                    });
                }
                form.files.push(Attachment {
                    name: cut_file_name(&file),
                    content_type: content_type
                        .filter(|t| t.len() <= MAX_NAME)
                        .unwrap_or_else(|| "application/octet-stream".into()),
                    size: data.len(),
                    data,
                });
            }
            Some(_) => {} // an empty file input: nothing was attached
            None => {
                text_bytes += name.len() + data.len();
                if text_bytes > text_limit {
                    return Err(BodyError::TooLarge { limit: text_limit });
                }
                texts.push((name.into_bytes(), data.to_vec()));
            }
        }
    }
    form.fields = urlencoded::decode_fields(&texts, None)?;
    Ok(form)
}

/// A file name within [`MAX_FILE_NAME`] bytes: the start and the extension, joined by `…`.
fn cut_file_name(name: &str) -> String {
    if name.len() <= MAX_FILE_NAME {
        return name.to_string();
    }
    let ext = name
        .rfind('.')
        .map(|i| &name[i..])
        .filter(|e| e.len() <= 16)
        .unwrap_or("");
    let room = MAX_FILE_NAME - ext.len() - '…'.len_utf8();
    let mut end = room;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…{ext}", &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        text: 1024,
        upload: 4096,
        files: 2,
        fields: 4,
    };

    #[tokio::test]
    async fn urlencoded_cyrillic() {
        let body = Bytes::from_static(b"name=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F&phone=8+916");
        let form = read_body(&BodyKind::Urlencoded(None), body, LIMITS)
            .await
            .expect("reads");
        assert_eq!(
            form.fields[0],
            ("name".into(), Value::String("Иван П".into()))
        );
    }

    #[tokio::test]
    async fn bad_bodies() {
        let err = read_body(
            &BodyKind::Json,
            Bytes::from_static(b"{\"name\": \"x"),
            LIMITS,
        )
        .await;
        assert!(matches!(err, Err(BodyError::Malformed(_))));
        let err = read_body(&BodyKind::Json, Bytes::from_static(b"[1]"), LIMITS).await;
        assert!(matches!(err, Err(BodyError::Malformed(_))));
        let err = read_body(
            &BodyKind::Urlencoded(None),
            Bytes::from(vec![b'a'; 2000]),
            LIMITS,
        )
        .await;
        assert_eq!(err, Err(BodyError::TooLarge { limit: 1024 }));
        let err = read_body(
            &BodyKind::Urlencoded(None),
            Bytes::from_static(b"a=%FF%FE"),
            LIMITS,
        )
        .await;
        assert!(matches!(err, Err(BodyError::Malformed(_))));
        assert!(matches!(
            body_kind(Some("text/plain")),
            Err(BodyError::Unsupported(_))
        ));
        assert!(matches!(
            body_kind(Some("multipart/form-data")),
            Err(BodyError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn multipart_files_are_listed_and_text_limited() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nВера\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"plan\"; filename=\"plan.png\"\r\nContent-Type: image/png\r\n\r\n\
                    0123456789\r\n--b--\r\n";
        let kind = body_kind(Some("multipart/form-data; boundary=b")).expect("kind");
        let form = read_body(&kind, Bytes::from(body), LIMITS)
            .await
            .expect("reads");
        assert_eq!(
            form.fields,
            vec![("name".into(), Value::String("Вера".into()))]
        );
        assert_eq!(
            form.files,
            vec![Attachment {
                name: "plan.png".into(),
                content_type: "image/png".into(),
                size: 10,
                data: Bytes::from_static(b"0123456789"),
            }]
        );
        let small = Limits { text: 8, ..LIMITS };
        let err = read_body(&kind, Bytes::from(body), small).await;
        assert_eq!(err, Err(BodyError::TooLarge { limit: 8 }));
    }

    #[tokio::test]
    async fn a_multipart_form_from_a_windows_1251_page_is_read_in_its_charset() {
        // "Котёл" in windows-1251, as a browser on such a page sends it beside a file.
        let mut body: Vec<u8> =
            b"--b\r\nContent-Disposition: form-data; name=\"_charset_\"\r\n\r\nwindows-1251\r\n\
            --b\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n"
                .to_vec();
        body.extend_from_slice(&[0xCA, 0xEE, 0xF2, 0xB8, 0xEB]);
        body.extend_from_slice(
            b"\r\n--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\r\nxyz\r\n--b--\r\n",
        );
        let kind = body_kind(Some("multipart/form-data; boundary=b")).expect("kind");
        let form = read_body(&kind, Bytes::from(body), LIMITS)
            .await
            .expect("reads");
        assert_eq!(
            form.fields,
            vec![("message".into(), Value::String("Котёл".into()))]
        );
        assert_eq!(form.files.len(), 1);
        // Without `_charset_` the same bytes are not UTF-8: refused, naming the field.
        let mut without: Vec<u8> =
            b"--b\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n".to_vec();
        without.extend_from_slice(&[0xCA, 0xEE, 0xF2, 0xB8, 0xEB]);
        without.extend_from_slice(b"\r\n--b--\r\n");
        let err = read_body(&kind, Bytes::from(without), LIMITS).await;
        assert!(
            matches!(&err, Err(BodyError::Malformed(m)) if m.contains("\"message\"")),
            "{err:?}"
        );
    }

    fn multipart(parts: &[(&str, Option<&str>, &str)]) -> Bytes {
        let mut body = String::new();
        for (name, file, data) in parts {
            body.push_str("--b\r\nContent-Disposition: form-data; name=\"");
            body.push_str(name);
            body.push('"');
            if let Some(f) = file {
                body.push_str("; filename=\"");
                body.push_str(f);
                body.push('"');
            }
            body.push_str("\r\n\r\n");
            body.push_str(data);
            body.push_str("\r\n");
        }
        body.push_str("--b--\r\n");
        Bytes::from(body)
    }

    #[tokio::test]
    async fn files_fields_and_parts_are_counted() {
        let kind = BodyKind::Multipart("b".into());
        let three_files = multipart(&[
            ("a", Some("1.png"), "x"),
            ("b", Some("2.png"), "x"),
            ("c", Some("3.png"), "x"),
        ]);
        let err = read_body(&kind, three_files, LIMITS).await;
        assert_eq!(
            err,
            Err(BodyError::TooMany {
                what: "files",
                limit: 2
            })
        );
        // Empty file inputs attach nothing, but each is a part all the same.
        let empties: Vec<(&str, Option<&str>, &str)> = vec![("f", Some(""), ""); 7];
        let err = read_body(&kind, multipart(&empties), LIMITS).await;
        assert_eq!(
            err,
            Err(BodyError::TooMany {
                what: "parts",
                limit: 6
            })
        );
        let five_fields: Vec<(&str, Option<&str>, &str)> = vec![("n", None, "v"); 5];
        let err = read_body(&kind, multipart(&five_fields), LIMITS).await;
        assert_eq!(
            err,
            Err(BodyError::TooMany {
                what: "fields",
                limit: 4
            })
        );
        let err = read_body(
            &BodyKind::Urlencoded(None),
            Bytes::from_static(b"a=1&b=2&c=3&d=4&e=5"),
            LIMITS,
        )
        .await;
        assert!(matches!(
            err,
            Err(BodyError::TooMany { what: "fields", .. })
        ));
    }

    #[tokio::test]
    async fn long_names_are_refused_and_long_file_names_cut() {
        let kind = BodyKind::Multipart("b".into());
        let long = "n".repeat(MAX_NAME + 1);
        let err = read_body(&kind, multipart(&[(&long, None, "v")]), LIMITS).await;
        assert!(matches!(err, Err(BodyError::Malformed(_))), "{err:?}");
        let file = format!("{}.pdf", "Заявка".repeat(40));
        let form = read_body(&kind, multipart(&[("f", Some(&file), "x")]), LIMITS)
            .await
            .expect("reads");
        let kept = &form.files[0].name;
        assert!(kept.len() <= MAX_FILE_NAME, "{} bytes", kept.len());
        assert!(
            kept.starts_with("Заявка") && kept.ends_with("….pdf"),
            "{kept}"
        );
    }
}
