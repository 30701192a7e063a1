//! Corrections: a post fixed after it went out is fixed everywhere it went, once.
//! Against mastodon-mock (which keeps an edit history), feedparser and the
//! reference Bluesky PDS.
// These tests drive the real binary on the real clock, as an operator would.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::Value;

const DATE: &str = "2024-02-25";

fn khrushchev(body: &str, extra: &str) -> String {
    post(
        "Nikita Khrushchev Denounces Stalin",
        "1956-02-25",
        "k",
        body,
        extra,
    )
}

const FIRST: &str = "He spoke for three decades of Stalin's rule.";
const FIXED: &str = "He spoke against nearly three decades of Stalin's rule.";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run(bot: &Bot, args: &[&str]) -> std::process::Output {
    bot.cmd(args)
        .env(
            "TODAYIS_TEST_BSKY",
            std::env::var("TODAYIS_TEST_BSKY").unwrap_or_default(),
        )
        .output()
        .unwrap()
}

#[test]
fn an_edited_post_is_carried_to_the_same_status_and_the_same_feed_item_once() {
    let mock = MastodonMock::start();
    let bot = Bot::new(
        &[("02-25-k.md", &khrushchev(FIRST, ""))],
        &format!("{}{}", mastodon_publisher(&mock, ""), rss_publisher("")),
    );
    assert!(run(&bot, &["publish", "--date", DATE]).status.success());
    let id = mock.statuses()[0]["id"].as_str().unwrap().to_string();
    let guid_before = feedparser(&bot.path("public/feed.xml"))["entries"][0]["id"].clone();

    // Nothing changed yet: nothing to do.
    let out = run(&bot, &["correct", "--date", DATE]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("mastodon: unchanged"),
        "{}",
        stdout(&out)
    );

    // The editor fixes the text and adds a content warning.
    std::fs::write(
        bot.path("posts/02-25-k.md"),
        khrushchev(FIXED, "content_warning = \"Repression\""),
    )
    .unwrap();
    let dry = run(&bot, &["correct", "--date", DATE, "--dry-run"]);
    let text = stdout(&dry);
    assert!(dry.status.success(), "{text}");
    assert!(
        text.contains("mastodon: would change (dry run, nothing sent):"),
        "{text}"
    );
    assert!(text.contains(&format!("    - {FIRST}")), "{text}");
    assert!(text.contains(&format!("    + {FIXED}")), "{text}");
    assert!(
        text.contains("content warning: (none) → Repression"),
        "{text}"
    );
    assert!(text.contains("rss: would change"), "{text}");
    assert!(
        mock.source_text(&id).contains(FIRST),
        "a dry run sends nothing"
    );

    let out = run(&bot, &["correct", "--date", DATE]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("mastodon: corrected"),
        "{}",
        stdout(&out)
    );
    // The same status, edited: its history has both versions.
    assert_eq!(mock.statuses().len(), 1);
    assert_eq!(mock.statuses()[0]["id"], id.as_str());
    assert!(mock.source_text(&id).contains(FIXED));
    let history = mock.get(&format!("/api/v1/statuses/{id}/history"));
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert_eq!(
        mock.get(&format!("/api/v1/statuses/{id}"))["spoiler_text"],
        "Repression"
    );
    // The feed: one item, the same guid, the new text.
    let feed = feedparser(&bot.path("public/feed.xml"));
    assert_eq!(feed["bozo"], false);
    let entries = feed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["id"], guid_before);
    assert!(
        entries[0]["summary"].as_str().unwrap().contains(FIXED),
        "{}",
        entries[0]
    );

    // A second run changes nothing.
    let again = run(&bot, &["correct", "--date", DATE]);
    assert!(
        stdout(&again).contains("mastodon: unchanged"),
        "{}",
        stdout(&again)
    );
    assert!(
        stdout(&again).contains("rss: unchanged"),
        "{}",
        stdout(&again)
    );
    let history = mock.get(&format!("/api/v1/statuses/{id}/history"));
    assert_eq!(history.as_array().unwrap().len(), 2);

    // And the preview says it went out and matches what is on the server now.
    let preview: Value =
        serde_json::from_slice(&run(&bot, &["preview", "--date", DATE, "--json"]).stdout).unwrap();
    let sent = &preview["sent"];
    assert_eq!(sent[0]["publisher"], "mastodon", "{preview}");
    assert_eq!(sent[0]["differs"], false, "{preview}");
}

