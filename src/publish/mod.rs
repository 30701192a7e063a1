//! The publisher seam: one trait, one config enum tagged by `type`, and one
//! `match` ([`PublisherConfig::build`]) that turns a config into a backend.
//!
//! Rendering is pure and is what `preview` shows; `publish` sends exactly those
//! bytes. Only this module and its backends touch the network.

pub mod bluesky;
pub(crate) mod http;
pub mod mastodon;
pub mod retry;
pub mod rss;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::post::Post;
use crate::render::TooLong;
use crate::settings::Problem;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A backend's config, as written under `[publishers.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawPublisher {
    Mastodon(mastodon::MastodonConfig),
    Rss(rss::RssConfig),
    Bluesky(bluesky::BlueskyConfig),
}

impl RawPublisher {
    /// Checks every key once, at load, into settings (URLs parsed, durations read,
    /// the secret's source decided); relative paths are resolved against `base`.
    /// Problems name the key within the table.
    pub fn check(self, base: &Path) -> Result<PublisherConfig, Vec<Problem>> {
        match self {
            RawPublisher::Mastodon(c) => c.check(base).map(PublisherConfig::Mastodon),
            RawPublisher::Rss(c) => c.check(base).map(PublisherConfig::Rss),
            RawPublisher::Bluesky(c) => c.check(base).map(PublisherConfig::Bluesky),
        }
    }
}

/// A backend's checked settings.
#[derive(Debug, Clone)]
pub enum PublisherConfig {
    Mastodon(mastodon::MastodonSettings),
    Rss(rss::RssSettings),
    Bluesky(bluesky::BlueskySettings),
}

impl PublisherConfig {
    /// The backend's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            PublisherConfig::Mastodon(_) => "mastodon",
            PublisherConfig::Rss(_) => "rss",
            PublisherConfig::Bluesky(_) => "bluesky",
        }
    }

    /// The file this publisher writes that the daemon serves (the RSS feed at
    /// `/feed.xml`), if any.
    pub fn served_file(&self) -> Option<&Path> {
        match self {
            PublisherConfig::Rss(c) => Some(&c.path),
            PublisherConfig::Mastodon(_) | PublisherConfig::Bluesky(_) => None,
        }
    }

    /// What the backend calls likes and reposts (`None`: it counts nothing).
    pub fn engagement_words(&self) -> Option<(&'static str, &'static str)> {
        match self {
            PublisherConfig::Mastodon(_) => Some(("favourites", "boosts")),
            PublisherConfig::Bluesky(_) => Some(("likes", "reposts")),
            PublisherConfig::Rss(_) => None,
        }
    }

    /// The registry: the one place that knows every backend.
    pub fn build(&self, name: &str, env: &Environment) -> Box<dyn Publisher> {
        match self {
            PublisherConfig::Mastodon(c) => Box::new(mastodon::Mastodon::new(name, c, env)),
            PublisherConfig::Rss(c) => Box::new(rss::Rss::new(name, c, env)),
            PublisherConfig::Bluesky(c) => Box::new(bluesky::Bluesky::new(name, c, env)),
        }
    }
}

/// Looks up an environment variable.
pub type EnvVar = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What every backend may need from the bot, beyond its own config.
#[derive(Clone)]
pub struct Environment {
    pub clock: Arc<dyn Clock>,
    /// The bot's default language (`bot.language`).
    pub language: String,
    pub timezone: Tz,
    /// The state folder (`bot.state`): backends keep what must outlive a run here.
    pub state: PathBuf,
    /// Reads an environment variable; injected so tests need not touch the process's.
    pub env_var: EnvVar,
    /// Makes journal writes fail (the simulation's full disks and crashes); `None`
    /// everywhere but in tests.
    pub journal_fault: Option<crate::journal::Fault>,
    /// How long one publication may spend waiting between retries: minutes for the
    /// daemon (it tries again later anyway), seconds for a command someone waits on.
    pub retry_budget: std::time::Duration,
}

/// The daemon's retry budget per attempt at a publication.
pub const DAEMON_RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(300);

/// What the bot knows about one publication when it renders it.
#[derive(Debug, Clone)]
pub struct Occasion {
    /// The publishing date, in the bot's zone.
    pub date: NaiveDate,
    /// When it goes out (the day's scheduled fire time): the feed's `pubDate`.
    pub at: DateTime<Tz>,
}

/// One publisher's rendering of a post: what `preview` prints and `publish` sends.
#[derive(Debug, Clone, Serialize)]
pub struct Rendered {
    pub publisher: String,
    #[serde(flatten)]
    pub output: Output,
}

