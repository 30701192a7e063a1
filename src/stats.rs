//! Engagement: what followers did with each publication (Mastodon's favourites,
//! boosts and replies; Bluesky's likes, reposts and replies), as the servers count
//! now, gathered into totals per post, month, tag and weekday.
//!
//! The counts are kept in the state folder (`engagement.json`) with when each was
//! read: one younger than an hour is never asked for again, so a second `stats`
//! within the hour, or the daemon's page, asks the servers for nothing.
//! [`report`] is pure; [`refresh`] is the shell that asks the publishers.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::journal::Record;
use crate::publish::{Engagement, Publisher};

/// How long a count read from a server is good for.
pub const FRESH_FOR: chrono::Duration = chrono::Duration::hours(1);

/// The counts read so far, by publication.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Cache {
    #[serde(default)]
    pub entries: BTreeMap<String, Cached>,
}

/// One publication's counts and when they were read; `counts` is `None` when the
/// server no longer has it (deleted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cached {
    pub at: DateTime<Utc>,
    pub counts: Option<Engagement>,
}

impl Cache {
    pub const FILE: &'static str = "engagement.json";
    const MAX_BYTES: u64 = 32 << 20;

    /// The cache in `state`; an absent or unreadable one is empty (it is only a cache).
    pub fn load(state: &Path) -> Cache {
        crate::files::read_bounded(&state.join(Self::FILE), Self::MAX_BYTES, false)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, state: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        std::fs::create_dir_all(state)?;
        crate::atomic::write(&state.join(Self::FILE), &bytes)
    }

    pub fn get(&self, record: &Record) -> Option<&Cached> {
        self.entries.get(&key(record)?)
    }
}

/// A publication's key in the cache: the account (or the publisher's name, in old
/// journals) and the server's id.
fn key(record: &Record) -> Option<String> {
    let id = record.remote_id.as_deref()?;
    Some(format!("{} {id}", who(record)))
}

fn who(record: &Record) -> &str {
    record.account.as_deref().unwrap_or(&record.publisher)
}

