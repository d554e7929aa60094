//! A CRM simulator: amoCRM API v4, Bitrix24 REST through an inbound-webhook URL, HubSpot CRM
//! v3 and Pipedrive v1, as far as leadgate's presets use them, answering the way each CRM
//! does (its ids, its answer shapes, `204` for an amoCRM search that finds nothing, its error
//! bodies for a wrong token or a bad request, and its own rate-limit answer: `429` for amoCRM,
//! HubSpot and Pipedrive, `503 QUERY_LIMIT_EXCEEDED` for Bitrix24). It keeps what the calls
//! made (contacts, leads, notes) for the tests to look at, and sends the CRM's own outgoing
//! webhooks to leadgate in each CRM's format.
//!
//! Shapes followed (see also the preset files' comments):
//! - amoCRM: https://www.amocrm.ru/developers/content/crm_platform/contacts-api,
//!   .../leads-api (complex add, add, edit), .../events-and-notes, .../webhooks-format
//! - Bitrix24: https://apidocs.bitrix24.com/api-reference/crm/ (crm.duplicate.findbycomm,
//!   crm.lead.add/get/update/list, crm.contact.update, crm.timeline.comment.add, batch with
//!   `$result[name]`), error-codes.html, limits.html, ONCRMLEADUPDATE's form fields
//! - HubSpot: https://developers.hubspot.com/docs/api-reference/crm-contacts-v3 (search,
//!   create, batch upsert, get, patch), crm-notes-v3, error and rate-limit bodies
//! - Pipedrive: https://developers.pipedrive.com/docs/api/v1/ (Persons search/add/get/update,
//!   Leads add/update, Notes add), guide-for-webhooks-v2

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Which CRM it plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// amoCRM API v4 (Bearer token).
    Amocrm,
    /// Bitrix24 REST under `/rest/1/<token>/`.
    Bitrix24,
    /// HubSpot CRM v3 (Bearer token).
    Hubspot,
    /// Pipedrive v1 (`x-api-token`).
    Pipedrive,
}

/// A contact (amoCRM, Bitrix24, HubSpot) or person (Pipedrive).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contact {
    /// The CRM's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its phones, in order.
    pub phones: Vec<String>,
    /// Its e-mails, in order.
    pub emails: Vec<String>,
    /// The responsible user.
    pub owner: Option<String>,
    /// Other properties (HubSpot's company, city...).
    pub props: BTreeMap<String, Value>,
}

/// A lead (a deal in amoCRM's words).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lead {
    /// The CRM's id (a number as text; a UUID in Pipedrive).
    pub id: String,
    /// Its title.
    pub title: String,
    /// The contact or person it belongs to.
    pub contact: Option<i64>,
    /// The responsible user.
    pub owner: Option<String>,
    /// Its status (amoCRM's status_id, Bitrix24's STATUS_ID; Pipedrive: new, seen, archived).
    pub status: String,
    /// Bitrix24's ORIGIN_ID (leadgate's id).
    pub origin: Option<String>,
    /// The lead's own phones (Bitrix24 leads carry them).
    pub phones: Vec<String>,
    /// The lead's own e-mails.
    pub emails: Vec<String>,
    /// Every other field as sent.
    pub fields: Map<String, Value>,
}

/// A note (amoCRM, HubSpot, Pipedrive) or timeline comment (Bitrix24).
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// `lead:<id>` or `contact:<id>`.
    pub on: String,
    /// Its text.
    pub text: String,
}

/// One call the CRM answered.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The JSON body sent (`null` for none).
    pub body: Value,
}

#[derive(Debug)]
struct Inner {
    flavor: Flavor,
    token: String,
    next: i64,
    contacts: Vec<Contact>,
    leads: Vec<Lead>,
    notes: Vec<Note>,
    calls: Vec<Call>,
    rate_limited: usize,
}

/// The first status of a new amoCRM lead (the first stage of the main pipeline).
pub const AMO_FIRST_STATUS: &str = "1001";

/// The running simulator.
#[derive(Clone)]
pub struct Crm {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Which CRM it plays.
    pub flavor: Flavor,
    inner: Arc<Mutex<Inner>>,
}

