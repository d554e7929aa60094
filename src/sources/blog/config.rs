//! `[[sources.wordpress]]` and `[[sources.feed]]`: the keys as written (unknown keys refused)
//! and the checked settings the pollers run on. Each problem is filed under the source's key.

use super::CommentRules;
use crate::lead::{Channel, normalise_email};
use crate::settings::{HumanDuration, Scope, Secret};
use crate::sources::table::{RawSource, Source, TableContext};
use serde::Deserialize;
use std::time::Duration;

/// `[[sources.wordpress]]` as written: a WordPress site polled over its REST API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWordpress {
    /// The source id: the lead's `source`.
    pub id: String,
    /// The site's address (`https://example.ru/blog`), where `wp-json/` lives.
    pub site_url: String,
    /// How often the site is asked for new comments; default `5m`.
    pub poll_interval: Option<HumanDuration>,
    /// The longest one request may take; default `20s`.
    pub timeout: Option<HumanDuration>,
    /// The WordPress user of the application password.
    pub user: Option<String>,
    /// An application password (Users → Profile): comments held for moderation and the
    /// authors' e-mails are seen too.
    pub app_password: Option<Secret>,
    /// How far back a site seen for the first time is read; default `7d`.
    pub backfill: Option<HumanDuration>,
    /// How far behind the newest comment taken each poll looks again for comments published
    /// late (held for moderation, then approved with their old date); default `3d`, `0s`: off.
    pub recheck: Option<HumanDuration>,
    /// Author names the business's own people comment under.
    #[serde(default)]
    pub staff_names: Vec<String>,
    /// Author e-mails of the business's own people.
    #[serde(default)]
    pub staff_emails: Vec<String>,
    /// Comments per page, at most 100 (WordPress's limit); default 100.
    pub per_page: Option<u32>,
    /// A second comment by the same person (their e-mail or phone) this soon after the last,
    /// not a reply to it, joins its lead; default `"off"` (a reply to a lead's comment joins).
    pub conversation_window: Option<String>,
}

/// `[[sources.feed]]` as written: an RSS 2.0 or Atom comments feed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeed {
    /// The source id: the lead's `source`.
    pub id: String,
    /// The feed's address (`https://example.ru/blog/comments/feed/`).
    pub url: String,
    /// How often the feed is fetched; default `5m`.
    pub poll_interval: Option<HumanDuration>,
    /// The longest one request may take; default `20s`.
    pub timeout: Option<HumanDuration>,
    /// Author names the business's own people comment under.
    #[serde(default)]
    pub staff_names: Vec<String>,
    /// Author e-mails of the business's own people.
    #[serde(default)]
    pub staff_emails: Vec<String>,
    /// A second comment by the same person (their e-mail or phone) this soon after the last,
    /// not a reply to it, joins its lead; default `"off"` (a reply to a lead's comment joins).
    pub conversation_window: Option<String>,
}

/// A WordPress source, checked.
#[derive(Debug, Clone)]
pub struct WordpressSource {
    /// The source id.
    pub id: String,
    /// The site's address, without user info, query or fragment.
    pub site_url: reqwest::Url,
    /// Time between polls while the site answers.
    pub poll_interval: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The application password login, when configured.
    pub login: Option<Login>,
    /// How far back the first poll reads.
    pub backfill: Duration,
    /// How far behind its watermark each poll reads a stream again; zero: not at all.
    pub recheck: Duration,
    /// Comments per page (1..=100).
    pub per_page: u32,
    /// Which comments are not leads.
    pub rules: CommentRules,
    /// A comment by the same person this soon after the last joins its lead; zero: never.
    pub conversation_window: Duration,
}

/// A WordPress application password login (HTTP Basic).
#[derive(Debug, Clone)]
pub struct Login {
    /// The user name.
    pub user: String,
    /// The application password; never printed.
    pub app_password: Secret,
}