/// The backend-specific part of a rendering, tagged by the backend's `type`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    Mastodon(mastodon::Toot),
    Rss(rss::Item),
    Bluesky(bluesky::Skeet),
}

impl Rendered {
    /// What `preview` prints for people: a header with the counts, then exactly
    /// what goes out.
    pub fn write_text(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match &self.output {
            Output::Mastodon(t) => {
                writeln!(
                    out,
                    "\n--- {} (mastodon) {}/{} characters, {} ---",
                    self.publisher,
                    t.length,
                    t.limit,
                    t.visibility.as_str()
                )?;
                if let Some(cw) = &t.spoiler_text {
                    writeln!(out, "[content warning: {cw}]")?;
                }
                writeln!(out, "{}", t.text)?;
                if let Some(i) = &t.image {
                    writeln!(out, "[image: {} — alt: {}]", i.path.display(), i.alt)?;
                }
            }
            Output::Bluesky(b) => {
                writeln!(
                    out,
                    "\n--- {} (bluesky) {}/{} graphemes, {} bytes ---",
                    self.publisher, b.length, b.limit, b.bytes
                )?;
                writeln!(out, "{}", b.text)?;
                if let Some(card) = &b.card {
                    writeln!(out, "[link card: {} — {}]", card.title, card.uri)?;
                    if let Some(thumb) = &card.thumb {
                        writeln!(out, "[thumbnail: {}]", thumb.display())?;
                    }
                }
            }
            Output::Rss(i) => {
                writeln!(out, "\n--- {} (rss) ---", self.publisher)?;
                writeln!(out, "title:       {}", i.title)?;
                writeln!(out, "link:        {}", i.link)?;
                writeln!(out, "guid:        {}", i.guid)?;
                writeln!(out, "pubDate:     {}", i.pub_date)?;
                writeln!(out, "description: {}", i.description)?;
            }
        }
        Ok(())
    }
}

impl Output {
    /// Whether the post's summary went out whole (it is the only part ever cut).
    pub fn carries_whole(&self, summary: &str) -> bool {
        match self {
            Output::Mastodon(toot) => toot.text.contains(summary),
            Output::Bluesky(skeet) => skeet.text.contains(summary),
            Output::Rss(_) => true,
        }
    }

    /// What reconciliation looks for on the server if the answer to this
    /// publication is lost: the link a status carries (else its first line), the
    /// record key, the feed item's guid. Journaled with the intent, so it is what
    /// was sent then, whatever the post says now.
    pub fn marker(&self, key: &IdempotencyKey) -> String {
        match self {
            Output::Mastodon(toot) => mastodon::marker(toot),
            Output::Bluesky(skeet) => bluesky::rkey_for(skeet, key),
            Output::Rss(item) => rss::guid_for(item, key),
        }
    }
}

/// One field of a rendering that a correction changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// The fields that differ between what went out (`before`, as journaled) and a
/// rendering now. Counts and offsets derived from the text are left out: the text's
/// own change says it.
pub fn changes(before: &serde_json::Value, after: &serde_json::Value) -> Vec<Change> {
    const DERIVED: [&str; 4] = ["length", "bytes", "facets", "limit"];
    let show = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut keys: Vec<&String> = before
        .as_object()
        .into_iter()
        .chain(after.as_object())
        .flat_map(|o| o.keys())
        .filter(|k| !DERIVED.contains(&k.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (b, a) = (show(before.get(k)), show(after.get(k)));
            (b != a).then(|| Change {
                field: k.clone(),
                before: b,
                after: a,
            })
        })
        .collect()
}

/// What a server said when a publication went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The server's id for what was made (a status id, a feed item's guid).
    pub remote_id: String,
    /// Where followers see it, when there is such a place.
    pub url: Option<String>,
    /// The server's ids of the media it carries (Mastodon), so a correction can
    /// keep an unchanged picture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    /// What the server's answer shows it dropped of what was sent (a content
    /// warning, the visibility, the picture): said, never silently lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

/// Whether trying again could help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Bad credentials, a rejected post, a broken config: a person must act.
    Never,
    /// An outage or a rate limit outlasted the retry budget: try again later.
    Later,
}

/// A publication that failed; the message names the publisher and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{publisher}: {message}")]
pub struct PublishError {
    pub publisher: String,
    pub message: String,
    pub retry: Retry,
}

impl PublishError {
    pub fn new(publisher: &str, retry: Retry, message: impl Into<String>) -> Self {
        PublishError {
            publisher: publisher.to_string(),
            message: message.into(),
            retry,
        }
    }
}

/// A failed rendering (a post too long for a publisher).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderError {
    #[error("{publisher}: {source}")]
    TooLong { publisher: String, source: TooLong },
}

