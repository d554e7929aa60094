//! Every blog sample of the acceptance corpus (WordPress REST pages and an RSS comments feed),
//! split into items the way intake splits them, each parsed, normalised and compared with
//! its `expected.json` entry by the corpus's shared rules.

mod support;

use leadgate::lead::{Channel, Lead, OwnContacts, Parsed, PhoneNormaliser, normalise};
use leadgate::sources::blog::{self, CommentRules};
use std::collections::BTreeMap;
use support::expected::{Expectation, check_lead, check_not_lead, expectations, sample};

/// The corpus's blog staff (fixtures README).
fn rules() -> CommentRules {
    CommentRules {
        staff_names: vec!["ТеплоДом".into()],
        staff_emails: vec!["blog@teplodom.example".into()],
        ..CommentRules::default()
    }
}

fn own_contacts() -> OwnContacts {
    OwnContacts {
        emails: ["sales", "wordpress", "blog"]
            .map(|user| format!("{user}@teplodom.example"))
            .to_vec(),
        phones: vec!["+78126001234".into()],
    }
}

/// Every item of one sample file, by external id: (dedupe key, parsed).
fn items_of(file: &str) -> BTreeMap<String, (String, Parsed)> {
    let body = sample(file);
    let (items, source_is_feed) = if file.ends_with(".xml") {
        (blog::split_feed(&body).expect("a feed"), true)
    } else {
        (
            blog::split_wordpress(&body).expect("a comments page"),
            false,
        )
    };
    items
        .into_iter()
        .map(|item| {
            let parsed = if source_is_feed {
                blog::parse_feed_item(&item.payload, &rules())
            } else {
                blog::parse_wordpress_comment(&item.payload, &rules())
            };
            let id = match &parsed {
                Parsed::Lead(draft) => draft.external_id.clone(),
                Parsed::NotLead(not) => not.external_id.clone(),
            };
            (id.unwrap_or_default(), (item.dedupe_key, parsed))
        })
        .collect()
}

fn compare(exp: &Expectation, source: &str, parsed: Parsed) -> Vec<String> {
    match (exp.is_lead, parsed) {
        (true, Parsed::Lead(draft)) => {
            let phones = PhoneNormaliser::new("RU").expect("RU is a region");
            let normalised = normalise(draft, &phones, &own_contacts());
            let received = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a time");
            let id = "0193b1f0-0000-7000-8000-000000000000".to_string();
            let lead = Lead::unrouted(id, received, Channel::Blog, source.into(), normalised);
            check_lead(
                exp,
                &serde_json::to_value(&lead).expect("a lead serialises"),
            )
        }
        (false, Parsed::NotLead(not)) => {
            check_not_lead(exp, not.reason.as_str(), not.external_id.as_deref())
        }
        (true, Parsed::NotLead(not)) => vec![format!(
            "{} {:?}: expected a lead, got {} ({})",
            exp.file, exp.external_id, not.reason, not.detail
        )],
        (false, Parsed::Lead(draft)) => vec![format!(
            "{} {:?}: expected {:?}, got a lead: {draft:?}",
            exp.file, exp.external_id, exp.reason_if_not
        )],
    }
}

#[test]
fn blog_samples_match_expected() {
    let exps = expectations("blog");
    assert_eq!(exps.len(), 9, "blog entries in expected.json");
    let mut by_file: BTreeMap<&str, Vec<&Expectation>> = BTreeMap::new();
    for exp in &exps {
        by_file.entry(exp.file.as_str()).or_default().push(exp);
    }
    let mut problems = Vec::new();
    let mut matching = 0;
    for (file, file_exps) in by_file {
        let source = if file.ends_with(".xml") {
            "blog-feed"
        } else {
            "blog"
        };
        let mut items = items_of(file);
        if items.len() != file_exps.len() {
            problems.push(format!(
                "{file}: {} items, {} expectations: {:?}",
                items.len(),
                file_exps.len(),
                items.keys().collect::<Vec<_>>()
            ));
        }
        for exp in file_exps {
            let id = exp
                .external_id
                .clone()
                .expect("blog entries name their comment");
            let Some((dedupe_key, parsed)) = items.remove(&id) else {
                problems.push(format!("{file}: no item with external id {id}"));
                continue;
            };
            let mut found = compare(exp, source, parsed);
            if dedupe_key != id {
                found.push(format!(
                    "{file}: dedupe key {dedupe_key} != external id {id}"
                ));
            }
            matching += usize::from(found.is_empty());
            problems.extend(found);
        }
    }
    println!(
        "blog: {matching}/{} samples match expected.json",
        exps.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_comment_seen_again_has_the_same_key() {
    let page = sample("blog/wp-comments.json");
    let first = blog::split_wordpress(&page).expect("a comments page");
    let again = blog::split_wordpress(&page).expect("a comments page");
    assert_eq!(first, again);
    let feed = sample("blog/comments-feed.xml");
    let keys = |items: Vec<leadgate::sources::item::Item>| {
        items.into_iter().map(|i| i.dedupe_key).collect::<Vec<_>>()
    };
    let feed_keys = keys(blog::split_feed(&feed).expect("a feed"));
    assert_eq!(feed_keys, keys(blog::split_feed(&feed).expect("a feed")));
    assert_eq!(feed_keys.len(), 4);
}