/// A comments feed source, checked.
#[derive(Debug, Clone)]
pub struct FeedSource {
    /// The source id.
    pub id: String,
    /// The feed's address.
    pub url: reqwest::Url,
    /// Time between polls while the feed answers.
    pub poll_interval: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Which comments are not leads.
    pub rules: CommentRules,
    /// A comment by the same person this soon after the last joins its lead; zero: never.
    pub conversation_window: Duration,
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
const DEFAULT_BACKFILL: Duration = Duration::from_secs(7 * 86_400);
/// Most comments held for moderation are approved within a day or two.
const DEFAULT_RECHECK: Duration = Duration::from_secs(3 * 86_400);
/// WordPress refuses `per_page` above 100.
const MAX_PER_PAGE: u32 = 100;

impl RawWordpress {
    /// Checks every key, reporting each problem; the result is only used when none was
    /// reported.
    pub fn validate(self, p: &mut Scope<'_>) -> WordpressSource {
        let site_url = http_url(&self.site_url, "site_url", p);
        let per_page = self.per_page.unwrap_or(MAX_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            p.add(
                "per_page",
                format!("{per_page} is out of range"),
                Some("WordPress takes 1 to 100 comments per page"),
            );
        }
        let login = match (
            self.user.filter(|u| !u.trim().is_empty()),
            self.app_password,
        ) {
            (Some(user), Some(app_password)) if !app_password.expose().is_empty() => {
                Some(Login { user, app_password })
            }
            (Some(_), _) => {
                p.add(
                    "app_password",
                    "a user is set without an application password",
                    Some("set app_password = \"${WP_APP_PASSWORD}\", or remove user"),
                );
                None
            }
            (None, Some(_)) => {
                p.add(
                    "user",
                    "an application password is set without its user",
                    Some("set user to the WordPress login the password belongs to"),
                );
                None
            }
            (None, None) => None,
        };
        WordpressSource {
            id: self.id,
            site_url,
            poll_interval: positive(self.poll_interval, DEFAULT_INTERVAL, "poll_interval", p),
            timeout: positive(self.timeout, DEFAULT_TIMEOUT, "timeout", p),
            login,
            backfill: self.backfill.map_or(DEFAULT_BACKFILL, |d| d.0),
            recheck: self.recheck.map_or(DEFAULT_RECHECK, |d| d.0),
            per_page: per_page.clamp(1, MAX_PER_PAGE),
            rules: rules(self.staff_names, self.staff_emails, p),
            conversation_window: window(self.conversation_window.as_deref(), p),
        }
    }
}

impl RawFeed {
    /// Checks every key, reporting each problem; the result is only used when none was
    /// reported.
    pub fn validate(self, p: &mut Scope<'_>) -> FeedSource {
        FeedSource {
            id: self.id,
            url: http_url(&self.url, "url", p),
            poll_interval: positive(self.poll_interval, DEFAULT_INTERVAL, "poll_interval", p),
            timeout: positive(self.timeout, DEFAULT_TIMEOUT, "timeout", p),
            rules: rules(self.staff_names, self.staff_emails, p),
            conversation_window: window(self.conversation_window.as_deref(), p),
        }
    }
}

/// A blog source's `conversation_window`: off unless set (a reply joins its lead anyway).
fn window(text: Option<&str>, p: &mut Scope<'_>) -> Duration {
    crate::sources::conversation_window(p, text, Duration::ZERO)
}

/// An http(s) URL without credentials, query or fragment (credentials belong in their own,
/// secret, keys; they would otherwise show in logs and errors).
fn http_url(text: &str, key: &str, p: &mut Scope<'_>) -> reqwest::Url {
    let fallback = || reqwest::Url::parse("http://invalid.example/").expect("a valid URL");
    let url = match reqwest::Url::parse(text.trim()) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
        _ => {
            p.add(
                key,
                format!("{text:?} is not an http(s) URL"),
                Some("write it like \"https://example.ru/blog\""),
            );
            return fallback();
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        p.add(
            key,
            "the URL carries a user name or password",
            Some("WordPress sources take user and app_password keys; remove them from the URL"),
        );
    } else if url.query().is_some() || url.fragment().is_some() {
        p.add(
            key,
            "the URL has a query or a fragment",
            Some("write the address only; leadgate adds the query itself"),
        );
    }
    url
}

fn positive(
    value: Option<HumanDuration>,
    default: Duration,
    key: &str,
    p: &mut Scope<'_>,
) -> Duration {
    let d = value.map_or(default, |d| d.0);
    if d.is_zero() {
        p.add(
            key,
            "must be longer than zero",
            Some("write it like \"5m\""),
        );
        return default;
    }
    d
}

fn rules(names: Vec<String>, emails: Vec<String>, p: &mut Scope<'_>) -> CommentRules {
    for (i, e) in emails.iter().enumerate() {
        if normalise_email(e).is_none() {
            p.add(
                &format!("staff_emails[{i}]"),
                format!("{e:?} is not an e-mail address"),
                None,
            );
        }
    }
    CommentRules {
        staff_names: names,
        staff_emails: emails,
        ..CommentRules::default()
    }
}

impl RawSource for RawWordpress {
    const KEY: &'static str = "wordpress";
    type Source = WordpressSource;
    type Seen = ();

