//! Files people send are reachable (issue 18): photos and documents from forms, e-mails,
//! Telegram, VK and WhatsApp are kept in a folder of the store's, content-addressed
//! ([`Shelf`]), within a per-file and a per-lead limit ([`AttachmentsConfig`]), fetched from
//! the messengers right after the lead is written ([`FileKeeper`]), and served at
//! `/files/{id}` through signed, expiring links ([`FileLinks`]) that the lead record and the
//! managers' cards carry (`fields.attachments[].url`).

mod config;
mod fetch;
mod keeper;
mod links;
mod shelf;

pub use crate::sources::fetch::Unavailable;
pub use config::{AttachmentsConfig, RawAttachments, VK_HOSTS};
pub use fetch::Fetcher;
pub use keeper::FileKeeper;
pub use links::{FILES_PATH, FileLinks, LinkRefused, file_id, same_file};
pub use shelf::Shelf;

use crate::settings::Secret;
use crate::store::{FileStore, StoreResult};
use std::collections::HashSet;

/// The link signer of the attachments' settings: their `link_secret`, else the key generated once and kept in
/// the store (so links keep working across restarts and on every daemon of one store).
pub async fn links_of(
    attachments: &AttachmentsConfig,
    store: &dyn FileStore,
) -> StoreResult<FileLinks> {
    let key = match &attachments.link_secret {
        Some(secret) => secret.clone(),
        None => Secret::new(store.file_link_key(&random_key).await?),
    };
    Ok(FileLinks::new(
        key,
        &attachments.public_url,
        attachments.link_ttl,
    ))
}

/// 32 bytes from the operating system's random source, hex.
fn random_key() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The shelf in the store's data folder (`StorageConfig::data_dir`).
pub fn shelf_of(data_dir: &std::path::Path) -> Shelf {
    Shelf::new(AttachmentsConfig::folder(data_dir))
}

/// Removes from the shelf the files no record keeps now that no record kept at the last look
/// either (`unkept_before`); returns how many went, and the files no record keeps now, for the
/// next look. A file found unkept for the first time stays until the next look: the file
/// keeper records a file a moment after putting it (or finding it already there, when the
/// same bytes come again), and an old record of those bytes may expire in between. Files a
/// crash left between a put and its record go too.
pub async fn remove_unkept(
    store: &dyn FileStore,
    shelf: &Shelf,
    unkept_before: &HashSet<String>,
) -> Result<(u64, HashSet<String>), String> {
    let on_shelf = (shelf.hashes().await).map_err(|e| format!("{}: {e}", shelf.dir().display()))?;
    let kept = store.kept_hashes().await.map_err(|e| e.to_string())?;
    let (due, unkept): (HashSet<String>, HashSet<String>) = (on_shelf.difference(&kept))
        .cloned()
        .partition(|sha| unkept_before.contains(sha));
    Ok((remove_all(shelf, &due).await?, unkept))
}

/// Removes from the shelf the files among `before` (what records kept before an erasure
/// removed some) that no record keeps now, at once (`leadgate forget`); returns how many.
pub async fn remove_released(
    store: &dyn FileStore,
    shelf: &Shelf,
    before: &HashSet<String>,
) -> Result<u64, String> {
    let now = store.kept_hashes().await.map_err(|e| e.to_string())?;
    remove_all(shelf, before.difference(&now)).await
}

/// Removes the files `shas` from the shelf; how many were there.
async fn remove_all(shelf: &Shelf, shas: impl IntoIterator<Item = &String>) -> Result<u64, String> {
    let mut removed = 0;
    for sha in shas {
        match shelf.remove(sha).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => return Err(format!("{}: {e}", shelf.dir().display())),
        }
    }
    Ok(removed)
}
