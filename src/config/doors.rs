//! The secrets that lock leadgate's doors: a door that looks locked must be locked. An empty
//! secret or token is refused; a provider that signs or sends a token (Tilda, Typeform, VK...)
//! must be given the secret, unless the config says `allow_unsigned = true`, which the daemon
//! then warns about at every start.

use super::Config;
use crate::settings::Problems;
use crate::settings::Secret;

/// Tokens shorter than this are refused: a bearer token is guessed by trying.
pub const MIN_TOKEN_LEN: usize = 16;

/// A bearer token (`[admin] token`, `[api] token`...): when written, not empty and long enough.
pub(super) fn check_token(p: &mut Problems, key: &str, token: Option<&Secret>) {
    let Some(token) = token else { return };
    let len = token.expose().chars().count();
    if len == 0 {
        p.add(
            key,
            "is empty",
            Some("remove the key to turn this surface off, or set a long random token"),
        );
    } else if len < MIN_TOKEN_LEN {
        p.add(
            key,
            format!("is {len} characters; a token needs at least {MIN_TOKEN_LEN}"),
            Some("generate one with `openssl rand -hex 24`"),
        );
    }
}

/// Warns, at every start, of each source that takes posts nobody can prove.
pub fn warn_unsigned(config: &Config) {
    config.sources.tables().for_each(|t| t.warn_unsigned());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::check_source_secret;
    use std::path::Path;

    fn keys(p: &Problems) -> Vec<&str> {
        p.list.iter().map(|x| x.key.as_str()).collect()
    }

    #[test]
    fn empty_short_and_missing_secrets_are_refused() {
        let mut p = Problems::new(Path::new("leadgate.toml"));
        check_token(&mut p, "admin.token", Some(&Secret::new("")));
        check_token(&mut p, "api.token", Some(&Secret::new("short")));
        check_token(&mut p, "admin.metrics_token", None);
        check_token(&mut p, "x.token", Some(&Secret::new("a-long-enough-token")));
        check_source_secret(&mut p.scope("a"), Some(&Secret::new("")), None, false);
        check_source_secret(&mut p.scope("b"), None, Some("Tilda"), false);
        check_source_secret(&mut p.scope("c"), None, Some("Tilda"), true);
        check_source_secret(&mut p.scope("d"), None, None, false);
        check_source_secret(&mut p.scope("e"), Some(&Secret::new("s")), Some("VK"), true);
        assert_eq!(
            keys(&p),
            [
                "admin.token",
                "api.token",
                "a.secret",
                "b.secret",
                "e.allow_unsigned"
            ]
        );
    }
}
