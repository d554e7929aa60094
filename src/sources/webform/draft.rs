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
    let mut linked = Vec::new();
    for (key, value) in connector.flatten(&form.fields) {
        if Some(key.as_str()) == honeypot {
            continue;
        }
        let text = value_text(&value);
        let text = text.trim();
        let some = || (!text.is_empty()).then(|| text.to_string());
        let role = connector.role(&key);
        if let Some(urls) = connector.linked_files(role, text) {
            linked.extend(urls.iter().map(linked_file));
            continue;
        }
        match role {
            Role::Name => add_name(&mut names, text),
            Role::Phone => draft.contact.phones.extend(some()),
            Role::Email => draft.contact.emails.extend(some()),
            Role::Message => {
                // The same words under two labels (a builder's copy of a field) once.
                if !text.is_empty() && !texts.iter().any(|t| t == text) {
                    texts.push(text.to_string());
                }
            }
            Role::Subject => draft.subject = some().or(draft.subject.take()),
            Role::PageUrl => draft.page_url = some().or(draft.page_url.take()),
            Role::Referrer => draft.referrer = some().or(draft.referrer.take()),
            Role::ExternalId => draft.external_id = some().or(draft.external_id.take()),
            Role::Utm => {
                let tag = key.rsplit('.').next().unwrap_or(&key);
                if !draft.utm.set(tag, text) && !text.is_empty() {
                    add_field(&mut draft.fields, &key, value.clone());
                }
            }
            Role::Ignore => {}
            Role::Other | Role::File if !text.is_empty() => {
                add_field(&mut draft.fields, &key, value.clone());
            }
            Role::Other | Role::File => {}
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
    if draft.utm == Utm::default() {
        // The landing page's tags: the Referer's query, else the page the body names.
        let pages = [ctx.referer.as_deref(), draft.page_url.as_deref()];
        if let Some(utm) = pages
            .into_iter()
            .flatten()
            .map(utm_from_url)
            .find(|utm| *utm != Utm::default())
        {
            draft.utm = utm;
        }
    }
    // The files sent in the body first: the keeper finds the `n`th of them in the body.
    let files: Vec<Value> = (form.files.iter())
        .map(|f| json!({"name": f.name, "type": f.content_type, "size": f.size}))
        .chain(linked)
        .collect();
    if !files.is_empty() {
        draft
            .fields
            .insert("attachments".into(), Value::Array(files));
    }
    Parsed::Lead(draft)
}

/// Keeps a field the form may send more than once (a checkbox group:
/// `services[]=Монтаж&services[]=Доставка`): a second value under the same name makes the
/// field the list of its values, in order, instead of replacing the first.
fn add_field(fields: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    match fields.get_mut(key) {
        None => {
            fields.insert(key.to_string(), value);
        }
        Some(Value::Array(values)) => values.push(value),
        Some(first) => *first = Value::Array(vec![first.take(), value]),
    }
}

/// The key of `fields.attachments[]` that holds the address of a file the form's provider
/// keeps (a Tilda or Typeform upload).
pub const UPLOAD_URL: &str = "upload_url";

/// A file the provider keeps, as `fields.attachments` lists it: its name and type read from
/// its address (the bytes are fetched later, from the allowed hosts only).
fn linked_file(url: &reqwest::Url) -> Value {
    let name = (url.path_segments())
        .and_then(|mut s| s.rfind(|s| !s.is_empty()))
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| "file".into());
    json!({"name": name, "type": type_of_name(&name), UPLOAD_URL: url.as_str()})
}

/// The content type a file's name suggests (the provider's answer is not known until the file
/// is fetched); anything unknown downloads as bytes.
fn type_of_name(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("heic") => "image/heic",
        Some("pdf") => "application/pdf",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xls") => "application/vnd.ms-excel",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("txt") => "text/plain",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Adds a part of the person's name (a first name, a surname, a full name) unless the parts
/// so far already spell it: a builder may send the contact's first and last name and the
/// form's own "Имя" field with the same words. A part that spells all of them and more
/// replaces them.
fn add_name(names: &mut Vec<String>, part: &str) {
    let words = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_lowercase).collect() };
    let new = words(part);
    if new.is_empty() {
        return;
    }
    let have = words(&names.join(" "));
    if new.iter().all(|w| have.contains(w)) {
        return;
    }
    if have.iter().all(|w| new.contains(w)) {
        names.clear();
    }
    names.push(part.to_string());
}

