//! What a manager or an admin reads: the lead card for Telegram (HTML with Take/Decline
//! buttons) and for e-mail (plain text and HTML with take/decline links), rendered when the
//! notification is queued so every retry sends the same message.
//!
//! Telegram refuses a text over 4,096 UTF-16 code units (counted after its HTML parsing), so
//! whatever a lead carries, a card fits: the name, each line (a subject, an address) and the
//! person's text are cut with a marker (`…`) before they are escaped, so an entity or a tag is
//! never cut, and a card still too long sheds its text, then its last lines.

use crate::lead::Lead;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::config::Language;

/// A rendered notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "lowercase")]
pub enum Message {
    /// A Telegram message.
    Telegram(TelegramMessage),
    /// A mail.
    Email(EmailMessage),
    /// An answer to the person who wrote, on their messenger.
    Person(PersonMessage),
}

/// An answer to the person who wrote (`notify/people.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonMessage {
    /// The source it is sent through (its number and token).
    pub source: String,
    /// The text.
    pub text: String,
    /// The lead carried no phone: a Telegram bot then offers its share-contact button, when
    /// its source asks for one.
    #[serde(default)]
    pub without_phone: bool,
}

/// A Telegram message in the Bot API's HTML parse mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelegramMessage {
    /// The text, HTML-escaped where it quotes the lead.
    pub text: String,
    /// Take / Decline, on a card.
    pub buttons: Option<CardButtons>,
    /// A lead whose card in this chat this message answers: it is sent as a reply to the card,
    /// and the card's buttons are taken off.
    pub card_of: Option<String>,
}

/// The inline keyboard of a card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardButtons {
    /// The Take button's label.
    pub take: String,
    /// The Decline button's label.
    pub decline: String,
    /// The callback data of Take.
    pub take_data: String,
    /// The callback data of Decline.
    pub decline_data: String,
}

impl CardButtons {
    /// Take and Decline for the card of `lead`'s assignment `attempt`.
    pub fn new(l: &Labels, lead: &str, attempt: u32) -> CardButtons {
        CardButtons {
            take: l.take.into(),
            decline: l.decline.into(),
            take_data: Tap::data(Button::Take, lead, attempt),
            decline_data: Tap::data(Button::Decline, lead, attempt),
        }
    }

    /// The card's inline keyboard: one row.
    pub fn keyboard(&self) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback(&self.take, &self.take_data),
            InlineKeyboardButton::callback(&self.decline, &self.decline_data),
        ]])
    }
}

/// The inline keyboard a card shows after Decline: the reasons two by two, then Back.
pub fn reasons_keyboard(l: &Labels, lead: &str, attempt: u32) -> InlineKeyboardMarkup {
    let button =
        |text: &str, b: Button| InlineKeyboardButton::callback(text, Tap::data(b, lead, attempt));
    let reasons: Vec<InlineKeyboardButton> = DeclineReason::ALL
        .iter()
        .map(|&r| button(r.label(l), Button::Because(r)))
        .collect();
    let mut rows: Vec<Vec<InlineKeyboardButton>> = reasons
        .chunks(2)
        .map(<[InlineKeyboardButton]>::to_vec)
        .collect();
    rows.push(vec![button(l.back, Button::Back)]);
    InlineKeyboardMarkup::new(rows)
}

/// A mail with the same content in both parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// The subject.
    pub subject: String,
    /// The text/plain part.
    pub plain: String,
    /// The text/html part.
    pub html: String,
}

/// A button's tap, as the callback data carries it (`take:<lead>:<attempt>`; 64 bytes at most,
/// which a UUID, an attempt number and a reason code fit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tap {
    /// Which button.
    pub button: Button,
    /// The lead.
    pub lead: String,
    /// The assignment's attempt the card was for.
    pub attempt: u32,
}

/// The buttons of a card: Take and Decline, then, after Decline, the reasons and Back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    /// Take the lead.
    Take,
    /// Decline it: the card asks why.
    Decline,
    /// Decline it for this reason.
    Because(DeclineReason),
    /// Not declining after all: Take and Decline again.
    Back,
}

/// Why a manager declines, as the card offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    /// Too much on their hands now.
    Busy,
    /// Not their kind of request (region, product, size).
    NotMine,
    /// Not at work (ill, on the road, off).
    Away,
    /// Something else.
    Other,
}

