//! The JSON the CLI prints is a contract (users' scripts read it): each shape is
//! pinned by a snapshot, so a change to it is a visible, reviewed change. The
//! README documents every field.

mod common;

use common::*;

const PUBLISHERS: &str = "[publishers.mastodon]\ntype = \"mastodon\"\ninstance = \"https://mastodon.example\"\ntoken_env = \"T\"\nhashtags = [\"OnThisDay\"]\n\n\
[publishers.bluesky]\ntype = \"bluesky\"\nservice = \"https://bsky.example\"\nidentifier = \"todayis.bsky.example\"\npassword_env = \"P\"\nhashtags = [\"OnThisDay\"]\n\n";

fn bot() -> Bot {
    let khrushchev = post(
        "Nikita Khrushchev Denounces Stalin",
        "1956-02-25",
        "k",
        "He spoke for four hours against [Stalin](https://en.wikipedia.org/wiki/Joseph_Stalin).",
        "tags = [\"ColdWar\"]\ncontent_warning = \"Repression\"\nsources = [\"https://www.britannica.com/event/Secret-Speech\"]",
    );
    Bot::new(
        &[
            ("02-25-k.md", &khrushchev),
            ("02-30-bad.md", "+++\ntitle = 1\n+++\n"),
        ],
        &format!("{PUBLISHERS}{}", rss_publisher("")),
    )
}

/// The command's stdout with the bot's temporary folder replaced by `[bot]`.
fn json_of(bot: &Bot, args: &[&str]) -> String {
    let out = bot.cmd(args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let _: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    text.replace(&bot.dir.path().display().to_string(), "[bot]")
}

#[test]
fn preview_json() {
    insta::assert_snapshot!(json_of(
        &bot(),
        &["preview", "--date", "2026-02-25", "--json"]
    ));
}

#[test]
fn check_json() {
    insta::assert_snapshot!(json_of(&bot(), &["check", "--json"]));
}

#[test]
fn calendar_json() {
    let text = json_of(&bot(), &["calendar", "--year", "2026", "--format", "json"]);
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Two days are enough to pin the shape: one with a post, one without.
    let days = v["days"].as_array().unwrap();
    let kept = vec![days[55].clone(), days[56].clone()];
    v["days"] = serde_json::Value::Array(kept);
    insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
}
