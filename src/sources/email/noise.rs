//! Mail that is not a lead: bounces, automatic replies, bulk mail, spam, and leadgate's own
//! notifications coming back.
//!
//! When several signs apply the most specific reason wins: `bounce` before `auto_reply` before
//! `bulk` before `spam` (a Postfix bounce also carries `Auto-Submitted: auto-replied`).
//! leadgate's own mail is recognised first of all, by the loop header it puts on everything
//! it sends, so that a notification can never turn into a lead and notify again.

use super::mime::Mail;
use crate::lead::NotLeadReason;

/// Why `mail` is noise, with a short explanation for the admin; `None` for a possible lead.
/// For a site's form notice (`robot_signs_spared`), the signs its robot puts on every letter
/// (`Auto-Submitted: auto-generated`, a mailing service's `List-*` or `Precedence: bulk`) do
/// not count; every other sign does.
pub fn classify(
    mail: &Mail,
    loop_header: &str,
    robot_signs_spared: bool,
) -> Option<(NotLeadReason, String)> {
    if mail.header(loop_header).is_some() {
        return Some((
            NotLeadReason::OwnNotification,
            format!("{loop_header} header"),
        ));
    }
    CHECKS
        .iter()
        .find_map(|(reason, check)| check(mail, robot_signs_spared).map(|detail| (*reason, detail)))
}

/// One sign of noise: the explanation when `mail` shows it (the flag: a form robot's own
/// signs do not count).
type Check = fn(&Mail, bool) -> Option<String>;

/// The checks in precedence order, most specific first.
const CHECKS: [(NotLeadReason, Check); 4] = [
    (NotLeadReason::Bounce, bounce),
    (NotLeadReason::AutoReply, auto_reply),
    (NotLeadReason::Bulk, bulk),
    (NotLeadReason::Spam, spam),
];

fn bounce(mail: &Mail, _: bool) -> Option<String> {
    if mail.content_type == "multipart/report"
        && mail
            .report_type
            .as_deref()
            .is_none_or(|t| t == "delivery-status")
    {
        return Some("multipart/report delivery status notification".to_string());
    }
    let from = mail.from.as_ref()?.address.to_ascii_lowercase();
    let local = from.split('@').next().unwrap_or("");
    matches!(local, "mailer-daemon" | "postmaster").then(|| format!("sender {from}"))
}

/// Subject prefixes of out-of-office and other automatic replies (lower-case), RU and EN.
const AUTO_REPLY_SUBJECTS: [&str; 12] = [
    "автоответ",
    "автоматический ответ",
    "нет на месте",
    "в отпуске",
    "вне офиса",
    "out of office",
    "out of the office",
    "auto reply",
    "auto-reply",
    "autoreply",
    "automatic reply",
    "auto response",
];

fn auto_reply(mail: &Mail, robot_signs_spared: bool) -> Option<String> {
    if mail.content_type == "multipart/report" {
        let kind = mail.report_type.as_deref().unwrap_or("");
        return Some(format!(
            "multipart/report {kind} (a read receipt or other report)"
        ));
    }
    if let Some(value) = mail.header("precedence")
        && value.trim().eq_ignore_ascii_case("auto_reply")
    {
        return Some("Precedence: auto_reply".to_string());
    }
    for name in ["auto-submitted", "x-autoreply", "x-autorespond"] {
        if let Some(value) = mail.header(name)
            && !value.trim().eq_ignore_ascii_case("no")
            && !(robot_signs_spared
                && name == "auto-submitted"
                && value.trim().eq_ignore_ascii_case("auto-generated"))
        {
            return Some(format!("{name}: {value}"));
        }
    }
    let subject = mail.subject.as_deref()?.trim().to_lowercase();
    AUTO_REPLY_SUBJECTS
        .iter()
        .find(|p| subject.starts_with(*p))
        .map(|p| format!("subject starts with {p:?}"))
}

fn bulk(mail: &Mail, robot_signs_spared: bool) -> Option<String> {
    if let Some(value) = mail.header("precedence") {
        let value = value.trim().to_ascii_lowercase();
        let robots = matches!(value.as_str(), "bulk" | "list") && robot_signs_spared;
        if matches!(value.as_str(), "bulk" | "list" | "junk") && !robots {
            return Some(format!("Precedence: {value}"));
        }
    }
    if robot_signs_spared {
        return None;
    }
    ["list-id", "list-unsubscribe"]
        .into_iter()
        .find(|name| mail.header(name).is_some())
        .map(|name| format!("{name} header"))
}

fn spam(mail: &Mail, _: bool) -> Option<String> {
    let flagged = |name: &str| {
        mail.header(name)
            .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("yes"))
    };
    if let Some(name) = ["x-spam-flag", "x-spam-status", "x-spam"]
        .into_iter()
        .find(|n| flagged(n))
    {
        return Some(format!("{name}: yes"));
    }
    let subject = mail.subject.as_deref()?.trim_start().to_ascii_lowercase();
    ["*****spam*****", "[spam]", "***spam***"]
        .iter()
        .find(|tag| subject.starts_with(*tag))
        .map(|tag| format!("subject tagged {tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &[(&str, &str)], subject: &str) -> Mail {
        Mail {
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            subject: Some(subject.to_string()),
            content_type: "text/plain".to_string(),
            ..Mail::default()
        }
    }

    fn reason(m: &Mail) -> Option<NotLeadReason> {
        classify(m, "X-Leadgate-Notification", false).map(|(r, _)| r)
    }

    #[test]
    fn a_plain_request_is_not_noise() {
        assert_eq!(
            reason(&mail(&[("auto-submitted", "no")], "Нужен котёл")),
            None
        );
    }

    #[test]
    fn each_sign_gives_its_reason() {
        assert_eq!(
            reason(&mail(&[("x-autorespond", "1")], "Re: x")),
            Some(NotLeadReason::AutoReply)
        );
        assert_eq!(
            reason(&mail(&[], "Out of Office: Re: x")),
            Some(NotLeadReason::AutoReply)
        );
        assert_eq!(
            reason(&mail(&[("precedence", "list")], "x")),
            Some(NotLeadReason::Bulk)
        );
        assert_eq!(
            reason(&mail(&[("x-spam-status", "Yes, score=9")], "x")),
            Some(NotLeadReason::Spam)
        );
        assert_eq!(
            reason(&mail(&[("x-leadgate-notification", "lead 1")], "x")),
            Some(NotLeadReason::OwnNotification)
        );
    }

    #[test]
    fn read_receipts_are_automatic_replies() {
        let mut m = mail(&[], "Прочитано: КП");
        m.content_type = "multipart/report".to_string();
        m.report_type = Some("disposition-notification".to_string());
        assert_eq!(reason(&m), Some(NotLeadReason::AutoReply));
    }

    #[test]
    fn the_most_specific_reason_wins() {
        let mut m = mail(
            &[("auto-submitted", "auto-replied"), ("list-id", "<l>")],
            "x",
        );
        assert_eq!(reason(&m), Some(NotLeadReason::AutoReply));
        m.content_type = "multipart/report".to_string();
        m.report_type = Some("delivery-status".to_string());
        assert_eq!(reason(&m), Some(NotLeadReason::Bounce));
    }
}
