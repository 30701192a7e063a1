//! The exactly-once and nothing-leaves-the-library promises under the faults an
//! operator meets: a server that forgot the key, lost answers, a full disk, many
//! processes at once, hostile post files and hostile servers. Each test failed on
//! the code before the hardening.
// These tests drive the real binary on the real clock, as an operator would.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use serde_json::json;

const DATE: &str = "2024-02-25";

fn khrushchev(url: &str) -> String {
    format!(
        "+++\ntitle = \"Nikita Khrushchev Denounces Stalin\"\ndate = 1956-02-25\nurl = \"{url}\"\n+++\nHe spoke for four hours.\n"
    )
}

const URL: &str = "https://todayis.example/2024/02/khrushchev.html";

/// A mastodon publisher (with the feed) pointing at `instance`.
fn publishers(instance: &str) -> String {
    format!(
        "[publishers.mastodon]\ntype = \"mastodon\"\ninstance = \"{instance}\"\ntoken_env = \"TODAYIS_TEST_TOKEN\"\ntimeout = \"2s\"\n\n{}",
        rss_publisher("max_items = 100")
    )
}

fn feed_items(bot: &Bot) -> usize {
    feedparser(&bot.path("public/feed.xml"))["entries"]
        .as_array()
        .unwrap()
        .len()
}

fn publish(bot: &Bot, date: &str) -> std::process::Output {
    bot.cmd(&["publish", "--date", date]).output().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Drops the `done` records of the journal: a crash after the server accepted and
/// before the answer was written down.
fn forget_answers(bot: &Bot) {
    let path = bot.path("state/journal.jsonl");
    let journal = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = journal
        .lines()
        .filter(|l| !l.contains("\"event\":\"done\""))
        .collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
}

#[test]
fn a_server_that_forgot_the_key_and_lost_the_answer_gets_one_status() {
    let mock = MastodonMock::start();
    let proxy = ForgetfulProxy::start(&mock.url, 1);
    let bot = Bot::new(&[("02-25-k.md", &khrushchev(URL))], &publishers(&proxy.url));
    let out = publish(&bot, DATE);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(proxy.lost.load(Ordering::SeqCst), 1, "an answer was lost");
    assert_eq!(mock.statuses().len(), 1, "looked before posting again");
}

#[test]
fn an_answer_lost_hours_ago_is_found_even_after_the_post_was_edited() {
    let mock = MastodonMock::start();
    let proxy = ForgetfulProxy::start(&mock.url, 0);
    let bot = Bot::new(&[("02-25-k.md", &khrushchev(URL))], &publishers(&proxy.url));
    assert!(publish(&bot, DATE).status.success());
    forget_answers(&bot);
    // The editor fixes the link in the meantime; the key was forgotten long ago.
    std::fs::write(
        bot.path("posts/02-25-k.md"),
        khrushchev("https://todayis.example/2024/02/khrushchev-fixed.html"),
    )
    .unwrap();
    let out = publish(&bot, DATE);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("already on the server"),
        "{}",
        stdout(&out)
    );
    assert_eq!(mock.statuses().len(), 1);
    assert_eq!(feed_items(&bot), 1);
}

#[test]
fn a_second_post_for_the_day_between_a_lost_answer_and_the_retry_is_no_second_toot() {
    let mock = MastodonMock::start();
    let proxy = ForgetfulProxy::start(&mock.url, 0);
    let bot = Bot::new(&[("02-25-k.md", &khrushchev(URL))], &publishers(&proxy.url));
    assert!(publish(&bot, DATE).status.success());
    forget_answers(&bot);
    for year in ["1921", "1986", "1999"] {
        std::fs::write(
            bot.path(&format!("posts/02-25-other-{year}.md")),
            format!(
                "+++\ntitle = \"Other {year}\"\ndate = {year}-02-25\nurl = \"https://todayis.example/{year}.html\"\n+++\nAnother day.\n"
            ),
        )
        .unwrap();
    }
    let out = publish(&bot, DATE);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(mock.statuses().len(), 1, "{}", stdout(&out));
    assert_eq!(feed_items(&bot), 1);
}

