//! The publish journal: one JSON line per event, in the state folder.
//!
//! Write-ahead: before a request leaves, an `intent` record (the publication's
//! identity, its key and what the server will be searched for) is appended and
//! synced; after the server answers, a `done` record. An intent with no `done` is
//! reconciled with the server before anything new is sent, so exactly once holds
//! even when the server has long forgotten the idempotency key.
//!
//! A torn last line (a crash mid-write) is skipped with a warning and loses
//! nothing before it; the next record starts on a fresh line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What a record says happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// About to send: nothing may leave before this is on disk.
    Intent,
    /// The server has it (journals from before the write-ahead rule hold only these).
    #[default]
    Done,
    /// The server has the corrected version (`todayis correct`): it supersedes the
    /// `done` before it.
    Corrected,
    /// Taken back (`todayis unpublish`): nothing is on the server for it any more,
    /// so a later `publish` makes a new publication.
    Unpublished,
}

impl Event {
    /// Whether the record says the publication is on the server.
    pub fn is_out(self) -> bool {
        matches!(self, Event::Done | Event::Corrected)
    }
}

/// What went out, so a later edit of the post can be told apart and carried over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// SHA-256 of the rendering and of the picture's bytes.
    pub digest: String,
    /// The rendering as it went out (the output's JSON, as `preview --json` shows it).
    pub output: serde_json::Value,
    /// SHA-256 of the picture's bytes, when it carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// The server's ids of its media.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The publishing date, in the bot's zone.
    pub date: NaiveDate,
    /// The `[publishers.NAME]` it went through.
    pub publisher: String,
    /// The account it went to (a publication's identity, so renaming the table
    /// never publishes again). Absent in journals from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default)]
    pub event: Event,
    /// The post file, relative to the posts folder.
    pub post: String,
    /// The idempotency key of the publication (the same for every attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What reconciliation looks for on the server: the link the status carries,
    /// the record key, the feed item's guid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// What went out (`done` and `corrected` records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<Sent>,
    /// When it was journaled.
    pub at: DateTime<Utc>,
}

/// Who published: the name and, when known, the account. Old records carry only
/// the name and are matched by it.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub name: &'a str,
    pub account: &'a str,
}

impl Record {
    fn is(&self, who: Who<'_>, date: NaiveDate) -> bool {
        self.date == date
            && match &self.account {
                Some(account) => account == who.account,
                None => self.publisher == who.name,
            }
    }
}

