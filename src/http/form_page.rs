//! What a visitor's browser gets back from a plain HTML form (one that did not ask for JSON):
//! the thank-you page, and when the post is refused, a page in the business's language that
//! says what to fix, with everything the person typed kept in a form they can send again (or,
//! when the form says so, a `303` back to its own page with `lg_error=<code>`).

use super::error::ApiError;
use crate::language::Language;
use crate::sources::webform::FormBody;
use crate::sources::webform::WebformSource;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, context};
use std::sync::OnceLock;

const REFUSED: &str = r#"<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{{ t.title }}</title>
<style>body{font-family:sans-serif;max-width:34em;margin:3em auto;padding:0 1em}
label{display:block;margin:.8em 0}input,textarea{width:100%;padding:.4em;font:inherit;box-sizing:border-box}
.problem{border-left:4px solid #c0392b;padding:.5em 1em;background:#fdf2f1}.hint{color:#555}</style></head>
<body>
<h1>{{ t.title }}</h1>
<p class="problem" role="alert">{{ t.problem }}</p>
{% if fields and action %}
<form method="post" action="{{ action }}">
{% for f in fields %}<label>{{ f.name }}
{% if f.long %}<textarea name="{{ f.name }}" rows="5">{{ f.value }}</textarea>{% else %}<input name="{{ f.name }}" value="{{ f.value }}"{% if f.name in contact_names %} aria-invalid="true"{% endif %}>{% endif %}</label>
{% endfor %}{% for f in hidden %}<input type="hidden" name="{{ f.name }}" value="{{ f.value }}">
{% endfor %}{% if files %}<p class="hint">{{ t.files }}</p>{% endif %}
<button type="submit">{{ t.again }}</button>
</form>
{% elif back %}<p><a href="{{ back }}">{{ t.back }}</a></p>
{% endif %}
</body></html>
"#;

const THANKS: &str = r#"<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{{ t.title }}</title>
<style>body{font-family:sans-serif;max-width:34em;margin:4em auto;padding:0 1em}</style></head>
<body><h1>{{ t.title }}</h1><p>{{ t.text }}</p></body></html>
"#;

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Names ending in .html escape every value: the person's own words go back into it.
        env.add_template("refused.html", REFUSED)
            .expect("the refused page parses");
        env.add_template("thanks.html", THANKS)
            .expect("the thank-you page parses");
        env
    })
}

/// Field names that hold a way to answer the person (highlighted when none was valid).
const CONTACT_NAMES: &[&str] = &["phone", "email", "телефон", "почта", "e-mail", "tel"];

/// What the page says about a refusal, in `lang`.
fn problem(code: &str, lang: Language) -> &'static str {
    match (lang, code) {
        (Language::Ru, "no_contact") => {
            "Укажите телефон или адрес электронной почты: без них мы не сможем вам ответить. Всё, что вы написали, сохранено ниже."
        }
        (Language::En, "no_contact") => {
            "Please give a phone number or an e-mail address: without one we cannot answer you. Everything you wrote is kept below."
        }
        (Language::Ru, "too_large") => {
            "Заявка получилась слишком большой: сократите текст или прикрепите меньше файлов."
        }
        (Language::En, "too_large") => {
            "The request is too large: shorten the text or attach fewer files."
        }
        (Language::Ru, "rate_limited") => {
            "С вашего адреса только что пришло много заявок. Подождите минуту и отправьте ещё раз."
        }
        (Language::En, "rate_limited") => {
            "Many requests came from your address just now. Wait a minute and send it again."
        }
        (Language::Ru, "origin_not_allowed") => {
            "Эта форма не принимает заявки с этого сайта. Позвоните или напишите нам напрямую."
        }
        (Language::En, "origin_not_allowed") => {
            "This form does not take requests from this site. Please call or write to us directly."
        }
        (Language::Ru, "timeout") => "Заявка отправлялась слишком долго. Попробуйте ещё раз.",
        (Language::En, "timeout") => "Sending took too long. Please try again.",
        (Language::Ru, _) => {
            "Не получилось принять заявку. Попробуйте отправить ещё раз через минуту."
        }
        (Language::En, _) => "We could not take your request. Please try again in a minute.",
    }
}

fn words(lang: Language, problem: &str) -> minijinja::Value {
    match lang {
        Language::Ru => context! {
            title => "Проверьте заявку",
            again => "Отправить ещё раз",
            back => "Вернуться к форме",
            files => "Прикреплённые файлы нужно будет выбрать заново на странице формы.",
            problem,
        },
        Language::En => context! {
            title => "Please check your request",
            again => "Send again",
            back => "Back to the form",
            files => "Attached files have to be chosen again on the form's page.",
            problem,
        },
    }
}

/// The answer to a refused plain HTML post: the form's `error_redirect` with the code, or
/// the page with the person's words kept. The status stays the refusal's.
pub fn refused(
    cfg: Option<&WebformSource>,
    lang: Language,
    error: &ApiError,
    typed: Option<&FormBody>,
    referer: Option<&str>,
) -> Response {
    if let Some(to) = cfg.and_then(|c| c.error_redirect.as_deref()) {
        let sep = if to.contains('?') { '&' } else { '?' };
        if let Ok(location) = HeaderValue::from_str(&format!("{to}{sep}lg_error={}", error.code)) {
            let mut response =
                (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
            error.mark(&mut response);
            return response;
        }
    }
    let honeypot = cfg.and_then(|c| c.honeypot.as_deref());
    let (fields, hidden): (Vec<_>, Vec<_>) = typed
        .map(|form| {
            form.fields
                .iter()
                .filter(|(name, _)| Some(name.as_str()) != honeypot)
                .map(|(name, value)| {
                    let value = crate::connectors::value_text(value);
                    let long = value.len() > 80 || value.contains('\n');
                    (name.starts_with("utm_"), context! { name, long, value })
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .partition(|(utm, _)| !utm);
    let problem_text = problem(error.code, lang);
    let page = templates().get_template("refused.html").and_then(|tpl| {
        tpl.render(context! {
            lang => lang.code(),
            t => words(lang, problem_text),
            fields => fields.into_iter().map(|(_, f)| f).collect::<Vec<_>>(),
            hidden => hidden.into_iter().map(|(_, f)| f).collect::<Vec<_>>(),
            files => typed.is_some_and(|f| !f.files.is_empty()),
            contact_names => CONTACT_NAMES.to_vec(),
            action => cfg.map(|c| format!("/forms/{}", c.id)),
            back => referer.filter(|r| r.starts_with("http://") || r.starts_with("https://")),
        })
    });
    let body = page.unwrap_or_else(|e| {
        tracing::error!(error = %e, "The refused form page did not render.");
        problem_text.to_string()
    });
    let mut response = (error.status, Html(body)).into_response();
    error.mark(&mut response);
    if let Some(wait) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    response
}

/// The thank-you page after a plain HTML post, in `lang`.
pub fn thanks(lang: Language) -> Response {
    let t = match lang {
        Language::Ru => context! {
            title => "Спасибо!",
            text => "Заявка принята, мы скоро свяжемся с вами.",
        },
        Language::En => context! {
            title => "Thank you!",
            text => "We have your request and will be in touch shortly.",
        },
    };
    let page = templates()
        .get_template("thanks.html")
        .and_then(|tpl| tpl.render(context! { lang => lang.code(), t }));
    match page {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "The thank-you page did not render.");
            StatusCode::OK.into_response()
        }
    }
}