impl DeclineReason {
    /// Every reason, in the order the card shows them.
    pub const ALL: [DeclineReason; 4] = [
        DeclineReason::Busy,
        DeclineReason::NotMine,
        DeclineReason::Away,
        DeclineReason::Other,
    ];

    fn code(self) -> &'static str {
        match self {
            DeclineReason::Busy => "busy",
            DeclineReason::NotMine => "not_mine",
            DeclineReason::Away => "away",
            DeclineReason::Other => "other",
        }
    }

    fn parse(code: &str) -> Option<DeclineReason> {
        DeclineReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reason in words, on its button and in the lead's audit trail.
    pub fn label(self, l: &Labels) -> &'static str {
        match self {
            DeclineReason::Busy => l.reason_busy,
            DeclineReason::NotMine => l.reason_not_mine,
            DeclineReason::Away => l.reason_away,
            DeclineReason::Other => l.reason_other,
        }
    }
}

impl Tap {
    /// The callback data for a button.
    pub fn data(button: Button, lead: &str, attempt: u32) -> String {
        match button {
            Button::Take => format!("take:{lead}:{attempt}"),
            Button::Decline => format!("decline:{lead}:{attempt}"),
            Button::Because(r) => format!("why:{}:{lead}:{attempt}", r.code()),
            Button::Back => format!("back:{lead}:{attempt}"),
        }
    }

    /// Reads callback data; `None` when it is not ours.
    pub fn parse(data: &str) -> Option<Tap> {
        let (verb, rest) = data.split_once(':')?;
        let (button, rest) = match verb {
            "take" => (Button::Take, rest),
            "decline" => (Button::Decline, rest),
            "back" => (Button::Back, rest),
            "why" => {
                let (code, rest) = rest.split_once(':')?;
                (Button::Because(DeclineReason::parse(code)?), rest)
            }
            _ => return None,
        };
        let (lead, attempt) = rest.rsplit_once(':')?;
        Some(Tap {
            button,
            lead: lead.to_string(),
            attempt: attempt.parse().ok()?,
        })
    }
}

/// The words of the messages, per language.
#[derive(Debug)]
pub struct Labels {
    /// A card's title.
    pub new_lead: &'static str,
    /// A follow-up's title.
    pub follow_up: &'static str,
    /// The title of the notice that a lead moved on.
    pub passed_on: &'static str,
    /// Take.
    pub take: &'static str,
    /// Decline.
    pub decline: &'static str,
    /// Before the deadline.
    pub react_by: &'static str,
    /// Before the rule's name.
    pub rule: &'static str,
    /// Before the level.
    pub level: &'static str,
    /// A returning contact.
    pub returning: &'static str,
    /// The lead moved to someone else: "passed to".
    pub passed_to: &'static str,
    /// Nobody else could take it.
    pub nobody_left: &'static str,
    /// A passed lead waits for the next manager who can take it.
    pub waits: &'static str,
    /// Why it moved: not taken in time.
    pub expired: &'static str,
    /// Why it moved: declined.
    pub declined: &'static str,
    /// An alert's title.
    pub alert: &'static str,
    /// An alert's end.
    pub alert_over: &'static str,
    /// The edited card after Take.
    pub taken_by_you: &'static str,
    /// The edited card after Decline.
    pub declined_by_you: &'static str,
    /// The answer to Decline: the card now asks for a reason.
    pub why_decline: &'static str,
    /// A reason to decline: busy.
    pub reason_busy: &'static str,
    /// A reason to decline: not my kind of request.
    pub reason_not_mine: &'static str,
    /// A reason to decline: not at work.
    pub reason_away: &'static str,
    /// A reason to decline: another.
    pub reason_other: &'static str,
    /// Back to Take and Decline.
    pub back: &'static str,
    /// The answer to a late tap: "already passed to".
    pub already_passed: &'static str,
    /// The answer to a tap on a lead someone took.
    pub already_taken: &'static str,
    /// The answer to a link or a tap made for an earlier assignment of a lead the manager
    /// holds again.
    pub stale: &'static str,
    /// Someone without a name.
    pub no_name: &'static str,
    /// The link page's question before taking.
    pub confirm_take: &'static str,
    /// The link page's question before declining.
    pub confirm_decline: &'static str,
    /// The reason field on the decline page.
    pub reason: &'static str,
    /// A link used before.
    pub link_used: &'static str,
    /// A link past its time.
    pub link_expired: &'static str,
    /// A link that is not ours.
    pub link_invalid: &'static str,
}

