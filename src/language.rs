//! The language people read leadgate in: the pages a visitor sees after posting a form, and
//! the cards and mails managers get.

/// A language leadgate writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Russian (the default: the product's first businesses write Russian).
    #[default]
    Ru,
    /// English.
    En,
}

impl Language {
    /// `ru` or `en`, as written in the config.
    pub fn parse(code: &str) -> Option<Language> {
        match code {
            "ru" => Some(Language::Ru),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// The code for `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Ru => "ru",
            Language::En => "en",
        }
    }
}