#[test]
fn a_fixed_picture_description_is_carried_with_the_kept_picture() {
    let mock = MastodonMock::start();
    let with_alt = |alt: &str| {
        khrushchev(
            FIRST,
            &format!("image = \"moon.png\"\nimage_alt = \"{alt}\""),
        )
    };
    let bot = Bot::new(
        &[("02-25-k.md", &with_alt("A grey Moon"))],
        &mastodon_publisher(&mock, ""),
    );
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/posts/07/moon.png"),
        bot.path("posts/moon.png"),
    )
    .unwrap();
    assert!(run(&bot, &["publish", "--date", DATE]).status.success());
    std::fs::write(
        bot.path("posts/02-25-k.md"),
        with_alt("A pale full Moon on a black sky"),
    )
    .unwrap();
    let out = run(&bot, &["correct", "--date", DATE]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("mastodon: corrected"), "{text}");
    assert!(
        text.contains("A grey Moon"),
        "the description's change is shown: {text}"
    );
    assert!(
        !text.contains("picture: "),
        "the picture itself is unchanged: {text}"
    );
    let again = run(&bot, &["correct", "--date", DATE]);
    assert!(
        stdout(&again).contains("mastodon: unchanged"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn a_day_that_now_picks_another_post_is_refused() {
    let mock = MastodonMock::start();
    let bot = Bot::new(
        &[("02-25-k.md", &khrushchev(FIRST, ""))],
        &mastodon_publisher(&mock, ""),
    );
    assert!(run(&bot, &["publish", "--date", DATE]).status.success());
    std::fs::rename(
        bot.path("posts/02-25-k.md"),
        bot.path("posts/02-25-renamed.md"),
    )
    .unwrap();
    let out = run(&bot, &["correct", "--date", DATE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(
            "mastodon: refused: 02-25-k.md went out, but the day now picks 02-25-renamed.md"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        mock.get(&format!(
            "/api/v1/statuses/{}/history",
            mock.statuses()[0]["id"].as_str().unwrap()
        ))
        .as_array()
        .unwrap()
        .len(),
        1
    );
}

#[test]
fn bluesky_is_not_edited_in_place_but_reposted_on_request() {
    let pds = Pds::start();
    let bot = Bot::new(
        &[("02-25-k.md", &khrushchev(FIRST, ""))],
        &bluesky_publisher(&pds, ""),
    );
    let with_password = |args: &[&str]| {
        bot.cmd(args)
            .env("TODAYIS_TEST_BSKY", &pds.app_password)
            .output()
            .unwrap()
    };
    assert!(with_password(&["publish", "--date", DATE]).status.success());
    std::fs::write(bot.path("posts/02-25-k.md"), khrushchev(FIXED, "")).unwrap();
    let out = with_password(&["correct", "--date", DATE]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("cannot be corrected in place"),
        "{}",
        stdout(&out)
    );
    let records = pds.posts();
    assert_eq!(records.len(), 1);
    assert!(
        records[0]["value"]["text"]
            .as_str()
            .unwrap()
            .contains(FIRST)
    );

    let out = with_password(&["correct", "--date", DATE, "--repost"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let records = pds.posts();
    assert_eq!(
        records.len(),
        1,
        "the old post is gone, the corrected one is there"
    );
    assert!(
        records[0]["value"]["text"]
            .as_str()
            .unwrap()
            .contains(FIXED)
    );
    let again = with_password(&["correct", "--date", DATE, "--repost"]);
    assert!(
        stdout(&again).contains("bluesky: unchanged"),
        "{}",
        stdout(&again)
    );
    assert_eq!(pds.posts().len(), 1);
}
