//! E-mail addresses: validated and lower-cased, so one person is one address.

/// The lower-cased address when `raw` is a plausible one (`local@domain.tld`, no spaces, one
/// `@`, a dot in the domain), `None` otherwise. Surrounding `<>`, `mailto:` and spaces are cut.
pub fn normalise_email(raw: &str) -> Option<String> {
    let s = raw
        .trim()
        .trim_start_matches("mailto:")
        .trim_matches(|c| c == '<' || c == '>');
    let s = s.trim().to_lowercase();
    let (local, domain) = s.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let domain_ok = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    (local_ok && domain_ok).then_some(s)
}

/// Finds e-mail addresses in free text (signatures, comments), as written; the first
/// [`super::limits::MAX_FOUND`].
pub fn find_emails(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || ",;:<>()[]\"'«»".contains(c))
        .map(|w| w.trim_end_matches(['.', '!', '?']))
        .filter(|w| w.contains('@'))
        .filter_map(normalise_email)
        .take(super::limits::MAX_FOUND)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_and_validates() {
        assert_eq!(
            normalise_email(" G.Lavrov@List.RU ").as_deref(),
            Some("g.lavrov@list.ru")
        );
        assert_eq!(normalise_email("<a@b.ru>").as_deref(), Some("a@b.ru"));
        assert_eq!(normalise_email("mailto:a@b.ru").as_deref(), Some("a@b.ru"));
        assert_eq!(normalise_email("no-at-sign"), None);
        assert_eq!(normalise_email("a@localhost"), None);
        assert_eq!(normalise_email("a b@c.ru"), None);
        assert_eq!(normalise_email(""), None);
    }

    #[test]
    fn finds_addresses_in_text() {
        assert_eq!(
            find_emails("Пишите: Ivan@Mail.ru, спасибо."),
            vec!["ivan@mail.ru"]
        );
    }
}
