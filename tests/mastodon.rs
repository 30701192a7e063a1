//! The Mastodon publisher against mastodon-mock, a stateful Mastodon REST server
//! with idempotency, length checks and fault injection.
// These tests drive the real binary on the real clock, as an operator would.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const DATE: &str = "2024-02-25";

fn khrushchev() -> String {
    post(
        "Nikita Khrushchev Denounces Stalin",
        "1956-02-25",
        "02/khrushchev",
        "On the last day of the party congress in 1956, Khrushchev spoke for four hours against Stalin. Nobody had said such things aloud before.\n\nMore followed.",
        "tags = [\"ColdWar\"]",
    )
}

/// A bot with the Khrushchev post and the given publishers' config.
fn khrushchev_bot(publishers: &str) -> Bot {
    Bot::new(&[("02-25-k.md", &khrushchev())], publishers)
}

/// `publish --date DATE`, which must succeed.
fn publish_ok(bot: &Bot) -> std::process::Output {
    let out = bot.cmd(&["publish", "--date", DATE]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn preview_text(bot: &Bot) -> String {
    let out = bot
        .cmd(&[
            "preview",
            "--date",
            DATE,
            "--publisher",
            "mastodon",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["outputs"][0]["text"].as_str().unwrap().to_string()
}

#[test]
fn the_status_carries_exactly_the_previewed_text() {
    let mock = MastodonMock::start();
    let bot = khrushchev_bot(&mastodon_publisher(&mock, ""));
    let previewed = preview_text(&bot);
    let out = publish_ok(&bot);
    let statuses = mock.statuses();
    assert_eq!(statuses.len(), 1);
    assert_eq!(
        mock.source_text(statuses[0]["id"].as_str().unwrap()),
        previewed
    );
    assert_eq!(statuses[0]["visibility"], "public");
    assert_eq!(statuses[0]["language"], "en");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("mastodon: published http://"), "{stdout}");
}

#[test]
fn publishing_twice_makes_one_status_and_one_feed_item() {
    let mock = MastodonMock::start();
    let publishers = format!("{}{}", mastodon_publisher(&mock, ""), rss_publisher(""));
    let bot = khrushchev_bot(&publishers);
    bot.cmd(&["publish", "--date", DATE]).assert().success();
    let second = bot.cmd(&["publish", "--date", DATE]).output().unwrap();
    assert!(second.status.success());
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.contains("mastodon: skipped, already published for 2024-02-25"),
        "{stdout}"
    );
    assert!(stdout.contains("rss: skipped"), "{stdout}");
    assert_eq!(mock.statuses().len(), 1);
    assert_eq!(
        feedparser(&bot.path("public/feed.xml"))["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // --force does what it says: a new publication, with a key of its own (before,
    // the server answered the old key with the old status and called it published).
    bot.cmd(&["publish", "--date", DATE, "--force"])
        .assert()
        .success();
    assert_eq!(mock.statuses().len(), 2);
    assert_eq!(
        feedparser(&bot.path("public/feed.xml"))["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn the_image_goes_with_its_alt_text_and_the_content_warning_as_spoiler() {
    let mock = MastodonMock::start();
    let text = post(
        "Humans Land on the Moon",
        "1969-02-25",
        "moon",
        "Eagle landed.",
        "image = \"moon.png\"\nimage_alt = \"A grey Moon on a black sky\"\ncontent_warning = \"Space\"",
    );
    let bot = Bot::new(&[("02-25-moon.md", &text)], &mastodon_publisher(&mock, ""));
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/posts/07/moon.png"),
        bot.path("posts/moon.png"),
    )
    .unwrap();
    bot.cmd(&["publish", "--date", DATE]).assert().success();
    let statuses = mock.statuses();
    assert_eq!(statuses.len(), 1);
    let media = statuses[0]["media_attachments"].as_array().unwrap();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0]["description"], "A grey Moon on a black sky");
    assert_eq!(statuses[0]["spoiler_text"], "Space");
}

#[test]
fn two_server_errors_then_success() {
    let mock = MastodonMock::start();
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": {"type": "status", "status": 500}, "count": 2}));
    let bot = khrushchev_bot(&mastodon_publisher(&mock, ""));
    let out = publish_ok(&bot);
    assert_eq!(mock.statuses().len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("HTTP 500").count(),
        2,
        "each retry is logged: {stderr}"
    );
}

#[test]
fn a_rate_limit_waits_until_the_reset_then_posts() {
    let mock = MastodonMock::start();
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(3))
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    mock.fault(json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "ratelimit", "status": 429, "headers": {"X-RateLimit-Reset": reset}},
        "count": 1
    }));
    let bot = khrushchev_bot(&mastodon_publisher(&mock, ""));
    let start = Instant::now();
    let out = publish_ok(&bot);
    // It waited for the reset (not the mock's Retry-After of 300 s, nor a blind backoff).
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(60),
        "waited {waited:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("rate limited (HTTP 429)"));
    assert_eq!(mock.statuses().len(), 1);
}

