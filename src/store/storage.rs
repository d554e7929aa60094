//! `[storage]`, validated: which database the store is in, and where its files go.

use crate::settings::Secret;
use std::path::{Path, PathBuf};

/// `[storage]`, validated: which database the store is in.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// The embedded default: one SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL (which may hold a password, so it is a secret).
    Postgres(Secret),
}

impl StorageConfig {
    /// Where the store is, for messages: the SQLite file, or the PostgreSQL database without
    /// its credentials.
    pub fn describe(&self) -> String {
        match self {
            StorageConfig::Sqlite(path) => path.display().to_string(),
            StorageConfig::Postgres(url) => match url.expose().rsplit_once('@') {
                Some((_, host)) => format!("postgres://{host}"),
                None => url.expose().to_string(),
            },
        }
    }

    /// The folder leadgate keeps its files in (`files/` for the files people send): the
    /// SQLite file's folder, or `data/` in the working directory with PostgreSQL.
    pub fn data_dir(&self) -> PathBuf {
        match self {
            StorageConfig::Sqlite(path) => path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            StorageConfig::Postgres(_) => PathBuf::from("data"),
        }
    }
}