const RU: Labels = Labels {
    new_lead: "Новая заявка",
    follow_up: "Новое сообщение по заявке",
    passed_on: "Заявка передана",
    take: "✅ Взять",
    decline: "❌ Отказаться",
    react_by: "Ответьте до",
    rule: "Правило",
    level: "уровень",
    returning: "Повторный клиент",
    passed_to: "передана",
    nobody_left: "больше никого нет, заявка осталась у вас",
    waits: "заявка ждёт первого менеджера, который сможет её взять",
    expired: "не взята вовремя",
    declined: "вы отказались",
    alert: "Внимание",
    alert_over: "Решено",
    taken_by_you: "✅ Вы взяли заявку",
    declined_by_you: "❌ Вы отказались от заявки",
    why_decline: "Почему отказываетесь?",
    reason_busy: "Занят(а)",
    reason_not_mine: "Не мой профиль",
    reason_away: "Меня нет на месте",
    reason_other: "Другая причина",
    back: "↩ Назад",
    already_passed: "Заявка уже передана",
    already_taken: "Заявку уже взял(а)",
    stale: "Заявка с тех пор назначена заново: эта ссылка или кнопка больше не действует.",
    no_name: "Без имени",
    confirm_take: "Взять заявку?",
    confirm_decline: "Отказаться от заявки?",
    reason: "Причина (необязательно)",
    link_used: "Эта ссылка уже использована.",
    link_expired: "Срок действия ссылки истёк.",
    link_invalid: "Ссылка недействительна.",
};

const EN: Labels = Labels {
    new_lead: "New lead",
    follow_up: "New message on a lead",
    passed_on: "Lead passed on",
    take: "✅ Take",
    decline: "❌ Decline",
    react_by: "React by",
    rule: "Rule",
    level: "level",
    returning: "Returning contact",
    passed_to: "passed to",
    nobody_left: "nobody else is left, it stays with you",
    waits: "it waits for the first manager who can take it",
    expired: "not taken in time",
    declined: "you declined it",
    alert: "Alert",
    alert_over: "Resolved",
    taken_by_you: "✅ You took this lead",
    declined_by_you: "❌ You declined this lead",
    why_decline: "Why do you decline?",
    reason_busy: "Busy",
    reason_not_mine: "Not my area",
    reason_away: "Away",
    reason_other: "Another reason",
    back: "↩ Back",
    already_passed: "The lead has already passed to",
    already_taken: "The lead was already taken by",
    stale: "The lead has been assigned again since: this link or button no longer works.",
    no_name: "No name",
    confirm_take: "Take this lead?",
    confirm_decline: "Decline this lead?",
    reason: "Reason (optional)",
    link_used: "This link was already used.",
    link_expired: "This link has expired.",
    link_invalid: "This link is not valid.",
};

impl Language {
    /// The words in this language.
    pub fn labels(self) -> &'static Labels {
        match self {
            Language::Ru => &RU,
            Language::En => &EN,
        }
    }
}

/// Escapes text for the Bot API's HTML parse mode and for mail HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Telegram's cap on a message's text, in UTF-16 code units after entity parsing.
pub const TELEGRAM_MAX: usize = 4096;

/// What a Telegram card may take: the rest of [`TELEGRAM_MAX`] is room for the status line
/// an edit appends after a tap (`❌ Вы отказались от заявки: Другая причина`).
const CARD_BUDGET: usize = TELEGRAM_MAX - 96;

/// The longest name, title or footer line a card shows, in UTF-16 code units.
pub const NAME_MAX: usize = 256;

/// The longest contact or subject line a card shows.
const LINE_MAX: usize = 512;

/// The person's text is shortened down to this before a card sheds lines.
const QUOTE_MIN: usize = 200;

/// What marks a cut.
const MARK: char = '…';

/// `text` cut to at most `max` UTF-16 code units (Telegram's measure), the marker included,
/// at a character boundary; as it is when it fits.
pub fn cut(text: &str, max: usize) -> String {
    if text.encode_utf16().count() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut units = 0;
    for c in text.chars() {
        if units + c.len_utf16() + MARK.len_utf16() > max {
            break;
        }
        units += c.len_utf16();
        out.push(c);
    }
    if max >= MARK.len_utf16() {
        out.push(MARK);
    }
    out
}