#[test]
fn a_timeout_while_the_server_still_posts_leaves_exactly_one_status() {
    let mock = MastodonMock::start();
    // The server takes 2.5 s, then creates the status; we give up after 1 s and retry.
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": {"type": "latency", "delay_ms": 2500}, "count": 1}));
    let bot = khrushchev_bot(&mastodon_publisher(&mock, "timeout = \"1s\""));
    let out = publish_ok(&bot);
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out"));
    std::thread::sleep(Duration::from_secs(3)); // let the slow first request finish on the server
    assert_eq!(mock.statuses().len(), 1);
}

#[test]
fn a_bad_token_says_what_to_fix_and_never_shows_the_token() {
    let mock = MastodonMock::start();
    let bot = khrushchev_bot(&mastodon_publisher(&mock, ""));
    let secret = "sEcReT-t0ken-value";
    let out = bot
        .cmd(&["publish", "--date", DATE])
        .env("TODAYIS_TEST_TOKEN", secret)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains(
            "mastodon: failed: posting the status: the server refused the access token (HTTP 401"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("token_env"), "{stdout}");
    assert!(
        !stdout.contains(secret) && !stderr.contains(secret),
        "the token leaked"
    );
    assert!(mock.statuses().is_empty());
}

#[test]
fn a_missing_token_is_a_clear_error() {
    let mock = MastodonMock::start();
    let bot = khrushchev_bot(&mastodon_publisher(&mock, ""));
    let out = bot
        .cmd(&["publish", "--date", DATE])
        .env_remove("TODAYIS_TEST_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("mastodon: failed: no access token: the environment variable TODAYIS_TEST_TOKEN is not set"), "{stdout}");
    // preview needs no token at all
    bot.cmd(&["preview", "--date", DATE])
        .env_remove("TODAYIS_TEST_TOKEN")
        .assert()
        .success();
}

#[test]
fn a_rejected_status_shows_the_servers_message_and_is_not_retried() {
    let mock = MastodonMock::start();
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": {"type": "status", "status": 422, "body": {"error": "Validation failed: Text character limit of 500 exceeded"}}, "count": 5}));
    let bot = khrushchev_bot(&mastodon_publisher(&mock, ""));
    let out = bot.cmd(&["publish", "--date", DATE]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("HTTP 422: Validation failed: Text character limit of 500 exceeded"),
        "{stdout}"
    );
    let rules: Value = reqwest::blocking::get(format!("{}/api/v1/_mock/faults", mock.url))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(rules[0]["remaining"], 4, "exactly one attempt was made");
}

#[test]
fn a_malformed_answer_is_an_error_not_a_panic() {
    let mock = MastodonMock::start();
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": {"type": "malformed"}, "count": 1}));
    let bot = khrushchev_bot(&mastodon_publisher(&mock, ""));
    let out = bot.cmd(&["publish", "--date", DATE]).output().unwrap();
    // The garbled answer is retried with the same key; the status exists once.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));
    assert_eq!(mock.statuses().len(), 1);
}

#[test]
fn one_failing_publisher_never_stops_another() {
    let mock = MastodonMock::start();
    let publishers = format!("{}{}", mastodon_publisher(&mock, ""), rss_publisher(""));
    let bot = khrushchev_bot(&publishers);
    let out = bot
        .cmd(&["publish", "--date", DATE])
        .env("TODAYIS_TEST_TOKEN", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rss: published"), "{stdout}");
    assert!(stdout.contains("mastodon: failed"), "{stdout}");
    // Fixed, the next run publishes only what is missing.
    let out = bot.cmd(&["publish", "--date", DATE]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rss: skipped") && stdout.contains("mastodon: published"),
        "{stdout}"
    );
}

#[test]
fn check_online_names_the_account_and_compares_the_limit() {
    let mock = MastodonMock::start();
    // A limit below the server's is safe (and may be the operator's choice): a note.
    let bot = khrushchev_bot(&mastodon_publisher(&mock, "max_characters = 400"));
    let out = bot.cmd(&["check", "--online"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("mastodon: posts as @testuser"), "{stdout}");
    assert!(
        stdout.contains("mastodon: note: max_characters is 400, below the server's 500"),
        "{stdout}"
    );
    // Above it, toots would be refused: a problem.
    let bot = khrushchev_bot(&mastodon_publisher(&mock, "max_characters = 600"));
    let out = bot.cmd(&["check", "--online"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("mastodon: problem: max_characters is 600 but the server allows only 500"),
        "{stdout}"
    );
}