/// A publication's identity and its `Idempotency-Key`: the same for every attempt
/// at one publication, so a retry, a crash-and-restart or a second replica never
/// makes a second status.
///
/// It comes from the account, the date, the post file (its path in the library)
/// and the generation (how many times that date was published there before: 0
/// unless `--force`), never from the post's URL or text, so an edited post is
/// still the same publication. A retry reuses the key its intent journaled, so
/// even a post swapped for another between attempts is the same publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    text: String,
    pub date: NaiveDate,
    pub generation: u32,
}

impl IdempotencyKey {
    pub fn new(account: &str, date: NaiveDate, post: &str, generation: u32) -> Self {
        let digest = Sha256::digest(format!("todayis\0{account}\0{date}\0{post}\0{generation}"));
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        IdempotencyKey {
            text: format!("todayis-{date}-{hex}"),
            date,
            generation,
        }
    }

    /// A key read back from the journal's intent.
    pub fn from_journal(text: &str, date: NaiveDate, generation: u32) -> Self {
        IdempotencyKey {
            text: text.to_string(),
            date,
            generation,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What `check --online` learnt from a server.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineReport {
    /// One line a finding, for people.
    pub findings: Vec<String>,
    /// Mismatches the operator should fix (e.g. a limit above the server's).
    pub problems: Vec<String>,
}

/// A publishing backend.
pub trait Publisher: Send + Sync {
    fn name(&self) -> &str;

    /// The account it publishes to (server and identity, never a secret): the
    /// publication's identity in the journal, so renaming a `[publishers.NAME]`
    /// table never publishes a day again.
    fn account(&self) -> String;

    /// The exact output for `post` on `occasion`. Pure: no IO, no clock.
    fn render(&self, post: &Post, occasion: &Occasion) -> Result<Rendered, RenderError>;

    /// Sends a rendering. Retries passing faults inside its own budget; the key is
    /// the same for every attempt at this publication.
    fn publish<'a>(
        &'a self,
        rendered: &'a Rendered,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>>;

    /// Looks on the server for a publication whose intent was journaled but whose
    /// answer never was (a crash, a lost answer, a failed journal write): `Some`
    /// when it is there. `marker` is what the intent recorded ([`Output::marker`]);
    /// `since` is when the intent was written.
    fn reconcile<'a>(
        &'a self,
        marker: &'a str,
        since: DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Receipt>, PublishError>>;

    /// Makes the publication `out` (as journaled; `before` is what it carried) read
    /// as `now`: an edit in place where the service has one (same id, the server's
    /// edit history keeps both). `new_picture`: the picture's bytes changed, so it
    /// is uploaded anew. `repost`: where there is no edit, delete and post again.
    /// Running it again with the same `now` changes nothing more.
    fn correct<'a>(
        &'a self,
        out: &'a crate::journal::Record,
        before: &'a crate::journal::Sent,
        now: &'a Rendered,
        new_picture: bool,
        repost: bool,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>>;

    /// Whether its secret resolves (set, readable, not empty, no spaces around it):
    /// checked at `check` and at the daemon's start, not first at the day's fire.
    /// The error says where the secret was looked for, never what it is.
    fn credentials(&self) -> Result<(), String> {
        Ok(())
    }

    /// Takes a publication back (`todayis unpublish`): deletes the status or record,
    /// or removes the feed item. One already gone is no error.
    fn unpublish<'a>(
        &'a self,
        out: &'a crate::journal::Record,
    ) -> BoxFuture<'a, Result<(), PublishError>>;

    /// Whether a correction can be made in place, losing nothing (Bluesky: no).
    fn edits_in_place(&self) -> bool {
        true
    }

    /// How long a request sent before a crash may still take to land (its timeout):
    /// an intent younger than this is not looked for yet, or a request still on
    /// its way could be missed and the publication sent twice.
    fn settle(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Asks the server whether the credentials work and the limits match.
    fn check_online(&self) -> BoxFuture<'_, Result<OnlineReport, PublishError>>;

    /// How the publications `remote_ids` (as journaled) do now, as the server
    /// counts: one pair for each the server still has. Batched where the API
    /// allows; rate limits are waited out inside the retry budget. A publisher
    /// with nothing to count (a feed) answers an empty list.
    fn engagement<'a>(
        &'a self,
        remote_ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, Engagement)>, PublishError>> {
        let _ = remote_ids;
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// What followers did with one publication, as its server counts now. Mastodon's
/// favourites and boosts, Bluesky's likes and reposts; replies on both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    pub likes: u64,
    pub reposts: u64,
    pub replies: u64,
}

impl Engagement {
    pub fn total(&self) -> u64 {
        self.likes
            .saturating_add(self.reposts)
            .saturating_add(self.replies)
    }

    pub fn add(&mut self, other: &Engagement) {
        self.likes = self.likes.saturating_add(other.likes);
        self.reposts = self.reposts.saturating_add(other.reposts);
        self.replies = self.replies.saturating_add(other.replies);
    }
}

/// A secret read from the environment or a file, only when it is needed.
#[derive(Clone, Deserialize, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where a secret comes from: `*_env` names a variable, `*_file` a file (Docker and
/// Kubernetes secrets); never the secret itself.
#[derive(Debug, Clone)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

impl SecretSource {
    /// Checks that exactly one of the two keys is set; a file is resolved
    /// against `base` (the config's folder). The problem is under `env_key`.
    pub fn from_keys(
        env: Option<&String>,
        file: Option<&PathBuf>,
        (env_key, file_key): (&str, &str),
        base: &Path,
    ) -> Result<SecretSource, String> {
        match (env, file) {
            (Some(e), None) if !e.trim().is_empty() => Ok(SecretSource::Env(e.clone())),
            (None, Some(f)) => Ok(SecretSource::File(crate::settings::clean(&base.join(f)))),
            (Some(_), Some(_)) => Err(format!("set `{env_key}` or `{file_key}`, not both")),
            _ => Err(format!(
                "set `{env_key}` (an environment variable's name) or `{file_key}` (a file holding the secret)"
            )),
        }
    }

    /// Reads the secret; the error says where it was looked for, never what it is.
    pub fn read(&self, env: &Environment) -> Result<Secret, String> {
        let value = match self {
            SecretSource::Env(name) => (env.env_var)(name)
                .ok_or_else(|| format!("the environment variable {name} is not set"))?,
            SecretSource::File(path) => std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "cannot read the secret file {}: {}",
                    path.display(),
                    e.kind()
                )
            })?,
        };
        let value = value.trim_end_matches(['\n', '\r']).to_string();
        let place = || match self {
            SecretSource::Env(name) => format!("the environment variable {name}"),
            SecretSource::File(path) => format!("the secret file {}", path.display()),
        };
        if value.trim().is_empty() {
            return Err(format!("{} is empty", place()));
        }
        // A pasted token with a space or tab around it would be refused by the
        // server with a puzzling 401: say so here.
        if value.trim() != value {
            return Err(format!(
                "{} has spaces or tabs around the secret: remove them",
                place()
            ));
        }
        Ok(Secret(value))
    }
}

