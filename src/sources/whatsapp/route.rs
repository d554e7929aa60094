//! One Meta app can have several WhatsApp numbers, and it posts every number's webhooks to the
//! one callback URL: each stored item goes to the source configured for the number it was
//! sent to (`metadata.phone_number_id`), so two numbers of one app feed their own sources.

use super::WhatsappSource;
use serde_json::Value;

/// The number a stored item was sent to (`metadata.phone_number_id`).
pub fn phone_number_id_of(payload: &[u8]) -> Option<String> {
    let stored: Value = serde_json::from_slice(payload).ok()?;
    stored
        .pointer("/metadata/phone_number_id")?
        .as_str()
        .map(str::to_string)
}

/// The source an item sent to `number` belongs to, for a webhook posted to (and signed for)
/// `posted_to`: the source of that number with the same app secret; otherwise `posted_to`
/// when it names no number (it takes every number of its app). `None`: a number this
/// leadgate does not take, left out.
pub fn source_for<'a>(
    sources: &'a [WhatsappSource],
    posted_to: &'a WhatsappSource,
    number: Option<&str>,
) -> Option<&'a WhatsappSource> {
    let Some(number) = number else {
        return Some(posted_to);
    };
    sources
        .iter()
        .find(|s| {
            s.phone_number_id.as_deref() == Some(number)
                && crate::settings::tokens_match(
                    s.app_secret.expose().as_bytes(),
                    &posted_to.app_secret,
                )
        })
        .or_else(|| posted_to.phone_number_id.is_none().then_some(posted_to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;
    use std::time::Duration;

    fn source(id: &str, number: Option<&str>, secret: &str) -> WhatsappSource {
        WhatsappSource {
            id: id.into(),
            verify_token: Secret::new("v"),
            app_secret: Secret::new(secret),
            phone_number_id: number.map(str::to_string),
            conversation_window: Duration::from_secs(1800),
            reply: None,
        }
    }

    #[test]
    fn each_number_goes_to_its_own_source_of_the_same_app() {
        let sources = [
            source("main", Some("111"), "app"),
            source("second", Some("222"), "app"),
            source("other-app", Some("333"), "another"),
        ];
        let main = &sources[0];
        let to = |n: Option<&str>| source_for(&sources, main, n).map(|s| s.id.as_str());
        assert_eq!(to(Some("111")), Some("main"));
        assert_eq!(to(Some("222")), Some("second"));
        assert_eq!(
            to(Some("333")),
            None,
            "another app's number is not this app's to post"
        );
        assert_eq!(
            to(Some("999")),
            None,
            "a number nobody configured is left out"
        );
        assert_eq!(to(None), Some("main"));
        let any = source("any", None, "app");
        assert_eq!(
            source_for(&sources, &any, Some("999")).map(|s| s.id.as_str()),
            Some("any"),
            "a source without a number takes every number of its app"
        );
    }

    #[test]
    fn the_number_is_read_from_the_stored_item() {
        let item = br#"{"metadata": {"phone_number_id": "402918375610294"}, "message": {}}"#;
        assert_eq!(phone_number_id_of(item).as_deref(), Some("402918375610294"));
        assert_eq!(phone_number_id_of(b"{}"), None);
    }
}
