//! `todayis import blogger`: both export formats, feeds, a paged feed URL, re-imports
//! and bad input. The fixtures are written for this project.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/blogger")
        .join(name)
}

fn todayis() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("todayis").unwrap();
    // No config is found from here: times are read in UTC unless a test says otherwise.
    cmd.env_remove("TODAYIS_CONFIG")
        .current_dir(std::env::temp_dir());
    cmd
}

fn import(source: &str, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    todayis()
        .args(["import", "blogger", source, "--out"])
        .arg(out)
        .args(extra)
        .assert()
}

/// `todayis check` on a folder of imported posts.
fn check(posts: &Path) -> assert_cmd::assert::Assert {
    let config = posts.parent().unwrap().join("check.toml");
    std::fs::write(
        &config,
        format!(
            "[bot]\nposts = {:?}\ntimezone = \"UTC\"\nschedule = \"0 9 * * *\"\n",
            posts
        ),
    )
    .unwrap();
    todayis().arg("--config").arg(&config).arg("check").assert()
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_gdata_export_becomes_post_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    import(fixture("export-gdata.xml").to_str().unwrap(), &out, &[])
        .success()
        .stdout(predicate::str::contains("imported 2 posts"))
        .stdout(predicate::str::contains(
            "skipped 6: 1 broken, 1 comment, 1 draft, 1 page, 1 settings, 1 template",
        ))
        .stdout(predicate::str::contains(
            "broken entry: \"Today Is...Broken Entry Without A Date\": no publication date",
        ))
        .stdout(predicate::str::contains(
            "07-14-the-bastille-falls.md: no event year found",
        ));
    let k = read(out.join("02/02-25-nikita-khrushchev-denounces-stalin.md"));
    assert!(
        k.starts_with("+++\ntitle = \"Nikita Khrushchev Denounces Stalin\"\ndate = 1956-02-25\n"),
        "{k}"
    );
    assert!(k.contains("url = \"https://todayis-history.blogspot.com/2024/02/nikita-khrushchev-denounces-stalin.html\""));
    assert!(k.contains("tags = [\"Cold War\", \"USSR\"]"));
    assert!(
        k.contains("the **cult of personality** built around him"),
        "{k}"
    );
    assert!(
        k.contains("[more about the speech](https://en.wikipedia.org/"),
        "{k}"
    );
    for chrome in [
        "Email This",
        "window.evil",
        "No comments",
        "<script",
        "share",
    ] {
        assert!(!k.contains(chrome), "{chrome} left in:\n{k}");
    }
    // Published late on 14 July in the blog's zone (-07:00), which is the 15th in UTC.
    let b = read(out.join("07/07-14-the-bastille-falls.md"));
    assert!(b.contains("date = 2024-07-14"), "{b}");
    assert!(
        b.contains("![The Bastille](https://blogger.example/bastille.jpg)"),
        "{b}"
    );
    assert!(b.contains("fortress & its gunpowder"), "{b}");
    check(&out).success();
}

#[test]
fn the_current_export_format_needs_the_blog_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    let source = fixture("export-2018.xml");
    // One line says what is missing, not one per post; nothing imported is a failure.
    let assert = import(source.to_str().unwrap(), &out, &[])
        .code(1)
        .stdout(predicate::str::contains(
            "2 posts carry only a file name, not an address: pass the blog's address, e.g. --blog-url https://YOURBLOG.blogspot.com/",
        ))
        .stdout(predicate::str::contains("nothing was imported"));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(!stdout.contains("broken entry"), "{stdout}");
    assert!(!out.exists(), "no folder is made for nothing");
    import(source.to_str().unwrap(), &out, &["--blog-url", "https://todayis-history.blogspot.com/"])
        .success()
        .stdout(predicate::str::contains("imported 2 posts"))
        .stdout(predicate::str::contains("skipped 3: 1 comment, 1 draft, 1 page"))
        .stdout(predicate::str::contains("05-06-no-year.md: no event year found in the text: the date uses the publication year 2024"));
    let k = read(out.join("02/02-25-nikita-khrushchev-denounces-stalin.md"));
    assert!(k.contains("date = 1956-02-25"));
    assert!(k.contains("url = \"https://todayis-history.blogspot.com/2024/02/nikita-khrushchev-denounces-stalin.html\""));
    check(&out).success();
}

