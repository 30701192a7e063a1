//! `todayis stats` against the reference Bluesky AppView (`@atproto/bsky`, run by
//! `@atproto/dev-env` with its PLC and PDS): a second account likes, reposts and
//! replies to the bot's post, and `stats` reports the AppView's numbers, asked
//! through the PDS (which proxies `app.bsky.feed.getPosts`) and from the AppView
//! directly (`appview` in the config).
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::Value;

fn counts(bot: &Bot) -> Value {
    let out = bot.cmd(&["stats", "--format", "json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["posts"][0]["places"][0].clone()
}

#[test]
fn stats_reports_the_appviews_likes_reposts_and_replies() {
    let mut network = AppView::start();
    let publisher = |extra: &str| {
        format!(
            "[publishers.bluesky]\ntype = \"bluesky\"\nservice = \"{}\"\nidentifier = \"{}\"\npassword_env = \"TODAYIS_TEST_BSKY\"\n{extra}\n",
            network.pds, network.handle
        )
    };
    let posts = [(
        "02/02-25-k.md",
        post(
            "Khrushchev Denounces Stalin",
            "1956-02-25",
            "k",
            "He spoke for hours.",
            "",
        ),
    )];
    let refs: Vec<(&str, &str)> = posts.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let bot = Bot::new(&refs, &publisher(""));
    bot.cmd(&["publish", "--date", "2026-02-25"])
        .env("TODAYIS_TEST_BSKY", &network.password)
        .assert()
        .success();
    let journal = std::fs::read_to_string(bot.path("state/journal.jsonl")).unwrap();
    let uri = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["event"] == "done")
        .unwrap()["remote_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(uri.starts_with("at://"), "{uri}");

    network.like(&uri);
    // Through the PDS (the default), which proxies to its AppView.
    let place = counts(&bot);
    assert_eq!(place["publisher"], "bluesky");
    assert_eq!(place["counts"]["likes"], 1, "{place}");
    assert_eq!(place["counts"]["reposts"], 1);
    assert_eq!(place["counts"]["replies"], 1);

    // From the AppView directly, with no session at all.
    std::fs::remove_file(bot.path("state/engagement.json")).unwrap();
    // The Bluesky table is the config's last: the key goes into it.
    let config = format!(
        "{}appview = \"{}\"\n",
        std::fs::read_to_string(bot.config()).unwrap(),
        network.appview
    );
    std::fs::write(bot.config(), config).unwrap();
    std::fs::remove_file(bot.path("state/bluesky-bluesky.session.json")).ok();
    let direct = counts(&bot);
    assert_eq!(direct["counts"]["likes"], 1, "{direct}");
    assert_eq!(direct["counts"]["reposts"], 1);
    assert_eq!(direct["counts"]["replies"], 1);
}
