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
    /// How a store's URL is written, for problems.
    pub const HINT: &str = "write \"sqlite://data/leadgate.db\", a file path, or \"postgres://user:password@host:5432/database\"";

    /// Reads a store's URL: `sqlite://PATH` or a plain path, or
    /// `postgres://user:password@host/db` (`postgresql://` too); the problem never repeats a
    /// password.
    pub fn parse(url: &str) -> Result<StorageConfig, String> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Ok(StorageConfig::Sqlite(PathBuf::from(rest)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pg = StorageConfig::Postgres(Secret::new(url));
            return match url.parse::<sqlx::postgres::PgConnectOptions>() {
                Ok(_) => Ok(pg),
                Err(e) => Err(format!("{:?} is not a PostgreSQL URL: {e}", pg.describe())),
            };
        }
        if let Some((scheme, _)) = url.split_once("://") {
            // Only the scheme: the rest may hold a password (`postgress://user:pw@...`).
            return Err(format!(
                "\"{scheme}://...\": leadgate stores in SQLite or PostgreSQL"
            ));
        }
        Ok(StorageConfig::Sqlite(PathBuf::from(url)))
    }

    /// Where the store is, for messages: the SQLite file, or the PostgreSQL database without
    /// its credentials.
    pub fn describe(&self) -> String {
        match self {
            StorageConfig::Sqlite(path) => path.display().to_string(),
            StorageConfig::Postgres(url) => {
                // No user or password (`user:pass@`), and no parameters (`?password=`).
                let url = url.expose();
                let url = url.split_once('?').map_or(url, |(before, _)| before);
                match url.rsplit_once('@') {
                    Some((_, host)) => format!("postgres://{host}"),
                    None => url.to_string(),
                }
            }
        }
    }

    /// The folder leadgate keeps its files in unless `[storage] data_dir` names one (`files/`
    /// for the files people send, `rules/` for the last good rules): the SQLite file's folder,
    /// or `data/` in the working directory with PostgreSQL.
    pub fn data_dir(&self) -> PathBuf {
        match self {
            StorageConfig::Sqlite(path) => path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            StorageConfig::Postgres(_) => PathBuf::from("data"),
        }
    }
}
