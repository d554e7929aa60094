//! Every Telegram, VK and WhatsApp sample of the acceptance corpus, taken in the way intake
//! takes it (split into items, keys made), parsed the way processing parses it, normalised, and
//! compared with `expected.json` by the corpus's shared rules.
//!
//! The Telegram edit pair's `same_lead_as` (one lead for both files) needs the daemon's store;
//! here the edit is checked to parse as an edit of the same external id with the new text.

mod support;

use leadgate::lead::{Channel, Lead, LeadDraft, OwnContacts, Parsed, PhoneNormaliser, normalise};
use leadgate::sources::item::Item;
use leadgate::sources::{telegram, vk, whatsapp};
use serde_json::Value;
use support::expected::{Expectation, check_lead, check_not_lead, expectations, sample};

/// The corpus configuration (fixtures README).
const VK_GROUP: i64 = 218765432;
const VK_SECRET: &str = "Tq7vX2mLp9";
const WA_SECRET: &[u8] = b"corpus-app-secret";

/// What one sample became: the lead record as a sink receives it, or a reason code.
enum Outcome {
    Lead(Value),
    NotLead {
        reason: String,
        external_id: Option<String>,
    },
}

fn own_contacts() -> OwnContacts {
    OwnContacts {
        emails: ["sales", "wordpress", "blog"]
            .map(|user| format!("{user}@teplodom.example"))
            .to_vec(),
        phones: vec!["+78126001234".into()],
    }
}

fn outcome(channel: Channel, source: &str, parsed: Parsed) -> Outcome {
    match parsed {
        Parsed::Lead(draft) => {
            let phones = PhoneNormaliser::new("RU").expect("RU is a region");
            let normalised = normalise(draft, &phones, &own_contacts());
            let received = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a time");
            let id = "0193b1f0-0000-7000-8000-000000000000".to_string();
            let lead = Lead::unrouted(id, received, channel, source.into(), normalised);
            Outcome::Lead(serde_json::to_value(&lead).expect("a lead serialises"))
        }
        Parsed::NotLead(not) => Outcome::NotLead {
            reason: not.reason.as_str().to_string(),
            external_id: not.external_id,
        },
    }
}

fn compare(exp: &Expectation, outcome: &Outcome) -> Vec<String> {
    match (exp.is_lead, outcome) {
        (true, Outcome::Lead(lead)) => check_lead(exp, lead),
        (
            false,
            Outcome::NotLead {
                reason,
                external_id,
            },
        ) => check_not_lead(exp, reason, external_id.as_deref()),
        (true, Outcome::NotLead { reason, .. }) => {
            vec![format!(
                "{}: expected a lead, got not a lead ({reason})",
                exp.file
            )]
        }
        (false, Outcome::Lead(lead)) => vec![format!(
            "{}: expected not a lead ({:?}), got a lead: {lead}",
            exp.file, exp.reason_if_not
        )],
    }
}