/// Length in UTF-16 code units.
fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The start of the person's text: a few lines, cut at a character boundary.
fn excerpt(text: &str, max_lines: usize, max_chars: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = lines[..lines.len().min(max_lines)].join("\n");
    let cut = out.chars().count() > max_chars || lines.len() > max_lines;
    if out.chars().count() > max_chars {
        out = out.chars().take(max_chars).collect();
    }
    if cut {
        out.push('…');
    }
    out
}

/// One labelled line of a card.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    icon: &'static str,
    text: String,
    /// A link target for the HTML mail (`tel:`, `mailto:`).
    href: Option<String>,
    /// The text is a link in Telegram too (a file's signed link; Telegram links phones and
    /// usernames itself).
    telegram_link: bool,
}

/// What a card shows, once, for every rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    title: String,
    name: String,
    lines: Vec<Line>,
    /// Lines were left out to fit (a `…` line stands for them).
    lines_cut: bool,
    quote: String,
    footer: Vec<String>,
}

impl Card {
    /// The card of `lead` under `title`, quoting `words` (the lead's text, or a follow-up's
    /// new message), with the deadline in the manager's time zone.
    pub fn of(lead: &Lead, words: &str, title: &str, labels: &Labels, tz: Tz) -> Card {
        let c = &lead.contact;
        let mut lines = Vec::new();
        for p in &c.phones {
            lines.push(Line {
                icon: "📞",
                text: p.clone(),
                href: Some(format!("tel:{p}")),
                telegram_link: false,
            });
        }
        for e in &c.emails {
            lines.push(Line {
                icon: "✉️",
                text: e.clone(),
                href: Some(format!("mailto:{e}")),
                telegram_link: false,
            });
        }
        if let Some(t) = &c.telegram {
            let text = t
                .username
                .as_ref()
                .map_or_else(|| format!("id {}", t.id), |u| format!("@{u}"));
            let href = t.username.as_ref().map(|u| format!("https://t.me/{u}"));
            lines.push(Line {
                icon: "💬",
                text,
                href,
                telegram_link: false,
            });
        }
        if let Some(w) = &c.whatsapp {
            lines.push(Line {
                icon: "💬",
                text: format!("WhatsApp {w}"),
                href: Some(format!("https://wa.me/{}", w.trim_start_matches('+'))),
                telegram_link: false,
            });
        }
        if let Some(s) = &lead.subject {
            lines.push(Line {
                icon: "📝",
                text: s.clone(),
                href: None,
                telegram_link: false,
            });
        }
        let files = lead.fields.get("attachments").and_then(|a| a.as_array());
        for file in files.into_iter().flatten() {
            let text = |key: &str| file.get(key).and_then(|v| v.as_str());
            if let Some(url) = text("url") {
                lines.push(Line {
                    icon: "📎",
                    text: text("name").unwrap_or("file").to_string(),
                    href: Some(url.to_string()),
                    telegram_link: true,
                });
            }
        }
        for l in &mut lines {
            l.text = cut(&l.text, LINE_MAX);
        }
        let mut footer = Vec::new();
        if let Some(cl) = &lead.classification {
            footer.push(format!(
                "{}: {} · {} {}",
                labels.rule, cl.rule, labels.level, cl.level
            ));
        }
        if lead.returning {
            footer.push(format!("🔁 {}", labels.returning));
        }
        if let Some(due) = lead.assignment.as_ref().and_then(|a| a.ack_due_at) {
            footer.push(format!("⏰ {} {}", labels.react_by, local_time(due, tz)));
        }
        let name = c.name.as_deref().unwrap_or(labels.no_name);
        Card {
            title: cut(
                &format!("{title} · {} · {}", lead.channel.as_str(), lead.source),
                NAME_MAX,
            ),
            name: cut(name, NAME_MAX),
            lines,
            lines_cut: false,
            quote: excerpt(words, 6, 500),
            footer: footer.iter().map(|f| cut(f, NAME_MAX)).collect(),
        }
    }

