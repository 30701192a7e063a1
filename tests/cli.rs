//! The command line as users and their scripts see it: output, JSON, exit statuses
//! and error messages.

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

const MASTODON: &str = "[publishers.mastodon]\ntype = \"mastodon\"\ninstance = \"https://mastodon.example\"\ntoken_env = \"T\"\nhashtags = [\"OnThisDay\"]\n";

fn shipped() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("todayis").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("TODAYIS_CONFIG");
    cmd
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_shipped_library_and_config_pass_check() {
    let files = count_posts(&Path::new(env!("CARGO_MANIFEST_DIR")).join("posts"));
    // An editor checks the library without the publishers' secrets...
    shipped()
        .args(["check", "--strict", "--no-credentials"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "posts: {files} valid, 0 invalid, 0 warnings"
        )));
    // ...the operator's check looks for them, and says where.
    shipped()
        .args(["check"])
        .env_remove("TODAYIS_MASTODON_TOKEN")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "mastodon: problem: no access token: the environment variable TODAYIS_MASTODON_TOKEN is not set",
        ));
    shipped()
        .args(["check", "--strict"])
        .env("TODAYIS_MASTODON_TOKEN", "a-token")
        .env("TODAYIS_BLUESKY_APP_PASSWORD", " padded ")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "bluesky: problem: no app password: the environment variable TODAYIS_BLUESKY_APP_PASSWORD has spaces or tabs around the secret",
        ));
    let out = shipped()
        .args(["check", "--json"])
        .env("TODAYIS_MASTODON_TOKEN", "a-token")
        .env("TODAYIS_BLUESKY_APP_PASSWORD", "an-app-password")
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["coverage"]["days"], 366);
    assert_eq!(v["coverage"]["days_with_post"], 366, "a full year ships");
    assert_eq!(v["coverage"]["missing"], serde_json::json!([]));
    assert_eq!(v["posts"]["warnings"], serde_json::json!([]));
}

#[test]
fn the_container_config_passes_check() {
    shipped()
        .args([
            "--config",
            "config/container.toml",
            "check",
            "--no-credentials",
        ])
        .assert()
        .success();
}

#[test]
fn preview_json_has_the_contracts_shape() {
    let out = shipped()
        .args(["preview", "--date", "2024-02-25", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json(&out);
    assert_eq!(v["date"], "2024-02-25");
    assert_eq!(v["timezone"], "Europe/London");
    assert_eq!(
        v["post"]["path"],
        "posts/02/02-25-khrushchev-denounces-stalin.md"
    );
    assert_eq!(v["post"]["title"], "Nikita Khrushchev Denounces Stalin");
    assert_eq!(v["post"]["date"], "1956-02-25");
    assert_eq!(v["post"]["tags"], serde_json::json!(["ColdWar", "USSR"]));
    let output = |name: &str| {
        v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["publisher"] == name)
            .unwrap()
            .clone()
    };
    let m = &output("mastodon");
    assert_eq!(
        (
            m["publisher"].as_str(),
            m["type"].as_str(),
            m["limit"].as_u64()
        ),
        (Some("mastodon"), Some("mastodon"), Some(500))
    );
    assert!(m["length"].as_u64().unwrap() <= 500);
    let b = &output("bluesky");
    assert_eq!(
        (b["type"].as_str(), b["limit"].as_u64()),
        (Some("bluesky"), Some(300))
    );
    assert!(b["length"].as_u64().unwrap() <= 300 && b["card"]["uri"].is_string());
    let r = &output("rss");
    assert_eq!(r["type"], "rss");
    for key in ["title", "link", "guid", "description", "pubDate"] {
        assert!(
            r["item"].get(key).is_some() || r.get(key).is_some(),
            "rss output lacks {key}: {r}"
        );
    }
}

fn count_posts(folder: &Path) -> usize {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                count_posts(&p)
            } else {
                usize::from(p.extension().is_some_and(|e| e == "md"))
            }
        })
        .sum()
}

