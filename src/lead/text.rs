//! Text shared by every channel: markup turned into plain words, whitespace tidied.

/// Plain text from an HTML fragment or document: tags, styles and scripts removed, entities
/// decoded, paragraphs kept as line breaks, links without their URLs' markup.
pub fn html_to_text(html: &str) -> String {
    let text = html2text::config::plain_no_decorate()
        .string_from_read(html.as_bytes(), 10_000)
        .unwrap_or_else(|_| html.to_string());
    squash_whitespace(&text)
}

/// Trims every line, turns non-breaking spaces into spaces, collapses runs of spaces and of
/// blank lines, so that texts compare and display the same whatever the channel did to them.
pub fn squash_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.replace("\r\n", "\n").replace('\u{a0}', " ").lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_words() {
        let text = html_to_text("<p>Цена&nbsp;&laquo;котла&raquo;?</p><style>p{}</style><p>Второй</p>");
        assert!(text.contains("Цена «котла»?"), "{text}");
        assert!(text.contains("Второй"));
        assert!(!text.contains('<'));
    }

    #[test]
    fn whitespace_is_tidied() {
        assert_eq!(squash_whitespace("  a \u{a0} b \r\n\r\n\r\n c  "), "a b\n\nc");
    }
}
