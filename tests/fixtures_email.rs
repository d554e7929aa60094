//! Every e-mail sample of the acceptance corpus through the MIME-to-lead parser and the shared
//! normalisation, compared with `expected.json` by the corpus's own rules.

mod support;

use support::expected;

use chrono::{TimeZone, Utc};
use leadgate::lead::{Channel, Lead, NotLead, OwnContacts, Parsed, PhoneNormaliser, normalise};
use leadgate::sources::email::{EmailContext, parse_email};

/// The business's own contacts the corpus assumes (its README).
fn own_contacts() -> OwnContacts {
    OwnContacts {
        emails: [
            "sales@teplodom.example",
            "wordpress@teplodom.example",
            "blog@teplodom.example",
        ]
        .map(String::from)
        .to_vec(),
        phones: vec!["+78126001234".to_string()],
    }
}

/// What one sample gives, as the problems found (empty when it matches).
fn check(exp: &expected::Expectation, phones: &PhoneNormaliser) -> Vec<String> {
    let raw = expected::sample(&exp.file);
    let ctx = EmailContext {
        own_emails: own_contacts().emails,
        ..EmailContext::default()
    };
    match (parse_email(&raw, &ctx), exp.is_lead) {
        (Parsed::Lead(draft), true) => {
            let received = Utc
                .with_ymd_and_hms(2026, 11, 22, 9, 15, 2)
                .single()
                .expect("a valid date");
            let lead = Lead::unrouted(
                "00000000-0000-7000-8000-000000000000".to_string(),
                received,
                Channel::Email,
                "sales-inbox".to_string(),
                normalise(draft, phones, &own_contacts()),
            );
            let json = serde_json::to_value(&lead).expect("a lead serialises");
            expected::check_lead(exp, &json)
        }
        (
            Parsed::NotLead(NotLead {
                reason,
                external_id,
                ..
            }),
            false,
        ) => expected::check_not_lead(exp, reason.as_str(), external_id.as_deref()),
        (Parsed::Lead(draft), false) => vec![format!(
            "{}: a lead, expected not a lead ({:?}): {:?}",
            exp.file, exp.reason_if_not, draft.text
        )],
        (Parsed::NotLead(not), true) => {
            vec![format!(
                "{}: not a lead ({}: {}), expected a lead",
                exp.file, not.reason, not.detail
            )]
        }
    }
}

#[test]
fn every_email_sample_gives_its_expected_result() {
    let phones = PhoneNormaliser::new("RU").expect("RU is a region");
    let expectations = expected::expectations("email");
    assert_eq!(expectations.len(), 22, "the corpus has 22 e-mail entries");
    let mut problems = Vec::new();
    let mut passed = 0;
    for exp in &expectations {
        let found = check(exp, &phones);
        if found.is_empty() {
            passed += 1;
        }
        problems.extend(found);
    }
    eprintln!("{passed} of {} e-mail samples pass", expectations.len());
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