    /// The text for the Bot API's HTML parse mode (phones stay plain: Telegram makes them
    /// tappable itself; `tel:` links are not allowed in bot messages), within Telegram's cap
    /// with room for the status an edit appends: the person's text is shortened first (down
    /// to a few lines' worth), then the last lines are left out, then the text goes.
    pub fn telegram_html(&self) -> String {
        let mut card = self.clone();
        loop {
            let (html, shown) = card.telegram_text();
            let Some(over) = shown.checked_sub(CARD_BUDGET).filter(|&n| n > 0) else {
                return html;
            };
            let quote = units(&card.quote);
            if quote > QUOTE_MIN {
                card.quote = cut(&card.quote, quote.saturating_sub(over).max(QUOTE_MIN));
            } else if card.lines.pop().is_some() {
                card.lines_cut = true;
            } else if quote > over {
                card.quote = cut(&card.quote, quote - over);
            } else if !card.quote.is_empty() {
                card.quote.clear();
            } else {
                // Unreachable with the per-piece caps (the rest is under 1,500 units); sent
                // as it is, Telegram's refusal would show in the notification's error.
                return html;
            }
        }
    }

    /// The Telegram HTML and its length as Telegram counts it (tags not counted, an entity
    /// as the one character it stands for, in UTF-16 code units).
    fn telegram_text(&self) -> (String, usize) {
        let mut html = Vec::new();
        let mut shown = 0;
        let mut line = |parts: &[(&str, bool)]| {
            let mut out = String::new();
            for &(part, is_text) in parts {
                if is_text {
                    out.push_str(&escape_html(part));
                    shown += units(part);
                } else {
                    out.push_str(part);
                }
            }
            html.push(out);
        };
        line(&[
            ("🔔 ", true),
            ("<b>", false),
            (&self.title, true),
            ("</b>", false),
        ]);
        line(&[("<b>", false), (&self.name, true), ("</b>", false)]);
        for l in &self.lines {
            match (&l.href, l.telegram_link) {
                (Some(href), true) => {
                    let open = format!("<a href=\"{}\">", escape_html(href));
                    line(&[
                        (l.icon, true),
                        (" ", true),
                        (&open, false),
                        (&l.text, true),
                        ("</a>", false),
                    ]);
                }
                _ => line(&[(l.icon, true), (" ", true), (&l.text, true)]),
            }
        }
        if self.lines_cut {
            line(&[("…", true)]);
        }
        if !self.quote.is_empty() {
            line(&[
                ("<blockquote>", false),
                (&self.quote, true),
                ("</blockquote>", false),
            ]);
        }
        for f in &self.footer {
            line(&[(f, true)]);
        }
        let newlines = html.len().saturating_sub(1);
        (html.join("\n"), shown + newlines)
    }

    /// The mail's subject.
    pub fn subject(&self) -> String {
        format!("[leadgate] {} — {}", self.title, self.name)
    }

    /// The text/plain part, with `actions` (label, URL) at the end.
    pub fn plain(&self, actions: &[(&str, String)]) -> String {
        let mut out = format!("{}\n{}\n\n", self.title, self.name);
        for l in &self.lines {
            match (&l.href, l.telegram_link) {
                (Some(href), true) => out.push_str(&format!("{} {}: {href}\n", l.icon, l.text)),
                _ => out.push_str(&format!("{} {}\n", l.icon, l.text)),
            }
        }
        if !self.quote.is_empty() {
            out.push('\n');
            for q in self.quote.lines() {
                out.push_str(&format!("> {q}\n"));
            }
        }
        out.push('\n');
        for f in &self.footer {
            out.push_str(&format!("{f}\n"));
        }
        if !actions.is_empty() {
            out.push('\n');
            for (label, url) in actions {
                out.push_str(&format!("{label}: {url}\n"));
            }
        }
        out
    }

