//! Person names: taken as written, tidied only where the writing is clearly careless.

/// The trimmed name with inner whitespace collapsed; title-cased only when it was written all
/// upper-case or all lower-case ("ИВАН ПЕТРОВ", "иван петров" → "Иван Петров"). Names are not
/// reordered: "Гусев Олег" stays as it is. `None` for an empty name.
pub fn normalise_name(raw: &str) -> Option<String> {
    let tidy = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if tidy.is_empty() {
        return None;
    }
    let letters: Vec<char> = tidy.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return Some(tidy);
    }
    let all_upper = letters.iter().all(|c| !c.is_lowercase());
    let all_lower = letters.iter().all(|c| !c.is_uppercase());
    if !(all_upper || all_lower) || (all_upper && letters.len() == 1) {
        return Some(tidy);
    }
    Some(title_case(&tidy))
}

fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if c.is_alphabetic() {
            if at_word_start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            at_word_start = false;
        } else {
            out.push(c);
            at_word_start = c.is_whitespace() || c == '-';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn careless_case_is_fixed() {
        assert_eq!(
            normalise_name("  иван   петров ").as_deref(),
            Some("Иван Петров")
        );
        assert_eq!(
            normalise_name("ИВАН ПЕТРОВ").as_deref(),
            Some("Иван Петров")
        );
        assert_eq!(normalise_name("анна-мария").as_deref(), Some("Анна-Мария"));
    }

    #[test]
    fn deliberate_writing_is_kept() {
        assert_eq!(normalise_name("Гусев Олег").as_deref(), Some("Гусев Олег"));
        assert_eq!(normalise_name("Андрей К.").as_deref(), Some("Андрей К."));
        assert_eq!(normalise_name("McDonald").as_deref(), Some("McDonald"));
        assert_eq!(normalise_name("   "), None);
    }
}
