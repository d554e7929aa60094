//! Digests as text, for names and keys made from content (a kept file's name, a dedupe key too
//! long to index, a feed entry's id when it has none). A leaf: it imports nothing of the crate.

use sha2::{Digest, Sha256};

/// The first 16 hex digits of [`sha256_hex`]: enough to tell versions of one thing apart
/// inside a key (an edit's words, a letter's headers).
pub fn sha256_short(bytes: &[u8]) -> String {
    let mut hex = sha256_hex(bytes);
    hex.truncate(16);
    hex
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
