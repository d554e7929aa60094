//! The small pages the take/decline links open.

use super::message::escape_html;

fn shell(body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>leadgate</title></head><body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\">{body}</body></html>"
    )
}

/// A page that says one thing (the outcome, or why the link does not work).
pub fn message_page(text: &str, lead: Option<&str>) -> String {
    let lead = lead.map_or_else(String::new, |id| {
        format!("<p style=\"color:#888\">{}</p>", escape_html(id))
    });
    shell(&format!("<h2>{}</h2>{lead}", escape_html(text)))
}

/// The confirmation: a question and one button that posts back to the same URL, with a reason
/// field for a decline.
pub fn confirm_page(question: &str, button: &str, reason: Option<&str>) -> String {
    let field = reason.map_or_else(String::new, |label| {
        format!(
            "<p><label>{}<br><input name=\"reason\" maxlength=\"500\" style=\"width:100%\"></label></p>",
            escape_html(label)
        )
    });
    shell(&format!(
        "<h2>{}</h2><form method=\"post\">{field}<button type=\"submit\" style=\"padding:8px 16px\">{}</button></form>",
        escape_html(question),
        escape_html(button)
    ))
}
