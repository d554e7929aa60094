//! A form's fields as a lead draft: which field is the name, the phone, the e-mail, the
//! message, UTM and the page; the rest kept in `fields`.

use super::body::FormBody;
use crate::lead::{LeadDraft, NotLead, NotLeadReason, Parsed, Utm};
use serde_json::{Value, json};

/// Field names (lower-cased) people and form builders use, in Russian and English.
const NAME: &[&str] = &[
    "name",
    "fio",
    "fullname",
    "full_name",
    "your-name",
    "имя",
    "фио",
];
const PHONE: &[&str] = &[
    "phone",
    "tel",
    "telephone",
    "mobile",
    "phone_number",
    "your-phone",
    "телефон",
    "тел",
];
const EMAIL: &[&str] = &["email", "e-mail", "mail", "your-email", "почта", "емейл"];
const MESSAGE: &[&str] = &[
    "message",
    "comment",
    "comments",
    "text",
    "question",
    "your-message",
    "сообщение",
    "комментарий",
    "вопрос",
];
const SUBJECT: &[&str] = &["subject", "тема"];
const PAGE: &[&str] = &["page_url", "page", "url", "pageurl"];
const REFERRER: &[&str] = &["referrer", "referer"];

/// What the HTTP side knows about the request, beyond the body.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The `Referer` header: the page the form is on, when no field says so.
    pub referer: Option<String>,
}

/// Turns a form into a draft, or the honeypot verdict.
pub fn form_to_draft(form: &FormBody, honeypot: Option<&str>, ctx: &RequestContext) -> Parsed {
    if let Some(trap) = honeypot {
        let filled = form
            .fields
            .iter()
            .any(|(k, v)| k == trap && !value_text(v).trim().is_empty());
        if filled {
            return Parsed::NotLead(NotLead {
                reason: NotLeadReason::Honeypot,
                detail: format!("the hidden field {trap:?} was filled"),
                external_id: None,
            });
        }
    }
    let mut draft = LeadDraft::default();
    let mut texts = Vec::new();
    for (key, value) in &form.fields {
        let k = key.trim().to_lowercase();
        let text = value_text(value);
        let text = text.trim();
        if Some(key.as_str()) == honeypot {
            continue;
        }
        if NAME.contains(&k.as_str()) {
            if !text.is_empty() {
                draft.contact.name = Some(text.to_string());
            }
        } else if PHONE.contains(&k.as_str()) {
            if !text.is_empty() {
                draft.contact.phones.push(text.to_string());
            }
        } else if EMAIL.contains(&k.as_str()) {
            if !text.is_empty() {
                draft.contact.emails.push(text.to_string());
            }
        } else if MESSAGE.contains(&k.as_str()) {
            if !text.is_empty() {
                texts.push(text.to_string());
            }
        } else if SUBJECT.contains(&k.as_str()) {
            draft.subject = Some(text.to_string());
        } else if PAGE.contains(&k.as_str()) {
            draft.page_url = Some(text.to_string());
        } else if REFERRER.contains(&k.as_str()) {
            draft.referrer = Some(text.to_string());
        } else if k.starts_with("utm_") && draft.utm.set(&k, text) {
            // A UTM tag: kept in `utm`, not in `fields`.
        } else if !text.is_empty() {
            draft.fields.insert(key.clone(), value.clone());
        }
    }
    draft.text = texts.join("\n\n");
    if draft.page_url.is_none() {
        draft.page_url = ctx.referer.clone();
    }
    if draft.utm == Utm::default()
        && let Some(page) = ctx.referer.as_deref().or(draft.page_url.as_deref())
    {
        draft.utm = utm_from_url(page);
    }
    if !form.files.is_empty() {
        let files: Vec<Value> = form
            .files
            .iter()
            .map(|f| json!({"name": f.name, "type": f.content_type, "size": f.size}))
            .collect();
        draft
            .fields
            .insert("attachments".into(), Value::Array(files));
    }
    Parsed::Lead(draft)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// UTM tags from a page address's query string (the landing page of an ad click).
fn utm_from_url(url: &str) -> Utm {
    let mut utm = Utm::default();
    if let Some((_, query)) = url.split_once('?') {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k.starts_with("utm_") {
                utm.set(&k, &v);
            }
        }
    }
    utm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormBody {
        FormBody {
            fields: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
            files: Vec::new(),
        }
    }

    #[test]
    fn fields_are_mapped() {
        let f = form(&[
            ("Имя", "Иван"),
            ("phone", "8 916 123-45-67"),
            ("email", "I@x.ru"),
            ("message", "Нужен котёл"),
            ("utm_source", "yandex"),
            ("company", "ООО Ромашка"),
            ("website", ""),
        ]);
        let Parsed::Lead(d) = form_to_draft(&f, Some("website"), &RequestContext::default()) else {
            panic!("a lead")
        };
        assert_eq!(d.contact.name.as_deref(), Some("Иван"));
        assert_eq!(d.contact.phones, vec!["8 916 123-45-67"]);
        assert_eq!(d.text, "Нужен котёл");
        assert_eq!(d.utm.source.as_deref(), Some("yandex"));
        assert_eq!(
            d.fields.get("company"),
            Some(&Value::String("ООО Ромашка".into()))
        );
        assert!(
            !d.fields.contains_key("website"),
            "the empty honeypot is not a field"
        );
    }

    #[test]
    fn a_filled_honeypot_is_not_a_lead() {
        let f = form(&[
            ("phone", "+79161234567"),
            ("website", "http://spam.example"),
        ]);
        let parsed = form_to_draft(&f, Some("website"), &RequestContext::default());
        assert!(matches!(
            parsed,
            Parsed::NotLead(NotLead {
                reason: NotLeadReason::Honeypot,
                ..
            })
        ));
    }

    #[test]
    fn page_and_utm_fall_back_to_the_referer() {
        let ctx = RequestContext {
            referer: Some("https://x.example/p?utm_source=vk&utm_medium=cpc".into()),
        };
        let Parsed::Lead(d) = form_to_draft(&form(&[("phone", "1")]), None, &ctx) else {
            panic!("a lead")
        };
        assert_eq!(
            d.page_url.as_deref(),
            Some("https://x.example/p?utm_source=vk&utm_medium=cpc")
        );
        assert_eq!(d.utm.medium.as_deref(), Some("cpc"));
    }
}
