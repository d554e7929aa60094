//! Inbound connectors: how one provider's form or webhook payload maps to a lead (which
//! fields are the name, phones, e-mails, message, UTM, page, external id), how its test ping
//! looks and what it must be answered, and how its secret or signature is checked.

use super::flatten::{KeyPattern, KeyedArray, flatten, key_segments, value_text};
use super::verify::{RawVerify, Verify};
use crate::lead::{LabelRole, label_role};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `connectors/inbound/NAME.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbound {
    /// The connector's name: `connector = "NAME"` in a source, `/hooks/NAME/{id}`.
    pub name: String,
    /// One line for `docs/connectors.md` and `leadgate check`.
    pub description: String,
    /// Key patterns whose segment is a label a person or form builder wrote ("Ваш телефон",
    /// a question's title): read with the shared list of field names (`lead::VOCABULARY`)
    /// when `fields` names no role for the key.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Which payload keys play which part in the lead.
    pub fields: RawFields,
    /// Arrays of objects named by one of their own fields.
    #[serde(default)]
    pub arrays: Vec<KeyedArray>,
    /// The provider's connection test.
    pub test_ping: Option<RawTestPing>,
    /// The answer the provider needs after a stored submission (and a test ping).
    pub answer: Option<RawAnswer>,
    /// How the provider proves it is the provider.
    pub verify: Option<RawVerify>,
    /// Where the provider keeps the files people upload through its forms.
    pub files: Option<RawFiles>,
}

/// `[files]`: a builder that keeps uploads itself sends their addresses, not their bytes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFiles {
    /// Hosts (and their subdomains) the provider keeps uploads on (Tilda: `tupwidget.com`): a
    /// field whose value is only addresses on them is a file, whatever its key, and leadgate
    /// fetches files from them and from nowhere else (a form's own `file_hosts` add to them).
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// `[fields]`: key patterns for each part of the lead (case-insensitive; `*` is one segment,
/// `utm_*` a prefix).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFields {
    /// The person's name; several matches (first and last name) are joined with a space.
    #[serde(default)]
    pub name: Vec<String>,
    /// Phone numbers.
    #[serde(default)]
    pub phones: Vec<String>,
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// The person's own words; several are joined with a blank line.
    #[serde(default)]
    pub message: Vec<String>,
    /// A subject or title.
    #[serde(default)]
    pub subject: Vec<String>,
    /// The page the form is on.
    #[serde(default)]
    pub page_url: Vec<String>,
    /// The page before it.
    #[serde(default)]
    pub referrer: Vec<String>,
    /// The provider's id of the submission (its retries become no-ops).
    #[serde(default)]
    pub external_id: Vec<String>,
    /// UTM tags: the matched key's last segment names the tag (`utm_source` or `source`).
    #[serde(default)]
    pub utm: Vec<String>,
    /// Provider noise that is not kept at all (cookies, form definitions).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Addresses of files the person uploaded (the provider keeps the file and sends its
    /// link): listed in `fields.attachments` and fetched from the allowed hosts.
    #[serde(default)]
    pub files: Vec<String>,
}

/// `[test_ping]`: every listed field has the listed value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTestPing {
    /// Field → value, all of which must be present.
    pub fields: BTreeMap<String, String>,
    /// Only when the payload has no other fields.
    #[serde(default)]
    pub only: bool,
}

/// `[answer]`: what the provider must get back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnswer {
    /// HTTP status (Tilda: 200).
    pub status: u16,
    /// Body text.
    #[serde(default)]
    pub body: String,
    /// `Content-Type` of the body.
    pub content_type: Option<String>,
}

/// What a payload key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The person's name (or part of it).
    Name,
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// The person's words.
    Message,
    /// Subject or title.
    Subject,
    /// The page the form is on.
    PageUrl,
    /// The page before.
    Referrer,
    /// The provider's submission id.
    ExternalId,
    /// A UTM tag.
    Utm,
    /// The address of a file the person uploaded.
    File,
    /// Noise, dropped.
    Ignore,
    /// Anything else: kept in the lead's `fields`.
    Other,
}

/// The provider's required answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// Its content type.
    pub content_type: String,
}

/// A validated inbound connector.
#[derive(Debug, Clone)]
pub struct InboundConnector {
    /// Its name.
    pub name: String,
    /// One line about it.
    pub description: String,
    /// The file it came from (`embedded:connectors/inbound/tilda.toml` or a path).
    pub origin: String,
    patterns: Vec<(Role, Vec<KeyPattern>)>,
    labels: Vec<(String, KeyPattern)>,
    arrays: Vec<KeyedArray>,
    test_ping: Option<RawTestPing>,
    /// The answer after a stored submission and after a test ping.
    pub answer: Option<Answer>,
    /// Secret or signature verification, when the provider has one.
    pub verify: Option<Verify>,
    /// Hosts the provider keeps uploaded files on (`[files] hosts`), lower-case.
    pub file_hosts: Vec<String>,
}

/// A problem in a connector file: the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The dotted key (`fields.phones`), empty for the file as a whole.
    pub key: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl InboundConnector {
    /// Validates a parsed file: a connector must find some contact (phones or e-mails), its
    /// answer status must be a real one, its verification complete.
    pub fn from_raw(raw: RawInbound, origin: &str) -> Result<InboundConnector, Vec<FileProblem>> {
        let mut problems = Vec::new();
        if raw.fields.phones.is_empty() && raw.fields.emails.is_empty() && raw.labels.is_empty() {
            problems.push(FileProblem {
                key: "fields.phones".into(),
                message: "neither fields.phones nor fields.emails is mapped, and no labels are \
                          read: no lead could be reached; list the provider's phone or e-mail \
                          field names"
                    .into(),
            });
        }
        for pattern in &raw.labels {
            let segments: Vec<&str> = pattern.split('.').collect();
            if !segments.contains(&"*") && segments.last() != Some(&"**") {
                problems.push(FileProblem {
                    key: "labels".into(),
                    message: format!(
                        "{pattern:?} has no `*` segment for the label and does not end in `**`"
                    ),
                });
            }
        }
        super::check_name(&raw.name, "name", &mut problems);
        let answer = raw.answer.and_then(|a| {
            if !(200..300).contains(&a.status) {
                problems.push(FileProblem {
                    key: "answer.status".into(),
                    message: format!("{} is not a success status (200..=299)", a.status),
                });
                return None;
            }
            Some(Answer {
                status: a.status,
                body: a.body,
                content_type: a
                    .content_type
                    .unwrap_or_else(|| "text/plain; charset=utf-8".into()),
            })
        });
        if let Some(ping) = &raw.test_ping
            && ping.fields.is_empty()
        {
            problems.push(FileProblem {
                key: "test_ping.fields".into(),
                message: "is empty: name the fields the provider's test sends".into(),
            });
        }
        let file_hosts: Vec<String> = (raw.files.map(|f| f.hosts).unwrap_or_default())
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        for (i, host) in file_hosts.iter().enumerate() {
            if let Err(why) = check_host(host) {
                problems.push(FileProblem {
                    key: format!("files.hosts[{i}]"),
                    message: why,
                });
            }
        }
        let verify = match raw.verify.map(Verify::from_raw).transpose() {
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let f = raw.fields;
        let mut ignore = f.ignore;
        if let Some(field) = verify.as_ref().and_then(Verify::field) {
            ignore.push(field.to_string());
        }
        Ok(InboundConnector {
            name: raw.name,
            description: raw.description,
            origin: origin.to_string(),
            patterns: [
                (Role::ExternalId, f.external_id),
                (Role::Name, f.name),
                (Role::Phone, f.phones),
                (Role::Email, f.emails),
                (Role::Message, f.message),
                (Role::Subject, f.subject),
                (Role::PageUrl, f.page_url),
                (Role::Referrer, f.referrer),
                (Role::Utm, f.utm),
                (Role::File, f.files),
                (Role::Ignore, ignore),
            ]
            .into_iter()
            .map(|(role, list)| (role, list.iter().map(|p| KeyPattern::new(p)).collect()))
            .collect(),
            labels: (raw.labels.into_iter())
                .map(|p| {
                    let compiled = KeyPattern::new(&p);
                    (p, compiled)
                })
                .collect(),
            arrays: raw.arrays,
            test_ping: raw.test_ping,
            answer,
            verify,
            file_hosts,
        })
    }

    /// The addresses of uploaded files `text` holds when the key's `role` says so: a `File`
    /// key's value when it is only http(s) addresses, any other kept key's value when it is
    /// only addresses on the provider's file hosts. `None` leaves the value a plain field.
    pub fn linked_files(&self, role: Role, text: &str) -> Option<Vec<reqwest::Url>> {
        let on_file_hosts = match role {
            Role::File => false,
            Role::Other if !self.file_hosts.is_empty() => true,
            _ => return None,
        };
        let mut urls = Vec::new();
        for token in text.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
            if token.is_empty() {
                continue;
            }
            let url = reqwest::Url::parse(token).ok()?;
            let web = matches!(url.scheme(), "http" | "https");
            let hosted = url
                .host_str()
                .is_some_and(|h| on_hosts(h, &self.file_hosts));
            if !web || (on_file_hosts && !hosted) {
                return None;
            }
            urls.push(url);
        }
        (!urls.is_empty()).then_some(urls)
    }

    /// What a flat key is for: the first role whose pattern matches wins (`ignore` last, so
    /// it only drops what nothing else took); a key no pattern names is read by its label
    /// when it is in one of the connector's `labels` scopes.
    pub fn role(&self, key: &str) -> Role {
        let segments = key_segments(key);
        self.patterns
            .iter()
            .find(|(_, patterns)| patterns.iter().any(|p| p.matches(&segments)))
            .map(|(role, _)| *role)
            .or_else(|| {
                (self.labels.iter())
                    .filter(|(_, compiled)| compiled.matches_labelled(&segments))
                    .find_map(|(pattern, _)| labelled_role(pattern, key))
            })
            .unwrap_or(Role::Other)
    }

    /// The payload's fields (a form's, in the order sent) as flat keys, with this provider's
    /// keyed arrays.
    pub fn flatten(
        &self,
        fields: &[(String, serde_json::Value)],
    ) -> Vec<(String, serde_json::Value)> {
        flatten(fields, &self.arrays)
    }

    /// Whether the payload is the provider's connection test rather than a submission.
    pub fn is_test_ping(&self, fields: &[(String, serde_json::Value)]) -> bool {
        let Some(ping) = &self.test_ping else {
            return false;
        };
        let flat = self.flatten(fields);
        let all_present = ping.fields.iter().all(|(k, want)| {
            flat.iter()
                .any(|(key, v)| key.eq_ignore_ascii_case(k) && value_text(v).trim() == want)
        });
        all_present && (!ping.only || flat.len() == ping.fields.len())
    }
}

/// Whether `host` is one of `allowed` or a subdomain of one (`sun9-1.userapi.com` is on
/// `userapi.com`; `evil-userapi.com` is not).
pub fn on_hosts(host: &str, allowed: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    allowed.iter().any(|a| {
        host == *a
            || host
                .strip_suffix(a.as_str())
                .is_some_and(|h| h.ends_with('.'))
    })
}

/// Checks that `host` is a bare host name (`tupwidget.com`), the form `on_hosts` compares.
pub fn check_host(host: &str) -> Result<(), String> {
    let bare = !host.is_empty()
        && reqwest::Url::parse(&format!("http://{host}/"))
            .is_ok_and(|u| u.host_str() == Some(host) && u.port().is_none());
    match bare {
        true => Ok(()),
        false => Err(format!(
            "{host:?} is not a host name: write it without scheme, port or path, like \"tupwidget.com\""
        )),
    }
}

/// Parent objects that hold the business's side, never the person: nothing under them is the
/// person's name, contact or words (`manager.phone`, `site.email`).
const NOT_THE_PERSON: [&str; 13] = [
    "manager",
    "owner",
    "responsible",
    "assigned",
    "employee",
    "staff",
    "partner",
    "site",
    "website",
    "shop",
    "store",
    "seller",
    "business",
];

/// Parent objects about something other than the person (`form.name` is the form's name,
/// `product.description` the product's): a phone or e-mail under them still reaches the
/// person, a name, subject or message does not.
const NOT_ABOUT_THE_PERSON: [&str; 27] = [
    "form",
    "forms",
    "page",
    "product",
    "products",
    "item",
    "items",
    "order",
    "orders",
    "cart",
    "goods",
    "service",
    "services",
    "quiz",
    "utm",
    "company",
    "organization",
    "organisation",
    "campaign",
    "ad",
    "meta",
    "metadata",
    "event",
    "definition",
    "device",
    "browser",
    "tracking",
];

/// The role of `key` read by its label, `key` being in the `labels` scope `pattern`: the
/// label is the segment the pattern's first `*` stands for, or, for a pattern ending in `**`,
/// the whole key (`contact.phone`, `Эл. почта`) and then its last segment. `utm_*` labels are
/// UTM tags at any depth.
fn labelled_role(pattern: &str, key: &str) -> Option<Role> {
    let segments: Vec<&str> = key.split('.').collect();
    let scope: Vec<&str> = pattern.split('.').collect();
    let at = (scope.iter())
        .position(|s| *s == "*")
        .unwrap_or(segments.len() - 1);
    // A scope whose label `*` is its last segment takes the rest of the key as the label:
    // a title's own dots (`KeyPattern::matches_labelled`).
    let label = match at + 1 == scope.len() {
        true => segments.get(at..)?.join("."),
        false => segments.get(at)?.to_string(),
    };
    let label = label.as_str();
    if label.trim().to_lowercase().starts_with("utm_") {
        return Some(Role::Utm);
    }
    let whole = pattern.ends_with("**").then(|| label_role(key)).flatten();
    let (role, parents) = match whole {
        Some(role) => (role, &[][..]),
        None => (label_role(label)?, &segments[..at]),
    };
    let parent_is = |list: &[&str]| {
        parents
            .iter()
            .any(|p| list.contains(&p.trim().to_lowercase().as_str()))
    };
    if parent_is(&NOT_THE_PERSON) {
        return None;
    }
    let about_the_person = !parent_is(&NOT_ABOUT_THE_PERSON);
    match role {
        LabelRole::Phone => Some(Role::Phone),
        LabelRole::Email => Some(Role::Email),
        LabelRole::Name if about_the_person => Some(Role::Name),
        LabelRole::Message if about_the_person => Some(Role::Message),
        LabelRole::Subject if about_the_person => Some(Role::Subject),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(toml_text: &str) -> InboundConnector {
        let raw: RawInbound = toml::from_str(toml_text).expect("parses");
        InboundConnector::from_raw(raw, "test").expect("valid")
    }

    #[test]
    fn a_label_is_the_segment_of_the_first_star() {
        let c = connector(
            "name = \"t\"\ndescription = \"t\"\nlabels = [\"data.submissions.*\", \"form_response.answers.*.*\"]\n\
             [fields]\nemails = [\"data.contact.email\"]\nignore = [\"form_response.answers.*.type\"]\n",
        );
        assert_eq!(c.role("data.submissions.Ваш телефон"), Role::Phone);
        assert_eq!(c.role("data.submissions.Электронная почта"), Role::Email);
        assert_eq!(c.role("data.submissions.Город"), Role::Other);
        assert_eq!(c.role("data.Телефон"), Role::Other, "outside the scope");
        assert_eq!(
            c.role("form_response.answers.telefon.phone_number"),
            Role::Phone
        );
        assert_eq!(
            c.role("form_response.answers.kommentariy.text"),
            Role::Message
        );
        assert_eq!(
            c.role("form_response.answers.kommentariy.type"),
            Role::Ignore,
            "fields first"
        );
        assert_eq!(c.role("data.submissions.utm_source"), Role::Utm);
    }

    #[test]
    fn nested_keys_are_read_by_the_whole_key_then_the_last_segment() {
        let c = connector("name = \"t\"\ndescription = \"t\"\nlabels = [\"**\"]\n[fields]\n");
        assert_eq!(c.role("contact.name"), Role::Name);
        assert_eq!(c.role("client.phone"), Role::Phone);
        assert_eq!(c.role("Эл. почта"), Role::Email);
        assert_eq!(c.role("client[name]"), Role::Name);
        assert_eq!(c.role("form.name"), Role::Other, "the form's name");
        assert_eq!(c.role("product.description"), Role::Other);
        assert_eq!(
            c.role("order.phone"),
            Role::Phone,
            "still the person's phone"
        );
        assert_eq!(c.role("manager.email"), Role::Other, "the business's side");
        assert_eq!(c.role("meta.utm_campaign"), Role::Utm);
    }

    #[test]
    fn a_labels_pattern_must_say_where_the_label_is() {
        let raw: RawInbound = toml::from_str(
            "name = \"t\"\ndescription = \"t\"\nlabels = [\"data.name\"]\n[fields]\nphones = [\"p\"]\n",
        )
        .expect("parses");
        let problems = InboundConnector::from_raw(raw, "test").expect_err("invalid");
        assert_eq!(problems[0].key, "labels");
    }

    #[test]
    fn hosts_match_themselves_and_their_subdomains_only() {
        let allowed = vec!["userapi.com".to_string()];
        assert!(on_hosts("sun9-1.userapi.com", &allowed));
        assert!(on_hosts("USERAPI.com", &allowed));
        assert!(!on_hosts("evil-userapi.com", &allowed));
        assert!(!on_hosts("userapi.com.evil.ru", &allowed));
        assert!(check_host("tupwidget.com").is_ok());
        assert!(check_host("127.0.0.1").is_ok());
        for bad in [
            "https://tupwidget.com",
            "tupwidget.com/f",
            "tupwidget.com:443",
            "",
        ] {
            assert!(check_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn linked_files_are_addresses_under_a_files_key_or_on_the_providers_hosts() {
        let c = connector(
            "name = \"t\"\ndescription = \"t\"\n[fields]\nphones = [\"phone\"]\nfiles = [\"upload*\"]\n\
             [files]\nhosts = [\"tupwidget.com\"]\n",
        );
        assert_eq!(c.role("upload_1"), Role::File);
        let two = c.linked_files(
            Role::File,
            "https://cdn.example.ru/a.pdf, http://tupwidget.com/x/b%20c.png",
        );
        assert_eq!(two.map(|u| u.len()), Some(2), "any host under a files key");
        assert!(c.linked_files(Role::File, "b.png").is_none(), "a name only");
        assert!(c.linked_files(Role::File, "ftp://x.ru/b.png").is_none());
        let hosted = c.linked_files(Role::Other, "https://s.tupwidget.com/f/IMG_1.jpeg");
        assert_eq!(hosted.map(|u| u.len()), Some(1), "any key, on the hosts");
        let elsewhere = c.linked_files(Role::Other, "https://example.ru/page");
        assert!(elsewhere.is_none(), "a page address stays a field");
        let mixed = c.linked_files(Role::Other, "see https://tupwidget.com/f/a.jpeg");
        assert!(mixed.is_none(), "words around it: the person's text");
        assert!(
            c.linked_files(Role::Message, "https://tupwidget.com/f/a.jpeg")
                .is_none()
        );
    }

    #[test]
    fn a_files_host_must_be_a_bare_host_name() {
        let raw: RawInbound = toml::from_str(
            "name = \"t\"\ndescription = \"t\"\n[fields]\nphones = [\"p\"]\n[files]\nhosts = [\"https://tupwidget.com/\"]\n",
        )
        .expect("parses");
        let problems = InboundConnector::from_raw(raw, "test").expect_err("invalid");
        assert_eq!(problems[0].key, "files.hosts[0]");
    }
}