/// Runs every entry of `channel` through `take`, prints the tally, fails on any mismatch.
fn check_channel(channel: &str, entries: usize, take: impl Fn(&Expectation) -> Outcome) {
    let exps = expectations(channel);
    assert_eq!(exps.len(), entries, "{channel} entries in expected.json");
    let mut problems = Vec::new();
    let mut matching = 0;
    for exp in &exps {
        let found = compare(exp, &take(exp));
        matching += usize::from(found.is_empty());
        problems.extend(found);
    }
    println!(
        "{channel}: {matching}/{} samples match expected.json",
        exps.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A Telegram sample as long polling takes it: one Update in a getUpdates answer.
fn telegram_item(file: &str) -> Item {
    let update = sample(file);
    let body = [&b"{\"ok\":true,\"result\":["[..], &update, b"]}"].concat();
    let (mut items, max_id) = telegram::split_updates(&body).expect("a getUpdates answer");
    let update_id = serde_json::from_slice::<Value>(&update).expect("JSON")["update_id"].as_i64();
    assert_eq!(max_id, update_id, "{file}: the offset to confirm");
    assert_eq!(items.len(), 1, "{file}: one item per update");
    let webhook = telegram::update_item(&update).expect("one Update");
    assert_eq!(
        webhook.dedupe_key, items[0].dedupe_key,
        "{file}: same key in webhook mode"
    );
    items.remove(0)
}

fn telegram_outcome(exp: &Expectation) -> Outcome {
    let item = telegram_item(&exp.file);
    let parsed = telegram::parse_update(&item.payload, &telegram::TelegramOptions::default());
    outcome(Channel::Telegram, "tg-bot", parsed)
}

fn vk_outcome(exp: &Expectation) -> Outcome {
    match vk::read_callback(&sample(&exp.file), VK_GROUP, Some(VK_SECRET)) {
        Ok(vk::VkCallback::Confirmation) => Outcome::NotLead {
            reason: "not_a_message".into(),
            external_id: None,
        },
        Ok(vk::VkCallback::Event(item)) => outcome(
            Channel::Vk,
            "vk-community",
            vk::parse_event(&item.payload, VK_GROUP),
        ),
        Ok(vk::VkCallback::Ignored(kind)) => Outcome::NotLead {
            reason: format!("ignored at intake ({kind})"),
            external_id: None,
        },
        Err(e) => Outcome::NotLead {
            reason: format!("refused at intake: {e}"),
            external_id: None,
        },
    }
}

fn whatsapp_outcome(exp: &Expectation) -> Outcome {
    let body = sample(&exp.file);
    let header = whatsapp::signature_header(WA_SECRET, &body);
    assert!(
        whatsapp::verify_signature(WA_SECRET, &body, Some(&header)),
        "{}",
        exp.file
    );
    let items = whatsapp::split_webhook(&body).expect("a webhook");
    assert_eq!(
        items.len(),
        1,
        "{}: one message or status per sample",
        exp.file
    );
    outcome(
        Channel::Whatsapp,
        "wa-main",
        whatsapp::parse_item(&items[0].payload),
    )
}

#[test]
fn telegram_samples_match_expected() {
    check_channel("telegram", 13, telegram_outcome);
}

#[test]
fn vk_samples_match_expected() {
    check_channel("vk", 5, vk_outcome);
}

#[test]
fn whatsapp_samples_match_expected() {
    check_channel("whatsapp", 6, whatsapp_outcome);
}

fn telegram_draft(item: &Item) -> LeadDraft {
    match telegram::parse_update(&item.payload, &telegram::TelegramOptions::default()) {
        Parsed::Lead(draft) => draft,
        Parsed::NotLead(not) => panic!("not a lead: {not:?}"),
    }
}

#[test]
fn telegram_edit_parses_as_an_edit_of_the_same_message() {
    let edit_exp = expectations("telegram")
        .into_iter()
        .find(|e| e.same_lead_as.is_some())
        .expect("the corpus has an edit pair");
    let original_file = edit_exp.same_lead_as.as_deref().expect("checked above");
    let original_item = telegram_item(original_file);
    let edit_item = telegram_item(&edit_exp.file);
    assert_ne!(
        original_item.dedupe_key, edit_item.dedupe_key,
        "the edit must be stored, not dropped as a redelivery"
    );
    let original = telegram_draft(&original_item);
    let edit = telegram_draft(&edit_item);
    assert!(!original.thread.edit);
    assert!(edit.thread.edit);
    assert_eq!(edit.external_id, original.external_id);
    assert_eq!(edit.external_id, edit_exp.external_id);
    assert_eq!(edit.thread.conversation, original.thread.conversation);
    for want in &edit_exp.text_contains {
        assert!(
            edit.text.contains(want.as_str()),
            "edit text lacks {want:?}: {}",
            edit.text
        );
    }
    for unwanted in &edit_exp.text_excludes {
        assert!(
            !edit.text.contains(unwanted.as_str()),
            "edit text has {unwanted:?}"
        );
    }
}

#[test]
fn tampered_or_truncated_webhooks_are_refused() {
    for exp in expectations("whatsapp") {
        let body = sample(&exp.file);
        let header = whatsapp::signature_header(WA_SECRET, &body);
        assert!(!whatsapp::verify_signature(
            b"another secret",
            &body,
            Some(&header)
        ));
        let mut tampered = body.clone();
        tampered.push(b' ');
        assert!(!whatsapp::verify_signature(
            WA_SECRET,
            &tampered,
            Some(&header)
        ));
        assert!(!whatsapp::verify_signature(WA_SECRET, &body, None));
        assert!(
            whatsapp::split_webhook(&body[..body.len() / 2]).is_err(),
            "{}",
            exp.file
        );
    }
    for exp in expectations("vk") {
        let body = sample(&exp.file);
        let truncated = &body[..body.len() / 2];
        assert!(matches!(
            vk::read_callback(truncated, VK_GROUP, Some(VK_SECRET)),
            Err(vk::VkError::Malformed(_))
        ));
        assert!(matches!(
            vk::read_callback(&body, VK_GROUP, Some("wrong")),
            Err(vk::VkError::BadSecret)
        ));
        assert!(matches!(
            vk::read_callback(&body, VK_GROUP + 1, Some(VK_SECRET)),
            Err(vk::VkError::WrongGroup { .. })
        ));
    }
    for exp in expectations("telegram") {
        let body = sample(&exp.file);
        assert!(
            telegram::update_item(&body[..body.len() / 2]).is_err(),
            "{}",
            exp.file
        );
    }
}
