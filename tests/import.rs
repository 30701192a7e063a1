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
            let mut body = format!(
                "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom' \
                 xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/'>\
                 <openSearch:totalResults>{entries}</openSearch:totalResults>"
            );
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
    // Progress, a line a page when stderr is no terminal: a label, counts, an ETA.
    import(&base, &out, &[])
        .success()
        .stdout(predicate::str::contains("imported 5 posts"))
        .stderr(predicate::str::contains(
            "fetching 127.0.0.1: page 1, 2 of 5 entries, about ",
        ))
        .stderr(predicate::str::contains(
            "fetching 127.0.0.1: page 3, 5 of 5 entries",
        ));
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

/// The post files below `out`, as `MM/name.md`, sorted.
fn files_in(out: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for month in std::fs::read_dir(out).unwrap().flatten() {
        for file in std::fs::read_dir(month.path()).unwrap().flatten() {
            found.push(format!(
                "{}/{}",
                month.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            ));
        }
    }
    found.sort();
    found
}

fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).to_string()
}

/// Item 11: the current export has only UTC times; the blog's zone puts a New York
/// evening post on its own day, and posts near midnight are listed.
#[test]
fn utc_times_are_read_in_the_blogs_zone() {
    let source = fixture("takeout-feed.atom");
    let source = source.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();

    let utc = dir.path().join("utc");
    import(source, &utc, &[])
        .success()
        .stdout(predicate::str::contains(
            "time zone: UTC (no config at config/todayis.toml; pass --timezone to choose)",
        ));
    assert!(utc.join("07/07-21-moon-landing.md").exists());

    let ny = dir.path().join("ny");
    import(source, &ny, &["--timezone", "America/New_York"])
        .success()
        .stdout(predicate::str::contains(
            "time zone: America/New_York (--timezone): every publication time is read in it",
        ))
        .stdout(predicate::str::contains(
            "published within 3 hours of midnight, so check the day 1:",
        ))
        .stdout(predicate::str::contains(
            "07-20-moon-landing.md: published 2019-07-20 22:56 America/New_York (2019-07-21 02:56 UTC): filed under 07-20",
        ));
    let moon = read(ny.join("07/07-20-moon-landing.md"));
    assert!(moon.contains("date = 1969-07-20"), "{moon}");

    // The config's zone is the default when there is a config.
    std::fs::create_dir(dir.path().join("configured")).unwrap();
    let config = dir.path().join("todayis.toml");
    std::fs::write(
        &config,
        format!(
            "[bot]\nposts = {:?}\ntimezone = \"America/New_York\"\nschedule = \"0 9 * * *\"\n",
            dir.path().join("configured")
        ),
    )
    .unwrap();
    todayis()
        .arg("--config")
        .arg(&config)
        .args(["import", "blogger", source])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "time zone: America/New_York (the config's bot.timezone",
        ));
    assert!(
        dir.path()
            .join("configured/07/07-20-moon-landing.md")
            .exists()
    );

    todayis()
        .args(["import", "blogger", source, "--timezone", "Mars/Olympus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`Mars/Olympus` is not a time zone: use an IANA name like America/New_York",
        ));
}

/// Item 11: the older export's times carry the blog's offset, kept unless
/// --timezone says otherwise.
#[test]
fn times_with_their_own_offset_keep_it_unless_a_zone_is_given() {
    let source = fixture("export-gdata.xml");
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept");
    import(
        source.to_str().unwrap(),
        &kept,
        &["--blog-url", "https://b.example/"],
    )
    .success()
    .stdout(predicate::str::contains(
        "2 posts kept the offset their time carried",
    ))
    .stdout(predicate::str::contains(
        "07-14-the-bastille-falls.md: published 2024-07-14 23:30 -07:00 (2024-07-15 06:30 UTC)",
    ));
    let paris = dir.path().join("paris");
    import(
        source.to_str().unwrap(),
        &paris,
        &["--timezone", "Europe/Paris"],
    )
    .success();
    assert!(paris.join("07/07-15-the-bastille-falls.md").exists());
}

