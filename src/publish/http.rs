//! The HTTP layer every backend shares: the client, reading a server's answer
//! (bounded), the rate-limit headers, and the one classifier that sorts an answer
//! into done, try again (with the server's wait), or refused. A backend adds only
//! its own reading of a refusal (its auth errors, its error body's shape) through
//! [`Dialect`]. (As lychee's `retry.rs` gives every checker one retry policy.)

use std::path::Path;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::retry::Attempt;

/// The most bytes of a server's answer that are read: Mastodon and Bluesky answer
/// in kilobytes; anything far larger is not an answer to us.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// How one backend reads a refusal.
pub trait Dialect {
    /// What a success becomes.
    type Done;

    fn ok(&self, body: Value) -> Self::Done;

    /// The server's own words in an error body (`error`, `message`, ...).
    fn message(&self, body: &Value, raw: &str) -> String;

    /// A refusal (a 4xx that is not a rate limit): what a person must do, or an
    /// answer the backend handles itself (Bluesky's expired session).
    fn refused(
        &self,
        status: StatusCode,
        body: &Value,
        message: &str,
        what: &str,
    ) -> Attempt<Self::Done>;
}

/// Sorts a response: done, a passing fault worth another try (transport errors,
/// 429 with the server's wait, 5xx, 408, a success whose body is not JSON), or
/// the backend's reading of a refusal.
pub async fn classify<D: Dialect>(
    dialect: &D,
    response: Result<Response, reqwest::Error>,
    what: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Attempt<D::Done> {
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            return Attempt::Again {
                why: format!("{what}: {}", describe(&e)),
                wait: None,
            };
        }
    };
    let status = response.status();
    let wait = rate_limit_wait(&response, now);
    let raw = match read_bounded(response).await {
        Ok(raw) => raw,
        Err(why) => {
            return Attempt::Again {
                why: format!("{what}: {why}"),
                wait: None,
            };
        }
    };
    let body: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    match status {
        s if s.is_success() && (body.is_object() || body.is_array()) => {
            Attempt::Done(dialect.ok(body))
        }
        // The server may have acted: the caller's idempotency makes a retry safe.
        s if s.is_success() => Attempt::Again {
            why: format!("{what}: the server's answer is not JSON"),
            wait: None,
        },
        StatusCode::TOO_MANY_REQUESTS => Attempt::Again {
            why: format!("{what}: rate limited (HTTP 429)"),
            wait: Some(wait.unwrap_or(Duration::from_secs(60))),
        },
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => Attempt::Again {
            why: format!(
                "{what}: HTTP {} ({})",
                s.as_u16(),
                message(dialect, &body, &raw)
            ),
            wait: None,
        },
        s => dialect.refused(s, &body, &message(dialect, &body, &raw), what),
    }
}

/// The body as text, at most [`MAX_ANSWER_BYTES`].
async fn read_bounded(mut response: Response) -> Result<String, String> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err("the server's answer is too large".into());
    }
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err("the server's answer is too large".into());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(describe(&e)),
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The server's words, never more than 200 characters of them (a hostile or
/// broken server may send a megabyte of "error").
fn message<D: Dialect>(dialect: &D, body: &Value, raw: &str) -> String {
    excerpt(&dialect.message(body, raw))
}

/// The first 200 characters of a body that has no message field.
pub fn excerpt(raw: &str) -> String {
    raw.chars().take(200).collect()
}

/// How long a 429 asks us to wait: `X-RateLimit-Reset` (ISO 8601 on Mastodon) or
/// `RateLimit-Reset` (Unix seconds on Bluesky) measured against the server's own `Date` when it sends one
/// (so our clock's skew does not matter), else `Retry-After` seconds.
pub fn rate_limit_wait(
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

/// The HTTP client every backend uses: rustls, a per-request timeout, and a
/// user agent that tells server admins who we are.
pub fn client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("todayis/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

pub fn json_str(value: &serde_json::Value, key: &str) -> Option<String> {
    match value.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn mime_of(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    }
}

/// A transport error in a few words, with the address it was for (scheme, host,
/// port and path: never the query, never a header, so never a secret).
pub fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "cannot connect to the server"
    } else {
        "the connection failed"
    };
    match e.url() {
        Some(u) => format!(
            "{what} ({}://{}{}{})",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path()
        ),
        None => what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dialect that says what it was given, for the property below.
    struct Plain;

    impl Dialect for Plain {
        type Done = Value;
        fn ok(&self, body: Value) -> Value {
            body
        }
        fn message(&self, body: &Value, raw: &str) -> String {
            body.get("error")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| excerpt(raw))
        }
        fn refused(
            &self,
            status: StatusCode,
            _: &Value,
            message: &str,
            what: &str,
        ) -> Attempt<Value> {
            Attempt::Fatal(format!("{what}: HTTP {} ({message})", status.as_u16()))
        }
    }

    proptest::proptest! {
        /// Whatever a server answers (any status, any bytes), the classifier sorts
        /// it without a panic, and a message it makes is bounded, not the whole body.
        #[test]
        fn any_answer_is_sorted_without_panic(
            status in 100u16..600,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4000),
            long_error in proptest::prelude::any::<bool>(),
        ) {
            let body = if long_error {
                serde_json::to_vec(&serde_json::json!({"error": "x".repeat(100_000)})).unwrap()
            } else {
                body
            };
            let Ok(status) = StatusCode::from_u16(status) else { return Ok(()) };
            let response = ::http::Response::builder().status(status).body(body).unwrap();
            let response = reqwest::Response::from(response);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let attempt = runtime.block_on(classify(&Plain, Ok(response), "posting", chrono::DateTime::UNIX_EPOCH));
            if let Attempt::Fatal(m) | Attempt::Again { why: m, .. } = attempt {
                proptest::prop_assert!(m.chars().count() < 400, "{m}");
            }
        }
    }

    #[test]
    fn rate_limit_resets_are_read_in_every_form() {
        let response = |headers: &[(&str, &str)]| {
            let mut b = ::http::Response::builder().status(429);
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
            let mut b = ::http::Response::builder().status(429);
            for (name, value) in [("x-ratelimit-reset", &reset), ("ratelimit-reset", &reset), ("retry-after", &after), ("date", &date)] {
                if ::http::HeaderValue::from_str(value).is_ok() {
                    b = b.header(name, value.as_str());
                }
            }
            let response = reqwest::Response::from(b.body(Vec::<u8>::new()).unwrap());
            let _ = rate_limit_wait(&response, chrono::DateTime::UNIX_EPOCH);
        }
    }
}
