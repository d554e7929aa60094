//! A budget written in the person's own words ("бюджет 500 000 ₽", "2 млн рублей", "до 300
//! тыс. руб.") read into a number of roubles, so that scoring by `budget` works for a letter
//! or a message as it does for a form's budget field. Only amounts that say they are money
//! count: a rouble sign or word after the number, or the word "бюджет" just before it; a
//! phone number, an area or a year is never read as one.

use regex::Regex;
use std::sync::OnceLock;

/// The number, an optional range's upper end, the multiplier and the currency.
fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let num = r"\d{1,3}(?:[ \u{a0}\u{202f}.]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?";
        let mult = r"тыс(?:яч[аи]?)?\.?|т\.?р\.?|млн\.?|миллион(?:а|ов)?|млрд\.?|миллиард(?:а|ов)?|k\b|к\b";
        let cur = r"₽|руб(?:л(?:ей|я|ь))?\b\.?|р\.|rub\b";
        Regex::new(&format!(
            r"(?i)(?P<a>{num})(?:\s*(?:-|–|—|до)\s*(?P<b>{num}))?\s*(?P<mult>{mult})?\s*(?P<cur>{cur})?"
        ))
        .expect("the amount pattern compiles")
    })
}

/// Words that make a bare number a budget when they come just before it.
fn budget_word() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(?:бюджет\w*|budget|сумм\w*|готовы потратить)[^.!?\d]{0,20}$")
            .expect("the budget word pattern compiles")
    })
}

/// The first amount of money in roubles the text names; of a range ("от 300 до 500 тыс."),
/// its upper end.
pub fn amount_in(text: &str) -> Option<u64> {
    if !says_money(text) {
        return None;
    }
    for m in pattern().captures_iter(text) {
        let whole = m.get(0)?;
        let has_currency = m.name("cur").is_some();
        let said_budget = budget_word().is_match(&text[..whole.start()]);
        if !has_currency && !said_budget {
            continue;
        }
        // "Бюджет на 2025 год — 3 млн руб.": the year the budget is for, not its amount.
        if !has_currency && m.name("mult").is_none() && is_year(&m["a"], &text[whole.end()..]) {
            continue;
        }
        let factor = m.name("mult").map_or(1.0, |x| multiplier(x.as_str()));
        let top = m.name("b").or(m.name("a"))?;
        let Some(value) = number(top.as_str(), factor > 1.0) else {
            continue;
        };
        let roubles = value * factor;
        if (1.0..1e13).contains(&roubles) {
            return Some(roubles.round() as u64);
        }
    }
    None
}

/// Whether the text could name an amount at all: a digit, and a currency or a budget word
/// somewhere. Most messages have neither, and the pattern's captures cost far more than this.
fn says_money(text: &str) -> bool {
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let lower = text.to_lowercase();
    [
        "₽",
        "руб",
        "р.",
        "rub",
        "бюджет",
        "budget",
        "сумм",
        "готовы потратить",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// Whether `number`, followed by `after`, is a year: 1900 to 2099 and the word "год" (or
/// "г.", "year") next.
fn is_year(number: &str, after: &str) -> bool {
    let year = number.len() == 4 && (number.starts_with("19") || number.starts_with("20"));
    let next = after.trim_start().to_lowercase();
    year && ["год", "г.", "г ", "year"]
        .iter()
        .any(|w| next.starts_with(w))
}

fn multiplier(word: &str) -> f64 {
    let w = word.to_lowercase();
    if w.starts_with("млрд") || w.starts_with("миллиард") {
        1e9
    } else if w.starts_with("млн") || w.starts_with("миллион") {
        1e6
    } else {
        1e3
    }
}

/// "500 000" → 500000; "1,5" → 1.5; "1.200.000" → 1200000; "500.000" (no multiplier) →
/// 500000, but "1.5" → 1.5.
fn number(text: &str, scaled: bool) -> Option<f64> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    let (int, frac) = match digits.rsplit_once(',') {
        Some((int, frac)) => (int.replace('.', ""), frac.to_string()),
        None if digits.matches('.').count() > 1 => (digits.replace('.', ""), String::new()),
        None => match digits.split_once('.') {
            Some((int, frac)) if frac.len() == 3 && !scaled => {
                (format!("{int}{frac}"), String::new())
            }
            Some((int, frac)) => (int.to_string(), frac.to_string()),
            None => (digits, String::new()),
        },
    };
    if frac.is_empty() {
        int.parse().ok()
    } else {
        format!("{int}.{frac}").parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::amount_in;

    #[test]
    fn money_in_words_is_read() {
        for (text, roubles) in [
            ("Наш бюджет 500 000 ₽", 500_000),
            ("готовы вложить 2 млн рублей", 2_000_000),
            ("Бюджет: 300000", 300_000),
            ("бюджет от 300 до 500 тыс. руб.", 500_000),
            ("Бюджет около 1,5 млн", 1_500_000),
            ("стоимость не выше 250 тыс руб", 250_000),
            ("цена вопроса 80\u{a0}000 р.", 80_000),
            ("budget 120k", 120_000),
            ("на сумму 1.200.000 руб", 1_200_000),
            ("Бюджет 500.000", 500_000),
            ("Бюджет на 2025 год — 3 млн руб.", 3_000_000),
            ("Бюджет на 2026 г. 900 тыс. руб.", 900_000),
            ("бюджет 2000 рублей", 2_000),
        ] {
            assert_eq!(amount_in(text), Some(roubles), "{text}");
        }
    }

    #[test]
    fn numbers_that_are_not_money_are_not() {
        for text in [
            "Мой телефон +7 916 123-45-67",
            "Дом 110 м², газ есть",
            "Построен в 2019 году, 2 этажа",
            "Заказ № 4417751",
            "нужно 500 штук к 15 декабря",
            "Бюджет на 2027 год ещё не утверждён",
        ] {
            assert_eq!(amount_in(text), None, "{text}");
        }
    }
}
