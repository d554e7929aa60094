//! Digests as text, for names and keys made from content (a kept file's name, a dedupe key too
//! long to index, a feed entry's id when it has none). A leaf: it imports nothing of the crate.

use sha2::{Digest, Sha256};

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
