//! The publisher seam: one trait, one config enum tagged by `type`, and one
//! `match` ([`PublisherConfig::build`]) that turns a config into a backend.
//!
//! Rendering is pure and is what `preview` shows; `publish` sends exactly those
//! bytes. Only this module and its backends touch the network.

pub mod bluesky;
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

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A backend's config, as written under `[publishers.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PublisherConfig {
    Mastodon(mastodon::MastodonConfig),
    Rss(rss::RssConfig),
    Bluesky(bluesky::BlueskyConfig),
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

    /// Makes relative paths relative to the config file's folder.
    pub fn resolve_paths(&mut self, base: &Path) {
        match self {
            PublisherConfig::Mastodon(c) => c.resolve_paths(base),
            PublisherConfig::Rss(c) => c.resolve_paths(base),
            PublisherConfig::Bluesky(c) => c.resolve_paths(base),
        }
    }

    /// Problems, each starting with the key it is about.
    pub fn validate(&self) -> Vec<String> {
        match self {
            PublisherConfig::Mastodon(c) => c.validate(),
            PublisherConfig::Rss(c) => c.validate(),
            PublisherConfig::Bluesky(c) => c.validate(),
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
}

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

/// What a server said when a publication went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The server's id for what was made (a status id, a feed item's guid).
    pub remote_id: String,
    /// Where followers see it, when there is such a place.
    pub url: Option<String>,
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
    #[error("{publisher}: {message}")]
    Other { publisher: String, message: String },
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

    /// How long a request sent before a crash may still take to land (its timeout):
    /// an intent younger than this is not looked for yet, or a request still on
    /// its way could be missed and the publication sent twice.
    fn settle(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Asks the server whether the credentials work and the limits match.
    fn check_online(&self) -> BoxFuture<'_, Result<OnlineReport, PublishError>>;
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
    /// Checks that exactly one of the two keys is set.
    pub fn from_keys(
        env: Option<&String>,
        file: Option<&PathBuf>,
        env_key: &str,
        file_key: &str,
    ) -> Result<SecretSource, String> {
        match (env, file) {
            (Some(e), None) if !e.trim().is_empty() => Ok(SecretSource::Env(e.clone())),
            (None, Some(f)) => Ok(SecretSource::File(f.clone())),
            (Some(_), Some(_)) => Err(format!(
                "{env_key}`: set `{env_key}` or `{file_key}`, not both"
            )),
            _ => Err(format!(
                "{env_key}`: set `{env_key}` (an environment variable's name) or `{file_key}` (a file holding the secret)"
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
        if value.trim().is_empty() {
            let place = match self {
                SecretSource::Env(name) => format!("the environment variable {name}"),
                SecretSource::File(path) => format!("the secret file {}", path.display()),
            };
            return Err(format!("{place} is empty"));
        }
        Ok(Secret(value))
    }
}

/// Checks a server address: https, or plain http for loopback addresses only
/// (a token must never cross a network in clear text).
pub fn check_server_url(key: &str, value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|e| format!("{key}`: `{value}` is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("{key}`: `{value}` has no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(format!(
            "{key}`: `{value}` must use https (plain http only for loopback addresses)"
        )),
        other => Err(format!(
            "{key}`: `{value}`: the scheme must be https, not {other}"
        )),
    }
}

/// How long a 429 asks us to wait: `X-RateLimit-Reset` (ISO 8601 on Mastodon) or
/// `RateLimit-Reset` (Unix seconds on Bluesky) measured against the server's own `Date` when it sends one
/// (so our clock's skew does not matter), else `Retry-After` seconds.
pub(crate) fn rate_limit_wait(
    response: &reqwest::Response,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<std::time::Duration> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let server_now = header("date")
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or(now);
    let reset = header("x-ratelimit-reset")
        .or_else(|| header("ratelimit-reset"))
        .and_then(|r| {
            chrono::DateTime::parse_from_rfc3339(r)
                .map(|d| d.with_timezone(&chrono::Utc))
                .ok()
                .or_else(|| {
                    r.parse::<i64>()
                        .ok()
                        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                })
        });
    if let Some(reset) = reset {
        // A second more: the reset instant is when the window ends, not when it is open.
        return Some(
            (reset - server_now).to_std().unwrap_or_default() + std::time::Duration::from_secs(1),
        );
    }
    header("retry-after")
        .and_then(|s| s.parse::<u64>().ok())
        .map(std::time::Duration::from_secs)
}

/// Reads a post's picture (already confined to the posts folder by `post::load`)
/// on the blocking pool: a regular file, no symlink, at most `max` bytes.
pub(crate) async fn read_image(file: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    if file.as_os_str().is_empty() {
        return Err(std::io::Error::other(
            "the picture was not checked against the posts folder",
        ));
    }
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || crate::files::read_bounded(&file, max, false))
        .await
        .map_err(std::io::Error::other)?
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

/// The HTTP client every backend uses: rustls, a per-request timeout, and a
/// user agent that tells server admins who we are.
pub(crate) fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("todayis/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
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
    fn rate_limit_resets_are_read_in_every_form() {
        let response = |headers: &[(&str, &str)]| {
            let mut b = http::Response::builder().status(429);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            reqwest::Response::from(b.body(Vec::<u8>::new()).unwrap())
        };
        let now = chrono::DateTime::parse_from_rfc3339("2026-08-08T12:30:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let secs = |r: &reqwest::Response| rate_limit_wait(r, now).map(|d| d.as_secs());
        // Mastodon: ISO 8601, measured against the server's Date, not our clock.
        let mastodon = response(&[
            ("x-ratelimit-reset", "2026-08-08T12:35:00.000000Z"),
            ("date", "Sat, 08 Aug 2026 12:34:00 GMT"),
        ]);
        assert_eq!(secs(&mastodon), Some(61));
        assert_eq!(
            secs(&response(&[(
                "x-ratelimit-reset",
                "2026-08-08T12:35:00.000000Z"
            )])),
            Some(301)
        );
        // Bluesky: Unix seconds.
        assert_eq!(
            secs(&response(&[(
                "ratelimit-reset",
                &(now.timestamp() + 10).to_string()
            )])),
            Some(11)
        );
        assert_eq!(secs(&response(&[("retry-after", "7")])), Some(7));
        assert_eq!(secs(&response(&[])), None);
    }

    proptest::proptest! {
        /// Whatever a server puts in its rate-limit headers, the wait is read
        /// without a panic (no overflow, no out-of-range date).
        #[test]
        fn any_rate_limit_header_is_read_without_panic(
            reset in "[-+0-9:TZ. a-zA-Z]{0,40}",
            after in "[-0-9]{0,30}",
            date in "[-+0-9:, a-zA-Z]{0,40}",
        ) {
            let mut b = http::Response::builder().status(429);
            for (name, value) in [("x-ratelimit-reset", &reset), ("ratelimit-reset", &reset), ("retry-after", &after), ("date", &date)] {
                if http::HeaderValue::from_str(value).is_ok() {
                    b = b.header(name, value.as_str());
                }
            }
            let response = reqwest::Response::from(b.body(Vec::<u8>::new()).unwrap());
            let _ = rate_limit_wait(&response, chrono::DateTime::UNIX_EPOCH);
        }
    }

    #[test]
    fn server_urls() {
        assert!(check_server_url("k", "https://mastodon.example").is_ok());
        assert!(check_server_url("k", "http://127.0.0.1:3000").is_ok());
        assert!(check_server_url("k", "http://[::1]:3000").is_ok());
        assert!(check_server_url("k", "http://localhost:3000").is_ok());
        assert!(check_server_url("k", "http://mastodon.example").is_err());
        assert!(check_server_url("k", "ftp://mastodon.example").is_err());
        assert!(check_server_url("k", "mastodon.example").is_err());
    }
}