#[test]
fn many_processes_at_once_make_one_status_and_keep_every_feed_item() {
    let mock = MastodonMock::start();
    let posts: Vec<(String, String)> = (1..=12)
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
    let bot = Bot::new(&refs, &publishers(&mock.url));
    // The same date twelve times over, and twelve dates at once.
    let run = |dates: Vec<String>| {
        let children: Vec<_> = dates
            .iter()
            .map(|date| {
                std::process::Command::new(assert_cmd::cargo::cargo_bin("todayis"))
                    .arg("--config")
                    .arg(bot.config())
                    .args(["publish", "--date", date])
                    .env("TODAYIS_TEST_TOKEN", TOKEN)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                stdout(&out),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    run(vec!["2024-03-01".to_string(); 12]);
    assert_eq!(mock.statuses().len(), 1);
    assert_eq!(feed_items(&bot), 1);
    run((1..=12).map(|d| format!("2024-03-{d:02}")).collect());
    assert_eq!(mock.statuses().len(), 12);
    assert_eq!(feed_items(&bot), 12, "no item lost to a concurrent writer");
}

/// A tmpfs of `kib` KiB mounted at `path` (root only), unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(path: &std::path::Path, kib: u32) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "mounting a tmpfs needs root (the full-disk test runs as root in CI)"
        );
        Tmpfs(path.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_state_folder_sends_nothing_and_loses_nothing() {
    let mock = MastodonMock::start();
    let posts = [
        ("02-25-k.md", khrushchev(URL)),
        (
            "02-26-n.md",
            post("Next", "1956-02-26", "next", "Body.", ""),
        ),
    ];
    let refs: Vec<(&str, &str)> = posts.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let bot = Bot::new(&refs, &publishers(&mock.url));
    let _state = Tmpfs::mount(&bot.path("state"), 64);
    assert!(publish(&bot, DATE).status.success());
    // Pad the journal to a whole page (a blank line is skipped when read), so the
    // next record needs a new block; then fill the disk to the last byte.
    let journal = bot.path("state/journal.jsonl");
    let length = std::fs::metadata(&journal).unwrap().len() as usize;
    let pad = 4096 - length % 4096;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    file.write_all(format!("{}\n", " ".repeat(pad - 1)).as_bytes())
        .unwrap();
    drop(file);
    let mut filler = std::fs::File::create(bot.path("state/filler")).unwrap();
    let block = vec![0u8; 4096];
    while filler.write_all(&block).is_ok() {}
    let _ = filler.write_all(&[0u8; 1]);
    drop(filler);
    let out = publish(&bot, "2024-02-26");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("nothing was sent"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        mock.statuses().len(),
        1,
        "nothing went out without its intent"
    );
    // Space again: the date goes out, once.
    std::fs::remove_file(bot.path("state/filler")).unwrap();
    assert!(publish(&bot, "2024-02-26").status.success());
    assert!(publish(&bot, "2024-02-26").status.success());
    assert_eq!(mock.statuses().len(), 2);
}

#[test]
fn a_post_can_never_make_the_bot_upload_a_file_from_outside_the_library() {
    let mock = MastodonMock::start();
    let with_image = |image: &str, day: u32| {
        format!(
            "+++\ntitle = \"Day {day}\"\ndate = 1956-02-{day:02}\nurl = \"https://todayis.example/{day}.html\"\nimage = \"{image}\"\nimage_alt = \"A picture\"\n+++\nBody.\n"
        )
    };
    let bot = Bot::new(
        &[
            ("02-10-a.md", &with_image("/etc/passwd", 10)),
            ("02-11-b.md", &with_image("../outside.png", 11)),
            ("02-12-c.md", &with_image("link.png", 12)),
            ("02-13-d.md", &with_image("/proc/self/environ", 13)),
            ("02-14-e.md", &with_image("fine.png", 14)),
        ],
        &publishers(&mock.url),
    );
    std::fs::write(bot.path("outside.png"), b"secret").unwrap();
    std::fs::write(bot.path("posts/fine.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    std::os::unix::fs::symlink(bot.path("outside.png"), bot.path("posts/link.png")).unwrap();
    let out = bot.cmd(&["check"]).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (file, why) in [
        ("02-10-a.md:5:9", "outside the posts folder"),
        ("02-11-b.md:5:9", "outside the posts folder"),
        ("02-12-c.md:5:9", "outside the posts folder"),
        ("02-13-d.md:5:9", "outside the posts folder"),
    ] {
        assert!(
            text.lines().any(|l| l.contains(file) && l.contains(why)),
            "{file}: {why} in\n{text}"
        );
    }
    assert!(
        text.contains("posts: 1 valid, 4 invalid"),
        "the picture inside is fine: {text}"
    );
    for day in 10..=13 {
        let out = publish(&bot, &format!("2024-02-{day}"));
        assert!(
            stdout(&out).contains("no post for this day"),
            "{}",
            stdout(&out)
        );
    }
    assert_eq!(mock.statuses().len(), 0, "nothing went out");
}

#[test]
fn fifos_and_folder_loops_are_passed_over_in_bounded_time() {
    let bot = Bot::new(&[("02-25-k.md", &khrushchev(URL))], &rss_publisher(""));
    let fifo = bot.path("posts/02-25-fifo.md");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::create_dir_all(bot.path("posts/deep")).unwrap();
    std::os::unix::fs::symlink(bot.path("posts"), bot.path("posts/deep/loop")).unwrap();
    let out = bot
        .cmd(&["check"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}{stderr}", stdout(&out));
    assert!(
        stderr.contains("02-25-fifo.md: skipped: not a regular file"),
        "{stderr}"
    );
    assert!(stderr.contains("already listed"), "{stderr}");
    assert!(stdout(&out).contains("posts: 1 valid"), "{}", stdout(&out));
    let out = bot
        .cmd(&["preview", "--date", DATE])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(stdout(&out).contains("Khrushchev"), "{}", stdout(&out));
}

#[test]
fn an_unreadable_month_fails_the_date_and_is_never_an_empty_day() {
    let bot = Bot::new(
        &[("01/01-02-x.md", &post("X", "1900-01-02", "x", "B.", ""))],
        &rss_publisher(""),
    );
    std::os::unix::fs::symlink("02", bot.path("posts/02")).unwrap();
    let out = publish(&bot, DATE);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{stderr}", stdout(&out));
    assert!(stderr.contains("cannot read the posts"), "{stderr}");
    assert!(!stdout(&out).contains("no post for this day"));
}

#[test]
fn a_200_kb_paragraph_is_fitted_within_a_memory_limit() {
    let word = "history ";
    let body = word.repeat(200 * 1024 / word.len());
    let bot = Bot::new(
        &[(
            "02-25-long.md",
            &post("Long", "1956-02-25", "long", &body, ""),
        )],
        &format!(
            "[publishers.mastodon]\ntype = \"mastodon\"\ninstance = \"https://m.example\"\ntoken_env = \"T\"\n\n{}",
            rss_publisher("")
        ),
    );
    let out = std::process::Command::new("prlimit")
        .arg("--as=400000000")
        .arg(assert_cmd::cargo::cargo_bin("todayis"))
        .arg("--config")
        .arg(bot.config())
        .args(["preview", "--date", DATE, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["outputs"][0]["length"].as_u64().unwrap() <= 500);
}

#[test]
fn huge_durations_are_config_errors_not_panics() {
    for (key, line) in [
        ("bot.catch_up", "catch_up = \"99999999999999999999d\""),
        ("bot.catch_up", "catch_up = \"5124095576030431d\""),
        ("bot.catch_up", "catch_up = \"30d\""),
    ] {
        let bot = Bot::new(&[], &rss_publisher(""));
        let config = std::fs::read_to_string(bot.config()).unwrap().replacen(
            "[bot]\n",
            &format!("[bot]\n{line}\n"),
            1,
        );
        std::fs::write(bot.config(), config).unwrap();
        for command in [&["check"][..], &["preview", "--date", DATE]] {
            let out = bot.cmd(command).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(matches!(out.status.code(), Some(1 | 2)), "{line}: {stderr}");
            assert!(
                stderr.contains(key) || stdout(&out).contains(key),
                "{line}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
    let bot = Bot::new(
        &[],
        "[publishers.mastodon]\ntype = \"mastodon\"\ninstance = \"https://m.example\"\ntoken_env = \"T\"\ntimeout = \"99999999999d\"\n",
    );
    let out = bot.cmd(&["check"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("publishers.mastodon.timeout"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_server_asking_to_wait_forever_is_not_obeyed_and_nothing_panics() {
    let mock = MastodonMock::start();
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": {"type": "status", "status": 429, "headers": {"Retry-After": "18446744073709551615"}}}));
    let bot = Bot::new(&[("02-25-k.md", &khrushchev(URL))], &publishers(&mock.url));
    let out = bot
        .cmd(&["publish", "--date", DATE])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{stderr}", stdout(&out));
    assert!(
        stdout(&out).contains("mastodon: failed: posting the status: rate limited"),
        "{}",
        stdout(&out)
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A loopback feed server that answers every request with `answer(path)`, and
/// counts the requests.
fn feed_server(
    answer: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let _ = stream.write_all(answer(&path).as_bytes());
        }
    });
    (url, count)
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/atom+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn a_feed_that_ignores_paging_is_read_once_not_ten_thousand_times() {
    let page = "<feed xmlns='http://www.w3.org/2005/Atom'>\
        <entry><title>Today Is...One</title><published>2024-02-25T10:00:00+00:00</published>\
        <link rel='alternate' type='text/html' href='https://b.example/2024/02/one.html'/>\
        <content type='html'>&lt;p&gt;Today in 1956 one thing.&lt;/p&gt;</content></entry>\
        <entry><title>Today Is...Two</title><published>2024-02-26T10:00:00+00:00</published>\
        <link rel='alternate' type='text/html' href='https://b.example/2024/02/two.html'/>\
        <content type='html'>&lt;p&gt;Today in 1957 another.&lt;/p&gt;</content></entry></feed>";
    let (url, count) = feed_server(move |_| ok(page));
    let out_dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("todayis")
        .unwrap()
        .args(["import", "blogger", &url, "--out"])
        .arg(out_dir.path())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("imported 2 posts"),
        "{}",
        stdout(&out)
    );
    assert!(
        count.load(Ordering::SeqCst) <= 2,
        "{} requests",
        count.load(Ordering::SeqCst)
    );
}

#[test]
fn an_import_does_not_follow_a_redirect_to_another_host() {
    let (elsewhere, hits) = feed_server(|_| ok("<feed/>"));
    let other = elsewhere.replace("127.0.0.1", "localhost");
    let (url, _) = feed_server(move |_| {
        format!(
            "HTTP/1.1 302 Found\r\nlocation: {other}/feeds/posts/default\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
    });
    let out = assert_cmd::Command::cargo_bin("todayis")
        .unwrap()
        .args(["import", "blogger", &url, "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("redirected to another host"), "{stderr}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn deeply_nested_xml_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.xml");
    std::fs::write(&file, "<feed>".repeat(200_000)).unwrap();
    let out = assert_cmd::Command::cargo_bin("todayis")
        .unwrap()
        .args(["import", "blogger"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("posts"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nested more than 128 deep"), "{stderr}");
}