/// Checks a server address: https, or plain http for loopback addresses only
/// (a token must never cross a network in clear text).
pub fn check_server_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|e| format!("`{value}` is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("`{value}` has no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(format!(
            "`{value}` must use https (plain http only for loopback addresses)"
        )),
        other => Err(format!("`{value}`: the scheme must be https, not {other}")),
    }
}

/// An address as a backend uses it: without the trailing slash.
pub(crate) fn base_of(url: &url::Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// The default of every backend's `timeout` key.
pub(crate) fn default_timeout() -> String {
    "30s".into()
}

/// A backend's `timeout` key: how long one request may take before it is abandoned
/// and retried (with the same idempotency key or record key).
pub(crate) fn request_timeout(text: &str) -> Result<std::time::Duration, String> {
    crate::settings::bounded_duration(
        text,
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(600),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 25).unwrap();
        let m = "mastodon https://m.example";
        let a = IdempotencyKey::new(m, d, "02/02-25-k.md", 0);
        assert_eq!(a, IdempotencyKey::new(m, d, "02/02-25-k.md", 0));
        assert_ne!(
            a,
            IdempotencyKey::new("mastodon https://o.example", d, "02/02-25-k.md", 0)
        );
        assert_ne!(a, IdempotencyKey::new(m, d, "02/02-25-k.md", 1));
        assert_ne!(a, IdempotencyKey::new(m, d, "02/02-25-x.md", 0));
        assert_ne!(
            a,
            IdempotencyKey::new(m, d.succ_opt().unwrap(), "02/02-25-k.md", 0)
        );
        assert!(a.as_str().starts_with("todayis-2024-02-25-"));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let s = Secret("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn server_urls() {
        assert!(check_server_url("https://mastodon.example").is_ok());
        assert!(check_server_url("http://127.0.0.1:3000").is_ok());
        assert!(check_server_url("http://[::1]:3000").is_ok());
        assert!(check_server_url("http://localhost:3000").is_ok());
        assert!(check_server_url("http://mastodon.example").is_err());
        assert!(check_server_url("ftp://mastodon.example").is_err());
        assert!(check_server_url("mastodon.example").is_err());
    }
}
