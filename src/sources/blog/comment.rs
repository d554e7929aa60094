//! What both blog parsers share: a comment as read from either source, the rules that say a
//! comment is not a lead (pingbacks, the site's own staff, link spam), and the cleaning that
//! turns a comment's HTML into the person's words and contacts.

use crate::lead::{
    LeadDraft, NotLead, NotLeadReason, Parsed, find_emails, find_phones, html_to_text,
};
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// Which comments are not leads, from the source's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRules {
    /// Author names the business's own people comment under (compared trimmed, ignoring case).
    pub staff_names: Vec<String>,
    /// Author e-mails of the business's own people (compared ignoring case).
    pub staff_emails: Vec<String>,
    /// More distinct links than this in one comment is link spam.
    pub max_links: usize,
    /// Words that make a comment with a link (or an author URL) spam, matched as whole words
    /// in its text, its links and its author URL.
    pub spam_words: Vec<String>,
}

/// Spam words used unless the configuration gives its own list.
pub const DEFAULT_SPAM_WORDS: [&str; 20] = [
    "casino",
    "казино",
    "backlink",
    "backlinks",
    "viagra",
    "cialis",
    "porn",
    "порно",
    "loan",
    "loans",
    "crypto",
    "bitcoin",
    "betting",
    "seo",
    "продвижение сайтов",
    "раскрутка сайтов",
    "escort",
    "forex",
    "форекс",
    "микрозайм",
];

impl Default for CommentRules {
    fn default() -> CommentRules {
        CommentRules {
            staff_names: Vec::new(),
            staff_emails: Vec::new(),
            max_links: 2,
            spam_words: DEFAULT_SPAM_WORDS.iter().map(|w| w.to_string()).collect(),
        }
    }
}

/// One comment as a blog parser read it from its payload, before the rules apply.
#[derive(Debug, Default)]
pub(crate) struct Comment {
    /// The comment id (WordPress REST) or the item's guid (feeds).
    pub external_id: String,
    /// `comment`, `pingback` or `trackback` when the source says.
    pub kind: Option<String>,
    /// The moderation status when the source says (`approved`, `hold`, `spam`).
    pub status: Option<String>,
    /// The name the author gave.
    pub author_name: Option<String>,
    /// The author's e-mail, when the source shows it (WordPress only with `context=edit`).
    pub author_email: Option<String>,
    /// The website the author gave.
    pub author_url: Option<String>,
    /// The comment body as HTML.
    pub html: String,
    /// The comment's own address (`.../post/#comment-N`).
    pub link: Option<String>,
    /// The post's title, or the feed item's title.
    pub subject: Option<String>,
    /// Source-specific extras for `fields`.
    pub fields: Map<String, Value>,
    /// Comments this one answers (their external ids).
    pub replies_to: Vec<String>,
}

