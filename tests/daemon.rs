//! The daemon loop in process, on simulated time: tokio's clock is paused and the
//! bot's clock follows it, so days pass in milliseconds and nothing sleeps for real.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::*;
use todayis::clock::Clock;
use todayis::config::Config;
use todayis::daemon::{self, Signal};
use todayis::journal::{Event, Journal};
use todayis::publish::Environment;
use todayis::status::Status;

/// A wall clock that moves with tokio's (paused) clock.
struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + Duration::from_std(self.start.elapsed()).unwrap()
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn env_at(config: &Config, base: DateTime<Utc>) -> Environment {
    Environment {
        clock: Arc::new(TokioClock {
            base,
            start: tokio::time::Instant::now(),
        }),
        language: config.language.clone(),
        timezone: config.timezone,
        state: config.state.clone(),
        env_var: Arc::new(|_| None),
        journal_fault: None,
        retry_budget: std::time::Duration::from_secs(300),
    }
}

/// A bot with one post for each day from `first` for `days` days, publishing to RSS.
fn daily_bot(first: NaiveDate, days: u32) -> Bot {
    let posts: Vec<(String, String)> = first
        .iter_days()
        .take(days as usize)
        .map(|d| {
            let md = d.format("%m-%d");
            (
                format!("{md}-e.md"),
                post(
                    &format!("Event of {md}"),
                    &format!("1900-{md}"),
                    &format!("e{md}"),
                    "Body.",
                    "",
                ),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = posts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    Bot::new(&refs, &rss_publisher("max_items = 100"))
}

/// A daemon running in a task on the simulated clock.
struct Running {
    signals: tokio::sync::mpsc::Sender<Signal>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    status: Arc<Mutex<Status>>,
}

impl Running {
    fn start(bot: &Bot, at: DateTime<Utc>) -> Running {
        let config = Config::load(&bot.config()).unwrap();
        let env = env_at(&config, at);
        let status = Arc::new(Mutex::new(Status::default()));
        let (signals, rx) = tokio::sync::mpsc::channel(4);
        let task = tokio::spawn(daemon::run(
            bot.config(),
            config,
            env,
            Arc::clone(&status),
            rx,
            daemon::Options::default(),
        ));
        Running {
            signals,
            task,
            status,
        }
    }

    async fn stop(self) -> Arc<Mutex<Status>> {
        self.signals.send(Signal::Stop).await.unwrap();
        self.task.await.unwrap().unwrap();
        self.status
    }
}

async fn run_for(
    bot: &Bot,
    start: DateTime<Utc>,
    how_long: std::time::Duration,
) -> Arc<Mutex<Status>> {
    let running = Running::start(bot, start);
    tokio::time::sleep(how_long).await;
    running.stop().await
}

fn journal_dates(state: &Path) -> Vec<String> {
    let (journal, warnings) = Journal::open(state).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    // Each publication is an intent and its answer; the answers are what count.
    journal
        .records()
        .iter()
        .filter(|r| r.event == Event::Done)
        .map(|r| r.date.to_string())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn ten_days_across_the_spring_change_publish_once_a_day() {
    let bot = daily_bot("2024-03-27".parse().unwrap(), 12);
    // Start at midnight UTC on 27 March; run ten days.
    let status = run_for(
        &bot,
        utc("2024-03-27T00:00:00Z"),
        std::time::Duration::from_secs(10 * 86_400),
    )
    .await;
    let dates = journal_dates(&bot.path("state"));
    let expected: Vec<String> = (27..=31)
        .map(|d| format!("2024-03-{d}"))
        .chain((1..=5).map(|d| format!("2024-04-0{d}")))
        .collect();
    assert_eq!(dates, expected);
    let feed = feedparser(&bot.path("public/feed.xml"));
    assert_eq!(feed["entries"].as_array().unwrap().len(), 10);
    // Before the change 09:00 is 09:00 UTC; after it, 08:00 UTC.
    let pub_dates: Vec<&str> = feed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["published"].as_str().unwrap())
        .collect();
    assert!(
        pub_dates.contains(&"Sat, 30 Mar 2024 09:00:00 +0000"),
        "{pub_dates:?}"
    );
    assert!(
        pub_dates.contains(&"Sun, 31 Mar 2024 09:00:00 +0100"),
        "{pub_dates:?}"
    );
    let status = status.lock().unwrap();
    assert_eq!(
        status.publishers["rss"]
            .counts
            .get(&todayis::status::PublicationResult::Published),
        Some(&10)
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_within_catch_up_publishes_once_and_outside_it_waits() {
    let bot = daily_bot("2024-02-25".parse().unwrap(), 3);
    // Down at 09:00; back at 11:00, within the default 6 h: published at once.
    run_for(
        &bot,
        utc("2024-02-25T11:00:00Z"),
        std::time::Duration::from_secs(60),
    )
    .await;
    assert_eq!(journal_dates(&bot.path("state")), ["2024-02-25"]);
    // Another restart the same day publishes nothing more.
    run_for(
        &bot,
        utc("2024-02-25T12:00:00Z"),
        std::time::Duration::from_secs(60),
    )
    .await;
    assert_eq!(journal_dates(&bot.path("state")), ["2024-02-25"]);
    // Back at 16:00 the next day: too late for the 26th, which is not published stale.
    run_for(
        &bot,
        utc("2024-02-26T16:00:00Z"),
        std::time::Duration::from_secs(3600),
    )
    .await;
    assert_eq!(journal_dates(&bot.path("state")), ["2024-02-25"]);
}

#[tokio::test(start_paused = true)]
async fn a_new_post_counts_without_a_restart() {
    let bot = daily_bot("2024-06-01".parse().unwrap(), 1);
    let running = Running::start(&bot, utc("2024-06-01T10:00:00Z"));
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    // The editor adds tomorrow's post while the daemon runs.
    std::fs::write(
        bot.path("posts/06-02-new.md"),
        post("Added Later", "1900-06-02", "new", "Body.", ""),
    )
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(86_400)).await;
    running.stop().await;
    assert_eq!(
        journal_dates(&bot.path("state")),
        ["2024-06-01", "2024-06-02"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_reload_with_a_broken_config_keeps_the_old_one() {
    let bot = daily_bot("2024-06-01".parse().unwrap(), 3);
    let running = Running::start(&bot, utc("2024-06-01T10:00:00Z"));
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    std::fs::write(bot.config(), "[bot]\ntimezone = 5\n").unwrap();
    running.signals.send(Signal::Reload).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(86_400)).await;
    running.stop().await;
    // Still running on the old config: the next day went out.
    assert_eq!(
        journal_dates(&bot.path("state")),
        ["2024-06-01", "2024-06-02"]
    );
}

#[tokio::test(start_paused = true)]
async fn idle_it_wakes_only_to_recheck_the_clock() {
    let bot = daily_bot("2024-06-01".parse().unwrap(), 1);
    let status = run_for(
        &bot,
        utc("2024-06-01T12:00:00Z"),
        std::time::Duration::from_secs(3 * 3600),
    )
    .await;
    let status = status.lock().unwrap();
    // Three idle hours: one re-check every five minutes, plus the first round and
    // the one that publishes the catch-up.
    assert!(status.wakeups <= 3 * 12 + 2, "{} wake-ups", status.wakeups);
    let beat = status.heartbeat.unwrap();
    assert!(beat >= utc("2024-06-01T14:55:00Z"), "{beat}");
    assert_eq!(status.next_fire, Some(utc("2024-06-02T08:00:00Z")));
}

#[tokio::test(start_paused = true)]
async fn auto_corrections_carry_an_edit_inside_the_window_once_and_not_after_it() {
    let bot = daily_bot("2024-06-01".parse().unwrap(), 1);
    let config = std::fs::read_to_string(bot.config()).unwrap().replacen(
        "[bot]\n",
        "[bot]\ncorrections = \"auto\"\ncorrections_window = \"2h\"\n",
        1,
    );
    std::fs::write(bot.config(), config).unwrap();
    let minutes = |m: u64| std::time::Duration::from_secs(m * 60);
    let edit = |body: &str| {
        std::fs::write(
            bot.path("posts/06-01-e.md"),
            post("Event of 06-01", "1900-06-01", "e06-01", body, ""),
        )
        .unwrap()
    };
    let summary = || {
        feedparser(&bot.path("public/feed.xml"))["entries"][0]["summary"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let corrected = || {
        Journal::open(&bot.path("state"))
            .unwrap()
            .0
            .records()
            .iter()
            .filter(|r| r.event == Event::Corrected)
            .count()
    };
    let running = Running::start(&bot, utc("2024-06-01T10:00:00Z"));
    tokio::time::sleep(minutes(1)).await;
    assert_eq!(summary(), "Body.");
    // Inside the window: the next re-check carries it, once.
    edit("Fixed body.");
    tokio::time::sleep(minutes(10)).await;
    assert_eq!(summary(), "Fixed body.");
    tokio::time::sleep(minutes(30)).await;
    assert_eq!(corrected(), 1);
    // After the window the feed keeps what it has.
    tokio::time::sleep(minutes(120)).await;
    edit("A late edit.");
    tokio::time::sleep(minutes(30)).await;
    running.stop().await;
    assert_eq!(summary(), "Fixed body.");
    assert_eq!(corrected(), 1);
    assert_eq!(
        feedparser(&bot.path("public/feed.xml"))["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
