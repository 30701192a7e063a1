//! `todayis run` as a process, on the real clock, against mastodon-mock: the
//! schedule, signals, the HTTP side, and kill -9 at random points.
// These tests drive the real binary on the real clock, as an operator would.
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Today's month-day in the bot's zone, and a post for it with a unique URL.
fn todays_post(slug: &str) -> (String, String) {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    let md = today.format("%m-%d").to_string();
    (
        format!("{md}-{slug}.md"),
        post(
            &format!("Event {slug}"),
            &format!("1950-{md}"),
            slug,
            "Something happened. It mattered.",
            "",
        ),
    )
}

fn daemon_bot(mock: &MastodonMock, slug: &str, bot_extra: &str, server: &str) -> Bot {
    let (name, text) = todays_post(slug);
    let publishers = format!(
        "{server}{}{}",
        mastodon_publisher(mock, "timeout = \"2s\""),
        rss_publisher("")
    );
    let bot = Bot::new(&[(&name, &text)], &publishers);
    if !bot_extra.is_empty() {
        let config = std::fs::read_to_string(bot.config()).unwrap().replacen(
            "[bot]\n",
            &format!("[bot]\n{bot_extra}\n"),
            1,
        );
        let config = config.replace("schedule = \"0 9 * * *\"\n", "");
        std::fs::write(bot.config(), config).unwrap();
    }
    bot
}

fn spawn(bot: &Bot) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("todayis"))
        .arg("--config")
        .arg(bot.config())
        .arg("run")
        .env("TODAYIS_TEST_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} failed");
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn statuses_with(mock: &MastodonMock, slug: &str) -> usize {
    mock.statuses()
        .iter()
        .filter(|s| {
            s["content"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("{slug}.html"))
        })
        .count()
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_schedule_firing_every_two_seconds_makes_one_status_and_sigterm_exits_0() {
    let mock = MastodonMock::start();
    let bot = daemon_bot(
        &mock,
        "every2s",
        "schedule = \"*/2 * * * * *\"\ncatch_up = \"0\"",
        "",
    );
    let mut child = spawn(&bot);
    assert!(
        wait_until(Duration::from_secs(20), || statuses_with(&mock, "every2s")
            == 1),
        "no status"
    );
    std::thread::sleep(Duration::from_secs(5)); // two or three more fires
    assert_eq!(statuses_with(&mock, "every2s"), 1);
    let stopped = Instant::now();
    signal(&child, "TERM");
    let status = wait_with_deadline(&mut child, Duration::from_secs(10))
        .expect("still running 10 s after SIGTERM");
    assert!(status.success(), "{status}");
    assert!(stopped.elapsed() < Duration::from_secs(10));
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("next publication"), "{log}");
    assert!(
        log.contains("published") && log.contains("publisher=mastodon") && log.contains("url="),
        "{log}"
    );
}