/// The last `n` readable records of the journal in `state`, oldest first, read
/// from the end of the file: what the daemon's page shows costs the same however
/// many years the journal holds. An absent journal has none.
pub fn tail(state: &Path, n: usize) -> std::io::Result<Vec<Record>> {
    use std::io::{Read, Seek, SeekFrom};
    const BLOCK: u64 = 64 * 1024;
    let mut file = match std::fs::File::open(state.join(Journal::FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut start = len;
    let mut bytes: Vec<u8> = Vec::new();
    while start > 0 && bytes.iter().filter(|b| **b == b'\n').count() <= n {
        let from = start.saturating_sub(BLOCK);
        let mut block = vec![0u8; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut block)?;
        block.extend_from_slice(&bytes);
        bytes = block;
        start = from;
        if bytes.len() as u64 >= Journal::MAX_BYTES {
            break;
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // begins mid-line
    }
    let mut records: Vec<Record> = lines
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str::<Record>(l).ok())
        .take(n)
        .collect();
    records.reverse();
    Ok(records)
}

/// A test's stand-in for the disk failing a write (full, read-only, a crash).
pub type Fault = Arc<dyn Fn(&Record) -> std::io::Result<()> + Send + Sync>;

pub struct Journal {
    path: PathBuf,
    records: Vec<Record>,
    /// Whether the file ends mid-line (a torn record), so the next append starts anew.
    torn_tail: bool,
    fault: Option<Fault>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("records", &self.records.len())
            .finish()
    }
}

impl Journal {
    pub const FILE: &'static str = "journal.jsonl";
    /// A journal is a line a day per publisher: 64 MiB is centuries of them.
    const MAX_BYTES: u64 = 64 << 20;

    /// Reads the journal in `state` (an absent one is empty). Returns warnings for
    /// lines that could not be read.
    pub fn open(state: &Path) -> std::io::Result<(Journal, Vec<String>)> {
        let path = state.join(Self::FILE);
        let bytes = match crate::files::read_bounded(&path, Self::MAX_BYTES, false) {
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
                fault: None,
            },
            warnings,
        ))
    }

    /// Makes every later append go through `fault` first (tests: a full disk, a crash).
    pub fn set_fault(&mut self, fault: Fault) {
        self.fault = Some(fault);
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The newest `done` or `corrected` record of `who` for `date`, if it published:
    /// what is on the server now.
    pub fn published(&self, who: Who<'_>, date: NaiveDate) -> Option<&Record> {
        self.records
            .iter()
            .rev()
            .find(|r| (r.event.is_out() || r.event == Event::Unpublished) && r.is(who, date))
            .filter(|r| r.event.is_out())
    }

    /// The newest publication of `who`, whatever its date.
    pub fn last_out(&self, who: Who<'_>) -> Option<&Record> {
        self.records
            .iter()
            .rev()
            .find(|r| r.event.is_out() && r.is(who, r.date))
    }

    /// What is out for each date and publisher now (the newest `done`/`corrected`,
    /// unless taken back since), oldest date first.
    pub fn publications(&self) -> Vec<&Record> {
        let mut latest: std::collections::BTreeMap<(NaiveDate, String), &Record> =
            Default::default();
        for r in &self.records {
            if r.event.is_out() || r.event == Event::Unpublished {
                let who = r.account.clone().unwrap_or_else(|| r.publisher.clone());
                latest.insert((r.date, who), r);
            }
        }
        latest.into_values().filter(|r| r.event.is_out()).collect()
    }

    /// The newest intent of `who` for `date` that no `done` answers: it may or may not
    /// have reached the server, so it is looked for there before anything is sent.
    pub fn pending(&self, who: Who<'_>, date: NaiveDate) -> Option<&Record> {
        let intent = self
            .records
            .iter()
            .rev()
            .find(|r| r.event == Event::Intent && r.is(who, date))?;
        let answered = self.records.iter().any(|r| {
            r.event == Event::Done && r.is(who, date) && r.key.is_some() && r.key == intent.key
        });
        (!answered).then_some(intent)
    }

    /// How many publications `who` made for `date`: 0 normally, more after `--force`.
    /// It goes into the key, so a forced publication is a new one.
    pub fn generation(&self, who: Who<'_>, date: NaiveDate) -> u32 {
        let done = self
            .records
            .iter()
            .filter(|r| r.event == Event::Done && r.is(who, date))
            .count();
        u32::try_from(done).unwrap_or(u32::MAX)
    }

    /// Appends `record` and syncs it to disk (and, when this creates the journal,
    /// its folder, so the new file's name survives a power cut too).
    pub fn append(&mut self, record: Record) -> std::io::Result<()> {
        if let Some(fault) = &self.fault {
            fault(&record)?;
        }
        let folder = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&folder)?;
        let mut line = serde_json::to_string(&record).map_err(std::io::Error::other)?;
        line.push('\n');
        if self.torn_tail {
            line.insert(0, '\n');
        }
        let created = !self.path.exists();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(line.as_bytes())?;
        file.sync_data()?;
        if created {
            std::fs::File::open(&folder)?.sync_all()?;
        }
        self.torn_tail = false;
        self.records.push(record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHO: Who<'static> = Who {
        name: "m",
        account: "mastodon https://a.example",
    };

    fn record(date: &str, publisher: &str) -> Record {
        Record {
            date: date.parse().unwrap(),
            publisher: publisher.into(),
            account: None,
            event: Event::Done,
            post: "02/02-25-k.md".into(),
            key: None,
            marker: None,
            remote_id: Some("1".into()),
            url: None,
            sent: None,
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
        let rss = Who {
            name: "rss",
            account: "rss x",
        };
        assert!(j.published(WHO, "2024-02-25".parse().unwrap()).is_some());
        assert!(j.published(rss, "2024-02-25".parse().unwrap()).is_none());
        assert!(j.published(WHO, "2024-02-26".parse().unwrap()).is_none());
    }

    #[test]
    fn an_old_journal_line_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(Journal::FILE),
            "{\"date\":\"2024-02-25\",\"publisher\":\"m\",\"post\":\"posts/02/02-25-k.md\",\"remote_id\":\"7\",\"url\":null,\"at\":\"2024-02-25T09:00:00Z\"}\n",
        )
        .unwrap();
        let (j, w) = Journal::open(dir.path()).unwrap();
        assert!(w.is_empty(), "{w:?}");
        let done = j.published(WHO, "2024-02-25".parse().unwrap()).unwrap();
        assert_eq!(done.remote_id.as_deref(), Some("7"));
    }

    #[test]
    fn intents_are_pending_until_answered_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let date = "2024-02-25".parse().unwrap();
        let mut intent = record("2024-02-25", "m");
        intent.account = Some(WHO.account.into());
        intent.event = Event::Intent;
        intent.key = Some("k0".into());
        j.append(intent.clone()).unwrap();
        assert!(j.pending(WHO, date).is_some());
        // Renamed table, same account: still the same publication.
        let renamed = Who {
            name: "toots",
            account: WHO.account,
        };
        assert!(j.pending(renamed, date).is_some());
        let mut done = intent.clone();
        done.event = Event::Done;
        j.append(done).unwrap();
        assert!(j.pending(WHO, date).is_none());
        assert!(j.published(renamed, date).is_some());
        assert_eq!(j.generation(WHO, date), 1);
        // Taken back: not out any more, and the next publication is a new one.
        let mut gone = intent.clone();
        gone.event = Event::Unpublished;
        j.append(gone).unwrap();
        assert!(j.published(WHO, date).is_none());
        assert!(j.publications().is_empty());
        assert_eq!(j.generation(WHO, date), 1);
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
