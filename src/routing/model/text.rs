//! The lead's words in the form conditions compare them in: lower case, `ё` = `е`, split into
//! words once per decision (see `words.rs` for how the rules' words are found among them).

/// Lower-cases and folds `ё` into `е`, so words match however the person typed them.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(&mut out, s);
    out
}

/// [`fold`], appending to `out`.
fn fold_into(out: &mut String, s: &str) {
    out.reserve(s.len());
    for c in s.chars() {
        // Fast paths for Latin and Cyrillic: the general Unicode tables are slow.
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
            'ё' | 'Ё' => out.push('е'),
            c if c.is_ascii() || ('а'..='я').contains(&c) => out.push(c),
            c => out.extend(c.to_lowercase()),
        }
    }
}

/// Whether a character belongs to a word (letters and digits).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || ('\u{400}'..='\u{4ff}').contains(&c)
        || (!c.is_ascii() && c.is_alphanumeric())
}

/// Splits folded text into words (letters and digits; everything else separates).
pub(crate) fn split_words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
}

/// The folded words of a lead's subject and text, in reading order, folded once per decision.
#[derive(Debug, Default)]
pub(crate) struct Words {
    folded: String,
    /// Each word's byte range in `folded`.
    spans: Vec<(u32, u32)>,
}

impl Words {
    /// The words of the texts, in order (a word never runs from one text into the next).
    pub(crate) fn new<'t>(texts: impl IntoIterator<Item = &'t str>) -> Words {
        let mut folded = String::new();
        for t in texts {
            fold_into(&mut folded, t);
            folded.push('\n');
        }
        let base = folded.as_ptr() as usize;
        let spans = split_words(&folded)
            .map(|w| {
                let start = w.as_ptr() as usize - base;
                (start as u32, (start + w.len()) as u32)
            })
            .collect();
        Words { folded, spans }
    }

    /// The words in reading order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.spans
            .iter()
            .map(|&(a, b)| &self.folded[a as usize..b as usize])
    }

    /// The word at `pos` (in reading order).
    pub(crate) fn word(&self, pos: usize) -> &str {
        let (a, b) = self.spans[pos];
        &self.folded[a as usize..b as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_matches_the_unicode_lower_case() {
        let s = "ПРИВЕТ Ёлка ÄÖÜ Straße ΣΟΦΊΑ 123";
        let expected: String = s
            .chars()
            .flat_map(char::to_lowercase)
            .map(|c| if c == 'ё' { 'е' } else { c })
            .collect();
        assert_eq!(fold(s), expected);
        let words: Vec<&str> = split_words("оптом, b2b-закупка; №5").collect();
        assert_eq!(words, ["оптом", "b2b", "закупка", "5"]);
    }

    #[test]
    fn words_are_folded_in_reading_order_and_never_span_two_texts() {
        let w = Words::new(["Запрос ЦЕНЫ", "Ещё нужно: КП"]);
        let all: Vec<&str> = w.iter().collect();
        assert_eq!(all, ["запрос", "цены", "еще", "нужно", "кп"]);
        assert_eq!(w.word(2), "еще");
    }
}
