//! What @BotFather's tokens and `setWebhook`'s secret tokens look like, checked when the
//! config is read: both go into requests, so nothing else may be in them.

/// Whether `token` has the shape @BotFather issues (`<bot id>:<letters, digits, - and _>`): it
/// goes into URL paths, so nothing else may be in it.
pub fn token_shape_ok(token: &str) -> bool {
    token.split_once(':').is_some_and(|(bot, key)| {
        !bot.is_empty()
            && bot.bytes().all(|b| b.is_ascii_digit())
            && !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether `secret` is a valid `setWebhook` `secret_token`: 1–256 characters, letters, digits,
/// `_` and `-`.
pub fn webhook_secret_shape_ok(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes() {
        assert!(token_shape_ok("7012345678:AAH-x_9"));
        assert!(!token_shape_ok("7012345678"));
        assert!(!token_shape_ok("bot:abc"));
        assert!(!token_shape_ok("1:abc/../x"));
        assert!(!token_shape_ok(":abc"));
    }

    #[test]
    fn webhook_secret_shapes() {
        assert!(webhook_secret_shape_ok("Abc_-9"));
        assert!(!webhook_secret_shape_ok(""));
        assert!(!webhook_secret_shape_ok("with space"));
        assert!(!webhook_secret_shape_ok(&"a".repeat(257)));
    }
}