/// Item 12: marks in the front matter that `check` reports until removed.
#[test]
fn review_marks_stay_until_an_editor_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    let assert = import(fixture("takeout-feed.atom").to_str().unwrap(), &out, &[]).success();
    let stdout = stdout_of(&assert);
    assert!(
        stdout.contains("to review 3 (each marked `review = ...`: `todayis check` warns until the line is removed):"),
        "{stdout}"
    );
    // "38 years ago", published in 1994: 1956, said plainly enough to need no mark.
    let k = read(out.join("02/02-25-khrushchev-denounces.md"));
    assert!(k.contains("date = 1956-02-25"), "{k}");
    assert!(!k.contains("review"), "{k}");
    let bastille = out.join("07/07-14-bastille.md");
    let b = read(bastille.clone());
    assert!(
        b.contains("date = 1789-07-14\n")
            && b.contains(
                "review = \"the event year 1789 was guessed from the years in the text: check `date`\"\n"
            ),
        "{b}"
    );
    let none = read(out.join("05/05-06-no-year.md"));
    assert!(
        none.contains("review = \"no event year found in the text: the date uses the publication year 2024; set `date`\""),
        "{none}"
    );
    let marked = "07-14-bastille.md: marked for review: the event year 1789 was guessed";
    check(&out)
        .success()
        .stdout(predicate::str::contains(marked));
    // Removed by the editor: no longer reported.
    let without: String = b
        .lines()
        .filter(|l| !l.starts_with("review = "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&bastille, without).unwrap();
    check(&out)
        .success()
        .stdout(predicate::str::contains(marked).not())
        .stdout(predicate::str::contains(
            "05-06-no-year.md: marked for review",
        ));
}

/// Item 13: titles and slugs cleaned, an untitled post titled from its first sentence.
#[test]
fn titles_and_slugs_come_out_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    let stdout = stdout_of(
        &import(
            fixture("takeout-feed.atom").to_str().unwrap(),
            &out,
            &["--timezone", "America/New_York"],
        )
        .success(),
    );
    assert_eq!(
        files_in(&out),
        [
            "02/02-25-khrushchev-denounces.md",
            "04/04-12-yuri-gagarin-became-the-first-human-in-space.md",
            "05/05-06-no-year.md",
            "07/07-14-bastille.md",
            "07/07-20-moon-landing.md",
        ]
    );
    let title = |file: &str| {
        read(out.join(file))
            .lines()
            .find_map(|l| l.strip_prefix("title = ").map(str::to_string))
            .unwrap()
    };
    assert_eq!(title("07/07-20-moon-landing.md"), "\"The Moon Landing\"");
    assert_eq!(
        title("02/02-25-khrushchev-denounces.md"),
        "\"Khrushchev Denounces Stalin\""
    );
    let gagarin = "04/04-12-yuri-gagarin-became-the-first-human-in-space.md";
    assert_eq!(
        title(gagarin),
        "\"Yuri Gagarin became the first human in space\""
    );
    assert!(read(out.join(gagarin)).contains("date = 1961-04-12"));
    assert!(
        stdout.contains(&format!(
            "{gagarin}: it had no title: this one is its first sentence; write a better one"
        )),
        "{stdout}"
    );
    check(&out).success();
}

/// A Takeout with one blog in it, as a folder.
fn takeout_folder(root: &Path, blogs: &[&str]) {
    for blog in blogs {
        let folder = root.join("Takeout/Blogger/Blogs").join(blog);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(fixture("takeout-feed.atom"), folder.join("feed.atom")).unwrap();
        std::fs::write(folder.join("settings.csv"), "x").unwrap();
    }
    std::fs::create_dir_all(root.join("Takeout/Blogger/Albums")).unwrap();
}

/// The same, zipped as Takeout zips it.
fn takeout_zip(path: &Path, names: &[&str]) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.add_directory("Takeout/Blogger/", options).unwrap();
    zip.start_file("Takeout/archive_browser.html", options)
        .unwrap();
    zip.write_all(b"<html></html>").unwrap();
    for name in names {
        zip.start_file(*name, options).unwrap();
        zip.write_all(&std::fs::read(fixture("takeout-feed.atom")).unwrap())
            .unwrap();
    }
    zip.finish().unwrap();
}

