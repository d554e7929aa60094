//! The folder files are kept in (`files/` beside the database), content-addressed: a file's
//! name is the hex SHA-256 of its bytes, so the same photo sent twice is kept once and a name
//! can never point outside the folder.

use crate::digest::sha256_hex;
use std::path::{Path, PathBuf};

/// The folder of kept files.
#[derive(Debug, Clone)]
pub struct Shelf {
    dir: PathBuf,
}

fn is_hash(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl Shelf {
    /// The shelf in `dir` (made when the first file is put).
    pub fn new(dir: impl Into<PathBuf>) -> Shelf {
        Shelf { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps `bytes` (written to a temporary name, synced, then renamed, so a crash never
    /// leaves half a file under a hash); returns their SHA-256.
    pub async fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha = sha256_hex(bytes);
        let path = self.dir.join(&sha);
        if tokio::fs::try_exists(&path).await? {
            return Ok(sha);
        }
        tokio::fs::create_dir_all(&self.dir).await?;
        let tmp = self.dir.join(format!(".{sha}.part"));
        let mut file = tokio::fs::File::create(&tmp).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&tmp, &path).await?;
        Ok(sha)
    }

    /// The path of the file with `sha`, if the name is a hash.
    pub fn path(&self, sha: &str) -> Option<PathBuf> {
        is_hash(sha).then(|| self.dir.join(sha))
    }

    /// Copies onto `other` every kept file it does not hold yet (`leadgate copy`, when the new
    /// store keeps its files elsewhere); how many. Each is put as any file is: whole or not at all.
    pub async fn copy_into(&self, other: &Shelf) -> std::io::Result<u64> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut copied = 0;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(there) = other.path(&name) else {
                continue;
            };
            if tokio::fs::try_exists(&there).await? {
                continue;
            }
            other.put(&tokio::fs::read(entry.path()).await?).await?;
            copied += 1;
        }
        Ok(copied)
    }

    /// The hashes of the files on the shelf (none when it was never made).
    pub async fn hashes(&self) -> std::io::Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_hash(&name) {
                out.insert(name);
            }
        }
        Ok(out)
    }

    /// Removes the file with `sha`; whether there was one.
    pub async fn remove(&self, sha: &str) -> std::io::Result<bool> {
        let Some(path) = self.path(sha) else {
            return Ok(false);
        };
        match tokio::fs::remove_file(path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_kept_once_by_hash_and_removed_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let shelf = Shelf::new(dir.path().join("files"));
        let a = shelf.put(b"photo").await.unwrap();
        assert_eq!(shelf.put(b"photo").await.unwrap(), a);
        let b = shelf.put(b"document").await.unwrap();
        assert_eq!(std::fs::read(shelf.path(&a).unwrap()).unwrap(), b"photo");
        assert_eq!(shelf.path("../etc/passwd"), None);
        assert!(shelf.remove(&b).await.unwrap());
        assert!(!shelf.remove(&b).await.unwrap());
        assert!(shelf.path(&a).unwrap().exists());
        assert!(!shelf.path(&b).unwrap().exists());
        std::fs::write(dir.path().join("files").join(".part"), b"x").unwrap();
        assert_eq!(shelf.hashes().await.unwrap(), [a].into_iter().collect());
    }
}
