//! A lead record pasted as a sample (`leadgate route LEAD.json`, the console's rules tester):
//! the keys given over a record of empty values, unknown keys refused with the key meant.

use super::Lead;
use chrono::{DateTime, Utc};

/// The keys a lead record sample may have; anything else is a typo the admin must hear of.
const RECORD_KEYS: &[&str] = &[
    "schema",
    "id",
    "received_at",
    "channel",
    "source",
    "external_id",
    "contact",
    "subject",
    "text",
    "fields",
    "utm",
    "page_url",
    "referrer",
    "returning",
    "previous_lead_id",
    "classification",
    "assignment",
];
const CONTACT_KEYS: &[&str] = &["name", "emails", "phones", "telegram", "vk_id", "whatsapp"];
const UTM_KEYS: &[&str] = &["source", "medium", "campaign", "content", "term"];

/// Why a sample is not a lead record.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// Not JSON at all (a raw sample, which needs its channel).
    #[error("the sample is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// A key a lead record does not have.
    #[error("{0}")]
    UnknownKey(String),
    /// JSON with the right keys, but a value of the wrong shape.
    #[error("the sample is not a lead record: {0}")]
    NotARecord(serde_json::Error),
}

/// A lead record from JSON; keys left out take their empty values, so a sample can be as short
/// as `{"channel": "webform", "text": "Нужен котёл", "contact": {"phones": ["+79161234567"]}}`.
/// Unknown keys are refused, with the key meant when it is close. `leadgate route` and the
/// console's rules tester read a pasted lead with it.
pub fn sample_lead(bytes: &[u8], now: DateTime<Utc>) -> Result<Lead, SampleError> {
    let given: serde_json::Value = serde_json::from_slice(bytes).map_err(SampleError::NotJson)?;
    unknown_keys(&given, "", RECORD_KEYS)?;
    unknown_keys(&given["contact"], "contact.", CONTACT_KEYS)?;
    unknown_keys(&given["utm"], "utm.", UTM_KEYS)?;
    let mut base = serde_json::json!({
        "schema": super::SCHEMA, "id": "sample", "received_at": now, "channel": "webform",
        "source": "sample", "external_id": null,
        "contact": {"name": null, "emails": [], "phones": [], "telegram": null, "vk_id": null, "whatsapp": null},
        "subject": null, "text": "", "fields": {},
        "utm": {"source": null, "medium": null, "campaign": null, "content": null, "term": null},
        "page_url": null, "referrer": null, "returning": false, "previous_lead_id": null,
        "classification": null, "assignment": null,
    });
    merge(&mut base, given);
    serde_json::from_value(base).map_err(SampleError::NotARecord)
}

fn unknown_keys(
    value: &serde_json::Value,
    prefix: &str,
    known: &[&str],
) -> Result<(), SampleError> {
    let Some(map) = value.as_object() else {
        return Ok(());
    };
    if let Some(key) = map.keys().find(|k| !known.contains(&k.as_str())) {
        let close = known
            .iter()
            .find(|k| strsim_close(k, key))
            .map(|k| format!(" (did you mean \"{prefix}{k}\"?)"))
            .unwrap_or_default();
        return Err(SampleError::UnknownKey(format!(
            "the sample has an unknown key \"{prefix}{key}\"{close}; a lead record has {}",
            known.join(", ")
        )));
    }
    Ok(())
}

/// Whether two keys differ by one edit or a swap of neighbours (`chanel`, `chnanel`).
fn strsim_close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut prev2 = prev.clone();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()] <= 1
}

fn merge(base: &mut serde_json::Value, given: serde_json::Value) {
    match (base, given) {
        (serde_json::Value::Object(b), serde_json::Value::Object(g)) => {
            for (k, v) in g {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, g) => *b = g,
    }
}