impl Crm {
    /// Starts a CRM of `flavor` that takes `token` (the API token, or the inbound webhook's
    /// key in Bitrix24's URL).
    pub async fn start(flavor: Flavor, token: &str) -> Crm {
        let inner = Arc::new(Mutex::new(Inner {
            flavor,
            token: token.to_string(),
            next: match flavor {
                Flavor::Amocrm => 9_774_766,
                Flavor::Bitrix24 => 101,
                Flavor::Hubspot => 512,
                Flavor::Pipedrive => 1092,
            },
            contacts: Vec::new(),
            leads: Vec::new(),
            notes: Vec::new(),
            calls: Vec::new(),
            rate_limited: 0,
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let addr = super::serve(app).await;
        Crm {
            addr,
            flavor,
            inner,
        }
    }

    /// The URL a sink is configured with (Bitrix24's carries the token).
    pub fn url(&self) -> String {
        let i = self.lock();
        match self.flavor {
            // As it is often copied: without the last `/` Bitrix24 shows.
            Flavor::Bitrix24 => format!("http://{}/rest/1/{}", self.addr, i.token),
            _ => format!("http://{}/", self.addr),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The contacts (persons) it holds.
    pub fn contacts(&self) -> Vec<Contact> {
        self.lock().contacts.clone()
    }

    /// The leads it holds.
    pub fn leads(&self) -> Vec<Lead> {
        self.lock().leads.clone()
    }

    /// The notes it holds.
    pub fn notes(&self) -> Vec<Note> {
        self.lock().notes.clone()
    }

    /// Every call answered so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// `METHOD path -> status` of every call, for assertions and messages.
    pub fn call_lines(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| format!("{} {} -> {}", c.method, c.path, c.status))
            .collect()
    }

    /// Answers the next `n` calls with the CRM's rate-limit answer.
    pub fn rate_limit(&self, n: usize) {
        self.lock().rate_limited = n;
    }

    /// A contact the CRM already knows (a client from before leadgate).
    pub fn add_contact(&self, name: &str, phones: &[&str], emails: &[&str]) -> i64 {
        let mut i = self.lock();
        let id = i.id();
        i.contacts.push(Contact {
            id,
            name: name.into(),
            phones: phones.iter().map(|p| p.to_string()).collect(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
            ..Contact::default()
        });
        id
    }

    /// A manager in the CRM gives lead `id` to `owner` and moves it to `status`, as the CRM's
    /// UI would.
    pub fn change_lead(&self, id: &str, owner: Option<&str>, status: Option<&str>) {
        let mut i = self.lock();
        let lead = i
            .leads
            .iter_mut()
            .find(|l| l.id == id)
            .unwrap_or_else(|| panic!("no lead {id}"));
        if let Some(o) = owner {
            lead.owner = Some(o.to_string());
        }
        if let Some(s) = status {
            lead.status = s.to_string();
        }
    }

    /// Sends the CRM's own webhook about lead `id` (its owner changed from `old_owner`, its
    /// status from `old_status`) to `url`, authenticated with `secret` the way this CRM does,
    /// and returns leadgate's status.
    pub async fn send_webhook(
        &self,
        url: &str,
        secret: &str,
        id: &str,
        old_owner: &str,
        old_status: &str,
    ) -> u16 {
        let lead = self
            .leads()
            .into_iter()
            .find(|l| l.id == id)
            .unwrap_or_else(|| panic!("no lead {id}"));
        let owner = lead.owner.clone().unwrap_or_default();
        let client = reqwest::Client::new();
        let request = match self.flavor {
            Flavor::Amocrm => {
                let form: Vec<(String, String)> = vec![
                    ("leads[responsible][0][id]".into(), id.into()),
                    (
                        "leads[responsible][0][responsible_user_id]".into(),
                        owner.clone(),
                    ),
                    (
                        "leads[responsible][0][old_responsible_user_id]".into(),
                        old_owner.into(),
                    ),
                    (
                        "leads[responsible][0][status_id]".into(),
                        lead.status.clone(),
                    ),
                    ("leads[responsible][0][pipeline_id]".into(), "100".into()),
                    ("leads[status][0][id]".into(), id.into()),
                    ("leads[status][0][status_id]".into(), lead.status.clone()),
                    ("leads[status][0][old_status_id]".into(), old_status.into()),
                    ("leads[status][0][pipeline_id]".into(), "100".into()),
                    (
                        "leads[status][0][responsible_user_id]".into(),
                        owner.clone(),
                    ),
                    ("account[subdomain]".into(), "teplo".into()),
                    ("account[id]".into(), "29000001".into()),
                ];
                client.post(format!("{url}?key={secret}")).form(&form)
            }
            Flavor::Bitrix24 => {
                let form: Vec<(String, String)> = vec![
                    ("event".into(), "ONCRMLEADUPDATE".into()),
                    ("event_handler_id".into(), "5".into()),
                    ("data[FIELDS][ID]".into(), id.into()),
                    ("ts".into(), "1795000000".into()),
                    ("auth[domain]".into(), "teplo.bitrix24.ru".into()),
                    (
                        "auth[client_endpoint]".into(),
                        "https://teplo.bitrix24.ru/rest/".into(),
                    ),
                    (
                        "auth[server_endpoint]".into(),
                        "https://oauth.bitrix.info/rest/".into(),
                    ),
                    ("auth[member_id]".into(), "3c7a2d1f0e".into()),
                    ("auth[application_token]".into(), secret.into()),
                ];
                client.post(url).form(&form)
            }
            Flavor::Pipedrive => {
                let body = json!({
                    "meta": {
                        "action": "change", "entity": "lead", "entity_id": id, "version": "2.0",
                        "company_id": 12882925, "user_id": owner.parse::<i64>().unwrap_or(0),
                        "id": 77, "webhook_id": 99, "webhook_owner_id": 1, "attempt": 1,
                        "host": "teplo.pipedrive.com", "timestamp": 1795000000,
                        "change_source": "app", "is_bulk_edit": false, "type": "general",
                    },
                    "data": pipedrive_lead(&lead),
                    "previous": {"owner_id": old_owner.parse::<i64>().unwrap_or(0), "was_seen": old_status == "seen"},
                });
                client
                    .post(url)
                    .basic_auth("leadgate", Some(secret))
                    .json(&body)
            }
            Flavor::Hubspot => panic!("HubSpot's webhooks need a public app; leadgate takes none"),
        };
        request.send().await.expect("webhook").status().as_u16()
    }
}

impl Inner {
    fn id(&mut self) -> i64 {
        self.next += 1;
        self.next - 1
    }

    fn contact(&mut self, id: i64) -> Option<&mut Contact> {
        self.contacts.iter_mut().find(|c| c.id == id)
    }

    fn lead(&mut self, id: &str) -> Option<&mut Lead> {
        self.leads.iter_mut().find(|l| l.id == id)
    }
}

/// A JSON answer.
type Answer = (StatusCode, Option<Value>);

fn ok(v: Value) -> Answer {
    (StatusCode::OK, Some(v))
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut i = inner.lock().unwrap_or_else(|e| e.into_inner());
    let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let (status, answer, extra) = if i.rate_limited > 0 {
        i.rate_limited -= 1;
        rate_limited(i.flavor)
    } else if !authorised(&i, &headers, &path) {
        let (s, b) = unauthorised(i.flavor);
        (s, b, Vec::new())
    } else {
        let (s, b) = match i.flavor {
            Flavor::Amocrm => amocrm(&mut i, &method, &path, &query, &sent),
            Flavor::Bitrix24 => bitrix24(&mut i, &path, &sent),
            Flavor::Hubspot => hubspot(&mut i, &method, &path, &query, &sent),
            Flavor::Pipedrive => pipedrive(&mut i, &method, &path, &query, &sent),
        };
        (s, b, Vec::new())
    };
    i.calls.push(Call {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or(path.clone(), ToString::to_string),
        status: status.as_u16(),
        body: sent,
    });
    let mut response = match answer {
        Some(v) => (status, axum::Json(v)).into_response(),
        None => status.into_response(),
    };
    for (k, v) in extra {
        if let Ok(v) = v.parse() {
            response.headers_mut().insert(k, v);
        }
    }
    response
}

fn authorised(i: &Inner, headers: &HeaderMap, path: &str) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    match i.flavor {
        Flavor::Amocrm | Flavor::Hubspot => {
            header("authorization") == format!("Bearer {}", i.token)
        }
        Flavor::Pipedrive => header("x-api-token") == i.token,
        Flavor::Bitrix24 => path.starts_with(&format!("/rest/1/{}/", i.token)),
    }
}

fn unauthorised(flavor: Flavor) -> Answer {
    let body = match flavor {
        Flavor::Amocrm => {
            json!({"title": "Unauthorized", "type": "https://httpstatus.es/401", "status": 401, "detail": "Invalid access token"})
        }
        Flavor::Bitrix24 => {
            json!({"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"})
        }
        Flavor::Hubspot => {
            json!({"status": "error", "message": "Authentication credentials not found. This API supports OAuth 2.0 authentication.", "correlationId": "3c5e2b1a-0000-4000-8000-000000000001", "category": "INVALID_AUTHENTICATION"})
        }
        Flavor::Pipedrive => {
            json!({"success": false, "error": "unauthorized access", "errorCode": 401, "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."})
        }
    };
    (StatusCode::UNAUTHORIZED, Some(body))
}

fn rate_limited(flavor: Flavor) -> (StatusCode, Option<Value>, Vec<(&'static str, String)>) {
    match flavor {
        Flavor::Amocrm => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(
                json!({"title": "Too Many Requests", "type": "https://httpstatus.es/429", "status": 429, "detail": "Too many requests"}),
            ),
            Vec::new(),
        ),
        Flavor::Bitrix24 => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(
                json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}),
            ),
            Vec::new(),
        ),
        Flavor::Hubspot => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(
                json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT", "correlationId": "3c5e2b1a-0000-4000-8000-000000000002", "policyName": "TEN_SECONDLY_ROLLING"}),
            ),
            vec![("retry-after", "10".into())],
        ),
        Flavor::Pipedrive => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(json!({"success": false, "error": "Request over limit", "errorCode": 429})),
            vec![
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "2".into()),
            ],
        ),
    }
}

