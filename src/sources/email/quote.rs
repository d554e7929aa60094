//! Cutting quoted replies: what a person quotes from earlier mail is not their request.
//!
//! `>` lines are always dropped. An attribution line ("On ... wrote:", "... пишет:",
//! Gmail's "пн, 16 нояб. 2026 г. в 15:42, Павел <p@x.ru>:") followed by `>` lines is dropped
//! with them, and the answers written between quoted lines are kept; an attribution followed
//! by an unmarked copy of the old message, an "-----Original Message-----" separator or an
//! Outlook header block ("From:" then "Sent:") ends the person's words: all below is old.

/// Words that end an attribution line ("18.11.2026 15:42, Павел пишет:").
const ATTRIBUTION_ENDINGS: [&str; 7] = [
    "wrote:",
    "writes:",
    "пишет:",
    "написал:",
    "написала:",
    "написал(а):",
    "пишут:",
];

/// Separators mail clients put before the quoted message (lower-case, dashes trimmed).
const SEPARATORS: [&str; 5] = [
    "original message",
    "исходное сообщение",
    "оригинальное сообщение",
    "reply message",
    "ответное сообщение",
];

/// First header line of the block Outlook puts above a quote, and the line that must follow.
const OUTLOOK_FROM: [&str; 3] = ["from:", "от:", "от кого:"];
const OUTLOOK_NEXT: [&str; 6] = ["sent:", "date:", "отправлено:", "дата:", "to:", "кому:"];

/// The person's own lines: `text` without quoted lines and without the old message below an
/// attribution or separator.
pub fn cut_quote(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        if is_quoted(lines[i]) {
            i += 1;
            continue;
        }
        if let Some(len) = attribution_len(&lines, i) {
            let next = lines[i + len..].iter().find(|l| !l.trim().is_empty());
            if next.is_some_and(|l| is_quoted(l)) {
                i += len;
                continue;
            }
            break;
        }
        if starts_old_message(&lines, i) {
            break;
        }
        out.push_str(lines[i]);
        i += 1;
    }
    out
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// How many lines the attribution starting at line `i` takes (two when wrapped: "On Wed, ...
/// Pavel <" / "p@x.ru> wrote:"), or `None` when line `i` is not one.
fn attribution_len(lines: &[&str], i: usize) -> Option<usize> {
    if is_attribution(lines[i]) {
        return Some(1);
    }
    let opens = lines[i].trim_start().to_lowercase().starts_with("on ");
    (opens && lines.get(i + 1).is_some_and(|next| is_attribution(next))).then_some(2)
}

fn is_attribution(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    ATTRIBUTION_ENDINGS.iter().any(|e| lower.ends_with(e))
        || (lower.ends_with(">:")
            && lower.contains('@')
            && lower.contains(|c: char| c.is_ascii_digit()))
}

fn starts_old_message(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    let lower = line.to_lowercase();
    let bare = lower.trim_matches(|c: char| c == '-' || c == '_' || c.is_whitespace());
    if line.starts_with("---") && SEPARATORS.contains(&bare) {
        return true;
    }
    OUTLOOK_FROM.iter().any(|p| lower.starts_with(p))
        && lines.get(i + 1).is_some_and(|next| {
            let next = next.trim().to_lowercase();
            OUTLOOK_NEXT.iter().any(|p| next.starts_with(p))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_attribution_and_its_quote_are_cut() {
        let text = "Спасибо!\n\n18.11.2026 15:42, ТеплоДом пишет:\n> Предложение\n";
        assert_eq!(cut_quote(text), "Спасибо!\n\n");
    }

    #[test]
    fn gmail_russian_attribution_is_recognised() {
        let text =
            "Да, подходит.\n\nпн, 16 нояб. 2026 г. в 15:42, Павел <p@teplodom.example>:\n> КП\n";
        assert_eq!(cut_quote(text), "Да, подходит.\n\n");
    }

    #[test]
    fn wrapped_english_attribution_is_cut_whole() {
        let text =
            "Thanks\nOn Wed, 18 Nov 2026 at 15:42, Pavel <\npavel@example.com> wrote:\n> x\n";
        assert_eq!(cut_quote(text), "Thanks\n");
    }

    #[test]
    fn answers_between_quoted_lines_are_kept() {
        let text = "Pavel wrote:\n> Which model?\nNavien 24\n> When?\nSaturday\n";
        assert_eq!(cut_quote(text), "Navien 24\nSaturday\n");
    }

    #[test]
    fn an_unmarked_old_message_below_an_attribution_is_cut() {
        let text = "Ok\n18.11.2026, Павел пишет:\nНаправляем КП\n";
        assert_eq!(cut_quote(text), "Ok\n");
    }

    #[test]
    fn outlook_blocks_and_separators_are_cut() {
        let outlook = "Да, интересно.\nFrom: Pavel\nSent: Monday\nSubject: KP\n\nold";
        assert_eq!(cut_quote(outlook), "Да, интересно.\n");
        let sep = "Ok\n-----Original Message-----\nold";
        assert_eq!(cut_quote(sep), "Ok\n");
    }

    #[test]
    fn text_without_quotes_is_kept() {
        let text = "From: the start we wanted a boiler.\nPrice?";
        assert_eq!(cut_quote(text), text);
    }
}
