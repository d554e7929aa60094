//! Console sessions: a signed-in browser holds a random id in a cookie; the server keeps, per
//! id, when it expires, the CSRF token its forms must send back, and the language chosen.
//! Kept in memory: a restart signs everyone out, which is what an admin expects of it.

use crate::language::Language;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a session lives without a request.
pub const IDLE: Duration = Duration::hours(8);

/// How many sessions may be open at once; the oldest goes first beyond it.
const MAX_SESSIONS: usize = 256;

/// What the server knows about one signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token every POST form of this session carries.
    pub csrf: String,
    /// When it ends unless used again.
    pub expires: DateTime<Utc>,
}

/// The open sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes from the operating system, URL-safe base64.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Sessions {
    /// Opens a session at `now`; returns its id.
    pub fn open(&self, now: DateTime<Utc>) -> String {
        let id = random_token();
        let mut open = self.open.lock().expect("sessions lock");
        open.retain(|_, s| s.expires > now);
        if open.len() >= MAX_SESSIONS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            open.remove(&oldest);
        }
        open.insert(
            id.clone(),
            Session {
                csrf: random_token(),
                expires: now + IDLE,
            },
        );
        id
    }

    /// The live session `id` at `now`, its expiry moved on; `None` when unknown or expired.
    pub fn touch(&self, id: &str, now: DateTime<Utc>) -> Option<Session> {
        let mut open = self.open.lock().expect("sessions lock");
        match open.get_mut(id) {
            Some(s) if s.expires > now => {
                s.expires = now + IDLE;
                Some(s.clone())
            }
            Some(_) => {
                open.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session (sign-out).
    pub fn close(&self, id: &str) {
        self.open.lock().expect("sessions lock").remove(id);
    }
}

/// The language a browser chose (`lg_lang` cookie), else the config's.
pub fn language(cookie: Option<&str>, default: Language) -> Language {
    cookie.and_then(Language::parse).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_after_idling_and_lives_on_while_used() {
        let s = Sessions::default();
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .unwrap()
            .to_utc();
        let id = s.open(t0);
        assert!(s.touch(&id, t0 + IDLE - Duration::minutes(1)).is_some());
        // Used a minute before the end: it lives another IDLE from then.
        assert!(
            s.touch(&id, t0 + IDLE + IDLE - Duration::minutes(2))
                .is_some()
        );
        assert!(s.touch(&id, t0 + IDLE * 3).is_none());
        assert!(s.touch(&id, t0).is_none(), "an expired session is gone");
        assert!(s.touch("forged", t0).is_none());
    }

    #[test]
    fn ids_and_csrf_tokens_are_random_and_distinct() {
        let s = Sessions::default();
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .unwrap()
            .to_utc();
        let a = s.open(now);
        let b = s.open(now);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_ne!(s.touch(&a, now).unwrap().csrf, a);
    }
}