/// The digits of a phone, for amoCRM's substring search.
fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn amo_contact(c: &Contact) -> Value {
    let field = |id: i64, name: &str, code: &str, values: &[String]| {
        json!({"field_id": id, "field_name": name, "field_code": code, "field_type": "multitext",
               "values": values.iter().map(|v| json!({"value": v, "enum_id": 1, "enum_code": "WORK"})).collect::<Vec<_>>()})
    };
    let mut cfv = Vec::new();
    if !c.phones.is_empty() {
        cfv.push(field(3, "Телефон", "PHONE", &c.phones));
    }
    if !c.emails.is_empty() {
        cfv.push(field(5, "Email", "EMAIL", &c.emails));
    }
    json!({
        "id": c.id, "name": c.name,
        "responsible_user_id": c.owner.as_deref().and_then(|o| o.parse::<i64>().ok()),
        "custom_fields_values": if cfv.is_empty() { Value::Null } else { Value::Array(cfv) },
        "account_id": 29000001,
        "_links": {"self": {"href": format!("https://teplo.amocrm.ru/api/v4/contacts/{}", c.id)}},
    })
}

/// amoCRM's multi-field values of `code` in a `custom_fields_values` list.
fn amo_values(cfv: &Value, code: &str) -> Option<Vec<String>> {
    cfv.as_array()?
        .iter()
        .find(|f| f["field_code"] == code)
        .map(|f| {
            f["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| text(&v["value"]))
                .collect()
        })
}

fn amo_invalid(detail: &str) -> Answer {
    (
        StatusCode::BAD_REQUEST,
        Some(
            json!({"title": "Bad Request", "type": "https://httpstatus.es/400", "status": 400,
                    "detail": "Request validation failed",
                    "validation-errors": [{"request_id": "0", "errors": [{"code": "FieldMissing", "path": "", "detail": detail}]}]}),
        ),
    )
}

fn amocrm(
    i: &mut Inner,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    sent: &Value,
) -> Answer {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["api", "v4", "contacts"]) => {
            let q = query.get("query").cloned().unwrap_or_default();
            let found: Vec<Value> = i
                .contacts
                .iter()
                .filter(|c| {
                    (!digits(&q).is_empty()
                        && !q.contains('@')
                        && c.phones.iter().any(|p| digits(p).contains(&digits(&q))))
                        || c.emails.iter().any(|e| e.eq_ignore_ascii_case(&q))
                        || (!q.is_empty() && c.name.contains(&q))
                })
                .map(amo_contact)
                .collect();
            if found.is_empty() {
                (StatusCode::NO_CONTENT, None)
            } else {
                ok(
                    json!({"_page": 1, "_links": {"self": {"href": "https://teplo.amocrm.ru/api/v4/contacts?page=1&limit=50"}}, "_embedded": {"contacts": found}}),
                )
            }
        }
        ("GET", ["api", "v4", "contacts", id]) => {
            match i.contacts.iter().find(|c| c.id.to_string() == *id) {
                Some(c) => ok(amo_contact(c)),
                None => (StatusCode::NO_CONTENT, None),
            }
        }
        ("PATCH", ["api", "v4", "contacts", id]) => {
            let Some(c) = id.parse().ok().and_then(|id| i.contact(id)) else {
                return amo_invalid("contact not found");
            };
            if let Some(o) = sent.get("responsible_user_id") {
                c.owner = Some(text(o));
            }
            if let Some(p) = amo_values(&sent["custom_fields_values"], "PHONE") {
                c.phones = p;
            }
            if let Some(e) = amo_values(&sent["custom_fields_values"], "EMAIL") {
                c.emails = e;
            }
            ok(json!({"id": c.id, "updated_at": 1795000000, "_links": {}}))
        }
        ("POST", ["api", "v4", "leads", "complex"]) => {
            let Some([lead]) = sent.as_array().map(Vec::as_slice) else {
                return amo_invalid("the body is an array of leads");
            };
            let Some(name) = lead["name"].as_str() else {
                return amo_invalid("name is required");
            };
            let embedded = &lead["_embedded"]["contacts"][0];
            let contact = match embedded["id"].as_i64() {
                Some(id) => id,
                None => {
                    let id = i.id();
                    i.contacts.push(Contact {
                        id,
                        name: text(&embedded["name"]),
                        phones: amo_values(&embedded["custom_fields_values"], "PHONE")
                            .unwrap_or_default(),
                        emails: amo_values(&embedded["custom_fields_values"], "EMAIL")
                            .unwrap_or_default(),
                        owner: embedded.get("responsible_user_id").map(text),
                        ..Contact::default()
                    });
                    id
                }
            };
            let id = i.id();
            i.leads.push(Lead {
                id: id.to_string(),
                title: name.into(),
                contact: Some(contact),
                owner: lead.get("responsible_user_id").map(text),
                status: AMO_FIRST_STATUS.into(),
                fields: lead.as_object().cloned().unwrap_or_default(),
                ..Lead::default()
            });
            ok(
                json!([{"id": id, "contact_id": contact, "company_id": null, "request_id": ["0"], "merged": false}]),
            )
        }
        ("POST", ["api", "v4", "leads"]) => {
            let Some([lead]) = sent.as_array().map(Vec::as_slice) else {
                return amo_invalid("the body is an array of leads");
            };
            let contact = lead["_embedded"]["contacts"][0]["id"].as_i64();
            if contact.is_some_and(|c| !i.contacts.iter().any(|x| x.id == c)) {
                return amo_invalid("_embedded.contacts: no such contact");
            }
            let id = i.id();
            i.leads.push(Lead {
                id: id.to_string(),
                title: text(&lead["name"]),
                contact,
                owner: lead.get("responsible_user_id").map(text),
                status: AMO_FIRST_STATUS.into(),
                fields: lead.as_object().cloned().unwrap_or_default(),
                ..Lead::default()
            });
            ok(
                json!({"_links": {"self": {"href": "https://teplo.amocrm.ru/api/v4/leads"}},
                      "_embedded": {"leads": [{"id": id, "request_id": "0", "_links": {}}]}}),
            )
        }
        ("PATCH", ["api", "v4", "leads", id]) => {
            let Some(lead) = i.lead(id) else {
                return amo_invalid("lead not found");
            };
            if let Some(o) = sent.get("responsible_user_id") {
                lead.owner = Some(text(o));
            }
            ok(
                json!({"id": id.parse::<i64>().unwrap_or(0), "updated_at": 1795000000, "_links": {}}),
            )
        }
        ("POST", ["api", "v4", "leads", id, "notes"]) => {
            if !i.leads.iter().any(|l| l.id == *id) {
                return amo_invalid("lead not found");
            }
            let Some(notes) = sent.as_array() else {
                return amo_invalid("the body is an array of notes");
            };
            let mut made = Vec::new();
            for n in notes {
                if n["note_type"] != "common" || !n["params"]["text"].is_string() {
                    return amo_invalid("a common note needs params.text");
                }
                i.notes.push(Note {
                    on: format!("lead:{id}"),
                    text: text(&n["params"]["text"]),
                });
                let note = i.id();
                made.push(json!({"id": note, "entity_id": id.parse::<i64>().unwrap_or(0), "request_id": "0"}));
            }
            ok(json!({"_links": {}, "_embedded": {"notes": made}}))
        }
        _ => (
            StatusCode::NOT_FOUND,
            Some(
                json!({"title": "Not Found", "type": "https://httpstatus.es/404", "status": 404, "detail": path}),
            ),
        ),
    }
}

