//! The daemon's HTTP side: the page at `/`, `/healthz`, `/metrics` and `/feed.xml`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::status::Status;

#[derive(Clone)]
pub struct AppState {
    pub status: Arc<Mutex<Status>>,
    pub clock: Arc<dyn Clock>,
    /// `server.show_errors`: error details on the page for every client, not only
    /// loopback ones.
    pub show_errors: bool,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/feed.xml", get(feed))
        .with_state(state)
}

fn snapshot(state: &AppState) -> Status {
    state.status.lock().map(|s| s.clone()).unwrap_or_default()
}

/// The bot's page: what goes out next, what went out, each publisher's health, the
/// year's calendar and this month's engagement. Error details only for loopback
/// clients that came through no proxy, unless `show_errors`.
async fn page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: HeaderMap,
) -> Response {
    let status = snapshot(&state);
    let Some(data) = status.page.clone() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "the page is being prepared\n",
        )
            .into_response();
    };
    let proxied = request.contains_key("forwarded") || request.contains_key("x-forwarded-for");
    let show_errors = state.show_errors || (peer.ip().is_loopback() && !proxied);
    let folder = data.config.state.clone();
    // The journal's tail, read on the blocking pool: a slow disk never holds the
    // daemon's timers or /healthz.
    let records = tokio::task::spawn_blocking(move || {
        crate::journal::tail(&folder, crate::dashboard::TAIL).unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    let now = state.clock.now();
    let report = crate::dashboard::gather(
        &data,
        &status,
        status.engagement.as_deref(),
        &records,
        now,
        show_errors,
    );
    let html = crate::page::dashboard(&report, data.config.timezone);
    drop((report, records, data, status));
    // The journal's tail and the report are freed: hand the pages back, so an
    // idle daemon that was looked at stays as small as one that was not.
    crate::daemon::release_free_memory();
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

async fn healthz(State(state): State<AppState>) -> Response {
    let status = snapshot(&state);
    let healthy = status.healthy(state.clock.now());
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "stalled" },
        "last_fire": status.last_fire,
        "next_fire": status.next_fire,
        "publishers": status.publishers,
        "config_error": status.config_error,
    });
    (code, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = snapshot(&state).metrics(state.clock.now());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The RSS file, with validators so that readers polling it get `304 Not Modified`.
async fn feed(State(state): State<AppState>, request: HeaderMap) -> Response {
    let Some(path) = snapshot(&state).feed_path else {
        return (StatusCode::NOT_FOUND, "no rss publisher is configured\n").into_response();
    };
    let (bytes, modified) = match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let modified = tokio::fs::metadata(&path)
                .await
                .ok()
                .and_then(|m| m.modified().ok());
            (bytes, modified)
        }
        Err(_) => {
            return (StatusCode::NOT_FOUND, "nothing has been published yet\n").into_response();
        }
    };
    let digest = Sha256::digest(&bytes);
    let etag = format!(
        "\"{}\"",
        digest
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let modified = modified.map(chrono::DateTime::<chrono::Utc>::from);
    let last_modified = modified.map(|m| m.format("%a, %d %b %Y %H:%M:%S GMT").to_string());

    let not_modified = match request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => match (
            request
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok()),
            modified,
        ) {
            (Some(since), Some(modified)) => chrono::DateTime::parse_from_rfc2822(since)
                .is_ok_and(|since| modified.timestamp() <= since.timestamp()),
            _ => false,
        },
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if let Some(v) = last_modified.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LAST_MODIFIED, v);
    }
    if not_modified {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/rss+xml; charset=utf-8"),
    );
    (StatusCode::OK, headers, bytes).into_response()
}

/// Asks the daemon's own /healthz; loopback when it listens on all interfaces.
pub async fn healthcheck(config: &crate::config::Config) -> anyhow::Result<bool> {
    let Some(mut addr) = config.listen else {
        anyhow::bail!("`server.listen` is not set: the health check needs the daemon's HTTP side");
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    match client.get(format!("http://{addr}/healthz")).send().await {
        Ok(r) if r.status().is_success() => Ok(true),
        Ok(r) => {
            eprintln!("unhealthy: /healthz answered {}", r.status());
            Ok(false)
        }
        Err(e) => {
            eprintln!(
                "unhealthy: cannot reach http://{addr}/healthz ({})",
                if e.is_timeout() {
                    "timed out"
                } else {
                    "no answer"
                }
            );
            Ok(false)
        }
    }
}
