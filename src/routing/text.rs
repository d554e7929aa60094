//! The lead's words in the form conditions compare them in: lower case, `ё` = `е`, split into
//! words once per decision and sorted, so each "contains these words" test is a binary search.

/// Lower-cases and folds `ё` into `е`, so words match however the person typed them.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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
    out
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

/// The words of a lead's subject and text, in order and sorted.
pub(crate) struct Words {
    /// Words in reading order.
    seq: Vec<String>,
    /// Indexes into `seq`, sorted by word.
    sorted: Vec<u32>,
}

impl Words {
    pub(crate) fn new(text: &str) -> Words {
        let folded = fold(text);
        let seq: Vec<String> = split_words(&folded).map(str::to_string).collect();
        let mut sorted: Vec<u32> = (0..seq.len() as u32).collect();
        sorted.sort_by(|&a, &b| seq[a as usize].cmp(&seq[b as usize]));
        Words { seq, sorted }
    }

    /// Finds `phrase` (folded words): each word of the phrase must begin a word of the text
    /// (`prefix`) or equal it, in a row. Returns the words of the text that matched.
    pub(crate) fn find(&self, phrase: &[String], prefix: bool) -> Option<String> {
        let first = phrase.first()?;
        let from = self
            .sorted
            .partition_point(|&i| self.seq[i as usize].as_str() < first.as_str());
        for &i in &self.sorted[from..] {
            let word = &self.seq[i as usize];
            if !word.starts_with(first.as_str()) {
                break;
            }
            let i = i as usize;
            let matches = |w: &str, t: &str| if prefix { w.starts_with(t) } else { w == t };
            let all = phrase.iter().enumerate().all(|(k, t)| {
                self.seq
                    .get(i + k)
                    .is_some_and(|w| matches(w.as_str(), t.as_str()))
            });
            if all {
                return Some(self.seq[i..i + phrase.len()].join(" "));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(s: &str) -> Vec<String> {
        split_words(&fold(s)).map(str::to_string).collect()
    }

    #[test]
    fn prefixes_match_word_starts_only() {
        let w = Words::new("Хотим купить ОПТОМ, не топтать");
        assert_eq!(w.find(&phrase("опт"), true).as_deref(), Some("оптом"));
        assert_eq!(w.find(&phrase("опт"), false), None);
        assert_eq!(w.find(&phrase("топ"), true).as_deref(), Some("топтать"));
        assert_eq!(w.find(&phrase("птать"), true), None);
    }

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
    fn yo_equals_ye_and_phrases_match_in_a_row() {
        let w = Words::new("Ещё нужно коммерческое предложение");
        assert_eq!(w.find(&phrase("еще"), false).as_deref(), Some("еще"));
        assert_eq!(
            w.find(&phrase("коммерческ предлож"), true).as_deref(),
            Some("коммерческое предложение")
        );
        assert_eq!(w.find(&phrase("предлож коммерческ"), true), None);
    }
}
