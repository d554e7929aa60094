//! The configs the tests share, written once: the managers who always work, and the form,
//! CRM and managers' bot tables most daemons start with. A test spells out in its own file
//! only what it is about.

use super::bot_api::MANAGERS_TOKEN;
use super::daemon::API_TOKEN;

/// A manager who works every hour of every day, holidays included.
#[derive(Debug, Clone)]
pub struct Manager {
    id: &'static str,
    name: &'static str,
    level: &'static str,
    chat: Option<i64>,
    email: bool,
}

impl Manager {
    /// `id` at `level`, reachable only in the CRM until given a chat or an address.
    pub fn new(id: &'static str, name: &'static str, level: &'static str) -> Manager {
        Manager {
            id,
            name,
            level,
            chat: None,
            email: false,
        }
    }

    /// The manager's chat with the managers' bot.
    pub fn chat(self, chat: i64) -> Manager {
        Manager {
            chat: Some(chat),
            ..self
        }
    }

    /// The manager's address, `<id>@teplodom.example`.
    pub fn with_email(self) -> Manager {
        Manager {
            email: true,
            ..self
        }
    }

    fn toml(&self) -> String {
        let mut t = format!(
            "\n[[managers]]\nid = \"{}\"\nname = \"{}\"\nlevel = \"{}\"\n",
            self.id, self.name, self.level
        );
        if let Some(chat) = self.chat {
            t += &format!("telegram_chat_id = {chat}\n");
        }
        if self.email {
            t += &format!("email = \"{}@teplodom.example\"\n", self.id);
        }
        t + "hours = \"mon-sun 00:00-23:59\"\nworks_holidays = true\n"
    }
}

/// Анна, a junior with chat 501.
pub fn anna() -> Manager {
    Manager::new("anna", "Анна Петрова", "junior").chat(501)
}

/// Борис, a junior with chat 502.
pub fn boris() -> Manager {
    Manager::new("boris", "Борис Орлов", "junior").chat(502)
}

/// Вера, a senior with chat 503.
pub fn vera() -> Manager {
    Manager::new("vera", "Вера Соколова", "senior").chat(503)
}

/// A `routing.toml` in Moscow time, round robin, a 30-minute SLA that runs round the clock
/// (passing a lead on at most `max_reassign` times when given), `managers`, and one rule that
/// sends everything to the first level.
pub fn routing(levels: &[&str], max_reassign: Option<u32>, managers: &[Manager]) -> String {
    let levels = levels
        .iter()
        .map(|l| format!("\"{l}\""))
        .collect::<Vec<_>>();
    let mut t = format!(
        "levels = [{}]\ntimezone = \"Europe/Moscow\"\nstrategy = \"round_robin\"\n\n[sla]\nack_within = \"30m\"\n",
        levels.join(", ")
    );
    if let Some(n) = max_reassign {
        t += &format!("max_reassign = {n}\n");
    }
    t += "working_hours_only = false\n";
    for m in managers {
        t += &m.toml();
    }
    let first = levels.first().map_or("\"junior\"", String::as_str);
    t + &format!("\n[[rules]]\nname = \"Всё остальное\"\nlevel = {first}\n")
}

/// The API token, the form `site`, and the webhook sink `crm` posting to `sink_url`.
pub fn form_to_crm(sink_url: &str) -> String {
    format!(
        "[api]\ntoken = \"{API_TOKEN}\"\n\n[[sources.webform]]\nid = \"site\"\n\n\
         [[sinks.webhook]]\nid = \"crm\"\nurl = \"{sink_url}\"\ntimeout = \"2s\"\n"
    )
}

/// `[notify.telegram]`: the managers' bot on the Bot API simulator at `api_url`, polling.
pub fn managers_bot(api_url: &str) -> String {
    format!(
        "\n[notify.telegram]\ntoken = \"{MANAGERS_TOKEN}\"\napi_url = \"{api_url}\"\npoll_timeout = \"1s\"\n"
    )
}
