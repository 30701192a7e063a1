//! `todayis stats` against mastodon-mock (its numbers are the server's, and a
//! second run within the hour asks the server for nothing), and the daemon's page
//! at `/` loaded by a real browser (Debian's chromium, driven by chromedriver over
//! the WebDriver protocol): the next publication, the recent publications with
//! working links, the calendar, `lang`, alt text, no console error; screenshots of
//! the page and of `stats --format html` are saved under target/ and docs/.
// These tests drive the real binary on the real clock, as an operator would.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::*;
use serde_json::{Value, json};

fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive()
}

/// Posts for the last `back` days, today and the next two days.
fn posts(back: i64) -> Vec<(String, String)> {
    let titles = [
        "The First Telephone Call",
        "Apollo 11 Lands on the Moon",
        "The Berlin Wall Falls",
        "Magna Carta Is Sealed",
        "The Printing Press Reaches London",
        "The First Powered Flight",
        "Penicillin Is Discovered",
        "The Rosetta Stone Is Found",
    ];
    (-back..=2)
        .map(|offset| {
            let day = today() + chrono::Duration::days(offset);
            let md = day.format("%m-%d").to_string();
            let title = titles[(offset + back) as usize % titles.len()];
            let slug = format!("event-{md}");
            (
                format!("{}/{md}-{slug}.md", day.format("%m")),
                post(
                    title,
                    &format!("19{}-{md}", 10 + (offset + back) * 7),
                    &slug,
                    "It happened on this day. People still talk about it.",
                    "tags = [\"Science\", \"History\"]\nsummary = \"A day that changed how people lived and worked.\"",
                ),
            )
        })
        .collect()
}

fn mock_post(mock: &MastodonMock, path: &str, form: &[(&str, &str)]) -> Value {
    reqwest::blocking::Client::new()
        .post(format!("{}{path}", mock.url))
        .bearer_auth(TOKEN)
        .form(form)
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .unwrap()
}

