//! The acceptance corpus's `expected.json` and the comparison rules of its README, shared by
//! every channel's fixture test.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Where the copied corpus lives (overridable with `LEADGATE_FIXTURES` for out-of-tree builds).
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("LEADGATE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
}

/// The raw bytes of one sample.
pub fn sample(file: &str) -> Vec<u8> {
    let path = fixtures_dir().join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// One entry of `expected.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Expectation {
    pub file: String,
    pub channel: String,
    pub is_lead: bool,
    pub reason_if_not: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub text_contains: Vec<String>,
    #[serde(default)]
    pub text_excludes: Vec<String>,
    pub external_id: Option<String>,
    pub subject: Option<String>,
    pub utm: Option<Value>,
    pub page_url: Option<String>,
    pub telegram: Option<Value>,
    pub vk_id: Option<i64>,
    pub whatsapp: Option<String>,
    pub attachments: Option<Vec<String>>,
    pub fields: Option<serde_json::Map<String, Value>>,
    pub http_status: Option<u16>,
    pub same_lead_as: Option<String>,
    #[serde(default)]
    pub notes: String,
}

/// Every entry for one channel.
pub fn expectations(channel: &str) -> Vec<Expectation> {
    let raw = std::fs::read(fixtures_dir().join("expected.json")).expect("expected.json");
    let all: Vec<Expectation> = serde_json::from_slice(&raw).expect("expected.json parses");
    all.into_iter().filter(|e| e.channel == channel).collect()
}

/// Whitespace normalisation of the corpus README: every run of whitespace (U+00A0 included)
/// becomes one space.
fn squash(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c == '\u{a0}')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn string_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Compares a lead record (as JSON, exactly as a sink receives it) with an expectation;
/// returns every mismatch so one run shows them all.
pub fn check_lead(exp: &Expectation, lead: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let label = format!("{} {}", exp.file, exp.external_id.as_deref().unwrap_or(""));
    let mut fail = |what: String| problems.push(format!("{label}: {what}"));
    if lead["channel"] != exp.channel.as_str() {
        fail(format!("channel {} != {}", lead["channel"], exp.channel));
    }
    let name = lead["contact"]["name"].as_str().map(str::to_string);
    if name != exp.name {
        fail(format!("name {name:?} != {:?}", exp.name));
    }
    let emails = string_set(&lead["contact"]["emails"]);
    if emails != exp.emails.iter().cloned().collect() {
        fail(format!("emails {emails:?} != {:?}", exp.emails));
    }
    let phones = string_set(&lead["contact"]["phones"]);
    if phones != exp.phones.iter().cloned().collect() {
        fail(format!("phones {phones:?} != {:?}", exp.phones));
    }
    let text = squash(lead["text"].as_str().unwrap_or(""));
    for want in &exp.text_contains {
        if !text.contains(&squash(want)) {
            fail(format!("text lacks {want:?}: {text:?}"));
        }
    }
    for unwanted in &exp.text_excludes {
        if text.contains(&squash(unwanted)) {
            fail(format!("text has {unwanted:?}: {text:?}"));
        }
    }
    if let Some(id) = &exp.external_id
        && lead["external_id"].as_str() != Some(id)
    {
        fail(format!("external_id {} != {id}", lead["external_id"]));
    }
    if let Some(subject) = &exp.subject
        && lead["subject"].as_str() != Some(subject)
    {
        fail(format!("subject {} != {subject}", lead["subject"]));
    }
    if let Some(utm) = &exp.utm {
        for key in ["source", "medium", "campaign", "content", "term"] {
            if lead["utm"][key] != utm[key] {
                fail(format!("utm.{key} {} != {}", lead["utm"][key], utm[key]));
            }
        }
    }
    if let Some(url) = &exp.page_url
        && lead["page_url"].as_str() != Some(url)
    {
        fail(format!("page_url {} != {url}", lead["page_url"]));
    }
    if let Some(tg) = &exp.telegram
        && &lead["contact"]["telegram"] != tg
    {
        fail(format!("telegram {} != {tg}", lead["contact"]["telegram"]));
    }
    if let Some(vk) = exp.vk_id
        && lead["contact"]["vk_id"].as_i64() != Some(vk)
    {
        fail(format!("vk_id {} != {vk}", lead["contact"]["vk_id"]));
    }
    if let Some(wa) = &exp.whatsapp
        && lead["contact"]["whatsapp"].as_str() != Some(wa)
    {
        fail(format!("whatsapp {} != {wa}", lead["contact"]["whatsapp"]));
    }
    if let Some(fields) = &exp.fields {
        for (key, want) in fields {
            if &lead["fields"][key] != want {
                fail(format!("fields.{key} {} != {want}", lead["fields"][key]));
            }
        }
    }
    if let Some(files) = &exp.attachments {
        let listed: BTreeSet<String> = lead["fields"]["attachments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for f in files {
            if !listed.contains(f) {
                fail(format!(
                    "attachment {f} not listed in fields.attachments: {listed:?}"
                ));
            }
            if text.contains(f) {
                fail(format!("attachment {f} inlined in the text"));
            }
        }
    }
    problems
}

/// Compares a not-a-lead outcome (reason code and external id) with an expectation.
pub fn check_not_lead(exp: &Expectation, reason: &str, external_id: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    if exp.reason_if_not.as_deref() != Some(reason) {
        problems.push(format!(
            "{}: reason {reason} != {:?}",
            exp.file, exp.reason_if_not
        ));
    }
    if let Some(id) = &exp.external_id
        && external_id != Some(id.as_str())
    {
        problems.push(format!("{}: external_id {external_id:?} != {id}", exp.file));
    }
    problems
}