#[test]
fn preview_of_a_day_with_no_post() {
    let bot = Bot::new(
        &[(
            "01/01-15-museum.md",
            &post(
                "The British Museum Opens Its Doors",
                "1759-01-15",
                "m",
                "It opened.",
                "",
            ),
        )],
        MASTODON,
    );
    let out = bot
        .cmd(&["preview", "--date", "2024-01-02", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json(&out);
    assert!(v["post"].is_null());
    assert_eq!(v["outputs"], serde_json::json!([]));
    bot.cmd(&["preview", "--date", "2024-01-02"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("no post for this day").and(predicate::str::contains(
                "the next post goes out on 2024-01-15: The British Museum Opens Its Doors",
            )),
        );
}

#[test]
fn preview_shows_the_leap_day_post_on_feb_28_of_a_common_year() {
    let out = shipped()
        .args(["preview", "--date", "2026-02-28", "--json"])
        .output()
        .unwrap();
    // Feb 28 has a post of its own too: `rotate` takes them in turn, by year.
    assert_eq!(json(&out)["post"]["date"], "1940-02-29");
}

#[test]
fn preview_of_a_draft_file() {
    let bot = Bot::new(&[], MASTODON);
    let draft = bot.path("draft.md");
    std::fs::write(
        &draft,
        post("A Draft", "1912-04-15", "d", "Some words.", ""),
    )
    .unwrap();
    bot.cmd(&[
        "preview",
        "--post",
        draft.to_str().unwrap(),
        "--date",
        "2024-04-15",
    ])
    .assert()
    .success()
    .stdout(
        predicate::str::contains("On this day in 1912: A Draft")
            .and(predicate::str::contains("#OnThisDay")),
    );
    std::fs::write(&draft, "+++\ntitle = \"x\"\n").unwrap();
    bot.cmd(&["preview", "--post", draft.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "draft.md:1:1: the front matter opened here is never closed",
        ));
}

#[test]
fn check_reports_every_broken_post_with_its_position_and_keeps_the_rest() {
    let good = post("Good", "1956-02-25", "g", "Fine.", "");
    let bot = Bot::new(
        &[
            ("02-25-good.md", &good),
            ("02-26-wrong-day.md", &post("W", "1956-02-25", "w", "x", "")),
            (
                "03-01-typo.md",
                "+++\ntitle = \"T\"\ndate = 1900-03-01\nurl = \"https://a.example/\"\ntagz = []\n+++\n",
            ),
            (
                "03-02-bad-url.md",
                "+++\ntitle = \"T\"\ndate = 1900-03-02\nurl = \"ftp://a.example/\"\n+++\n",
            ),
            (
                "03-03-no-alt.md",
                "+++\ntitle = \"T\"\ndate = 1900-03-03\nurl = \"https://a.example/\"\nimage = \"x.png\"\n+++\n",
            ),
            (
                "03-04-missing-image.md",
                "+++\ntitle = \"T\"\ndate = 1900-03-04\nurl = \"https://a.example/\"\nimage = \"gone.png\"\nimage_alt = \"A\"\n+++\n",
            ),
            ("03-05-empty.md", ""),
            ("notes.md", "not a post"),
            ("03/02-25-misplaced.md", &good),
        ],
        MASTODON,
    );
    std::fs::write(
        bot.path("posts/03-06-latin1.md"),
        b"+++\ntitle = \"caf\xe9\"\n+++\n",
    )
    .unwrap();
    let out = bot.cmd(&["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let p = bot.path("posts");
    let p = p.display();
    for expected in [
        format!(
            "{p}/02-26-wrong-day.md:3:1: the file name says 02-26 but `date` is 1956-02-25: rename the file to 02-25-wrong-day.md"
        ),
        format!("{p}/03-01-typo.md:5:1: unknown key `tagz`: did you mean `tags`?"),
        format!("{p}/03-02-bad-url.md:4:7: `url` must be an absolute http(s) URL"),
        format!("{p}/03-03-no-alt.md:5:9: `image` needs `image_alt`"),
        format!("{p}/03-04-missing-image.md:5:9: the image {p}/gone.png cannot be opened"),
        format!("{p}/03-05-empty.md:1:1: the file is empty"),
        format!("{p}/03-06-latin1.md:2:13: the file is not valid UTF-8"),
        format!("{p}/notes.md:1:1: the file name must start with the event's month and day"),
        format!(
            "{p}/03/02-25-misplaced.md:1:1: a post for 02-25 in the folder of month 03: move it to a folder named 02"
        ),
        "posts: 1 valid, 9 invalid".to_string(),
        "check failed".to_string(),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
    // The good post still goes out.
    bot.cmd(&["preview", "--date", "2024-02-25"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Good"));
}

#[test]
fn check_json_lists_errors_with_line_and_column() {
    let bot = Bot::new(
        &[(
            "03-01-typo.md",
            "+++\ntitle = \"T\"\ndate = 1900-03-01\nurl = \"https://a.example/\"\ntagz = []\n+++\n",
        )],
        MASTODON,
    );
    let out = bot.cmd(&["check", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["ok"], false);
    let e = &v["posts"]["errors"][0];
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(5), Some(1))
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown key `tagz`")
    );
}

#[test]
fn a_post_that_cannot_fit_fails_check() {
    let title = "A very long title ".repeat(30);
    let bot = Bot::new(
        &[(
            "02-25-long.md",
            &post(&title, "1956-02-25", "l", "Body.", ""),
        )],
        MASTODON,
    );
    bot.cmd(&["check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "does not fit in 500 characters even with no summary",
        ));
    bot.cmd(&["preview", "--date", "2024-02-25"])
        .assert()
        .code(1);
}

#[test]
fn a_broken_config_names_every_key_and_exits_2() {
    let bot = Bot::new(&[], "");
    std::fs::write(
        bot.config(),
        "[bot]\nposts = \"nowhere\"\ntimezone = \"Mars/Olympus\"\nschedule = \"0 9 * *\"\n\n[publishers.m]\ntype = \"mastodon\"\ninstance = \"http://mastodon.example\"\n",
    )
    .unwrap();
    let out = bot.cmd(&["preview"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in [
        "`bot.posts`",
        "`bot.timezone`",
        "`bot.schedule`",
        "`publishers.m.instance`",
        "`publishers.m.token_env`",
    ] {
        assert!(stderr.contains(key), "no error for {key}:\n{stderr}");
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Error {"),
        "{stderr}"
    );
    // check reports the same, as a failed check.
    bot.cmd(&["check"]).assert().code(1);
}

#[test]
fn an_unknown_key_in_the_config_is_named() {
    let bot = Bot::new(&[], MASTODON);
    let text = std::fs::read_to_string(bot.config())
        .unwrap()
        .replace("token_env", "tokn_env");
    std::fs::write(bot.config(), text).unwrap();
    bot.cmd(&["check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`publishers.mastodon`: unknown field `tokn_env`",
        ));
}

#[test]
fn usage_errors_exit_2() {
    shipped()
        .args(["preview", "--date", "25/02/2024"])
        .assert()
        .code(2);
    shipped().args(["frobnicate"]).assert().code(2);
    shipped()
        .args(["preview", "--publisher", "nobody"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no publisher named `nobody`"));
    shipped()
        .args(["--config", "/nonexistent/todayis.toml", "preview"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("there is no config file here"));
    // check too: no config is a usage error, not a failed check.
    shipped()
        .args(["--config", "/nonexistent/todayis.toml", "check"])
        .assert()
        .code(2);
}

#[test]
fn the_config_is_found_through_the_environment() {
    let bot = Bot::new(
        &[(
            "02-25-k.md",
            &post("Env Found", "1956-02-25", "k", "Body.", ""),
        )],
        MASTODON,
    );
    let mut cmd = assert_cmd::Command::cargo_bin("todayis").unwrap();
    cmd.env("TODAYIS_CONFIG", bot.config())
        .args(["preview", "--date", "2024-02-25"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Env Found"));
}

#[test]
fn calendar_in_three_formats() {
    let out = shipped()
        .args(["calendar", "--year", "2026", "--format", "json"])
        .output()
        .unwrap();
    let v = json(&out);
    let days = v["days"].as_array().unwrap();
    assert_eq!(days.len(), 365);
    assert_eq!(days[55]["date"], "2026-02-25");
    assert_eq!(
        days[55]["post"]["title"],
        "Nikita Khrushchev Denounces Stalin"
    );
    assert_eq!(
        days[58]["post"]["date"], "1940-02-29",
        "the leap-day post goes out on Feb 28"
    );
    assert!(days.iter().all(|d| !d["post"].is_null()), "no gap");

    shipped()
        .args(["calendar", "--year", "2024"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("2024-02-29  Hattie McDaniel Wins an Oscar (1940)")
                .and(predicate::str::contains("-- no post --").not()),
        );

    let out = shipped()
        .args(["calendar", "--year", "2024", "--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<table>").count(), 12);
    assert_eq!(html.matches("class=\"post\"").count(), 366);
    assert_eq!(html.matches("class=\"gap\"").count(), 0);
    assert!(
        html.contains("href=\"https://todayis.example/2025/02/khrushchev-denounces-stalin.html\"")
    );
}

#[test]
fn help_works() {
    shipped()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("preview"));
}