    fn id(&self) -> &str {
        &self.id
    }

    fn validate(
        self,
        p: &mut Scope<'_>,
        _: &TableContext<'_>,
        _: &mut (),
    ) -> Option<WordpressSource> {
        Some(RawWordpress::validate(self, p))
    }
}

impl RawSource for RawFeed {
    const KEY: &'static str = "feed";
    type Source = FeedSource;
    type Seen = ();

    fn id(&self) -> &str {
        &self.id
    }

    fn validate(self, p: &mut Scope<'_>, _: &TableContext<'_>, _: &mut ()) -> Option<FeedSource> {
        Some(RawFeed::validate(self, p))
    }
}

impl Source for WordpressSource {
    const CHANNEL: Channel = Channel::Blog;

    fn id(&self) -> &str {
        &self.id
    }

    fn conversation_window(&self) -> Duration {
        self.conversation_window
    }
}

impl Source for FeedSource {
    const CHANNEL: Channel = Channel::Blog;

    fn id(&self) -> &str {
        &self.id
    }

    fn conversation_window(&self) -> Duration {
        self.conversation_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems `validate` reports, as `key: message`.
    fn found(validate: impl FnOnce(&mut Scope<'_>)) -> Vec<String> {
        let mut p = crate::settings::Problems::new(std::path::Path::new("leadgate.toml"));
        validate(&mut p.scope(""));
        p.list
            .iter()
            .map(|c| format!("{}: {}", c.key, c.message))
            .collect()
    }

    fn problems(raw: RawWordpress) -> Vec<String> {
        found(|p| {
            raw.validate(p);
        })
    }

    #[test]
    fn defaults_are_polite() {
        let mut source = None;
        let problems = found(|p| {
            let raw = RawWordpress {
                id: "blog".into(),
                site_url: "https://example.ru/blog".into(),
                ..RawWordpress::default()
            };
            source = Some(raw.validate(p));
        });
        assert!(problems.is_empty(), "{problems:?}");
        let source = source.expect("validated");
        assert_eq!(source.poll_interval, Duration::from_secs(300));
        assert_eq!(source.timeout, Duration::from_secs(20));
        assert_eq!(source.backfill, Duration::from_secs(7 * 86_400));
        assert_eq!(source.recheck, Duration::from_secs(3 * 86_400));
        assert_eq!(source.per_page, 100);
        assert!(source.login.is_none());
    }

    #[test]
    fn every_problem_is_reported() {
        let found = problems(RawWordpress {
            id: "blog".into(),
            site_url: "https://admin:hunter2@example.ru/blog".into(),
            user: Some("admin".into()),
            per_page: Some(500),
            staff_emails: vec!["not-an-address".into()],
            poll_interval: Some(HumanDuration(Duration::ZERO)),
            ..RawWordpress::default()
        });
        let keys: Vec<&str> = found.iter().filter_map(|p| p.split(':').next()).collect();
        assert_eq!(
            keys,
            [
                "site_url",
                "per_page",
                "app_password",
                "poll_interval",
                "staff_emails[0]"
            ],
            "{found:?}"
        );
        assert!(found.iter().all(|p| !p.contains("hunter2")), "{found:?}");
    }

    #[test]
    fn the_commented_example_is_valid() {
        #[derive(Deserialize)]
        struct Example {
            sources: Sources,
        }
        #[derive(Deserialize)]
        struct Sources {
            wordpress: Vec<RawWordpress>,
            feed: Vec<RawFeed>,
        }
        let text = include_str!("../../../config/examples/blog.toml");
        let example: Example = toml::from_str(text).expect("the example parses");
        let problems = found(|p| {
            for site in example.sources.wordpress {
                assert!(site.validate(p).login.is_some());
            }
            for feed in example.sources.feed {
                feed.validate(p);
            }
        });
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_password_needs_its_user() {
        let found = problems(RawWordpress {
            id: "blog".into(),
            site_url: "https://example.ru".into(),
            app_password: Some(Secret::new("abcd efgh")),
            ..RawWordpress::default()
        });
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("user:"));
    }
}
