//! The words `text_contains`, `text_has_word` and `text_mentions` look for, compiled once at
//! load time into one trie over all conditions. A decision walks the trie once per word of the
//! lead's text and notes which of the rules' words begin (or are) which text word; each test is
//! then a lookup. `text_mentions` interns each word's stem (Snowball: Russian for Cyrillic,
//! English for Latin words) and accepts a text word the stem begins only when the text word's
//! own stem is exactly that long, so "опт" finds "оптом" and "опта" but not "оптимальный".

use std::ops::Range;

use super::text::Words;

/// Every distinct (folded) word of the rules' text tests, as a byte trie.
#[derive(Debug)]
pub(crate) struct WordIndex {
    /// Node 0 is the root.
    nodes: Vec<Node>,
    /// How many distinct words there are.
    words: u32,
}

#[derive(Debug, Default)]
struct Node {
    /// Children by next byte, sorted.
    edges: Vec<(u8, u32)>,
    /// The id of the word that ends here.
    word: Option<u32>,
}

impl Default for WordIndex {
    fn default() -> WordIndex {
        WordIndex {
            nodes: vec![Node::default()],
            words: 0,
        }
    }
}

/// One of the rules' words found at the start of a word of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    word: u32,
    pos: u32,
    /// The text's word is this word, not just longer.
    exact: bool,
    /// The rule's word's length in bytes.
    len: u32,
}

/// How a rule's word must meet a word of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// `text_contains`: the text's word begins with it.
    Prefix,
    /// `text_has_word`: the text's word is it.
    Whole,
    /// `text_mentions`: the text's word is a form of it (their stems are the same).
    Form,
}

/// The Snowball stem of a folded word: Russian for a word with Cyrillic letters, English for
/// one of Latin letters only, the word itself otherwise (numbers, mixed scripts).
pub(crate) fn stem(word: &str) -> std::borrow::Cow<'_, str> {
    use rust_stemmers::{Algorithm, Stemmer};
    use std::sync::OnceLock;
    static RUSSIAN: OnceLock<Stemmer> = OnceLock::new();
    static ENGLISH: OnceLock<Stemmer> = OnceLock::new();
    if word.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)) {
        RUSSIAN
            .get_or_init(|| Stemmer::create(Algorithm::Russian))
            .stem(word)
    } else if word.chars().all(|c| c.is_ascii_alphabetic()) {
        ENGLISH
            .get_or_init(|| Stemmer::create(Algorithm::English))
            .stem(word)
    } else {
        std::borrow::Cow::Borrowed(word)
    }
}

impl Match {
    /// Whether the hit meets the word at its position this way.
    #[inline]
    fn accepts(self, hit: &Hit, text: &Words) -> bool {
        match self {
            Match::Prefix => true,
            Match::Whole => hit.exact,
            Match::Form => hit.exact || stem(text.word(hit.pos as usize)).len() == hit.len as usize,
        }
    }
}

/// Which of the rules' words the text has, and where: the result of [`WordIndex::scan`].
#[derive(Debug, Default)]
pub(crate) struct Hits {
    /// Sorted by word, then position.
    hits: Vec<Hit>,
    /// One bit per word id: whether it is in `hits` at all, so a miss costs one lookup.
    any: Vec<u64>,
}

impl WordIndex {
    /// The id of a folded, non-empty word, added if new.
    pub(crate) fn intern(&mut self, word: &str) -> u32 {
        let mut node = 0usize;
        for &b in word.as_bytes() {
            let edges = &self.nodes[node].edges;
            node = match edges.binary_search_by_key(&b, |&(e, _)| e) {
                Ok(i) => edges[i].1 as usize,
                Err(i) => {
                    let child = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[node].edges.insert(i, (b, child as u32));
                    child
                }
            };
        }
        match self.nodes[node].word {
            Some(id) => id,
            None => {
                let id = self.words;
                self.words += 1;
                self.nodes[node].word = Some(id);
                id
            }
        }
    }

    /// Whether there are no words to look for.
    pub(crate) fn is_empty(&self) -> bool {
        self.words == 0
    }

    fn child(&self, node: usize, b: u8) -> Option<usize> {
        let edges = &self.nodes[node].edges;
        edges
            .binary_search_by_key(&b, |&(e, _)| e)
            .ok()
            .map(|i| edges[i].1 as usize)
    }