/// Applies the rules to a comment and, when it is a lead, cleans it into a draft: text from
/// the HTML, phones and e-mails from the text (plus the author's e-mail), `page_url` = the
/// comment link without `#comment-N`, `fields.comment_url` = the link itself.
pub(crate) fn judge(comment: Comment, rules: &CommentRules) -> Parsed {
    let not_lead = |reason, detail: String| {
        Parsed::NotLead(NotLead {
            reason,
            detail,
            external_id: Some(comment.external_id.clone()),
        })
    };
    if let Some(kind @ ("pingback" | "trackback")) = comment.kind.as_deref() {
        return not_lead(
            NotLeadReason::NotAMessage,
            format!("a {kind}, not a person's comment"),
        );
    }
    if comment.status.as_deref() == Some("spam") {
        return not_lead(NotLeadReason::Spam, "marked spam by the blog".into());
    }
    if let Some(why) = staff(&comment, rules) {
        return not_lead(NotLeadReason::Staff, why);
    }
    let text = html_to_text(&comment.html);
    let links = links(&comment.html);
    if links.len() > rules.max_links {
        return not_lead(
            NotLeadReason::Spam,
            format!("link spam: {} links", links.len()),
        );
    }
    let author_url = comment.author_url.as_deref().unwrap_or("").trim();
    if !links.is_empty() || !author_url.is_empty() {
        let haystack = [text.as_str(), author_url]
            .into_iter()
            .chain(links.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if let Some(word) = rules
            .spam_words
            .iter()
            .find(|w| contains_word(&haystack, w))
        {
            return not_lead(NotLeadReason::Spam, format!("link with spam word {word:?}"));
        }
    }

    let mut draft = LeadDraft {
        external_id: Some(comment.external_id),
        subject: comment.subject,
        fields: comment.fields,
        ..LeadDraft::default()
    };
    draft.contact.name = comment.author_name;
    draft.contact.emails.extend(comment.author_email);
    draft.contact.emails.extend(find_emails(&text));
    draft.contact.phones = find_phones(&text);
    if let Some(link) = comment.link {
        draft.page_url = Some(post_url(&link).to_string());
        draft
            .fields
            .insert("comment_url".into(), Value::String(link));
    }
    draft.thread.replies_to = comment.replies_to;
    draft.text = text;
    Parsed::Lead(draft)
}

/// Why the comment is the staff's own, if it is.
fn staff(comment: &Comment, rules: &CommentRules) -> Option<String> {
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    if let Some(name) = comment.author_name.as_deref()
        && rules.staff_names.iter().any(|s| same(s, name))
    {
        return Some(format!("written by staff author {name:?}"));
    }
    if let Some(email) = comment.author_email.as_deref()
        && rules.staff_emails.iter().any(|s| same(s, email))
    {
        return Some(format!("written by staff e-mail {email:?}"));
    }
    None
}

/// Distinct web links in the HTML: `href`s and bare URLs (`mailto:` and `tel:` are contacts,
/// not links).
fn links(html: &str) -> BTreeSet<String> {
    static URL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"(?i)\bhttps?://[^\s"'<>]+"#).expect("a valid pattern"));
    URL.find_iter(html)
        .map(|m| {
            let url = m.as_str().trim_end_matches(['.', ',', ';', ')', '!', '?']);
            url.trim_end_matches('/').to_lowercase()
        })
        .collect()
}

/// Whether `word` occurs in `haystack` (both lower-case) as a whole word.
fn contains_word(haystack: &str, word: &str) -> bool {
    let word = word.trim().to_lowercase();
    if word.is_empty() {
        return false;
    }
    haystack.match_indices(&word).any(|(at, found)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + found.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The post's address: the comment link without its `#comment-N` fragment.
fn post_url(link: &str) -> &str {
    match link.split_once('#') {
        Some((url, fragment)) if fragment.starts_with("comment") => url,
        _ => link,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> CommentRules {
        CommentRules {
            staff_names: vec!["ТеплоДом".into()],
            staff_emails: vec!["blog@teplodom.example".into()],
            ..CommentRules::default()
        }
    }

    fn reason(comment: Comment) -> Option<NotLeadReason> {
        match judge(comment, &rules()) {
            Parsed::NotLead(n) => Some(n.reason),
            Parsed::Lead(_) => None,
        }
    }

    #[test]
    fn words_match_whole_words_only() {
        assert!(contains_word(
            "visit https://win-casino-777.example",
            "casino"
        ));
        assert!(!contains_word("seoul heating", "seo"));
        assert!(contains_word(
            "продвижение сайтов в топ",
            "продвижение сайтов"
        ));
    }

    #[test]
    fn a_single_spammy_link_is_spam_but_a_plain_mention_is_not() {
        let spam = Comment {
            html: r#"<p>Nice! <a href="https://casino.example/">bonus</a></p>"#.into(),
            ..Comment::default()
        };
        assert_eq!(reason(spam), Some(NotLeadReason::Spam));
        let question = Comment {
            html: "<p>А рядом с казино у вас есть склад?</p>".into(),
            ..Comment::default()
        };
        assert_eq!(reason(question), None);
    }

    #[test]
    fn pingbacks_staff_emails_and_blog_spam_are_not_leads() {
        let ping = Comment {
            kind: Some("pingback".into()),
            ..Comment::default()
        };
        assert_eq!(reason(ping), Some(NotLeadReason::NotAMessage));
        let staff = Comment {
            author_email: Some("Blog@TeploDom.example".into()),
            ..Comment::default()
        };
        assert_eq!(reason(staff), Some(NotLeadReason::Staff));
        let marked = Comment {
            status: Some("spam".into()),
            ..Comment::default()
        };
        assert_eq!(reason(marked), Some(NotLeadReason::Spam));
    }

    #[test]
    fn post_url_drops_only_comment_fragments() {
        assert_eq!(
            post_url("https://b.example/p/#comment-5"),
            "https://b.example/p/"
        );
        assert_eq!(
            post_url("https://b.example/p/#top"),
            "https://b.example/p/#top"
        );
    }
}