/// UTM tags from a page address's query string (the landing page of an ad click); a
/// `#fragment` after the query is not part of it.
fn utm_from_url(url: &str) -> Utm {
    let mut utm = Utm::default();
    let url = url.split('#').next().unwrap_or(url);
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
    fn a_field_sent_twice_keeps_both_values() {
        let f = form(&[
            ("phone", "+79161234567"),
            ("services[]", "Монтаж"),
            ("services[]", "Доставка"),
            ("services[]", "Пусконаладка"),
            ("city", "Тверь"),
        ]);
        let Parsed::Lead(d) = form_to_draft(&f, None, &RequestContext::default(), &generic())
        else {
            panic!("a lead")
        };
        assert_eq!(
            d.fields.get("services[]"),
            Some(&json!(["Монтаж", "Доставка", "Пусконаладка"]))
        );
        assert_eq!(d.fields.get("city"), Some(&json!("Тверь")));
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

    fn json_form(body: Value) -> FormBody {
        let Value::Object(map) = body else {
            panic!("an object")
        };
        FormBody {
            fields: map.into_iter().collect(),
            files: Vec::new(),
        }
    }

    fn lead_of(form: &FormBody, ctx: &RequestContext) -> LeadDraft {
        match form_to_draft(form, None, ctx, &generic()) {
            Parsed::Lead(d) => d,
            Parsed::NotLead(n) => panic!("not a lead: {n:?}"),
        }
    }

    #[test]
    fn nested_objects_are_read_and_kept_with_dotted_names() {
        let form = json_form(json!({
            "contact": {"name": "Олег Гусев", "phone": "+7 921 555-01-02", "email": "O@G.ru"},
            "form": {"id": "calc", "name": "Калькулятор отопления", "city": "Пушкин"},
            "request": {"message": "Дом 150 м², нужен расчёт"},
            "manager": {"phone": "+7 812 600-12-34"},
        }));
        let d = lead_of(&form, &RequestContext::default());
        assert_eq!(d.contact.name.as_deref(), Some("Олег Гусев"));
        assert_eq!(d.contact.phones, vec!["+7 921 555-01-02"]);
        assert_eq!(d.contact.emails, vec!["O@G.ru"]);
        assert_eq!(d.text, "Дом 150 м², нужен расчёт");
        assert_eq!(
            d.fields["form.name"], "Калькулятор отопления",
            "the form's name is no name"
        );
        assert_eq!(d.fields["form.city"], "Пушкин");
        assert_eq!(
            d.fields["manager.phone"], "+7 812 600-12-34",
            "not the person's"
        );
    }

    #[test]
    fn russian_and_english_labels_are_read() {
        let f = form(&[
            ("Ваше имя", "Светлана"),
            ("Фамилия", "Орехова"),
            ("Телефон", "8 911 000-11-22"),
            ("Электронная почта", "s@o.ru"),
            ("Комментарий", "Нужна консультация"),
            ("Город", "Всеволожск"),
        ]);
        let d = lead_of(&f, &RequestContext::default());
        assert_eq!(d.contact.name.as_deref(), Some("Светлана Орехова"));
        assert_eq!(d.contact.phones, vec!["8 911 000-11-22"]);
        assert_eq!(d.contact.emails, vec!["s@o.ru"]);
        assert_eq!(d.text, "Нужна консультация");
        assert_eq!(d.fields["Город"], "Всеволожск");
    }

    #[test]
    fn the_same_message_under_two_labels_is_kept_once() {
        let f = form(&[
            ("phone", "+79215550102"),
            ("Сообщение", "Нужен котёл"),
            ("message", "Нужен котёл"),
            ("Комментарий", "После 18:00"),
        ]);
        let d = lead_of(&f, &RequestContext::default());
        assert_eq!(d.text, "Нужен котёл\n\nПосле 18:00");
    }

    #[test]
    fn a_name_spelled_twice_is_kept_once() {
        let mut names = Vec::new();
        for part in ["Марина", "Орлова", "Марина Орлова", "марина"] {
            add_name(&mut names, part);
        }
        assert_eq!(names.join(" "), "Марина Орлова");
        let mut names = vec!["Марина".to_string()];
        add_name(&mut names, "Марина Орлова");
        assert_eq!(names, vec!["Марина Орлова"]);
    }

    #[test]
    fn utm_comes_from_the_referer_query_when_the_body_has_none() {
        let form = json_form(json!({"contact": {"phone": "+79215550102"},
            "page_url": "https://teplodom.example/kotly/"}));
        let ctx = RequestContext {
            referer: Some(
                "https://teplodom.example/kotly/?utm_source=yandex&utm_campaign=kotly#form".into(),
            ),
        };
        let d = lead_of(&form, &ctx);
        assert_eq!(d.utm.source.as_deref(), Some("yandex"));
        assert_eq!(
            d.utm.campaign.as_deref(),
            Some("kotly"),
            "the #fragment is not the tag"
        );
        assert_eq!(
            d.page_url.as_deref(),
            Some("https://teplodom.example/kotly/")
        );
        let form = json_form(json!({"phone": "+79215550102", "utm": {"source": "vk"}}));
        assert_eq!(
            lead_of(&form, &ctx).utm.source.as_deref(),
            Some("vk"),
            "the body's own"
        );
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