/// What is on the servers now: per account and date, the newest `done` or
/// `corrected` record, oldest date first, within `since..=until`.
pub fn publications(
    records: &[Record],
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Vec<&Record> {
    let mut newest: BTreeMap<(NaiveDate, &str), &Record> = BTreeMap::new();
    for r in records.iter().filter(|r| r.event.is_out()) {
        if since.is_some_and(|s| r.date < s) || until.is_some_and(|u| r.date > u) {
            continue;
        }
        newest.insert((r.date, who(r)), r);
    }
    newest.into_values().collect()
}

/// Asks each counting publisher for the publications whose counts are missing or
/// older than [`FRESH_FOR`], and keeps the answers. Returns one message per
/// publisher that could not be read (its older counts stay).
pub async fn refresh(
    config: &Config,
    publishers: &[Arc<dyn Publisher>],
    publications: &[&Record],
    cache: &mut Cache,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for publisher in publishers {
        let counts = config
            .publishers
            .iter()
            .find(|(name, _)| name == publisher.name())
            .and_then(|(_, c)| c.engagement_words());
        if counts.is_none() {
            continue;
        }
        let account = publisher.account();
        let stale: Vec<&Record> = publications
            .iter()
            .copied()
            .filter(|r| match &r.account {
                Some(a) => *a == account,
                None => r.publisher == publisher.name(),
            })
            .filter(|r| {
                cache
                    .get(r)
                    .is_none_or(|c| now.signed_duration_since(c.at) >= FRESH_FOR)
            })
            .collect();
        let ids: Vec<String> = stale.iter().filter_map(|r| r.remote_id.clone()).collect();
        if ids.is_empty() {
            continue;
        }
        match publisher.engagement(&ids).await {
            Ok(found) => {
                let found: HashMap<String, Engagement> = found.into_iter().collect();
                // One the server does not have (deleted, or not indexed yet: an
                // AppView is a little behind the PDS) is asked for again next time.
                for r in stale {
                    if let (Some(k), Some(counts)) =
                        (key(r), r.remote_id.as_deref().and_then(|id| found.get(id)))
                    {
                        let counts = Some(*counts);
                        cache.entries.insert(k, Cached { at: now, counts });
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    problems
}

/// A post as the report names it: from the library as it reads now.
#[derive(Debug, Clone)]
pub struct PostInfo {
    pub title: String,
    pub url: String,
    pub tags: Vec<String>,
}

/// `todayis stats`: `--format json` prints it as it is, and the page draws it.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// What each counting publisher calls its numbers.
    pub publishers: Vec<Counter>,
    /// One per publishing date, oldest first.
    pub posts: Vec<PostStats>,
    pub totals: Engagement,
    pub by_month: Vec<Bucket>,
    pub by_tag: Vec<Bucket>,
    pub by_weekday: Vec<Bucket>,
    /// The five posts with the most, and the five with the least (among those counted).
    pub best: Vec<Ranked>,
    pub worst: Vec<Ranked>,
    /// Publishers whose servers could not be read now (their older counts are used).
    pub unavailable: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counter {
    pub publisher: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub likes: String,
    pub reposts: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PostStats {
    pub date: NaiveDate,
    pub weekday: String,
    /// The post file, relative to the posts folder.
    pub post: String,
    /// `null` when the file is no longer in the library.
    pub title: Option<String>,
    pub url: Option<String>,
    pub tags: Vec<String>,
    pub total: Engagement,
    pub places: Vec<Place>,
}

/// Where a post went and what it got there.
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub publisher: String,
    /// The status, the Bluesky post or the feed item.
    pub url: Option<String>,
    /// `null`: not counted (a feed), not read yet, or gone from the server.
    pub counts: Option<Engagement>,
    /// When the counts were read.
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    pub key: String,
    pub posts: usize,
    pub counts: Engagement,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    pub date: NaiveDate,
    pub title: String,
    pub total: u64,
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Gathers the report from the publications, the cached counts and the posts.
pub fn report(
    config: &Config,
    publications: &[&Record],
    cache: &Cache,
    posts: &HashMap<String, PostInfo>,
    (since, until): (Option<NaiveDate>, Option<NaiveDate>),
    unavailable: Vec<String>,
) -> StatsReport {
    let counting: HashMap<&str, (&str, &str)> = config
        .publishers
        .iter()
        .filter_map(|(n, c)| c.engagement_words().map(|w| (n.as_str(), w)))
        .collect();
    let mut by_date: BTreeMap<(NaiveDate, &str), PostStats> = BTreeMap::new();
    for r in publications {
        let entry = by_date.entry((r.date, &r.post)).or_insert_with(|| {
            let info = posts.get(&r.post);
            PostStats {
                date: r.date,
                weekday: WEEKDAYS[r.date.weekday().num_days_from_monday() as usize].to_string(),
                post: r.post.clone(),
                title: info.map(|i| i.title.clone()),
                url: info.map(|i| i.url.clone()),
                tags: info.map(|i| i.tags.clone()).unwrap_or_default(),
                total: Engagement::default(),
                places: Vec::new(),
            }
        });
        let cached = counting
            .contains_key(r.publisher.as_str())
            .then(|| cache.get(r))
            .flatten();
        let counts = cached.and_then(|c| c.counts);
        if let Some(c) = &counts {
            entry.total.add(c);
        }
        entry.places.push(Place {
            publisher: r.publisher.clone(),
            url: r.url.clone(),
            counts,
            as_of: cached.map(|c| c.at),
        });
    }
    let posts_out: Vec<PostStats> = by_date.into_values().collect();
    let mut totals = Engagement::default();
    let mut months: BTreeMap<String, Bucket> = BTreeMap::new();
    let mut tags: BTreeMap<String, Bucket> = BTreeMap::new();
    let mut weekdays: Vec<Bucket> = WEEKDAYS
        .iter()
        .map(|d| Bucket {
            key: d.to_string(),
            posts: 0,
            counts: Engagement::default(),
        })
        .collect();
    let add = |bucket: &mut Bucket, p: &PostStats| {
        bucket.posts += 1;
        bucket.counts.add(&p.total);
    };
    for p in &posts_out {
        totals.add(&p.total);
        let month = p.date.format("%Y-%m").to_string();
        add(
            months.entry(month.clone()).or_insert_with(|| empty(&month)),
            p,
        );
        for t in &p.tags {
            add(tags.entry(t.clone()).or_insert_with(|| empty(t)), p);
        }
        add(
            &mut weekdays[p.date.weekday().num_days_from_monday() as usize],
            p,
        );
    }
    let mut by_tag: Vec<Bucket> = tags.into_values().collect();
    by_tag.sort_by(|a, b| {
        b.counts
            .total()
            .cmp(&a.counts.total())
            .then(a.key.cmp(&b.key))
    });
    let mut counted: Vec<&PostStats> = posts_out
        .iter()
        .filter(|p| p.places.iter().any(|pl| pl.counts.is_some()))
        .collect();
    counted.sort_by(|a, b| {
        b.total
            .total()
            .cmp(&a.total.total())
            .then(b.date.cmp(&a.date))
    });
    let ranked = |p: &&PostStats| Ranked {
        date: p.date,
        title: p.title.clone().unwrap_or_else(|| p.post.clone()),
        total: p.total.total(),
    };
    let best = counted.iter().take(5).map(ranked).collect();
    let worst = counted.iter().rev().take(5).map(ranked).collect();
    StatsReport {
        since,
        until,
        publishers: config
            .publishers
            .iter()
            .filter_map(|(n, c)| {
                c.engagement_words().map(|(likes, reposts)| Counter {
                    publisher: n.clone(),
                    kind: c.kind().to_string(),
                    likes: likes.to_string(),
                    reposts: reposts.to_string(),
                })
            })
            .collect(),
        posts: posts_out,
        totals,
        by_month: months.into_values().collect(),
        by_tag,
        by_weekday: weekdays,
        best,
        worst,
        unavailable,
    }
}

fn empty(key: &str) -> Bucket {
    Bucket {
        key: key.to_string(),
        posts: 0,
        counts: Engagement::default(),
    }
}

/// The posts of the library by their path, as the journal names them.
pub fn post_index(config: &Config, posts: &[crate::post::Post]) -> HashMap<String, PostInfo> {
    posts
        .iter()
        .map(|p| {
            (
                crate::runner::post_id(config, p),
                PostInfo {
                    title: p.title.clone(),
                    url: p.url.clone(),
                    tags: p.tags.clone(),
                },
            )
        })
        .collect()
}
