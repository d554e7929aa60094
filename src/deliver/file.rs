//! The file sink: JSON Lines, one event per line, the out-of-the-box stand-in for a CRM.

use crate::store::OutboxRow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
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
        tokio::task::spawn_blocking(move || append_lines(&path, &text))
            .await
            .map_err(|e| format!("the writer task failed: {e}"))?
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// Appends `text` (whole lines) to the file at `path` and syncs it. A write that fails part way
/// (a full disk) is taken back, and a line a crash left unfinished is ended first, so the
/// lines written again never run on from a broken one: a reader loses that line only.
fn append_lines(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let had = file.metadata()?.len();
    let unfinished = had > 0 && last_byte(&mut file, had)? != b'\n';
    let written = match unfinished {
        true => file.write_all(format!("\n{text}").as_bytes()),
        false => file.write_all(text.as_bytes()),
    };
    if let Err(e) = written {
        // Best effort: the error is what the caller must hear about.
        let _ = file.set_len(had);
        return Err(e);
    }
    file.sync_data()
}

/// The byte at offset `len - 1` of `file`.
fn last_byte(file: &mut File, len: u64) -> std::io::Result<u8> {
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut byte)?;
    Ok(byte[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(event_id: &str) -> OutboxRow {
        OutboxRow {
            id: 1,
            lead_id: "l".into(),
            sink: "f".into(),
            event_id: event_id.into(),
            event_type: "lead.created".into(),
            body: r#"{"type":"lead.created","data":{}}"#.into(),
            plan: None,
            step: 0,
            attempts: 0,
            retry_since: chrono::DateTime::UNIX_EPOCH,
            lease_until: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn lines_written_after_a_broken_one_start_on_their_own_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out").join("leads.jsonl");
        let sink = FileSink::new(&path);
        sink.append(&[row("e1")]).await.expect("append");
        // A crash in the middle of the next write.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        file.write_all(br#"{"webhook_id":"e2","type":"lead.cr"#)
            .expect("write");
        sink.append(&[row("e2"), row("e3")]).await.expect("append");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let ids: Vec<String> = (lines.iter())
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| v["webhook_id"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(ids, ["e1", "e2", "e3"], "{text}");
        assert!(text.ends_with('\n'));
    }
}