fn b24_error(code: &str, description: &str) -> Answer {
    (
        StatusCode::BAD_REQUEST,
        Some(json!({"error": code, "error_description": description})),
    )
}

/// Bitrix24's multi-field items (`[{"VALUE", "VALUE_TYPE"}]`), added to `to` (an item without
/// an ID is a new value; the old ones stay).
fn b24_add(to: &mut Vec<String>, items: &Value) {
    for item in items.as_array().into_iter().flatten() {
        let v = text(&item["VALUE"]);
        if !v.is_empty() {
            to.push(v);
        }
    }
}

fn b24_lead(l: &Lead) -> Value {
    json!({
        "ID": l.id, "TITLE": l.title, "STATUS_ID": l.status,
        "STATUS_SEMANTIC_ID": match l.status.as_str() { "CONVERTED" => "S", "JUNK" => "F", _ => "P" },
        "ASSIGNED_BY_ID": l.owner, "CONTACT_ID": l.contact.map(|c| c.to_string()),
        "ORIGINATOR_ID": l.origin.as_ref().map(|_| "leadgate"), "ORIGIN_ID": l.origin,
        "HAS_PHONE": if l.phones.is_empty() { "N" } else { "Y" },
        "OPENED": "Y", "DATE_CREATE": "2026-11-22T12:15:02+03:00",
    })
}

