//! The demo page at `/`: a plain HTML form posting to the demo web form, so a newcomer sees a
//! lead go through within a minute of cloning. Served only when a form has `demo = true`.

use axum::response::Html;

/// The page for the form `form_id`.
pub fn page(form_id: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>leadgate demo</title>
<style>body{{font-family:sans-serif;max-width:34em;margin:3em auto}}label{{display:block;margin:.8em 0}}
input,textarea{{width:100%;padding:.4em;font:inherit}}.hp{{position:absolute;left:-10000px}}</style></head>
<body>
<h1>leadgate demo</h1>
<p>Fill in the form: the lead appears in <code>data/delivered.jsonl</code>, normalised, classified and
assigned to a manager who is at work now. The text below asks for a wholesale delivery, which
<code>config/routing.toml</code> gives to a senior; outside every manager's hours the lead is held
(delivered with <code>"assignment": null</code>) and assigned when someone's hours begin.</p>
<form method="post" action="/forms/{form_id}">
<label>Имя / Name <input name="name" autocomplete="name"></label>
<label>Телефон / Phone <input name="phone" type="tel" placeholder="8 (916) 123-45-67"></label>
<label>E-mail <input name="email" type="email"></label>
<label>Сообщение / Message <textarea name="message" rows="4">Нужна оптовая поставка котлов, бюджет 500 000 ₽</textarea></label>
<label class="hp" aria-hidden="true">Website <input name="website" tabindex="-1" autocomplete="off"></label>
<input type="hidden" name="utm_source" value="demo">
<button type="submit">Отправить / Send</button>
</form>
</body></html>"#
    ))
}