/// Item 14: the Takeout zip, its folder, and a missing --out folder.
#[test]
fn a_takeout_zip_or_folder_is_read_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("takeout-20240601T000000Z-001.zip");
    takeout_zip(&zip, &["Takeout/Blogger/Blogs/Today Is/feed.atom"]);
    let out = dir.path().join("from-zip/posts");
    import(zip.to_str().unwrap(), &out, &[])
        .success()
        .stdout(predicate::str::contains(
            "takeout-20240601T000000Z-001.zip:Takeout/Blogger/Blogs/Today Is/feed.atom",
        ))
        .stdout(predicate::str::contains(format!(
            "created the folder {}",
            out.display()
        )))
        .stdout(predicate::str::contains("imported 5 posts"));
    assert_eq!(files_in(&out).len(), 5);
    // Nothing was extracted beside the zip.
    let beside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(beside.len(), 2, "{beside:?}");

    let unzipped = dir.path().join("unzipped");
    takeout_folder(&unzipped, &["Today Is"]);
    let from_folder = dir.path().join("from-folder");
    import(unzipped.to_str().unwrap(), &from_folder, &[])
        .success()
        .stdout(predicate::str::contains("Blogs/Today Is/feed.atom"))
        .stdout(predicate::str::contains("imported 5 posts"));
    assert_eq!(files_in(&from_folder), files_in(&out));
}

#[test]
fn takeouts_that_are_not_one_blog_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posts");
    let two = dir.path().join("two.zip");
    takeout_zip(
        &two,
        &[
            "Takeout/Blogger/Blogs/Today Is/feed.atom",
            "Takeout/Blogger/Blogs/Recipes/feed.atom",
        ],
    );
    import(two.to_str().unwrap(), &out, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "two.zip holds 2 blogs (Today Is, Recipes): unzip it and import one at a time",
        ));
    let none = dir.path().join("none.zip");
    takeout_zip(&none, &[]);
    import(none.to_str().unwrap(), &out, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "none.zip: no Blogger export in the zip (looked for Blogger/Blogs/*/feed.atom)",
        ));
    let broken = dir.path().join("broken.zip");
    std::fs::write(&broken, b"PK\x03\x04 and then nothing a zip has").unwrap();
    import(broken.to_str().unwrap(), &out, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "broken.zip: not a zip that can be read",
        ))
        .stderr(predicate::str::contains("panicked").not());
    let folder = dir.path().join("folder");
    takeout_folder(&folder, &["A", "B"]);
    import(folder.to_str().unwrap(), &out, &[])
        .code(1)
        .stderr(predicate::str::contains("holds 2 blogs (A, B)"));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    import(empty.to_str().unwrap(), &out, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "no Blogger export in it (looked for Blogger/Blogs/*/feed.atom)",
        ));
    assert!(!out.exists());
}

/// Item 14: a WordPress export is named for what it is.
#[test]
fn a_wordpress_export_is_named_and_the_way_on_given() {
    let dir = tempfile::tempdir().unwrap();
    let wxr = dir.path().join("todayis.WordPress.2024-06-01.xml");
    std::fs::write(
        &wxr,
        "<?xml version='1.0'?>\n<rss version='2.0' xmlns:wp='http://wordpress.org/export/1.2/'><channel>\
         <title>Today Is</title><wp:wxr_version>1.2</wp:wxr_version>\
         <item><title>Moon</title><wp:post_type>post</wp:post_type></item></channel></rss>",
    )
    .unwrap();
    import(wxr.to_str().unwrap(), &dir.path().join("posts"), &[])
        .code(1)
        .stderr(predicate::str::contains(
            "todayis.WordPress.2024-06-01.xml: a WordPress export (WXR), not a Blogger one",
        ))
        .stderr(predicate::str::contains(
            "save the WordPress site's RSS feed as a file",
        ));
}