/// Runs one Bitrix24 method with its parameters.
fn b24_call(i: &mut Inner, method: &str, p: &Value) -> Result<Value, Answer> {
    match method {
        "crm.duplicate.findbycomm" => {
            let values: Vec<String> = p["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            let by_phone = p["type"] == "PHONE";
            if values.is_empty() || !(by_phone || p["type"] == "EMAIL") {
                return Err(b24_error("", "Parameter 'type' or 'values' is invalid"));
            }
            let ids: Vec<i64> = i
                .contacts
                .iter()
                .filter(|c| {
                    let have = if by_phone { &c.phones } else { &c.emails };
                    have.iter().any(|h| {
                        values.iter().any(|v| {
                            if by_phone {
                                digits(v) == digits(h)
                            } else {
                                v.eq_ignore_ascii_case(h)
                            }
                        })
                    })
                })
                .map(|c| c.id)
                .collect();
            // PHP's empty array: nothing found is `[]`, not `{}`.
            Ok(if ids.is_empty() {
                json!([])
            } else {
                json!({"CONTACT": ids})
            })
        }
        "crm.lead.add" => {
            let f = &p["fields"];
            if !f.is_object() {
                return Err(b24_error("", "Parameter 'fields' must be array."));
            }
            let contact = f.get("CONTACT_ID").map(text).and_then(|c| c.parse().ok());
            if contact.is_some_and(|c| !i.contacts.iter().any(|x| x.id == c)) {
                return Err(b24_error("", "Contact is not found"));
            }
            let id = i.id();
            let mut lead = Lead {
                id: id.to_string(),
                title: text(&f["TITLE"]),
                contact,
                owner: f.get("ASSIGNED_BY_ID").map(text),
                status: "NEW".into(),
                origin: f.get("ORIGIN_ID").map(text),
                fields: f.as_object().cloned().unwrap_or_default(),
                ..Lead::default()
            };
            b24_add(&mut lead.phones, &f["PHONE"]);
            b24_add(&mut lead.emails, &f["EMAIL"]);
            i.leads.push(lead);
            Ok(json!(id))
        }
        "crm.lead.get" => i
            .leads
            .iter()
            .find(|l| l.id == text(&p["id"]))
            .map(b24_lead)
            .ok_or_else(|| b24_error("", "Not found")),
        "crm.lead.list" => {
            let origin = text(&p["filter"]["ORIGIN_ID"]);
            Ok(Value::Array(
                i.leads
                    .iter()
                    .filter(|l| l.origin.as_deref() == Some(origin.as_str()))
                    .map(|l| json!({"ID": l.id}))
                    .collect(),
            ))
        }
        "crm.lead.update" => {
            let f = p["fields"].clone();
            let Some(lead) = i.lead(&text(&p["id"])) else {
                return Err(b24_error("", "Not found"));
            };
            if let Some(o) = f.get("ASSIGNED_BY_ID") {
                lead.owner = Some(text(o));
            }
            if let Some(s) = f.get("STATUS_ID") {
                lead.status = text(s);
            }
            b24_add(&mut lead.phones, &f["PHONE"]);
            b24_add(&mut lead.emails, &f["EMAIL"]);
            Ok(json!(true))
        }
        "crm.contact.update" => {
            let f = p["fields"].clone();
            let Some(c) = text(&p["id"]).parse().ok().and_then(|id| i.contact(id)) else {
                return Err(b24_error("", "Not found"));
            };
            b24_add(&mut c.phones, &f["PHONE"]);
            b24_add(&mut c.emails, &f["EMAIL"]);
            Ok(json!(true))
        }
        "crm.timeline.comment.add" => {
            let f = &p["fields"];
            let entity = text(&f["ENTITY_ID"]);
            if f["ENTITY_TYPE"] != "lead" || !i.leads.iter().any(|l| l.id == entity) {
                return Err(b24_error("", "Entity not found"));
            }
            i.notes.push(Note {
                on: format!("lead:{entity}"),
                text: text(&f["COMMENT"]),
            });
            Ok(json!(i.id()))
        }
        _ => Err((
            StatusCode::NOT_FOUND,
            Some(
                json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}),
            ),
        )),
    }
}

