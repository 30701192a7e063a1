//! What the daemon knows about itself, shared with the HTTP side: health, the last
//! and next fire, each publisher's last result, and the counters behind /metrics.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// What a publisher's last attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicationResult {
    Published,
    AlreadyPublished,
    Failed,
}

impl PublicationResult {
    pub const ALL: [PublicationResult; 3] = [
        PublicationResult::Published,
        PublicationResult::AlreadyPublished,
        PublicationResult::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PublicationResult::Published => "published",
            PublicationResult::AlreadyPublished => "already_published",
            PublicationResult::Failed => "failed",
        }
    }
}

/// One publisher's record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PublisherStatus {
    /// `ok`, or where its secret was looked for and why it does not resolve.
    pub credentials: Option<String>,
    pub last_result: Option<PublicationResult>,
    pub last_date: Option<NaiveDate>,
    pub last_message: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub counts: BTreeMap<PublicationResult, u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// When the scheduler loop last went round, and how many times it has.
    pub heartbeat: Option<DateTime<Utc>>,
    pub wakeups: u64,
    /// Set while a publication is in progress (which may take a while).
    pub busy_since: Option<DateTime<Utc>>,
    pub last_fire: Option<DateTime<Utc>>,
    pub next_fire: Option<DateTime<Utc>>,
    pub publishers: BTreeMap<String, PublisherStatus>,
    pub posts_in_library: usize,
    pub days_without_post: usize,
    /// A config that SIGHUP tried to load and that was refused; cleared by a good one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
    /// The RSS publisher's feed file, served at /feed.xml.
    #[serde(skip)]
    pub feed_path: Option<PathBuf>,
    /// When a failed publication is tried again.
    #[serde(skip)]
    pub next_retry: Option<DateTime<Utc>>,
    /// What the page at `/` shows, prepared by the daemon (with `server.listen`).
    #[serde(skip)]
    pub page: Option<Arc<crate::dashboard::PageData>>,
    /// This month's engagement, from the daemon's last hourly read.
    #[serde(skip)]
    pub engagement: Option<Arc<crate::stats::StatsReport>>,
}

/// The scheduler loop wakes at least every five minutes; ten minutes of silence
/// outside a publication means it is stuck.
const STALE_AFTER_SECONDS: i64 = 600;

impl Status {
    pub fn healthy(&self, now: DateTime<Utc>) -> bool {
        self.busy_since.is_some()
            || self
                .heartbeat
                .is_some_and(|h| (now - h).num_seconds() < STALE_AFTER_SECONDS)
    }

    pub fn record(
        &mut self,
        publisher: &str,
        date: NaiveDate,
        result: PublicationResult,
        message: Option<String>,
        now: DateTime<Utc>,
    ) {
        let p = self.publishers.entry(publisher.to_string()).or_default();
        p.last_result = Some(result);
        p.last_date = Some(date);
        p.last_message = message;
        if result == PublicationResult::Published {
            p.last_success = Some(now);
        }
        *p.counts.entry(result).or_default() += 1;
    }

    /// Follows the journal: what it says went out (maybe by `todayis publish` in
    /// another process, or before a restart) is what is true. A failure the journal
    /// has since seen fixed is no longer reported; the last success survives restarts.
    pub fn follow_journal(&mut self, publisher: &str, last_out: Option<&crate::journal::Record>) {
        let Some(out) = last_out else { return };
        let p = self.publishers.entry(publisher.to_string()).or_default();
        if p.last_success.is_none_or(|s| s < out.at) {
            p.last_success = Some(out.at);
        }
        let fixed = p.last_result == Some(PublicationResult::Failed)
            && p.last_date.is_some_and(|d| d <= out.date);
        if p.last_result.is_none() || fixed {
            p.last_result = Some(PublicationResult::Published);
            p.last_date = Some(out.date);
            p.last_message = None;
        }
    }

