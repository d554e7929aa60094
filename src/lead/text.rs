//! Text shared by every channel: markup turned into plain words, whitespace tidied.

/// Plain text from an HTML fragment or document: tags, styles and scripts removed, entities
/// decoded, paragraphs kept as line breaks, links as their words only (no `[...]` brackets, no
/// URLs), images without alt text (tracking pixels) dropped, tables without borders.
pub fn html_to_text(html: &str) -> String {
    let text = html2text::config::with_decorator(html2text::render::TrivialDecorator::new())
        .no_table_borders()
        .string_from_read(html.as_bytes(), 10_000)
        .unwrap_or_else(|_| strip_tags(html));
    squash_whitespace(&text)
}

/// The last resort when the HTML cannot be rendered: the text between the tags, so that no
/// markup ever reaches a lead.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
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
        let text =
            html_to_text("<p>Цена&nbsp;&laquo;котла&raquo;?</p><style>p{}</style><p>Второй</p>");
        assert!(text.contains("Цена «котла»?"), "{text}");
        assert!(text.contains("Второй"));
        assert!(!text.contains('<'));
    }

    #[test]
    fn mail_html_loses_css_links_markup_and_tracking_pixels() {
        let html = "<html><head><style>body{font-family:Arial}</style></head><body>\
            <p>E-mail: <a href=\"mailto:d@cafe.example\">d@cafe.example</a></p>\
            <table><tr><td><b>Name:</b></td><td>Ольга</td></tr></table>\
            <img src=\"https://mail-tracker.example/open.gif?u=1\" width=\"1\" height=\"1\" alt=\"\">\
            </body></html>";
        let text = html_to_text(html);
        assert!(text.contains("E-mail: d@cafe.example"), "{text}");
        assert!(text.contains("Name:"), "{text}");
        assert!(text.contains("Ольга"), "{text}");
        for unwanted in ["font-family", "mail-tracker", "mailto", "[", "─", "│"] {
            assert!(!text.contains(unwanted), "{unwanted:?} in {text}");
        }
    }

    #[test]
    fn tags_are_stripped_when_nothing_else_works() {
        assert_eq!(squash_whitespace(&strip_tags("<p>a</p><b>b</b>")), "a b");
    }

    #[test]
    fn whitespace_is_tidied() {
        assert_eq!(
            squash_whitespace("  a \u{a0} b \r\n\r\n\r\n c  "),
            "a b\n\nc"
        );
    }
}
