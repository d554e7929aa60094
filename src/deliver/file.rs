//! The file sink: JSON Lines, one event per line, the out-of-the-box stand-in for a CRM.

use crate::store::OutboxRow;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Appends events to a JSON Lines file.
#[derive(Debug, Clone)]
pub struct FileSink {
    path: PathBuf,
}

impl FileSink {
    /// A sink writing to `path` (its directory is created on first write).
    pub fn new(path: &Path) -> FileSink {
        FileSink {
            path: path.to_path_buf(),
        }
    }

    /// Appends one line per row, `{"webhook_id": ..., "type", "timestamp", "data"}`, and syncs
    /// the file once for the batch before the rows are marked delivered (a crash in between
    /// writes them again: at least once, with the same `webhook_id`).
    pub async fn append(&self, rows: &[OutboxRow]) -> Result<(), String> {
        let mut text = String::new();
        for row in rows {
            let rest = row.body.strip_prefix('{').unwrap_or(&row.body);
            text.push_str(&format!(
                "{{\"webhook_id\":{},{rest}\n",
                serde_json::Value::from(row.event_id.as_str())
            ));
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(text.as_bytes())?;
            file.sync_data()
        })
        .await
        .map_err(|e| format!("the writer task failed: {e}"))?
        .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}