/// A batch command's query string (`fields[PHONE][0][VALUE]=...`) as the nested parameters
/// the method gets.
fn b24_query(q: &str) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        let mut names: Vec<String> = Vec::new();
        let (head, mut rest) = match k.find('[') {
            Some(n) => (&k[..n], &k[n..]),
            None => (&k[..], ""),
        };
        names.push(head.to_string());
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            names.push(inner[..end].to_string());
            rest = inner.get(end + 1..).unwrap_or("");
        }
        let mut at = &mut root;
        for (n, name) in names.iter().enumerate() {
            let last = n + 1 == names.len();
            let name = if name.is_empty() {
                "0".to_string()
            } else {
                name.clone()
            };
            let map = at.as_object_mut().expect("an object");
            at = map.entry(name).or_insert_with(|| {
                if last {
                    Value::Null
                } else {
                    Value::Object(Map::new())
                }
            });
            if last {
                *at = Value::String(v.to_string());
            }
        }
    }
    // Numbered keys are arrays (fields[PHONE][0][VALUE]).
    fn arrays(v: &mut Value) {
        if let Value::Object(m) = v {
            for x in m.values_mut() {
                arrays(x);
            }
            if !m.is_empty() && m.keys().all(|k| k.parse::<usize>().is_ok()) {
                let items: Vec<Value> = m.values().cloned().collect();
                *v = Value::Array(items);
            }
        }
    }
    arrays(&mut root);
    root
}

fn bitrix24(i: &mut Inner, path: &str, sent: &Value) -> Answer {
    let prefix = format!("/rest/1/{}/", i.token);
    let method = path
        .strip_prefix(&prefix)
        .unwrap_or("")
        .trim_end_matches(".json")
        .to_string();
    let time =
        json!({"start": 1795000000.1, "finish": 1795000000.2, "duration": 0.1, "processing": 0.05});
    if method == "batch" {
        let Some(cmd) = sent["cmd"].as_object() else {
            return b24_error("", "Parameter 'cmd' is invalid");
        };
        let mut results = Map::new();
        let mut errors = Map::new();
        // In the order given: a command sees the results of those before it only.
        for (name, call) in cmd {
            let call = text(call);
            let (m, q) = call.split_once('?').unwrap_or((&call, ""));
            let mut q = q.to_string();
            for (done, value) in &results {
                for (pointer, v) in [("[0][ID]", value[0]["ID"].clone()), ("", value.clone())] {
                    q = q.replace(&format!("$result[{done}]{pointer}"), &text(&v));
                }
            }
            if q.contains("$result[") {
                errors.insert(
                    name.clone(),
                    json!({"error": "", "error_description": "Not found"}),
                );
                if sent["halt"] == 1 {
                    break;
                }
                continue;
            }
            match b24_call(i, m, &b24_query(&q)) {
                Ok(v) => {
                    results.insert(name.clone(), v);
                }
                Err((_, e)) => {
                    errors.insert(name.clone(), e.unwrap_or(Value::Null));
                    if sent["halt"] == 1 {
                        break;
                    }
                }
            }
        }
        return ok(
            json!({"result": {"result": results, "result_error": errors, "result_total": [], "result_next": [], "result_time": {}}, "time": time}),
        );
    }
    match b24_call(i, &method, sent) {
        Ok(v) => ok(json!({"result": v, "time": time})),
        Err(e) => e,
    }
}

fn hubspot_object(c: &Contact, wanted: &[String]) -> Value {
    let mut props = Map::new();
    props.insert("hs_object_id".into(), json!(c.id.to_string()));
    let all: BTreeMap<&str, Value> = [
        ("email", json!(c.emails.first())),
        ("phone", json!(c.phones.first())),
        ("mobilephone", json!(c.phones.get(1))),
        (
            "firstname",
            json!(if c.name.is_empty() {
                None
            } else {
                Some(&c.name)
            }),
        ),
        ("hubspot_owner_id", json!(c.owner)),
    ]
    .into_iter()
    .collect();
    for w in wanted {
        let v = all
            .get(w.as_str())
            .cloned()
            .or_else(|| c.props.get(w).cloned())
            .unwrap_or(Value::Null);
        props.insert(w.clone(), v);
    }
    json!({"id": c.id.to_string(), "properties": props, "createdAt": "2026-11-22T09:15:03.000Z",
           "updatedAt": "2026-11-22T09:15:03.000Z", "archived": false})
}

/// Sets HubSpot properties on a contact: email, phone and mobilephone are its ways to reach
/// the person, the rest is kept as is.
fn hubspot_set(c: &mut Contact, props: &Map<String, Value>) {
    for (k, v) in props {
        let v = text(v);
        match k.as_str() {
            "email" if !v.is_empty() => {
                c.emails.retain(|e| *e != v);
                c.emails.insert(0, v);
            }
            "phone" if !v.is_empty() => {
                c.phones.retain(|p| *p != v);
                c.phones.insert(0, v);
            }
            "mobilephone" if !v.is_empty() && !c.phones.contains(&v) => c.phones.push(v),
            "firstname" => c.name = v,
            "hubspot_owner_id" => c.owner = Some(v),
            "email" | "phone" | "mobilephone" => {}
            _ => {
                c.props.insert(k.clone(), Value::String(v));
            }
        }
    }
}

fn hubspot_error(status: StatusCode, category: &str, message: &str) -> Answer {
    (
        status,
        Some(
            json!({"status": "error", "message": message, "correlationId": "3c5e2b1a-0000-4000-8000-000000000003", "category": category}),
        ),
    )
}