    /// The text/html part, with `actions` as buttons.
    pub fn html(&self, actions: &[(&str, String)]) -> String {
        let mut out = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\"><p style=\"color:#666\">{}</p><h2>{}</h2><p>",
            escape_html(&self.title),
            escape_html(&self.name)
        );
        for l in &self.lines {
            let text = escape_html(&l.text);
            match &l.href {
                Some(h) => out.push_str(&format!(
                    "{} <a href=\"{}\">{text}</a><br>",
                    l.icon,
                    escape_html(h)
                )),
                None => out.push_str(&format!("{} {text}<br>", l.icon)),
            }
        }
        out.push_str("</p>");
        if !self.quote.is_empty() {
            out.push_str(&format!(
                "<blockquote style=\"border-left:3px solid #ccc;padding-left:8px\">{}</blockquote>",
                escape_html(&self.quote).replace('\n', "<br>")
            ));
        }
        out.push_str("<p style=\"color:#666\">");
        for f in &self.footer {
            out.push_str(&format!("{}<br>", escape_html(f)));
        }
        out.push_str("</p>");
        if !actions.is_empty() {
            out.push_str("<p>");
            for (label, url) in actions {
                out.push_str(&format!(
                    "<a href=\"{}\" style=\"display:inline-block;padding:8px 16px;margin-right:8px;border:1px solid #888;border-radius:4px;text-decoration:none\">{}</a>",
                    escape_html(url),
                    escape_html(label)
                ));
            }
            out.push_str("</p>");
        }
        out.push_str("</body></html>");
        out
    }
}

/// A time as the manager reads it: `10:45 01.12 (Europe/Moscow)`.
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    format!(
        "{} ({})",
        at.with_timezone(&tz).format("%H:%M %d.%m"),
        tz.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_read_back() {
        let lead = "0193b1f0-0000-7000-8000-000000000001";
        let buttons = [Button::Take, Button::Decline, Button::Back]
            .into_iter()
            .chain(DeclineReason::ALL.map(Button::Because));
        for button in buttons {
            let data = Tap::data(button, lead, 3);
            assert!(data.len() <= 64, "Telegram allows 64 bytes: {data}");
            let tap = Tap {
                button,
                lead: lead.into(),
                attempt: 3,
            };
            assert_eq!(Tap::parse(&data), Some(tap));
        }
        assert_eq!(Tap::parse("other:x:1"), None);
        assert_eq!(Tap::parse("take:x:y"), None);
        assert_eq!(Tap::parse("why:bored:x:1"), None);
    }

    #[test]
    fn cuts_count_utf16_units_and_keep_characters_whole() {
        assert_eq!(cut("коротко", 7), "коротко");
        assert_eq!(cut("коротко", 5), "коро…");
        assert_eq!(cut("🔥🔥🔥", 4), "🔥…", "an astral character is two units");
        assert_eq!(cut("🔥🔥🔥", 2), "…");
        assert_eq!(
            cut("a&b", 2),
            "a…",
            "cut before escaping: no entity is split"
        );
        assert!(units(&cut(&"я".repeat(10_000), NAME_MAX)) <= NAME_MAX);
    }

    #[test]
    fn a_card_with_more_lines_than_fit_leaves_the_last_out_and_says_so() {
        let card = Card {
            title: "Новая заявка · email · sales".into(),
            name: "Ирина".into(),
            lines: (0..20)
                .map(|i| Line {
                    icon: "✉️",
                    text: format!("{i:02}{}", "я".repeat(LINE_MAX - 2)),
                    href: None,
                    telegram_link: false,
                })
                .collect(),
            lines_cut: false,
            quote: "текст ".repeat(100),
            footer: vec!["Правило: x · уровень junior".into()],
        };
        let html = card.telegram_html();
        let (_, shown) = Card {
            lines_cut: true,
            ..card.clone()
        }
        .telegram_text();
        assert!(shown > CARD_BUDGET, "the test card must not fit as it is");
        let shown: usize = html
            .replace("<b>", "")
            .replace("</b>", "")
            .replace("<blockquote>", "")
            .replace("</blockquote>", "")
            .encode_utf16()
            .count();
        assert!(shown <= CARD_BUDGET, "{shown}");
        assert!(html.contains("\n…\n"), "the cut is marked");
        assert!(
            html.contains("✉️ 00") && !html.contains("✉️ 19"),
            "the first lines stay"
        );
    }

    #[test]
    fn lead_text_is_escaped_and_cut() {
        assert_eq!(escape_html("<b>&\"x\""), "&lt;b&gt;&amp;&quot;x&quot;");
        let long = "строка\n".repeat(10);
        let e = excerpt(&long, 3, 500);
        assert_eq!(e, "строка\nстрока\nстрока…");
        assert_eq!(excerpt("коротко", 3, 500), "коротко");
        assert_eq!(excerpt(&"я".repeat(10), 3, 4), "яяяя…");
    }
}
