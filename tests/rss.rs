//! The RSS publisher, read back by feedparser (a parser nobody here wrote).

mod common;

use common::*;

const HOSTILE_TITLE: &str = "Fish & Chips <script>alert(1)</script> ]]> 🐟 שלום";

fn hostile_post() -> String {
    post(
        HOSTILE_TITLE,
        "1956-02-25",
        "hostile",
        "A body with <script>alert('x')</script> raw HTML, ]]> a CDATA end, & an ampersand, emoji 🎉, and right-to-left: مرحبا بالعالم.\n\nA [relative link](/2024/other.html) and **bold**.",
        "",
    )
}

#[test]
fn hostile_text_makes_a_valid_feed_and_a_clean_toot() {
    let bot = Bot::new(&[("02-25-hostile.md", &hostile_post())], &rss_publisher(""));
    bot.cmd(&["publish", "--date", "2024-02-25"])
        .assert()
        .success();
    let feed = feedparser(&bot.path("public/feed.xml"));
    assert_eq!(feed["bozo"], false, "{}", feed["error"]);
    assert_eq!(feed["version"], "rss20");
    let entry = &feed["entries"][0];
    assert_eq!(entry["title"], HOSTILE_TITLE);
    assert_eq!(entry["link"], "https://todayis.example/2024/hostile.html");
    let content = entry["content"].as_str().unwrap();
    assert!(
        !content.contains("<script"),
        "raw HTML must not reach readers: {content}"
    );
    assert!(
        content.contains("https://todayis.example/2024/other.html"),
        "links are absolute: {content}"
    );
    assert!(content.contains("<strong>bold</strong>"), "{content}");
    assert!(
        entry["summary"]
            .as_str()
            .unwrap()
            .contains("right-to-left: مرحبا بالعالم.")
    );
    assert_eq!(entry["published"], "Sun, 25 Feb 2024 09:00:00 +0000");

    // The toot of the same post: no markup, the text intact.
    let bot = Bot::new(
        &[("02-25-hostile.md", &hostile_post())],
        "[publishers.m]\ntype = \"mastodon\"\ninstance = \"https://mastodon.example\"\ntoken_env = \"T\"\n",
    );
    let out = bot
        .cmd(&["preview", "--date", "2024-02-25", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v["outputs"][0]["text"].as_str().unwrap();
    assert!(text.contains(HOSTILE_TITLE), "{text}");
    assert!(!text.contains("<script>alert('x')"), "{text}");
    assert!(text.contains("& an ampersand, emoji 🎉"), "{text}");
}

#[test]
fn the_feed_keeps_max_items_newest_first_and_rewrites_identically() {
    let posts: Vec<(String, String)> = (1..=5)
        .map(|d| {
            (
                format!("03-{d:02}-p{d}.md"),
                post(
                    &format!("Event {d}"),
                    &format!("1900-03-{d:02}"),
                    &format!("p{d}"),
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
    let bot = Bot::new(&refs, &rss_publisher("max_items = 3"));
    for d in 1..=5 {
        bot.cmd(&["publish", "--date", &format!("2024-03-{d:02}")])
            .assert()
            .success();
    }
    let feed = feedparser(&bot.path("public/feed.xml"));
    assert_eq!(feed["bozo"], false, "{}", feed["error"]);
    let titles: Vec<&str> = feed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Event 5", "Event 4", "Event 3"]);

    let before = std::fs::read(bot.path("public/feed.xml")).unwrap();
    // With the journal gone the item is added again: its guid is there already.
    std::fs::remove_file(bot.path("state/journal.jsonl")).unwrap();
    bot.cmd(&["publish", "--date", "2024-03-05"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(bot.path("public/feed.xml")).unwrap(),
        before,
        "no news, same bytes"
    );
}

#[test]
fn the_channel_has_what_rss_requires() {
    let bot = Bot::new(
        &[("02-25-k.md", &post("K", "1956-02-25", "k", "Body.", ""))],
        &rss_publisher(""),
    );
    bot.cmd(&["publish", "--date", "2024-02-25"])
        .assert()
        .success();
    let xml = std::fs::read_to_string(bot.path("public/feed.xml")).unwrap();
    for needle in [
        "<atom:link href=\"https://todayis.example/feed.xml\" rel=\"self\" type=\"application/rss+xml\"/>",
        "<language>en</language>",
        // The feed and the date, not the post's URL: an edited post is the same item.
        "<guid isPermaLink=\"false\">https://todayis.example/feed.xml#todayis-2024-02-25</guid>",
        "<description>What happened on this day</description>",
    ] {
        assert!(xml.contains(needle), "missing {needle} in\n{xml}");
    }
}
