//! The Bluesky publisher against the reference PDS (`@atproto/pds` from npm), which
//! validates records against the lexicon: a post it accepts is one Bluesky accepts.

mod common;

use common::*;
use serde_json::Value;

const DATE: &str = "2024-02-25";

fn post_with_image() -> String {
    post(
        "Ça commence: Khrushchev Denounces Stalin 🎉",
        "1956-02-25",
        "02/khrushchev",
        "On the last day of the congress in 1956, Khrushchev spoke for four hours against Stalin — and the room went quiet. Nobody had said such things aloud before. שלום and 歴史 too.",
        "tags = [\"Cold War\", \"USSR\"]\nimage = \"moon.png\"\nimage_alt = \"A grey Moon\"",
    )
}

fn bot(pds: &Pds, extra: &str) -> Bot {
    let bot = Bot::new(
        &[("02-25-k.md", &post_with_image())],
        &bluesky_publisher(pds, extra),
    );
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/posts/07/moon.png"),
        bot.path("posts/moon.png"),
    )
    .unwrap();
    bot
}

fn publish(bot: &Bot, pds: &Pds, date: &str) -> std::process::Output {
    bot.cmd(&["publish", "--date", date])
        .env("TODAYIS_TEST_BSKY", &pds.app_password)
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

fn preview(bot: &Bot) -> Value {
    let out = bot
        .cmd(&["preview", "--date", DATE, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["outputs"][0].clone()
}

#[test]
fn the_record_is_exactly_what_preview_showed() {
    let pds = Pds::start();
    let bot = bot(&pds, "");
    let shown = preview(&bot);
    assert_eq!(shown["type"], "bluesky");
    assert!(shown["length"].as_u64().unwrap() <= 300);
    let out = publish(&bot, &pds, DATE);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let posts = pds.posts();
    assert_eq!(posts.len(), 1);
    let rkey = shown["rkey"].as_str().unwrap();
    let record = pds.get(
        "com.atproto.repo.getRecord",
        &format!("repo={}&collection=app.bsky.feed.post&rkey={rkey}", pds.did),
    );
    let value = &record["value"];
    let text = value["text"].as_str().unwrap();
    assert_eq!(text, shown["text"]);
    assert_eq!(value["langs"], serde_json::json!(["en"]));
    assert_eq!(value["createdAt"], "2024-02-25T09:00:00.000Z");

    // Each facet's byte range, sliced out of the UTF-8 text, is what it claims.
    let facets = value["facets"].as_array().unwrap();
    assert_eq!(facets.len(), shown["facets"].as_array().unwrap().len());
    let tags: Vec<&str> = facets
        .iter()
        .map(|f| {
            let (start, end) = (
                f["index"]["byteStart"].as_u64().unwrap() as usize,
                f["index"]["byteEnd"].as_u64().unwrap() as usize,
            );
            // Byte offsets: the slice must fall on character boundaries.
            let slice = text
                .get(start..end)
                .expect("a facet on UTF-8 character boundaries");
            let feature = &f["features"][0];
            assert_eq!(feature["$type"], "app.bsky.richtext.facet#tag");
            assert_eq!(slice, format!("#{}", feature["tag"].as_str().unwrap()));
            feature["tag"].as_str().unwrap()
        })
        .collect();
    assert_eq!(tags, ["OnThisDay", "ColdWar", "USSR"]);

    let external = &value["embed"]["external"];
    assert_eq!(value["embed"]["$type"], "app.bsky.embed.external");
    assert_eq!(external["uri"], shown["card"]["uri"]);
    assert_eq!(external["title"], shown["card"]["title"]);
    assert_eq!(external["description"], shown["card"]["description"]);
    let thumb = &external["thumb"];
    assert_eq!(thumb["mimeType"], "image/png");
    assert!(
        thumb["ref"]["$link"].is_string() && thumb["size"].as_u64().unwrap() > 0,
        "{thumb}"
    );
}

#[test]
fn a_link_in_the_text_gets_a_link_facet() {
    let pds = Pds::start();
    let bot = bot(&pds, "link_card = false");
    let out = publish(&bot, &pds, DATE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let value = &pds.posts()[0]["value"];
    let text = value["text"].as_str().unwrap();
    let link = value["facets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["features"][0]["$type"] == "app.bsky.richtext.facet#link")
        .unwrap();
    let (s, e) = (
        link["index"]["byteStart"].as_u64().unwrap() as usize,
        link["index"]["byteEnd"].as_u64().unwrap() as usize,
    );
    assert_eq!(
        &text.as_bytes()[s..e],
        b"https://todayis.example/2024/02/khrushchev.html"
    );
    assert_eq!(
        link["features"][0]["uri"],
        "https://todayis.example/2024/02/khrushchev.html"
    );
    assert!(value.get("embed").is_none());
}

#[test]
fn two_publications_one_login_and_a_dead_token_is_renewed() {
    let pds = Pds::start();
    let posts: Vec<(String, String)> = ["02-25", "02-26", "02-27"]
        .iter()
        .map(|md| {
            (
                format!("{md}-p.md"),
                post(
                    &format!("Event {md}"),
                    &format!("1900-{md}"),
                    md,
                    "Body of the post.",
                    "",
                ),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = posts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let bot = Bot::new(&refs, &bluesky_publisher(&pds, ""));
    let first = publish(&bot, &pds, "2024-02-25");
    let second = publish(&bot, &pds, "2024-02-26");
    assert!(first.status.success() && second.status.success());
    let logins = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stderr)
            .matches("logged in")
            .count()
    };
    assert_eq!(
        (logins(&first), logins(&second)),
        (1, 0),
        "the second run reuses the kept session"
    );

    // The access token stops working: the session is renewed with the refresh token.
    let path = bot.path("state/bluesky-bluesky.session.json");
    let mut session: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    session["accessJwt"] = Value::from("expired.access.token");
    std::fs::write(&path, serde_json::to_vec(&session).unwrap()).unwrap();
    let third = publish(&bot, &pds, "2024-02-27");
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "{stderr}");
    assert!(
        stderr.contains("renewed the session") && !stderr.contains("logged in"),
        "{stderr}"
    );
    assert_eq!(pds.posts().len(), 3);
}

#[test]
fn a_retry_after_a_lost_answer_leaves_one_post() {
    let pds = Pds::start();
    let bot = bot(&pds, "");
    assert!(publish(&bot, &pds, DATE).status.success());
    // As if the answer had been lost (a timeout, a crash before the journal): the
    // journal does not know, so the publication is tried again with the same key.
    std::fs::remove_file(bot.path("state/journal.jsonl")).unwrap();
    let again = publish(&bot, &pds, DATE);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("bluesky: published"));
    assert_eq!(pds.posts().len(), 1);

    // The realistic loss: the intent is on disk, the answer never was. The record
    // is found by its key before anything is written.
    let journal = std::fs::read_to_string(bot.path("state/journal.jsonl")).unwrap();
    let kept: Vec<&str> = journal
        .lines()
        .filter(|l| !l.contains("\"event\":\"done\""))
        .collect();
    std::fs::write(bot.path("state/journal.jsonl"), kept.join("\n") + "\n").unwrap();
    let reconciled = publish(&bot, &pds, DATE);
    let stdout = String::from_utf8_lossy(&reconciled.stdout);
    assert!(reconciled.status.success(), "{stdout}");
    assert!(stdout.contains("already on the server"), "{stdout}");
    assert_eq!(pds.posts().len(), 1);

    // --force is a new publication, with a record key of its own.
    assert!(
        bot.cmd(&["publish", "--date", DATE, "--force"])
            .env("TODAYIS_TEST_BSKY", &pds.app_password)
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_eq!(pds.posts().len(), 2);
}

#[test]
fn a_wrong_app_password_says_what_to_fix_and_never_shows_it() {
    let pds = Pds::start();
    let bot = bot(&pds, "");
    let secret = "wrong-pass-word-1234";
    let out = bot
        .cmd(&["publish", "--date", DATE])
        .env("TODAYIS_TEST_BSKY", secret)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout
            .contains("bluesky: failed: logging in: the server refused the credentials (HTTP 401"),
        "{stdout}"
    );
    assert!(stdout.contains("app password"), "{stdout}");
    assert!(
        !stdout.contains(secret) && !stderr.contains(secret),
        "the password leaked"
    );
    assert!(pds.posts().is_empty());
}

#[test]
fn a_long_post_is_fitted_to_300_graphemes_and_accepted() {
    let pds = Pds::start();
    let body = "Ünïcödé words with combining marks e\u{301} and emoji 👩‍👩‍👧 go on and on. ".repeat(40);
    let bot = Bot::new(
        &[(
            "02-25-long.md",
            &post("A Long One", "1956-02-25", "long", &body, ""),
        )],
        &bluesky_publisher(&pds, ""),
    );
    let out = publish(&bot, &pds, DATE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = pds.posts()[0]["value"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    use unicode_segmentation::UnicodeSegmentation;
    let graphemes = text.graphemes(true).count();
    assert!(graphemes <= 300 && graphemes > 200, "{graphemes}");
}
