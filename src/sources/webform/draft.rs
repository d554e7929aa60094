//! A form's fields as a lead draft: the form's connector says which field is the name, the
//! phone, the e-mail, the message, UTM, the page and the provider's id; the rest is kept in
//! `fields`. Forms without a connector use the `generic` one.

use super::body::FormBody;
use crate::connectors::{InboundConnector, Role, value_text};
use crate::lead::{LeadDraft, NotLead, NotLeadReason, Parsed, Utm, html_to_text};
use serde_json::{Value, json};

/// What the HTTP side knows about the request, beyond the body.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The `Referer` header: the page the form is on, when no field says so.
    pub referer: Option<String>,
}

/// Turns a form into a draft through its connector, or the honeypot verdict.
pub fn form_to_draft(
    form: &FormBody,
    honeypot: Option<&str>,
    ctx: &RequestContext,
    connector: &InboundConnector,
) -> Parsed {
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
    let mut names = Vec::new();
    for (key, value) in connector.flatten(form) {
        if Some(key.as_str()) == honeypot {
            continue;
        }
        let text = value_text(&value);
        let text = text.trim();
        let some = || (!text.is_empty()).then(|| text.to_string());
        match connector.role(&key) {
            Role::Name => names.extend(some()),
            Role::Phone => draft.contact.phones.extend(some()),
            Role::Email => draft.contact.emails.extend(some()),
            Role::Message => texts.extend(some()),
            Role::Subject => draft.subject = some().or(draft.subject.take()),
            Role::PageUrl => draft.page_url = some().or(draft.page_url.take()),
            Role::Referrer => draft.referrer = some().or(draft.referrer.take()),
            Role::ExternalId => draft.external_id = some().or(draft.external_id.take()),
            Role::Utm => {
                let tag = key.rsplit('.').next().unwrap_or(&key);
                if !draft.utm.set(tag, text) && !text.is_empty() {
                    draft.fields.insert(key.clone(), value.clone());
                }
            }
            Role::Ignore => {}
            Role::Other if !text.is_empty() => {
                draft.fields.insert(key.clone(), value.clone());
            }
            Role::Other => {}
        }
    }
    if !names.is_empty() {
        draft.contact.name = Some(names.join(" "));
    }
    draft.text = texts.join("\n\n");
    // A rich-text field or a builder that sends markup: the lead carries the words only.
    if draft.text.contains('<') && draft.text.contains('>') {
        draft.text = html_to_text(&draft.text);
    }
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
    use crate::connectors::Catalogue;

    fn generic() -> std::sync::Arc<InboundConnector> {
        Catalogue::load(None)
            .ok()
            .and_then(|c| c.generic())
            .expect("the shipped generic connector")
    }

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
        let Parsed::Lead(d) =
            form_to_draft(&f, Some("website"), &RequestContext::default(), &generic())
        else {
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
    fn markup_in_the_message_becomes_text() {
        let f = form(&[
            ("phone", "1"),
            ("message", "<p>Нужен <b>котёл</b>&nbsp;на дачу</p>"),
        ]);
        let Parsed::Lead(d) = form_to_draft(&f, None, &RequestContext::default(), &generic())
        else {
            panic!("a lead")
        };
        assert_eq!(d.text, "Нужен котёл на дачу");
    }

    #[test]
    fn a_filled_honeypot_is_not_a_lead() {
        let f = form(&[
            ("phone", "+79161234567"),
            ("website", "http://spam.example"),
        ]);
        let parsed = form_to_draft(&f, Some("website"), &RequestContext::default(), &generic());
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
        let Parsed::Lead(d) = form_to_draft(&form(&[("phone", "1")]), None, &ctx, &generic())
        else {
            panic!("a lead")
        };
        assert_eq!(
            d.page_url.as_deref(),
            Some("https://x.example/p?utm_source=vk&utm_medium=cpc")
        );
        assert_eq!(d.utm.medium.as_deref(), Some("cpc"));
    }
}
