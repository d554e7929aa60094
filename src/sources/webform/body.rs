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

/// Limits in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Text: the whole urlencoded or JSON body, or the text parts of a multipart body.
    pub text: usize,
    /// The whole multipart body, files included.
    pub upload: usize,
}

/// Reads a body of the given kind. Urlencoded values must be UTF-8 after decoding.
pub async fn read_body(
    kind: &BodyKind,
    body: Bytes,
    limits: Limits,
) -> Result<FormBody, BodyError> {
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
            read_multipart(boundary, body, limits.text).await
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
    text_limit: usize,
) -> Result<FormBody, BodyError> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut form = FormBody::default();
    let mut text_bytes = 0usize;
    let malformed =
        |e: multer::Error| BodyError::Malformed(format!("the multipart body does not parse: {e}"));
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.map_err(malformed)?;
        match file_name {
            Some(file) if !file.is_empty() || !data.is_empty() => form.files.push(Attachment {
                name: file,
                content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
                size: data.len(),
            }),
            Some(_) => {} // an empty file input: nothing was attached
            None => {
                text_bytes += name.len() + data.len();
                if text_bytes > text_limit {
                    return Err(BodyError::TooLarge { limit: text_limit });
                }
                let text = String::from_utf8(data.to_vec())
                    .map_err(|_| BodyError::Malformed(format!("field {name:?} is not UTF-8")))?;
                form.fields.push((name, Value::String(text)));
            }
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        text: 1024,
        upload: 4096,
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
                size: 10
            }]
        );
        let small = Limits {
            text: 8,
            upload: 4096,
        };
        let err = read_body(&kind, Bytes::from(body), small).await;
        assert_eq!(err, Err(BodyError::TooLarge { limit: 8 }));
    }
}