    /// Prometheus text exposition.
    pub fn metrics(&self, now: DateTime<Utc>) -> String {
        let mut m = String::new();
        let _ = writeln!(
            m,
            "# HELP todayis_up Whether the scheduler loop is alive.\n# TYPE todayis_up gauge\ntodayis_up {}",
            u8::from(self.healthy(now))
        );
        let _ = writeln!(
            m,
            "# HELP todayis_publications_total Publications by publisher and result.\n# TYPE todayis_publications_total counter"
        );
        for (name, p) in &self.publishers {
            for result in PublicationResult::ALL {
                let n = p.counts.get(&result).copied().unwrap_or(0);
                let _ = writeln!(
                    m,
                    "todayis_publications_total{{publisher=\"{}\",result=\"{}\"}} {n}",
                    label(name),
                    result.as_str()
                );
            }
        }
        let _ = writeln!(
            m,
            "# HELP todayis_last_success_timestamp_seconds When each publisher last published.\n# TYPE todayis_last_success_timestamp_seconds gauge"
        );
        for (name, p) in &self.publishers {
            if let Some(t) = p.last_success {
                let _ = writeln!(
                    m,
                    "todayis_last_success_timestamp_seconds{{publisher=\"{}\"}} {}",
                    label(name),
                    t.timestamp()
                );
            }
        }
        if let Some(t) = self.next_fire {
            let _ = writeln!(
                m,
                "# HELP todayis_next_fire_timestamp_seconds The next scheduled publication.\n# TYPE todayis_next_fire_timestamp_seconds gauge\ntodayis_next_fire_timestamp_seconds {}",
                t.timestamp()
            );
        }
        let _ = writeln!(
            m,
            "# HELP todayis_config_reload_failed Whether the last SIGHUP's config was refused (the running one is kept).\n# TYPE todayis_config_reload_failed gauge\ntodayis_config_reload_failed {}",
            u8::from(self.config_error.is_some())
        );
        let _ = writeln!(
            m,
            "# HELP todayis_credentials_ok Whether each publisher's secret resolves.\n# TYPE todayis_credentials_ok gauge"
        );
        for (name, p) in &self.publishers {
            if let Some(c) = &p.credentials {
                let _ = writeln!(
                    m,
                    "todayis_credentials_ok{{publisher=\"{}\"}} {}",
                    label(name),
                    u8::from(c == "ok")
                );
            }
        }
        let _ = writeln!(
            m,
            "# HELP todayis_wakeups_total Times the scheduler loop has woken.\n# TYPE todayis_wakeups_total counter\ntodayis_wakeups_total {}",
            self.wakeups
        );
        let _ = writeln!(
            m,
            "# HELP todayis_posts Posts in the library.\n# TYPE todayis_posts gauge\ntodayis_posts {}",
            self.posts_in_library
        );
        let _ = writeln!(
            m,
            "# HELP todayis_days_without_post Days of the year (of 366) with no post.\n# TYPE todayis_days_without_post gauge\ntodayis_days_without_post {}",
            self.days_without_post
        );
        m
    }
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(date: &str, at: &str) -> crate::journal::Record {
        crate::journal::Record {
            date: date.parse().unwrap(),
            publisher: "m".into(),
            account: None,
            event: crate::journal::Event::Done,
            post: "p.md".into(),
            key: None,
            marker: None,
            remote_id: Some("1".into()),
            url: None,
            sent: None,
            at: DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn a_failure_fixed_elsewhere_is_no_longer_reported_and_successes_survive_restarts() {
        let mut s = Status::default();
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        // A restart: the journal says what went out last.
        s.follow_journal("m", Some(&out("2024-02-24", "2024-02-24T09:00:00Z")));
        assert_eq!(
            s.publishers["m"].last_success,
            Some(at("2024-02-24T09:00:00Z"))
        );
        assert!(
            s.metrics(at("2024-02-25T00:00:00Z"))
                .contains("todayis_last_success_timestamp_seconds{publisher=\"m\"} 1708765200")
        );
        // The day fails in the daemon; `todayis publish` fixes it from another process.
        s.record(
            "m",
            "2024-02-25".parse().unwrap(),
            PublicationResult::Failed,
            Some("HTTP 503".into()),
            at("2024-02-25T09:00:00Z"),
        );
        s.follow_journal("m", Some(&out("2024-02-24", "2024-02-24T09:00:00Z")));
        assert_eq!(
            s.publishers["m"].last_result,
            Some(PublicationResult::Failed),
            "not fixed yet"
        );
        s.follow_journal("m", Some(&out("2024-02-25", "2024-02-25T09:30:00Z")));
        assert_eq!(
            s.publishers["m"].last_result,
            Some(PublicationResult::Published)
        );
        assert_eq!(s.publishers["m"].last_message, None);
        assert_eq!(
            s.publishers["m"].last_success,
            Some(at("2024-02-25T09:30:00Z"))
        );
    }
}
