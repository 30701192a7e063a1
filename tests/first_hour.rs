//! What an operator trips over in the first hour: what went out and how to take it
//! back, `--force`, commands that give up in seconds, and a server that quietly
//! drops what was sent.
// These tests drive the real binary on the real clock, as an operator would.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const DATE: &str = "2024-02-25";

fn khrushchev() -> String {
    post(
        "Nikita Khrushchev Denounces Stalin",
        "1956-02-25",
        "k",
        "He spoke for four hours.",
        "content_warning = \"Repression\"",
    )
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_journal_lists_what_went_out_and_unpublish_takes_it_back() {
    let mock = MastodonMock::start();
    let bot = Bot::new(
        &[("02-25-k.md", &khrushchev())],
        &format!("{}{}", mastodon_publisher(&mock, ""), rss_publisher("")),
    );
    assert!(
        bot.cmd(&["publish", "--date", DATE])
            .output()
            .unwrap()
            .status
            .success()
    );
    let listed = bot.cmd(&["journal"]).output().unwrap();
    let text = stdout(&listed);
    assert!(
        text.contains("2024-02-25  mastodon   02-25-k.md  http://"),
        "{text}"
    );
    assert!(
        text.contains("2024-02-25  rss        02-25-k.md  https://todayis.example/2024/k.html"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &bot.cmd(&["journal", "--date", DATE, "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json[0]["state"], "done");

    // A skipped publisher says where the publication is.
    let again = stdout(&bot.cmd(&["publish", "--date", DATE]).output().unwrap());
    assert!(
        again.contains("mastodon: skipped, already published for 2024-02-25 (http://"),
        "{again}"
    );

    let out = bot.cmd(&["unpublish", "--date", DATE]).output().unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("mastodon: taken back"),
        "{}",
        stdout(&out)
    );
    assert_eq!(mock.statuses().len(), 0);
    let feed = feedparser(&bot.path("public/feed.xml"));
    assert_eq!(feed["entries"].as_array().unwrap().len(), 0);
    assert!(stdout(&bot.cmd(&["journal"]).output().unwrap()).contains("nothing went out"));
    // A later publish makes a new one.
    assert!(
        bot.cmd(&["publish", "--date", DATE])
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_eq!(mock.statuses().len(), 1);
    assert_eq!(
        feedparser(&bot.path("public/feed.xml"))["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn force_after_a_status_was_deleted_by_hand_makes_a_new_one_at_once() {
    let mock = MastodonMock::start();
    let bot = Bot::new(
        &[("02-25-k.md", &khrushchev())],
        &mastodon_publisher(&mock, ""),
    );
    assert!(
        bot.cmd(&["publish", "--date", DATE])
            .output()
            .unwrap()
            .status
            .success()
    );
    let id = mock.statuses()[0]["id"].as_str().unwrap().to_string();
    reqwest::blocking::Client::new()
        .delete(format!("{}/api/v1/statuses/{id}", mock.url))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(mock.statuses().len(), 0);
    let out = bot
        .cmd(&["publish", "--date", DATE, "--force"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(mock.statuses().len(), 1);
    assert_ne!(mock.statuses()[0]["id"], id.as_str());
}

#[test]
fn a_one_shot_command_gives_up_in_seconds_and_names_the_server_and_what_to_do() {
    let port = free_port();
    let bot = Bot::new(
        &[("02-25-k.md", &khrushchev())],
        &format!(
            "[publishers.mastodon]\ntype = \"mastodon\"\ninstance = \"http://127.0.0.1:{port}\"\ntoken_env = \"TODAYIS_TEST_TOKEN\"\ntimeout = \"1s\"\n"
        ),
    );
    let out = bot
        .cmd(&["--retry-for", "3s", "publish", "--date", DATE])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "cannot connect to the server (http://127.0.0.1:{port}/api/v1/statuses)"
        )),
        "{text}"
    );
    assert!(
        text.contains("run `todayis publish --date 2024-02-25` again once the server answers"),
        "{text}"
    );
    assert!(!text.contains("it will be tried again later"), "{text}");
}

#[test]
fn a_server_that_quietly_drops_the_content_warning_and_visibility_is_called_out() {
    let mock = MastodonMock::start();
    // Like mitra: it keeps the text but not `spoiler_text` or `unlisted`.
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "status", "status": 200, "body": {"id": "42", "url": "https://m.example/@bot/42",
            "content": "<p>text</p>", "spoiler_text": "", "visibility": "public", "media_attachments": []}}}));
    let bot = Bot::new(
        &[("02-25-k.md", &khrushchev())],
        &mastodon_publisher(&mock, "visibility = \"unlisted\""),
    );
    let out = bot.cmd(&["publish", "--date", DATE]).output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("mastodon: note: the server dropped the content warning"),
        "{text}"
    );
    assert!(
        text.contains(
            "mastodon: note: the server dropped the visibility: sent unlisted, it says public"
        ),
        "{text}"
    );
}

#[test]
fn markdown_by_another_name_is_reported_not_skipped_silently() {
    let bot = Bot::new(
        &[
            ("02-25-k.md", &khrushchev()),
            ("02-26-a.markdown", &khrushchev()),
            ("02-27-b.MD", &khrushchev()),
        ],
        &rss_publisher(""),
    );
    let out = bot.cmd(&["check"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("02-26-a.markdown: not read: post files end in `.md`"),
        "{stderr}"
    );
    assert!(stderr.contains("02-27-b.MD: not read"), "{stderr}");
}

#[test]
fn the_ides_of_march_render_as_44_bc() {
    let bot = Bot::new(
        &[(
            "03-15-ides.md",
            "+++\ntitle = \"Caesar Is Killed\"\ndate = \"-0044-03-15\"\nurl = \"https://todayis.example/ides.html\"\ncontent_warning = \"Assassination\"\n+++\nThe senators struck.\n",
        )],
        "[publishers.m]\ntype = \"mastodon\"\ninstance = \"https://m.example\"\ntoken_env = \"T\"\ntemplate = \"{on_this_day}: {title} ({date}, {years_ago} years ago)\"\n",
    );
    let out = bot
        .cmd(&["preview", "--date", "2026-03-15"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("On this day in 44 BC: Caesar Is Killed (15 March 44 BC, 2069 years ago)"),
        "{text}"
    );
}

#[test]
fn a_draft_previews_on_its_own_day_and_says_which_years_it_goes_out() {
    let bot = Bot::new(&[("02-25-k.md", &khrushchev())], &rss_publisher(""));
    let draft = bot.path("draft.md");
    std::fs::write(&draft, post("A Draft", "1912-02-25", "d", "Words.", "")).unwrap();
    let out = bot
        .cmd(&[
            "preview",
            "--post",
            draft.to_str().unwrap(),
            "--date",
            "2026-02-25",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("goes out 2026-02-25 09:00 GMT"), "{text}");
    // With the library's post that day, `rotate` takes them in turn.
    assert!(text.contains("2 posts share its day; in the next ten years it goes out in 2026, 2028, 2030, 2032, 2034"), "{text}");
    // A broken draft prints only its error.
    std::fs::write(&draft, "+++\ntitle = 1\n+++\n").unwrap();
    let out = bot
        .cmd(&["preview", "--post", draft.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("draft.md:2:9"));
}

#[test]
fn the_calendar_marks_shared_days_broken_files_and_posts_too_long() {
    let long_title = "A ".repeat(160);
    let bot = Bot::new(
        &[
            ("02-25-k.md", &khrushchev()),
            (
                "02-25-other.md",
                &post("Other", "1921-02-25", "o", "B.", ""),
            ),
            ("02-26-broken.md", "+++\ntitle = 1\n+++\n"),
            (
                "02-27-long.md",
                &post(long_title.trim(), "1900-02-27", "l", "B.", ""),
            ),
        ],
        "[publishers.m]\ntype = \"mastodon\"\ninstance = \"https://m.example\"\ntoken_env = \"T\"\nmax_characters = 300\n",
    );
    let text = stdout(&bot.cmd(&["calendar", "--year", "2026"]).output().unwrap());
    assert!(
        text.contains("2026-02-25  ") && text.contains("[2 posts share the day]"),
        "{text}"
    );
    assert!(
        text.contains("2026-02-26  -- no post --  [broken: "),
        "{text}"
    );
    assert!(text.contains("[too long for m]"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(
        &bot.cmd(&["calendar", "--year", "2026", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["days"][55]["posts"], 2);
    assert_eq!(json["days"][56]["broken"].as_array().unwrap().len(), 1);
    assert_eq!(json["days"][57]["too_long"], json!(["m"]));
    let html = stdout(
        &bot.cmd(&["calendar", "--year", "2026", "--format", "html"])
            .output()
            .unwrap(),
    );
    assert!(
        html.contains("class=\"broken\""),
        "broken days have their own colour"
    );
    assert!(
        html.contains("a broken post file")
            && html.contains("too long for a publisher")
            && html.contains("no post")
    );
    assert!(
        html.contains(">Nikita Khrushchev Denou") || html.contains(">Other<"),
        "titles show without hovering"
    );
}

#[test]
fn an_impossible_date_says_how_many_days_the_month_has() {
    let bot = Bot::new(&[], &rss_publisher(""));
    let out = bot
        .cmd(&["preview", "--date", "2026-02-30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2026 has no 30 February: February 2026 has 28 days"),
        "{stderr}"
    );
    // Every command has an example, every flag a line of help.
    for command in [
        "run",
        "healthcheck",
        "preview",
        "publish",
        "journal",
        "unpublish",
        "correct",
        "check",
        "calendar",
    ] {
        let help =
            String::from_utf8(bot.cmd(&[command, "--help"]).output().unwrap().stdout).unwrap();
        assert!(help.contains("Example"), "{command}: {help}");
        for line in help.lines().filter(|l| l.trim_start().starts_with("--")) {
            assert!(
                line.split_whitespace().count() > 2,
                "{command}: a flag without help: {line}"
            );
        }
    }
}