#[test]
fn the_http_side_answers_health_metrics_and_the_feed_with_304() {
    let mock = MastodonMock::start();
    let port = free_port();
    let server = format!("[server]\nlisten = \"127.0.0.1:{port}\"\n\n");
    let bot = daemon_bot(
        &mock,
        "http",
        "schedule = \"* * * * *\"\ncatch_up = \"2m\"",
        &server,
    );
    let mut child = spawn(&bot);
    let http = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    assert!(wait_until(Duration::from_secs(20), || statuses_with(
        &mock, "http"
    ) == 1));

    let health = http.get(format!("{base}/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    let health: serde_json::Value = health.json().unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["next_fire"].is_string());
    assert_eq!(health["publishers"]["mastodon"]["last_result"], "published");
    assert_eq!(health["publishers"]["mastodon"]["credentials"], "ok");
    assert_eq!(health["publishers"]["rss"]["credentials"], "ok");

    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics
            .contains("todayis_publications_total{publisher=\"mastodon\",result=\"published\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("todayis_posts 1"), "{metrics}");
    assert!(
        metrics.contains("todayis_days_without_post 365"),
        "{metrics}"
    );
    assert!(
        metrics.contains("todayis_next_fire_timestamp_seconds"),
        "{metrics}"
    );

    let feed = http.get(format!("{base}/feed.xml")).send().unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(
        feed.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let etag = feed.headers()["etag"].to_str().unwrap().to_string();
    let modified = feed.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(feed.text().unwrap().contains("Event http"));
    let again = http
        .get(format!("{base}/feed.xml"))
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.text().unwrap().is_empty());
    let again = http
        .get(format!("{base}/feed.xml"))
        .header("If-Modified-Since", &modified)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);

    // The healthcheck command asks the same endpoint.
    assert_cmd::Command::cargo_bin("todayis")
        .unwrap()
        .arg("--config")
        .arg(bot.config())
        .arg("healthcheck")
        .assert()
        .success();
    signal(&child, "TERM");
    assert!(
        wait_with_deadline(&mut child, Duration::from_secs(10))
            .unwrap()
            .success()
    );
    assert_cmd::Command::cargo_bin("todayis")
        .unwrap()
        .arg("--config")
        .arg(bot.config())
        .arg("healthcheck")
        .assert()
        .code(1);
}

#[test]
fn kill_9_at_random_points_never_makes_a_second_status() {
    let mock = MastodonMock::start();
    let url = mock.url.clone();
    crash_loop(&mock, &url, 12);
}

/// The same against a server that has forgotten every key (as Mastodon has after
/// an hour): only the journal's intent and the look on the server keep it once.
#[test]
fn kill_9_against_a_server_that_forgets_keys_never_makes_a_second_status() {
    let mock = MastodonMock::start();
    let proxy = ForgetfulProxy::start(&mock.url, 0);
    crash_loop(&mock, &proxy.url, 10);
}

fn crash_loop(mock: &MastodonMock, instance: &str, iterations: usize) {
    // Every status takes the server a while, so kills land before, during and after it.
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": {"type": "latency", "delay_ms": 300}}));
    for i in 0..iterations {
        let slug = format!("crash{i}-{}", fastrand::u32(..));
        let bot = daemon_bot(
            mock,
            &slug,
            "schedule = \"* * * * *\"\ncatch_up = \"5m\"",
            "",
        );
        let config = std::fs::read_to_string(bot.config())
            .unwrap()
            .replace(&mock.url, instance);
        std::fs::write(bot.config(), config).unwrap();
        let mut child = spawn(&bot);
        // From just after start (before the request) to well after the answer.
        let delay = Duration::from_millis(fastrand::u64(0..900));
        std::thread::sleep(delay);
        signal(&child, "KILL");
        child.wait().unwrap();
        // Restart within catch_up: the date is finished, exactly once.
        let mut child = spawn(&bot);
        let journaled = wait_until(Duration::from_secs(20), || {
            std::fs::read_to_string(bot.path("state/journal.jsonl")).is_ok_and(|j| {
                j.lines()
                    .filter(|l| {
                        l.contains("\"publisher\":\"mastodon\"") && l.contains("\"event\":\"done\"")
                    })
                    .count()
                    == 1
            })
        });
        signal(&child, "KILL");
        child.wait().unwrap();
        assert!(
            journaled,
            "iteration {i} (killed after {delay:?}): not journaled after restart"
        );
        std::thread::sleep(Duration::from_millis(400)); // a request cut off by the kill may still land
        assert_eq!(
            statuses_with(mock, &slug),
            1,
            "iteration {i} (killed after {delay:?}): journal {}\nstatuses {:?}",
            std::fs::read_to_string(bot.path("state/journal.jsonl")).unwrap_or_default(),
            mock.statuses()
                .iter()
                .map(|s| s["content"].to_string())
                .collect::<Vec<_>>()
        );
        let feed = feedparser(&bot.path("public/feed.xml"));
        assert_eq!(
            feed["entries"].as_array().unwrap().len(),
            1,
            "iteration {i}"
        );
    }
}