/// Mastodon's journaled status ids, by date.
fn status_ids(bot: &Bot) -> Vec<(NaiveDate, String)> {
    std::fs::read_to_string(bot.path("state/journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["publisher"] == "mastodon" && r["event"] == "done")
        .map(|r| {
            (
                r["date"].as_str().unwrap().parse().unwrap(),
                r["remote_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A bot that published the last `back` days to mastodon-mock and the feed, whose
/// statuses then got favourites, boosts and replies through the mock's API.
fn published_bot(mock: &MastodonMock, back: i64, server: &str) -> Bot {
    let posts = posts(back);
    let refs: Vec<(&str, &str)> = posts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let bot = Bot::new(
        &refs,
        &format!(
            "{server}{}{}",
            mastodon_publisher(mock, "timeout = \"5s\""),
            rss_publisher("")
        ),
    );
    for offset in -back..0 {
        let date = (today() + chrono::Duration::days(offset)).to_string();
        bot.cmd(&["publish", "--date", &date]).assert().success();
    }
    for (i, (_, id)) in status_ids(&bot).iter().enumerate() {
        if i % 2 == 0 {
            mock_post(mock, &format!("/api/v1/statuses/{id}/favourite"), &[]);
        }
        if i % 3 == 0 {
            mock_post(mock, &format!("/api/v1/statuses/{id}/reblog"), &[]);
        }
        for _ in 0..(i % 4) {
            mock_post(
                mock,
                "/api/v1/statuses",
                &[("status", "Fascinating!"), ("in_reply_to_id", id)],
            );
        }
    }
    bot
}

#[test]
fn stats_reports_the_servers_numbers_and_a_second_run_asks_nothing() {
    let mut mock = MastodonMock::start();
    let bot = published_bot(&mock, 5, "");
    let ids = status_ids(&bot);
    assert_eq!(ids.len(), 5);

    let out = bot.cmd(&["stats", "--format", "json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut sums = (0, 0, 0);
    for (date, id) in &ids {
        let server = mock.get(&format!("/api/v1/statuses/{id}"));
        let post = report["posts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["date"] == date.to_string())
            .unwrap_or_else(|| panic!("{date} missing from {report:#}"));
        let place = post["places"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["publisher"] == "mastodon")
            .unwrap();
        assert_eq!(
            place["counts"]["likes"], server["favourites_count"],
            "{date}"
        );
        assert_eq!(
            place["counts"]["reposts"], server["reblogs_count"],
            "{date}"
        );
        assert_eq!(
            place["counts"]["replies"], server["replies_count"],
            "{date}"
        );
        sums.0 += server["favourites_count"].as_u64().unwrap();
        sums.1 += server["reblogs_count"].as_u64().unwrap();
        sums.2 += server["replies_count"].as_u64().unwrap();
        // The feed counts nothing.
        let rss = post["places"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["publisher"] == "rss")
            .unwrap();
        assert!(rss["counts"].is_null());
    }
    assert!(sums.0 > 0 && sums.1 > 0 && sums.2 > 0, "{sums:?}");
    assert_eq!(report["totals"]["likes"], sums.0);
    assert_eq!(report["totals"]["reposts"], sums.1);
    assert_eq!(report["totals"]["replies"], sums.2);
    let weekdays: u64 = report["by_weekday"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["counts"]["likes"].as_u64().unwrap())
        .sum();
    assert_eq!(weekdays, sums.0);
    assert_eq!(report["by_tag"][0]["posts"], 5);
    assert_eq!(report["publishers"][0]["likes"], "favourites");
    assert!(
        report["best"][0]["total"].as_u64().unwrap()
            >= report["worst"][0]["total"].as_u64().unwrap()
    );

    // Within the hour the counts come from the state folder: with the server gone,
    // the same numbers, and no error.
    drop(std::mem::replace(&mut mock, MastodonMock::start()));
    let again = bot.cmd(&["stats", "--format", "json"]).output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["totals"], report["totals"]);

    // --since/--until narrow it; text names the numbers.
    let since = (today() - chrono::Duration::days(2)).to_string();
    let narrow: Value = serde_json::from_slice(
        &bot.cmd(&["stats", "--since", &since, "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(narrow["posts"].as_array().unwrap().len(), 2);
    bot.cmd(&["stats"]).assert().success().stdout(
        predicates::str::contains("5 posts:").and(predicates::str::contains("per weekday")),
    );

    // The page: self-contained, charts with their descriptions, a screenshot.
    let html = bot.cmd(&["stats", "--format", "html"]).output().unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<html lang=\"en\">"));
    assert!(!html.contains("<script") && !html.contains("@import") && !html.contains("src=\"http"));
    assert_eq!(
        html.matches("<svg").count(),
        html.matches("role=\"img\" aria-label=").count()
    );
    assert!(html.matches("<svg").count() >= 3);
    let file = target_dir().join("stats.html");
    std::fs::write(&file, &html).unwrap();
    let png = target_dir().join("stats.png");
    chromium_screenshot(&format!("file://{}", file.display()), &png, (1100, 1500));
    assert_not_blank(&png);
    publish_doc(&png, "stats.png");
}

use predicates::prelude::*;

#[test]
fn the_page_in_a_real_browser() {
    let driver = chromedriver();
    let mock = MastodonMock::start();
    let port = free_port();
    let bot = published_bot(
        &mock,
        6,
        &format!("[server]\nlisten = \"127.0.0.1:{port}\"\n\n"),
    );
    // Publishes today's post when it starts (catch-up), and shows what goes out tomorrow.
    let config = std::fs::read_to_string(bot.config()).unwrap().replace(
        "schedule = \"0 9 * * *\"",
        "schedule = \"0 0 * * *\"\ncatch_up = \"24h\"",
    );
    std::fs::write(bot.config(), config).unwrap();
    let mut daemon = Command::new(assert_cmd::cargo::cargo_bin("todayis"))
        .arg("--config")
        .arg(bot.config())
        .arg("run")
        .env("TODAYIS_TEST_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::new();
    let ready = wait_until(Duration::from_secs(30), || {
        status_ids(&bot).len() == 7
            && http
                .get(format!("{base}/"))
                .send()
                .is_ok_and(|r| r.status() == 200 && r.text().unwrap_or_default().contains("likes"))
    });
    assert!(
        ready,
        "the daemon did not publish today's post or serve its page"
    );

    let page = http.get(format!("{base}/")).send().unwrap();
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let text = page.text().unwrap();
    assert!(!text.contains(TOKEN), "a secret on the page");
    assert!(!text.contains("<script"));

    let session = driver.session((1280, 2400));
    session.go(&format!("{base}/"));
    assert_eq!(session.eval("return document.documentElement.lang"), "en");
    let next = session.eval("return document.querySelector('#next').innerText");
    let tomorrow = today() + chrono::Duration::days(1);
    let next = next.as_str().unwrap();
    assert!(next.contains("Next publication"), "{next}");
    assert!(
        next.contains("Europe/London") && next.contains(&tomorrow.format("%B %Y").to_string()),
        "{next}"
    );
    assert!(
        next.contains("mastodon") && next.contains("rss"),
        "what each publisher sends: {next}"
    );
    assert!(
        next.contains(&format!("event-{}.html", tomorrow.format("%m-%d"))),
        "{next}"
    );
    // The recent publications: seven days through two publishers, each linked.
    let rows = session.eval("return document.querySelectorAll('#recent tbody tr').length");
    assert_eq!(rows, 14);
    let links: Vec<String> = serde_json::from_value(
        session.eval("return [...document.querySelectorAll('#recent tbody a')].map(a => a.href)"),
    )
    .unwrap();
    assert_eq!(links.len(), 14);
    // Each status link names a status the server has (the mock names itself
    // `localhost` and serves no web pages, so its API is asked for the id).
    let mock_port = mock.url.rsplit(':').next().unwrap().to_string();
    let statuses: Vec<&String> = links
        .iter()
        .filter(|l| l.contains(&format!(":{mock_port}/")))
        .collect();
    assert_eq!(statuses.len(), 7, "{links:?}");
    for link in statuses {
        let id = link.rsplit('/').next().unwrap();
        assert_eq!(mock.get(&format!("/api/v1/statuses/{id}"))["url"], *link);
    }
    assert!(
        links
            .iter()
            .any(|l| l.starts_with("https://todayis.example/2024/event-"))
    );
    // The calendar: twelve months, the days with no post visible.
    assert_eq!(
        session.eval("return document.querySelectorAll('#calendar table').length"),
        12
    );
    let gaps = session.eval("return document.querySelectorAll('#calendar td.gap').length");
    assert!(gaps.as_u64().unwrap() > 300, "{gaps}");
    // Healthy publishers, this month's chart, every image described.
    let health = session.eval("return document.querySelector('#publishers').innerText");
    assert_eq!(
        health.as_str().unwrap().matches("healthy").count(),
        2,
        "{health}"
    );
    assert_eq!(
        session.eval(
            "return document.querySelectorAll('#engagement svg[role=img][aria-label]').length"
        ),
        1
    );
    assert_eq!(
        session.eval("return [...document.images].filter(i => !i.alt).length + [...document.querySelectorAll('svg')].filter(s => !s.getAttribute('aria-label')).length"),
        0
    );
    assert_eq!(session.eval("return document.scripts.length"), 0);
    let errors = session.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let png = target_dir().join("page.png");
    session.screenshot(&png);
    assert_not_blank(&png);
    publish_doc(&png, "page.png");

    // Readable on a phone: nothing wider than the screen but the scrolling tables.
    let phone = driver.session((390, 844));
    phone.go(&format!("{base}/"));
    assert_eq!(
        phone.eval("return document.documentElement.scrollWidth <= window.innerWidth"),
        true
    );
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn target_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies a screenshot into docs/ for the README, when it looks different.
fn publish_doc(png: &Path, name: &str) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::copy(png, docs.join(name)).unwrap();
}

/// A PNG that is not one colour: decoded, and its pixels differ.
fn assert_not_blank(path: &Path) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let step = info.color_type.samples();
    let first = &bytes[..step];
    let differing = bytes.chunks(step).filter(|px| px != &first).count();
    assert!(
        differing > bytes.len() / step / 20,
        "{} looks blank ({differing} pixels differ from the first)",
        path.display()
    );
}

fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    assert!(
        path.exists(),
        "Debian's chromium is needed: run scripts/test, or `apt-get install -y chromium chromium-driver`"
    );
    path
}

/// A screenshot of a file with chromium's own headless mode.
fn chromium_screenshot(url: &str, png: &Path, (w, h): (u32, u32)) {
    let out = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            &format!("--window-size={w},{h}"),
            &format!("--screenshot={}", png.display()),
            url,
        ])
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "chromium made no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    http: reqwest::blocking::Client,
}

fn chromedriver() -> Driver {
    chromium();
    let path = PathBuf::from("/usr/bin/chromedriver");
    assert!(
        path.exists(),
        "chromedriver is needed: run scripts/test, or `apt-get install -y chromium chromium-driver`"
    );
    let port = free_port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
    };
    assert!(
        wait_until(Duration::from_secs(20), || driver
            .http
            .get(format!("{}/status", driver.url))
            .send()
            .is_ok()),
        "chromedriver did not start"
    );
    driver
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Driver {
    fn session(&self, (w, h): (u32, u32)) -> Session<'_> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         "--disable-dev-shm-usage", format!("--window-size={w},{h}")]
            },
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let answer: Value = self
            .http
            .post(format!("{}/session", self.url))
            .json(&caps)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_string();
        Session { driver: self, id }
    }
}

impl Session<'_> {
    fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.url, self.id);
        let mut request = self.driver.http.request(method.clone(), &url);
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let answer: Value = request.send().unwrap().json().unwrap();
        assert!(answer["value"].get("error").is_none(), "{path}: {answer}");
        answer["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}));
    }

    fn eval(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    fn console_errors(&self) -> Vec<Value> {
        self.call(reqwest::Method::POST, "/se/log", json!({"type": "browser"}))
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect()
    }

    fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let data = self.call(reqwest::Method::GET, "/screenshot", Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .http
            .delete(format!("{}/session/{}", self.driver.url, self.id))
            .send();
    }
}
