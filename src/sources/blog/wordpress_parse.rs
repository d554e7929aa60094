//! WordPress REST comments (`/wp-json/wp/v2/comments`): split a page into one stored item per
//! comment at intake, turn a stored comment into a lead draft at processing.
//!
//! Fields read: `id`, `post`, `parent`, `author_name`, `author_email` (only with
//! `context=edit`), `author_url`, `content.rendered` (`content.raw` with `context=edit`),
//! `link`, `status`, `type`, and the post's title when the page was fetched with `_embed`.

use super::ParseError;
use super::comment::{Comment, CommentRules, judge};
use crate::lead::{NotLead, NotLeadReason, Parsed, html_to_text};
use crate::sources::item::Item;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The longest WordPress error `code` kept.
const MAX_CODE_LEN: usize = 64;

/// Splits a comments page (a JSON array) into one item per comment, keyed by the comment id.
/// A WordPress error object (`{"code": "rest_forbidden", ...}`) is an error.
pub fn split_wordpress(body: &[u8]) -> Result<Vec<Item>, ParseError> {
    let page: Value = serde_json::from_slice(body)?;
    let Some(comments) = page.as_array() else {
        return Err(match page.get("code") {
            Some(code) => ParseError::WordPress {
                code: code
                    .as_str()
                    .filter(|c| is_identifier(c))
                    .map(str::to_string),
            },
            None => ParseError::Shape("a comments page is a JSON array"),
        });
    };
    comments
        .iter()
        .map(|comment| {
            let id = comment
                .get("id")
                .and_then(Value::as_u64)
                .ok_or(ParseError::Shape("a comment without an integer id"))?;
            Ok(Item {
                dedupe_key: id.to_string(),
                payload: serde_json::to_vec(comment)?,
            })
        })
        .collect()
}

/// WordPress's error `code` from an error answer (`{"code": "rest_forbidden", "message": ..}`),
/// when it is an identifier. The `message` is free text from the site and is never kept: it
/// would reach `/readyz`.
pub(crate) fn wordpress_code(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct WpError {
        code: String,
    }
    let error: WpError = serde_json::from_slice(body).ok()?;
    is_identifier(&error.code).then_some(error.code)
}

/// Letters, digits, `_`, `-` and `.`; 1 to 64 characters: what WordPress's codes look like.
fn is_identifier(text: &str) -> bool {
    (1..=MAX_CODE_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[derive(Deserialize)]
struct WpComment {
    id: u64,
    post: Option<u64>,
    #[serde(default)]
    parent: u64,
    author_name: Option<String>,
    author_email: Option<String>,
    author_url: Option<String>,
    #[serde(default)]
    content: WpContent,
    link: Option<String>,
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "_embedded")]
    embedded: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WpContent {
    rendered: Option<String>,
    raw: Option<String>,
}

/// Turns one stored REST comment into a lead draft, or says why it is not one.
pub fn parse_wordpress_comment(payload: &[u8], rules: &CommentRules) -> Parsed {
    let wp: WpComment = match serde_json::from_slice(payload) {
        Ok(comment) => comment,
        Err(e) => {
            return Parsed::NotLead(NotLead {
                reason: NotLeadReason::Malformed,
                detail: format!("not a WordPress comment: {e}"),
                external_id: None,
            });
        }
    };
    let mut fields = Map::new();
    if let Some(post) = wp.post {
        fields.insert("post_id".into(), Value::from(post));
    }
    if let Some(status) = &wp.status {
        fields.insert("comment_status".into(), Value::from(status.as_str()));
    }
    let subject = wp
        .embedded
        .as_ref()
        .and_then(|e| e.pointer("/up/0/title/rendered"))
        .and_then(Value::as_str)
        .map(html_to_text);
    let comment = Comment {
        external_id: wp.id.to_string(),
        kind: wp.kind,
        status: wp.status,
        author_name: wp.author_name,
        author_email: wp.author_email.filter(|e| !e.trim().is_empty()),
        author_url: wp.author_url,
        html: wp.content.rendered.or(wp.content.raw).unwrap_or_default(),
        link: wp.link,
        subject,
        fields,
        replies_to: (wp.parent != 0)
            .then(|| wp.parent.to_string())
            .into_iter()
            .collect(),
    };
    judge(comment, rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::item::test_support::{byte_mutations, json_mutations};
    use proptest::prelude::*;

    const PAGE: &[u8] = include_bytes!("../../../tests/fixtures/blog/wp-comments.json");
    const HELD: &[u8] =
        include_bytes!("../../../tests/fixtures/blog/wp-comment-held-edit-context.json");

    #[test]
    fn errors_and_foreign_shapes_are_refused() {
        let forbidden =
            br#"{"code":"rest_forbidden_context","message":"Sorry","data":{"status":401}}"#;
        assert!(matches!(
            split_wordpress(forbidden),
            Err(ParseError::WordPress { code: Some(code) }) if code == "rest_forbidden_context"
        ));
        assert!(matches!(
            split_wordpress(br#"{"code":"a db password: hunter2","message":"x"}"#),
            Err(ParseError::WordPress { code: None })
        ));
        assert!(matches!(
            split_wordpress(b"[{\"id\":\"x\"}]"),
            Err(ParseError::Shape(_))
        ));
        assert!(split_wordpress(b"[]").expect("an empty page").is_empty());
    }

    /// Issue 15, item 2: a failed poll's error reaches `/readyz`, so only the `code`, an
    /// identifier, is kept from WordPress's error answer.
    #[test]
    fn only_an_identifier_code_is_kept_from_an_error_answer() {
        let code = |body: &str| wordpress_code(body.as_bytes());
        assert_eq!(
            code(r#"{"code":"rest_forbidden_context","message":"Sorry, you are not allowed"}"#),
            Some("rest_forbidden_context".into())
        );
        assert_eq!(code(r#"{"code":"the db password is hunter2"}"#), None);
        assert_eq!(code(&format!(r#"{{"code":"{}"}}"#, "a".repeat(65))), None);
        assert_eq!(code(r#"{"message":"no code"}"#), None);
        assert_eq!(code("<html>Forbidden</html>"), None);
        let refused = split_wordpress(br#"{"code":"rest_disabled","message":"secret text"}"#)
            .expect_err("an error object");
        assert_eq!(refused.to_string(), "WordPress refused: rest_disabled");
    }

    #[test]
    fn embedded_post_title_is_the_subject_and_replies_are_linked() {
        let embedded = br#"{"id":9,"post":2,"parent":7,"author_name":"Ivan","content":{"rendered":"<p>Price?</p>"},
            "link":"https://b.example/p/#comment-9","_embedded":{"up":[{"title":{"rendered":"Boilers &amp; pumps"}}]}}"#;
        match parse_wordpress_comment(embedded, &CommentRules::default()) {
            Parsed::Lead(draft) => {
                assert_eq!(draft.subject.as_deref(), Some("Boilers & pumps"));
                assert_eq!(draft.thread.replies_to, vec!["7".to_string()]);
                assert_eq!(draft.page_url.as_deref(), Some("https://b.example/p/"));
            }
            Parsed::NotLead(n) => panic!("{n:?}"),
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_bytes(bytes in byte_mutations(PAGE)) {
            let _ = split_wordpress(&bytes);
            let _ = parse_wordpress_comment(&bytes, &CommentRules::default());
        }

        #[test]
        fn parsers_never_panic_on_json(bytes in json_mutations(HELD)) {
            for item in split_wordpress(&bytes).unwrap_or_default() {
                let _ = parse_wordpress_comment(&item.payload, &CommentRules::default());
            }
        }
    }
}