    /// Every place where one of the rules' words begins a word of the text.
    pub(crate) fn scan(&self, text: &Words) -> Hits {
        let mut hits = Vec::new();
        if self.is_empty() {
            return Hits::default();
        }
        for (pos, word) in text.iter().enumerate() {
            let bytes = word.as_bytes();
            let mut node = 0;
            for (i, &b) in bytes.iter().enumerate() {
                let Some(next) = self.child(node, b) else {
                    break;
                };
                node = next;
                if let Some(id) = self.nodes[node].word {
                    hits.push(Hit {
                        word: id,
                        pos: pos as u32,
                        exact: i + 1 == bytes.len(),
                        len: (i + 1) as u32,
                    });
                }
            }
        }
        hits.sort_unstable();
        let mut any = vec![0u64; (self.words as usize).div_ceil(64)];
        for h in &hits {
            any[h.word as usize / 64] |= 1 << (h.word % 64);
        }
        Hits { hits, any }
    }
}

impl Hits {
    /// Where `word` meets a word of the text the way `how` says, in order.
    #[inline]
    fn at<'a>(
        &'a self,
        word: u32,
        how: Match,
        text: &'a Words,
    ) -> impl Iterator<Item = usize> + 'a {
        let from = self.hits.partition_point(|h| h.word < word);
        self.hits[from..]
            .iter()
            .take_while(move |h| h.word == word)
            .filter(move |h| how.accepts(h, text))
            .map(|h| h.pos as usize)
    }

    #[inline]
    fn has(&self, word: u32, pos: usize, how: Match, text: &Words) -> bool {
        let key = (word, pos as u32);
        let i = self.hits.partition_point(|h| (h.word, h.pos) < key);
        self.hits
            .get(i)
            .is_some_and(|h| (h.word, h.pos as usize) == (word, pos) && how.accepts(h, text))
    }

    /// Where the phrase (word ids) appears in `text`, its words in a row, each meeting a word
    /// of the text the way `how` says. Of several places, the one whose first word comes first
    /// alphabetically (then the earliest).
    #[inline]
    pub(crate) fn find(&self, phrase: &[u32], how: Match, text: &Words) -> Option<Range<usize>> {
        let (&first, rest) = phrase.split_first()?;
        let bits = self.any.get(first as usize / 64)?;
        if bits & (1 << (first % 64)) == 0 {
            return None;
        }
        self.at(first, how, text)
            .filter(|&pos| {
                rest.iter()
                    .enumerate()
                    .all(|(k, &w)| self.has(w, pos + 1 + k, how, text))
            })
            .min_by_key(|&pos| (text.word(pos), pos))
            .map(|pos| pos..pos + phrase.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::model::text::{fold, split_words};

    /// Compiles phrases as a condition would, then finds each in `text`.
    fn find_all(phrases: &[&str], prefix: bool, text: &str) -> Vec<Option<String>> {
        let how = if prefix { Match::Prefix } else { Match::Whole };
        find_as(phrases, how, text)
    }

    fn find_as(phrases: &[&str], how: Match, text: &str) -> Vec<Option<String>> {
        let mut index = WordIndex::default();
        let ids: Vec<Vec<u32>> = phrases
            .iter()
            .map(|p| {
                split_words(&fold(p))
                    .map(|w| {
                        if how == Match::Form {
                            index.intern(&stem(w))
                        } else {
                            index.intern(w)
                        }
                    })
                    .collect()
            })
            .collect();
        let words = Words::new([text]);
        let hits = index.scan(&words);
        ids.iter()
            .map(|p| {
                hits.find(p, how, &words)
                    .map(|r| r.map(|i| words.word(i)).collect::<Vec<_>>().join(" "))
            })
            .collect()
    }

    fn one(phrase: &str, prefix: bool, text: &str) -> Option<String> {
        find_all(&[phrase], prefix, text).remove(0)
    }

    #[test]
    fn prefixes_match_word_starts_only() {
        let text = "Хотим купить ОПТОМ, не топтать";
        assert_eq!(one("опт", true, text).as_deref(), Some("оптом"));
        assert_eq!(one("топ", true, text).as_deref(), Some("топтать"));
        assert_eq!(one("птать", true, text), None);
        assert_eq!(one("опт", true, "не топтать газон"), None);
    }

    #[test]
    fn whole_words_need_the_whole_word() {
        let text = "Хотим купить оптом";
        assert_eq!(one("опт", false, text), None);
        assert_eq!(one("оптом", false, text).as_deref(), Some("оптом"));
        assert_eq!(one("опт", false, "опт и оптом").as_deref(), Some("опт"));
    }

    #[test]
    fn case_and_yo_do_not_matter() {
        assert_eq!(one("еще", false, "ЕЩЁ раз").as_deref(), Some("еще"));
        assert_eq!(one("ЁЛКА", true, "елки").as_deref(), None);
        assert_eq!(one("ЁЛК", true, "Елки").as_deref(), Some("елки"));
        assert_eq!(one("Tender", true, "TENDERS").as_deref(), Some("tenders"));
    }

    #[test]
    fn phrases_match_in_a_row() {
        let text = "Ещё нужно коммерческое предложение";
        assert_eq!(
            one("коммерческ предлож", true, text).as_deref(),
            Some("коммерческое предложение")
        );
        assert_eq!(one("предлож коммерческ", true, text), None);
        assert_eq!(one("нужно предлож", true, text), None);
        assert_eq!(one("коммерческ предлож", false, text), None);
    }

    #[test]
    fn words_shared_between_phrases_are_one_entry() {
        let mut index = WordIndex::default();
        let a = index.intern("опт");
        let b = index.intern("оптом");
        assert_eq!(index.intern("опт"), a);
        assert_ne!(a, b);
        let found = find_all(&["опт", "оптом", "тендер"], true, "оптом");
        assert_eq!(found, [Some("оптом".into()), Some("оптом".into()), None]);
    }

    #[test]
    fn of_several_places_the_alphabetically_first_word_is_shown() {
        let text = "оптом и оптовая партия";
        assert_eq!(one("опт", true, text).as_deref(), Some("оптовая"));
        assert_eq!(one("опт", true, "опт оптом").as_deref(), Some("опт"));
    }

    #[test]
    fn a_form_of_the_word_matches_and_a_word_sharing_its_start_does_not() {
        let form = |phrase: &str, text: &str| find_as(&[phrase], Match::Form, text).remove(0);
        for (phrase, text) in [
            ("опт", "Купим оптом"),
            ("опт", "цены для опта"),
            ("опт", "наш опт"),
            ("оптовый", "оптовая поставка"),
            ("оптовый", "Оптовые цены"),
            ("оптовый", "по оптовой цене"),
            ("тендер", "участвуем в тендере"),
            ("тендер", "для тендеров"),
            ("тендер", "ТЕНДЕРЫ"),
            ("госзакупка", "по госзакупкам"),
            (
                "коммерческое предложение",
                "пришлите коммерческого предложения",
            ),
            ("счёт", "выставьте счет"),
            ("tender", "public tenders"),
        ] {
            assert!(form(phrase, text).is_some(), "{phrase:?} in {text:?}");
        }
        for (phrase, text) in [
            ("опт", "подберите оптимальный вариант"),
            ("опт", "оптика для дома"),
            ("опт", "оптовая поставка"),
            ("тендер", "тендерная документация"),
            ("оптовый", "оптимизация"),
            ("коммерческое предложение", "предложение коммерческое"),
        ] {
            assert!(form(phrase, text).is_none(), "{phrase:?} in {text:?}");
        }
    }

    /// The meaning, spelt out: the first place (alphabetically by its first word, then
    /// earliest) where each phrase word begins, or is, the text's word at that offset.
    fn naive(phrase: &str, prefix: bool, text: &str) -> Option<String> {
        let p: Vec<String> = split_words(&fold(phrase)).map(str::to_string).collect();
        let t: Vec<String> = split_words(&fold(text)).map(str::to_string).collect();
        let fits = |w: &str, q: &str| if prefix { w.starts_with(q) } else { w == q };
        (0..t.len())
            .filter(|&i| {
                i + p.len() <= t.len() && p.iter().enumerate().all(|(k, q)| fits(&t[i + k], q))
            })
            .min_by_key(|&i| (&t[i], i))
            .map(|i| t[i..i + p.len()].join(" "))
    }

    proptest::proptest! {
        #[test]
        fn finds_what_the_plain_definition_finds(
            text in proptest::collection::vec(
                proptest::sample::select(&["опт", "Оптом", "ТОПТАТЬ", "ещё", "еще", "Ёлка", "b2b", "коммерческое", "предложение", "о"][..]),
                0..12,
            ),
            phrases in proptest::collection::vec(
                proptest::sample::select(&["опт", "оптом", "то", "Еще", "ёлк", "b2", "коммерческ предлож", "о о", "е", "предложение"][..]),
                1..4,
            ),
            prefix: bool,
        ) {
            let text = text.join(", ");
            let found = find_all(&phrases, prefix, &text);
            for (p, f) in phrases.iter().zip(found) {
                proptest::prop_assert_eq!(f, naive(p, prefix, &text), "{:?} in {:?}", p, text);
            }
        }
    }
}