fn hubspot(
    i: &mut Inner,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    sent: &Value,
) -> Answer {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let all_props =
        |v: &Value| -> Vec<String> { v.as_array().into_iter().flatten().map(text).collect() };
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["crm", "v3", "objects", "contacts", "search"]) => {
            let groups = sent["filterGroups"].as_array().cloned().unwrap_or_default();
            if groups.len() > 5 {
                return hubspot_error(
                    StatusCode::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "Too many filter groups (5 at most)",
                );
            }
            let found: Vec<Value> = i
                .contacts
                .iter()
                .filter(|c| {
                    groups.iter().any(|g| {
                        g["filters"].as_array().into_iter().flatten().all(|f| {
                            let v = text(&f["value"]);
                            f["operator"] == "EQ"
                                && match f["propertyName"].as_str() {
                                    Some("email") => c.emails.first() == Some(&v),
                                    Some("phone") => c.phones.first() == Some(&v),
                                    Some("mobilephone") => c.phones.get(1) == Some(&v),
                                    _ => false,
                                }
                        })
                    })
                })
                .map(|c| hubspot_object(c, &all_props(&sent["properties"])))
                .collect();
            ok(json!({"total": found.len(), "results": found}))
        }
        ("POST", ["crm", "v3", "objects", "contacts"]) => {
            let Some(props) = sent["properties"].as_object() else {
                return hubspot_error(
                    StatusCode::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "properties are required",
                );
            };
            let email = props.get("email").map(text).filter(|e| !e.is_empty());
            if let Some(existing) =
                email.and_then(|e| i.contacts.iter().find(|c| c.emails.contains(&e)))
            {
                return hubspot_error(
                    StatusCode::CONFLICT,
                    "CONFLICT",
                    &format!("Contact already exists. Existing ID: {}", existing.id),
                );
            }
            let id = i.id();
            let mut c = Contact {
                id,
                ..Contact::default()
            };
            hubspot_set(&mut c, props);
            let answer = hubspot_object(&c, &props.keys().cloned().collect::<Vec<_>>());
            i.contacts.push(c);
            (StatusCode::CREATED, Some(answer))
        }
        ("POST", ["crm", "v3", "objects", "contacts", "batch", "upsert"]) => {
            let mut results = Vec::new();
            for input in sent["inputs"].as_array().into_iter().flatten() {
                if input["idProperty"] != "email" {
                    return hubspot_error(
                        StatusCode::BAD_REQUEST,
                        "VALIDATION_ERROR",
                        "idProperty must be a unique property",
                    );
                }
                let email = text(&input["id"]);
                let props = input["properties"].as_object().cloned().unwrap_or_default();
                let existing = i.contacts.iter().position(|c| c.emails.contains(&email));
                let (c, new) = match existing {
                    Some(n) => (&mut i.contacts[n], false),
                    None => {
                        let id = i.id();
                        i.contacts.push(Contact {
                            id,
                            emails: vec![email.clone()],
                            ..Contact::default()
                        });
                        (i.contacts.last_mut().expect("pushed"), true)
                    }
                };
                hubspot_set(c, &props);
                let mut object = hubspot_object(c, &props.keys().cloned().collect::<Vec<_>>());
                object["new"] = json!(new);
                results.push(object);
            }
            ok(
                json!({"status": "COMPLETE", "results": results, "startedAt": "2026-11-22T09:15:03.000Z", "completedAt": "2026-11-22T09:15:03.100Z"}),
            )
        }
        ("GET", ["crm", "v3", "objects", "contacts", id]) => {
            let wanted: Vec<String> = query
                .get("properties")
                .map(|p| p.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            match i.contacts.iter().find(|c| c.id.to_string() == *id) {
                Some(c) => ok(hubspot_object(c, &wanted)),
                None => hubspot_error(
                    StatusCode::NOT_FOUND,
                    "OBJECT_NOT_FOUND",
                    "resource not found",
                ),
            }
        }
        ("PATCH", ["crm", "v3", "objects", "contacts", id]) => {
            let props = sent["properties"].as_object().cloned().unwrap_or_default();
            match id.parse().ok().and_then(|id| i.contact(id)) {
                Some(c) => {
                    hubspot_set(c, &props);
                    ok(hubspot_object(
                        c,
                        &props.keys().cloned().collect::<Vec<_>>(),
                    ))
                }
                None => hubspot_error(
                    StatusCode::NOT_FOUND,
                    "OBJECT_NOT_FOUND",
                    "resource not found",
                ),
            }
        }
        ("POST", ["crm", "v3", "objects", "notes"]) => {
            let body = text(&sent["properties"]["hs_note_body"]);
            if sent["properties"]["hs_timestamp"].is_null() {
                return hubspot_error(
                    StatusCode::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "Property hs_timestamp is required",
                );
            }
            let mut on = Vec::new();
            for a in sent["associations"].as_array().into_iter().flatten() {
                let to = text(&a["to"]["id"]);
                let note_to_contact = a["types"][0]["associationTypeId"] == 202
                    && a["types"][0]["associationCategory"] == "HUBSPOT_DEFINED";
                if !note_to_contact || !i.contacts.iter().any(|c| c.id.to_string() == to) {
                    return hubspot_error(
                        StatusCode::BAD_REQUEST,
                        "VALIDATION_ERROR",
                        "invalid association",
                    );
                }
                on.push(to);
            }
            for to in on {
                i.notes.push(Note {
                    on: format!("contact:{to}"),
                    text: body.clone(),
                });
            }
            let id = i.id();
            (
                StatusCode::CREATED,
                Some(
                    json!({"id": id.to_string(), "properties": {"hs_note_body": body}, "archived": false}),
                ),
            )
        }
        _ => hubspot_error(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found",
        ),
    }
}

fn pipedrive_lead(l: &Lead) -> Value {
    json!({
        "id": l.id, "title": l.title,
        "owner_id": l.owner.as_deref().and_then(|o| o.parse::<i64>().ok()),
        "person_id": l.contact, "organization_id": null, "label_ids": [],
        "is_archived": l.status == "archived", "was_seen": l.status == "seen",
        "source_name": "API", "origin": "API", "channel": null,
        "add_time": "2026-11-22T09:15:03.000Z", "update_time": "2026-11-22T09:15:03.000Z",
    })
}

