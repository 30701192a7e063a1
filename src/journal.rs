//! The publish journal: one JSON line per publication, in the state folder.
//!
//! A record is appended and synced to disk before a publication is reported as
//! done. A torn last line (a crash mid-write) is skipped with a warning and loses
//! nothing before it; the next record starts on a fresh line.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The publishing date, in the bot's zone.
    pub date: NaiveDate,
    pub publisher: String,
    /// The post file.
    pub post: String,
    pub remote_id: String,
    pub url: Option<String>,
    /// When it was journaled.
    pub at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    records: Vec<Record>,
    /// Whether the file ends mid-line (a torn record), so the next append starts anew.
    torn_tail: bool,
}

impl Journal {
    pub const FILE: &'static str = "journal.jsonl";

    /// Reads the journal in `state` (an absent one is empty). Returns warnings for
    /// lines that could not be read.
    pub fn open(state: &Path) -> std::io::Result<(Journal, Vec<String>)> {
        let path = state.join(Self::FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut warnings = Vec::new();
        let mut records = Vec::new();
        let text = String::from_utf8_lossy(&bytes);
        let torn_tail = !text.is_empty() && !text.ends_with('\n');
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(line) {
                Ok(r) => records.push(r),
                Err(e) => warnings.push(format!(
                    "{}:{}: skipped an unreadable journal record ({e}); a crash while writing it leaves this",
                    path.display(),
                    number + 1
                )),
            }
        }
        Ok((
            Journal {
                path,
                records,
                torn_tail,
            },
            warnings,
        ))
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The record of `publisher` publishing for `date`, if it did.
    pub fn published(&self, publisher: &str, date: NaiveDate) -> Option<&Record> {
        self.records
            .iter()
            .rev()
            .find(|r| r.publisher == publisher && r.date == date)
    }

    /// The newest record of `publisher`.
    pub fn last(&self, publisher: &str) -> Option<&Record> {
        self.records.iter().rev().find(|r| r.publisher == publisher)
    }

    /// Appends `record` and syncs it to disk.
    pub fn append(&mut self, record: Record) -> std::io::Result<()> {
        if let Some(folder) = self.path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        let mut line = serde_json::to_string(&record).map_err(std::io::Error::other)?;
        line.push('\n');
        if self.torn_tail {
            line.insert(0, '\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(line.as_bytes())?;
        file.sync_data()?;
        self.torn_tail = false;
        self.records.push(record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(date: &str, publisher: &str) -> Record {
        Record {
            date: date.parse().unwrap(),
            publisher: publisher.into(),
            post: "posts/02-25-k.md".into(),
            remote_id: "1".into(),
            url: None,
            at: DateTime::parse_from_rfc3339("2024-02-25T09:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn remembers_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, w) = Journal::open(dir.path()).unwrap();
        assert!(w.is_empty() && j.records().is_empty());
        j.append(record("2024-02-25", "m")).unwrap();
        let (j, _) = Journal::open(dir.path()).unwrap();
        assert!(j.published("m", "2024-02-25".parse().unwrap()).is_some());
        assert!(j.published("rss", "2024-02-25".parse().unwrap()).is_none());
        assert!(j.published("m", "2024-02-26".parse().unwrap()).is_none());
    }

    #[test]
    fn a_torn_last_record_is_skipped_and_loses_nothing_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(record("2024-02-25", "m")).unwrap();
        let path = dir.path().join(Journal::FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"date\":\"2024-02-26\",\"publ");
        std::fs::write(&path, bytes).unwrap();

        let (mut j, warnings) = Journal::open(dir.path()).unwrap();
        assert_eq!(j.records().len(), 1);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains(":2: skipped"), "{}", warnings[0]);
        j.append(record("2024-02-26", "m")).unwrap();
        let (j, warnings) = Journal::open(dir.path()).unwrap();
        assert_eq!(j.records().len(), 2);
        assert_eq!(warnings.len(), 1, "only the torn line stays unreadable");
    }
}
