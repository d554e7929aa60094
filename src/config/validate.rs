//! `RawConfig → Config`: every value checked, every problem gathered before reporting.

use super::Config;
use super::doors;
use super::raw::RawConfig;
use crate::connectors::Catalogue;
use crate::lead::{OwnContacts, PhoneNormaliser, normalise_email};
use crate::settings::{ConfigProblem, Problems, check_id};
use crate::sources::table::{TableContext, read_sources};
use crate::sources::webform::WebformSource;
use crate::store::StorageConfig;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Validates the raw config read from `path` (relative paths in it are resolved: the routing
/// file against the config file's directory, data files against the working directory).
pub fn validate(raw: RawConfig, path: &Path) -> Result<Config, Vec<ConfigProblem>> {
    let mut p = Problems::new(path);

    let server = super::server::validate(&mut p, &raw.server);

    let storage = storage(&mut p, raw.storage.url.as_deref());
    let data_dir = match raw.storage.data_dir.as_deref().map(str::trim) {
        Some("") => {
            p.add(
                "storage.data_dir",
                "is empty",
                Some("name a folder, or leave the key out for the store's own"),
            );
            storage.data_dir()
        }
        Some(dir) => PathBuf::from(dir),
        None => storage.data_dir(),
    };

    let region = raw.business.phone_region.as_deref().unwrap_or("RU");
    let phones = PhoneNormaliser::new(region).unwrap_or_else(|e| {
        p.add("business.phone_region", e.to_string(), None);
        PhoneNormaliser::new("RU").expect("RU is a known region")
    });
    let language_code = raw.business.language.as_deref().unwrap_or("ru");
    let language = crate::language::Language::parse(language_code).unwrap_or_else(|| {
        p.add(
            "business.language",
            format!("{language_code:?} is not a language leadgate writes"),
            Some("\"ru\" or \"en\""),
        );
        crate::language::Language::Ru
    });
    let mut own_contacts = OwnContacts::default();
    for (i, e) in raw.business.own_emails.iter().enumerate() {
        match normalise_email(e) {
            Some(e) => own_contacts.emails.push(e),
            None => p.add(
                format!("business.own_emails[{i}]"),
                format!("{e:?} is not an e-mail address"),
                None,
            ),
        }
    }
    for (i, ph) in raw.business.own_phones.iter().enumerate() {
        match phones.to_e164(ph) {
            Some(e164) => own_contacts.phones.push(e164),
            None => p.add(
                format!("business.own_phones[{i}]"),
                format!("{ph:?} is not a valid phone number"),
                Some("write it with the country code, like \"+7 812 600-12-34\""),
            ),
        }
    }

    let base = path.parent().unwrap_or(Path::new("."));
    // A routing file that is not there is the rules' problem, not the config's: `run` starts
    // on the last good rules kept beside the store (a renamed file, a ConfigMap key renamed),
    // and `check` says why the file does not load.
    let routing_file = base.join(raw.routing.file.as_deref().unwrap_or("routing.toml"));

    let connectors_dir = raw.connectors.dir.as_deref().map(|d| base.join(d));
    let connectors = match Catalogue::load(connectors_dir.as_deref()) {
        Ok(c) => c,
        Err(problems) => {
            p.list.extend(problems);
            Catalogue::default()
        }
    };

    let batch_size = raw.processing.batch_size.unwrap_or(200);
    if batch_size == 0 {
        p.add("processing.batch_size", "must be at least 1", None);
    }

    let mut ids = HashSet::new();
    let context = TableContext {
        base,
        connectors: &connectors,
    };
    let sources = read_sources(raw.sources, &mut p, &mut ids, &context);
    let mut paths = HashSet::new();
    for (i, form) in sources.of::<WebformSource>().iter().enumerate() {
        if let Some(path) = &form.path
            && !paths.insert(path.to_ascii_lowercase())
        {
            p.add(
                format!("sources.webform[{i}].path"),
                format!("{path:?} is another form's path too"),
                Some("give each form a path of its own"),
            );
        }
    }

    let notify = raw.notify.validate(
        &crate::notify::Neighbours {
            source_ids: &ids,
            source_bot_tokens: sources.tables().flat_map(|t| t.bot_tokens()).collect(),
            base,
        },
        &mut p.scope("notify"),
    );

    let retention = raw.retention.validate(&mut p.scope("retention"));

    let attachments = raw
        .attachments
        .validate(&server.listen.to_string(), &mut p.scope("attachments"));

    let mut sinks = Vec::new();
    let mut sink_ids = HashSet::new();
    for (i, s) in raw.sinks.webhook.into_iter().enumerate() {
        let key = format!("sinks.webhook[{i}]");
        check_id(&mut p, &mut sink_ids, &key, &s.id);
        sinks.extend(s.validate(&mut p.scope(key), &connectors));
    }
    for (i, s) in raw.sinks.file.into_iter().enumerate() {
        let key = format!("sinks.file[{i}]");
        check_id(&mut p, &mut sink_ids, &key, &s.id);
        sinks.push(s.validate(&mut p.scope(key)));
    }

    doors::check_token(&mut p, "admin.token", raw.admin.token.as_ref());
    doors::check_token(
        &mut p,
        "admin.metrics_token",
        raw.admin.metrics_token.as_ref(),
    );
    doors::check_token(&mut p, "api.token", raw.api.token.as_ref());

    if !p.list.is_empty() {
        return Err(p.list);
    }
    Ok(Config {
        server,
        storage,
        data_dir,
        phones,
        language,
        own_contacts,
        routing_file,
        watch_routing: raw.routing.watch.unwrap_or(true),
        batch_size,
        admin_token: raw.admin.token,
        metrics_token: raw.admin.metrics_token,
        api_token: raw.api.token,
        sources,
        sinks,
        connectors: Arc::new(connectors),
        notify,
        retention,
        attachments,
    })
}

/// `[storage] url` (default `data/leadgate.db`), read by [`StorageConfig::parse`]; a problem
/// never repeats a PostgreSQL URL's password.
fn storage(p: &mut Problems, url: Option<&str>) -> StorageConfig {
    StorageConfig::parse(url.unwrap_or("data/leadgate.db")).unwrap_or_else(|why| {
        p.add("storage.url", why, Some(StorageConfig::HINT));
        StorageConfig::Sqlite(PathBuf::from("data/leadgate.db"))
    })
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_raw;
    use crate::lead::Channel;
    use crate::sources::telegram::{DEFAULT_REPLY_TEXT, TelegramMode};
    use std::time::Duration;

    fn problems_of(text: &str) -> Vec<ConfigProblem> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leadgate.toml");
        std::fs::write(&path, text).expect("write");
        std::fs::write(dir.path().join("routing.toml"), "").expect("write");
        let raw = load_raw(&path, &|_| None).expect("raw parses");
        validate(raw, &path).expect_err("invalid")
    }

    /// The storage `url` reads as, or its problem's message.
    fn storage_of(url: &str) -> Result<StorageConfig, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leadgate.toml");
        let mut p = Problems::new(&path);
        let storage = storage(&mut p, Some(url));
        match p.list.first() {
            Some(problem) => Err(problem.to_string()),
            None => Ok(storage),
        }
    }

    #[test]
    fn storage_is_sqlite_by_path_or_postgres_by_url_and_a_password_is_never_shown() {
        let sqlite = storage_of("sqlite://data/x.db").expect("sqlite");
        assert!(matches!(&sqlite, StorageConfig::Sqlite(p) if p == Path::new("data/x.db")));
        assert_eq!(sqlite.data_dir(), Path::new("data"));
        let plain = storage_of("var/lead.db").expect("a path");
        assert!(matches!(plain, StorageConfig::Sqlite(_)));
        let pg = storage_of("postgres://lg:hunter2@db.local:5432/leads").expect("postgres");
        assert!(matches!(pg, StorageConfig::Postgres(_)));
        assert_eq!(pg.describe(), "postgres://db.local:5432/leads");
        let by_parameter =
            storage_of("postgres://db.local/leads?user=lg&password=hunter2").expect("postgres");
        assert_eq!(by_parameter.describe(), "postgres://db.local/leads");
        assert_eq!(pg.data_dir(), Path::new("data"));
        assert!(storage_of("postgresql://db.local/leads").is_ok());
        let bad =
            storage_of("postgres://lg:hunter2@db.local:notaport/leads").expect_err("bad port");
        assert!(bad.contains("storage.url"), "{bad}");
        assert!(!bad.contains("hunter2"), "{bad}");
        let other = storage_of("mysql://db.local/leads").expect_err("unknown");
        assert!(other.contains("SQLite or PostgreSQL"), "{other}");
        let typo = storage_of("postgress://lg:hunter2@db.local/leads").expect_err("a typo");
        assert!(typo.contains("\"postgress://...\""), "{typo}");
        assert!(!typo.contains("hunter2"), "{typo}");
    }

    #[test]
    fn two_forms_may_not_share_a_path() {
        let problems = problems_of(
            "[[sources.webform]]\nid = \"a\"\npath = \"/send.php\"\n\
             [[sources.webform]]\nid = \"b\"\npath = \"/Send.php\"\n",
        );
        assert!(
            problems
                .iter()
                .any(|p| p.to_string().contains("sources.webform[1].path")
                    && p.to_string().contains("another form's path")),
            "{problems:#?}"
        );
    }

    #[test]
    fn the_data_folder_is_the_stores_own_unless_named() {
        let data_dir_of = |text: &str| {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("leadgate.toml");
            std::fs::write(&path, text).expect("write");
            std::fs::write(dir.path().join("routing.toml"), "").expect("write");
            let raw = load_raw(&path, &|_| None).expect("raw parses");
            validate(raw, &path).map(|c| c.data_dir)
        };
        let sqlite = data_dir_of("[storage]\nurl = \"sqlite://var/lg/leadgate.db\"\n");
        assert_eq!(sqlite.expect("valid"), Path::new("var/lg"));
        let pg = data_dir_of("[storage]\nurl = \"postgres://db.local/leads\"\n");
        assert_eq!(pg.expect("valid"), Path::new("data"));
        let shared =
            "[storage]\nurl = \"postgres://db.local/leads\"\ndata_dir = \"/mnt/shared/lg\"\n";
        assert_eq!(
            data_dir_of(shared).expect("valid"),
            Path::new("/mnt/shared/lg")
        );
        let empty = data_dir_of("[storage]\ndata_dir = \" \"\n").expect_err("empty");
        assert!(
            empty
                .iter()
                .any(|p| p.to_string().contains("storage.data_dir")),
            "{empty:?}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = problems_of(
            r#"
[server]
listen = "localhost"
[business]
phone_region = "XX"
[[sources.webform]]
id = "bad id"
allowed_origins = ["https://ok.example/", "*"]
[[sinks.webhook]]
id = "crm"
url = "ftp://crm"
secret = "nope"
events = ["lead.deleted"]
"#,
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "server.listen",
                "business.phone_region",
                "sources.webform[0].id",
                "sources.webform[0].allowed_origins[0]",
                "sinks.webhook[0].url",
                "sinks.webhook[0].secret",
                "sinks.webhook[0].events[0]",
            ],
            "{problems:#?}"
        );
        assert!(problems.iter().all(|p| p.file.ends_with("leadgate.toml")));
    }

    #[test]
    fn each_sources_table_is_read_by_its_channel_and_an_unknown_one_is_named() {
        let problems = problems_of(
            "[[sources.telegarm]]\nid = \"bot\"\n\
             [[sources.vk]]\nid = \"vk\"\ngroup_id = 1\nconfirmation = \"x\"\nsecert = \"s\"\n\
             [[sources.feed]]\nid = \"news\"\nurl = \"https://blog.example.ru/comments/feed/\"\n\
             [[sources.webform]]\nid = \"news\"\n",
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sources.vk[0].secert",
                "sources.feed[0].id",
                "sources.telegarm"
            ],
            "{problems:#?}"
        );
        assert!(problems[0].message.contains("secert"), "{problems:#?}");
        assert!(problems[1].message.contains("used twice"), "{problems:#?}");
        let hint = problems[2].hint.as_deref().unwrap_or_default();
        for table in [
            "webform",
            "email",
            "telegram",
            "vk",
            "whatsapp",
            "wordpress",
            "feed",
        ] {
            assert!(hint.contains(table), "{hint}");
        }
    }

    #[test]
    fn each_channel_finds_its_own_sources_by_type() {
        use crate::sources::blog::{FeedSource, WordpressSource};
        use crate::sources::webform::WebformSource;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leadgate.toml");
        let text = "[[sources.webform]]\nid = \"site\"\n[[sources.webform]]\nid = \"promo\"\n\
                    [[sources.feed]]\nid = \"news\"\nurl = \"https://blog.example.ru/comments/feed/\"\n";
        std::fs::write(&path, text).expect("write");
        std::fs::write(dir.path().join("routing.toml"), "").expect("write");
        let raw = load_raw(&path, &|_| None).expect("raw parses");
        let config = validate(raw, &path).expect("valid");
        let forms: Vec<&str> = (config.sources.of::<WebformSource>().iter())
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(forms, ["site", "promo"]);
        assert!(config.sources.of::<WordpressSource>().is_empty());
        assert_eq!(
            config
                .sources
                .find::<FeedSource>("news")
                .map(|f| f.id.as_str()),
            Some("news")
        );
        assert!(config.sources.find::<WebformSource>("news").is_none());
        let listed: Vec<(&str, Channel)> =
            (config.sources.iter()).map(|s| (s.id, s.channel)).collect();
        assert_eq!(
            listed,
            [
                ("site", Channel::Webform),
                ("promo", Channel::Webform),
                ("news", Channel::Blog)
            ]
        );
    }

    #[test]
    fn unknown_connectors_and_presets_are_named() {
        let problems = problems_of(
            "[[sources.webform]]\nid = \"t\"\nconnector = \"tildaa\"\n[[sinks.webhook]]\nid = \"b\"\nurl = \"https://b.example/rest/1/x/\"\npreset = \"bitrix\"\n",
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["sources.webform[0].connector", "sinks.webhook[0].preset"]
        );
        assert!(
            problems[0]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("tilda"))
        );
        assert!(
            problems[1]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("bitrix24"))
        );
    }

    #[test]
    fn email_problems_carry_the_source_key() {
        let problems = problems_of(
            "[[sources.email]]\nid = \"box\"\nhost = \"imap.example.ru\"\nuser = \"u\"\n\
             password = \"p\"\nafter = \"move\"\n",
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["sources.email[0].move_to"], "{problems:#?}");
        assert!(problems.iter().all(|p| !p.to_string().contains("\"p\"")));
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_a_problem_of_its_key() {
        let problems = problems_of(
            "[[sources.email]]\nid = \"box\"\nhost = \"imap.example.ru\"\nuser = \"u\"\n\
             password = \"p\"\nca_file = \"routing.toml\"\n",
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["sources.email[0].ca_file"], "{problems:#?}");
        assert!(problems[0].message.contains("holds no PEM certificate"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let problems = problems_of(
            "[[sinks.file]]\nid = \"a\"\npath = \"x\"\n[[sinks.file]]\nid = \"a\"\npath = \"y\"\n",
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("used twice"));
    }

    #[test]
    fn telegram_problems_are_reported_with_their_keys() {
        let problems = problems_of(
            r#"
[[sources.telegram]]
id = "bot"
token = "not-a-token"
api_url = "ftp://x"
mode = "webhook"
poll_timeout = "2m"
conversation_window = "soon"
[[sources.telegram]]
id = "bot"
token = "1:a"
mode = "push"
"#,
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sources.telegram[0].token",
                "sources.telegram[0].api_url",
                "sources.telegram[0].webhook_secret",
                "sources.telegram[0].poll_timeout",
                "sources.telegram[0].conversation_window",
                "sources.telegram[1].id",
                "sources.telegram[1].mode",
            ],
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .all(|p| !p.to_string().contains("not-a-token")),
            "the token is never printed"
        );
    }

    #[test]
    fn notify_problems_are_reported_with_their_keys() {
        let problems = problems_of(
            r#"
[[sources.telegram]]
id = "bot"
token = "7012345678:AAH_customers"
[notify]
language = "de"
[notify.telegram]
token = "7012345678:AAH_customers"
[notify.email]
url = "http://smtp.example.ru"
user = "leads"
from = "not an address"
public_url = "leads.example.ru"
link_secret = "short-secret-value"
[notify.alerts]
emails = ["nobody"]
silent_after = { sales-inbox = "1d" }
"#,
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "notify.language",
                "notify.telegram.token",
                "notify.email.url",
                "notify.email.password",
                "notify.email.from",
                "notify.email.public_url",
                "notify.email.link_secret",
                "notify.alerts.emails[0]",
                "notify.alerts.silent_after.sales-inbox",
            ],
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .all(|p| !p.to_string().contains("short-secret-value")),
            "no secret is printed"
        );
    }

    #[test]
    fn a_mail_ca_file_must_be_pem_and_needs_tls() {
        let mail = |url: &str, ca: &str| {
            problems_of(&format!(
                "[notify.email]\nurl = \"{url}\"\nfrom = \"leads@example.ru\"\npublic_url = \"https://leads.example.ru\"\nlink_secret = \"{}\"\nca_file = \"{ca}\"\n",
                "x".repeat(32)
            ))
        };
        let not_pem = mail("smtps://smtp.example.ru", "routing.toml");
        assert_eq!(not_pem.len(), 1, "{not_pem:#?}");
        assert_eq!(not_pem[0].key, "notify.email.ca_file");
        assert!(
            not_pem[0].message.contains("holds no PEM certificate"),
            "{not_pem:#?}"
        );
        let plain = mail("smtp://127.0.0.1:25", "ca.pem");
        assert_eq!(plain.len(), 1, "{plain:#?}");
        assert_eq!(plain[0].key, "notify.email.ca_file");
        assert!(
            plain[0].message.contains("only used over TLS"),
            "{plain:#?}"
        );
    }

    #[test]
    fn alerts_need_the_channel_they_go_through() {
        let problems = problems_of(
            r#"
[notify.alerts]
telegram_chat_ids = [1]
emails = ["admin@example.ru"]
"#,
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["notify.alerts.telegram_chat_ids", "notify.alerts.emails"],
            "{problems:#?}"
        );
    }

    #[test]
    fn telegram_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leadgate.toml");
        let text = "[[sources.telegram]]\nid = \"tg\"\ntoken = \"1:abc\"\n";
        std::fs::write(&path, text).expect("write");
        std::fs::write(dir.path().join("routing.toml"), "").expect("write");
        let raw = load_raw(&path, &|_| None).expect("raw parses");
        let config = validate(raw, &path).expect("valid");
        let bot = &config
            .sources
            .of::<crate::sources::telegram::TelegramSource>()[0];
        assert_eq!(bot.api_url.as_str(), "https://api.telegram.org/");
        assert_eq!(bot.mode, TelegramMode::Polling);
        assert!(!bot.options.group_messages);
        assert_eq!(bot.reply.text.as_deref(), Some(DEFAULT_REPLY_TEXT));
        assert!(bot.reply.ask_contact);
        assert_eq!(bot.poll_timeout, Duration::from_secs(25));
        assert_eq!(bot.conversation_window, Duration::from_secs(30 * 60));
    }
}