fn pipedrive_values(list: &[String]) -> Value {
    Value::Array(
        list.iter()
            .enumerate()
            .map(|(n, v)| json!({"value": v, "primary": n == 0, "label": "work"}))
            .collect(),
    )
}

fn pipedrive_person(c: &Contact) -> Value {
    json!({"id": c.id, "name": c.name,
           "owner_id": c.owner.as_deref().and_then(|o| o.parse::<i64>().ok()).map(|o| json!({"id": o})),
           "phone": pipedrive_values(&c.phones), "email": pipedrive_values(&c.emails)})
}

fn pipedrive_error(status: StatusCode, error: &str) -> Answer {
    (
        status,
        Some(
            json!({"success": false, "error": error, "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API.", "data": null, "additional_data": null}),
        ),
    )
}

fn pipedrive(
    i: &mut Inner,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    sent: &Value,
) -> Answer {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let values = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|x| text(&x["value"]))
            .filter(|x| !x.is_empty())
            .collect()
    };
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["api", "v1", "persons", "search"]) => {
            let term = query.get("term").cloned().unwrap_or_default();
            if term.chars().count() < 2 {
                return pipedrive_error(
                    StatusCode::BAD_REQUEST,
                    "term must be at least 2 characters long",
                );
            }
            let field = query.get("fields").map(String::as_str).unwrap_or("");
            let exact = query.get("exact_match").is_some_and(|e| e == "true");
            let items: Vec<Value> = i
                .contacts
                .iter()
                .filter(|c| {
                    let have = match field {
                        "phone" => &c.phones,
                        "email" => &c.emails,
                        _ => return false,
                    };
                    have.iter().any(|h| if exact { *h == term } else { h.contains(&term) })
                })
                .map(|c| json!({"result_score": 1.0, "item": {"id": c.id, "type": "person", "name": c.name,
                    "phones": c.phones, "emails": c.emails, "visible_to": 3,
                    "owner": {"id": c.owner.as_deref().and_then(|o| o.parse::<i64>().ok())},
                    "organization": null, "custom_fields": [], "notes": []}}))
                .collect();
            ok(json!({"success": true, "data": {"items": items},
                      "additional_data": {"pagination": {"start": 0, "limit": 100, "more_items_in_collection": false}}}))
        }
        ("POST", ["api", "v1", "persons"]) => {
            let name = text(&sent["name"]);
            if name.is_empty() {
                return pipedrive_error(StatusCode::BAD_REQUEST, "Name must be given.");
            }
            let id = i.id();
            let c = Contact {
                id,
                name,
                phones: values(&sent["phone"]),
                emails: values(&sent["email"]),
                owner: sent.get("owner_id").map(text),
                ..Contact::default()
            };
            let answer = pipedrive_person(&c);
            i.contacts.push(c);
            (
                StatusCode::CREATED,
                Some(json!({"success": true, "data": answer})),
            )
        }
        ("GET", ["api", "v1", "persons", id]) => {
            match i.contacts.iter().find(|c| c.id.to_string() == *id) {
                Some(c) => ok(json!({"success": true, "data": pipedrive_person(c)})),
                None => pipedrive_error(StatusCode::NOT_FOUND, "Person not found"),
            }
        }
        ("PUT", ["api", "v1", "persons", id]) => match id.parse().ok().and_then(|id| i.contact(id))
        {
            Some(c) => {
                if sent.get("phone").is_some() {
                    c.phones = values(&sent["phone"]);
                }
                if sent.get("email").is_some() {
                    c.emails = values(&sent["email"]);
                }
                if let Some(o) = sent.get("owner_id") {
                    c.owner = Some(text(o));
                }
                ok(json!({"success": true, "data": pipedrive_person(c)}))
            }
            None => pipedrive_error(StatusCode::NOT_FOUND, "Person not found"),
        },
        ("POST", ["api", "v1", "leads"]) => {
            let person = sent["person_id"].as_i64();
            if person.is_none_or(|p| !i.contacts.iter().any(|c| c.id == p)) {
                return pipedrive_error(
                    StatusCode::BAD_REQUEST,
                    "A lead must be linked to a person or an organization.",
                );
            }
            let n = i.id();
            let lead = Lead {
                id: format!("{n:08x}-0e10-11eb-879b-05d71fb426ec"),
                title: text(&sent["title"]),
                contact: person,
                owner: sent.get("owner_id").map(text),
                status: "new".into(),
                fields: sent.as_object().cloned().unwrap_or_default(),
                ..Lead::default()
            };
            let answer = pipedrive_lead(&lead);
            i.leads.push(lead);
            (
                StatusCode::CREATED,
                Some(json!({"success": true, "data": answer})),
            )
        }
        ("PATCH", ["api", "v1", "leads", id]) => match i.lead(id) {
            Some(l) => {
                if let Some(o) = sent.get("owner_id") {
                    l.owner = Some(text(o));
                }
                let answer = pipedrive_lead(l);
                ok(json!({"success": true, "data": answer}))
            }
            None => pipedrive_error(StatusCode::NOT_FOUND, "Lead not found"),
        },
        ("POST", ["api", "v1", "notes"]) => {
            let lead = text(&sent["lead_id"]);
            if !i.leads.iter().any(|l| l.id == lead) {
                return pipedrive_error(StatusCode::BAD_REQUEST, "Lead not found");
            }
            i.notes.push(Note {
                on: format!("lead:{lead}"),
                text: text(&sent["content"]),
            });
            let id = i.id();
            (
                StatusCode::CREATED,
                Some(
                    json!({"success": true, "data": {"id": id, "content": sent["content"], "lead_id": lead}}),
                ),
            )
        }
        _ => pipedrive_error(StatusCode::NOT_FOUND, "Unknown method ."),
    }
}