/// The current export with a feed-level address: no --blog-url needed.
#[test]
fn the_blog_address_is_taken_from_the_export_when_it_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    let text = std::fs::read_to_string(fixture("export-2018.xml")).unwrap().replace(
        "<title>Today Is...</title>",
        "<title>Today Is...</title><link rel='alternate' type='text/html' href='https://todayis-history.blogspot.com/'/>",
    );
    let source = dir.path().join("export.xml");
    std::fs::write(&source, text).unwrap();
    import(source.to_str().unwrap(), &out, &[])
        .success()
        .stdout(predicate::str::contains(
            "the blog's address, from the export: https://todayis-history.blogspot.com/",
        ))
        .stdout(predicate::str::contains("imported 2 posts"));
}

#[test]
fn an_rss_feed_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    import(fixture("feed-rss.xml").to_str().unwrap(), &out, &[])
        .success()
        .stdout(predicate::str::contains("imported 1 posts"));
    let g = read(out.join("04/04-12-yuri-gagarin.md"));
    assert!(
        g.contains("title = \"Yuri Gagarin Orbits the Earth\"\ndate = 1961-04-12"),
        "{g}"
    );
    assert!(g.contains("tags = [\"Space\", \"USSR\"]"));
    check(&out).success();
}

#[test]
fn a_reimport_gives_the_same_files_and_keeps_existing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    let source = fixture("export-gdata.xml");
    import(source.to_str().unwrap(), &out, &[]).success();
    let path = out.join("02/02-25-nikita-khrushchev-denounces-stalin.md");
    let first = read(path.clone());
    std::fs::write(
        &path,
        first.replace("Nikita Khrushchev did just that", "EDITED"),
    )
    .unwrap();
    import(source.to_str().unwrap(), &out, &[])
        .success()
        .stdout(predicate::str::contains("imported 0 posts"))
        .stdout(predicate::str::contains(
            "kept 2 existing files (--overwrite replaces them)",
        ));
    assert!(
        read(path.clone()).contains("EDITED"),
        "an editor's change survives a re-import"
    );
    import(source.to_str().unwrap(), &out, &["--overwrite"])
        .success()
        .stdout(predicate::str::contains("imported 2 posts"));
    assert_eq!(read(path), first, "the same input gives the same file");
}

/// A feed server on loopback that pages like Blogger (two entries a page, whatever
/// max-results says) and records the start-index of each request.
fn serve_paged_feed(entries: usize) -> (String, Arc<Mutex<Vec<usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            let start: usize = line
                .split("start-index=")
                .nth(1)
                .and_then(|s| s.split(['&', ' ']).next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(1);
            log.lock().unwrap().push(start);
            let mut body =
                String::from("<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>");
            for i in start..(start + 2).min(entries + 1) {
                body.push_str(&format!(
                    "<entry><published>2024-03-{i:02}T09:00:00Z</published><title>Today Is...Event {i}</title>\
                     <content type='html'>&lt;p&gt;Today in 19{i:02} something happened.&lt;/p&gt;</content>\
                     <link rel='alternate' type='text/html' href='https://blog.example/2024/03/event-{i}.html'/></entry>"
                ));
            }
            body.push_str("</feed>");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, seen)
}

#[test]
fn a_feed_url_is_followed_page_by_page_until_an_empty_page() {
    let (base, seen) = serve_paged_feed(5);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    import(&base, &out, &[])
        .success()
        .stdout(predicate::str::contains("imported 5 posts"));
    assert_eq!(*seen.lock().unwrap(), [1, 3, 5, 6]);
    assert!(read(out.join("03/03-05-event-5.md")).contains("date = 1905-03-05"));
    check(&out).success();
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let cases = [
        (write("a.json", "{\"posts\": []}"), "a.json:1:1: not XML"),
        (
            write(
                "b.xml",
                "<?xml version='1.0'?>\n<feed xmlns='http://www.w3.org/2005/Atom'>\n<entry><title>x</title>",
            ),
            "truncated",
        ),
        (
            write("c.html", "<html><body><p>A page</p></body></html>"),
            "not a Blogger export or feed: the document is <html>",
        ),
        (
            dir.path().join("missing.xml").to_str().unwrap().to_string(),
            "cannot read",
        ),
    ];
    for (source, message) in cases {
        let assert = import(&source, &out, &[]).code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(stderr.contains(message), "for {source}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    import(&format!("http://127.0.0.1:{port}/"), &out, &[])
        .code(1)
        .stderr(predicate::str::contains("cannot connect"));
}
