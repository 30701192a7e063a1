//! Shared test harness: the real counterparts (mastodon-mock, feedparser) and
//! throw-away bot set-ups.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The Python that has mastodon-mock and feedparser. A missing one fails the test
/// and says how to install it: a test never passes because its counterpart is absent.
pub fn python() -> PathBuf {
    let path = std::env::var_os("TODAYIS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python")
        });
    let ok = Command::new(&path)
        .args(["-c", "import mastodon_mock, feedparser"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "mastodon-mock and feedparser are needed at {}: run scripts/test, or \
         `python3 -m venv target/test-venv && target/test-venv/bin/pip install -r tests/requirements.txt`",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A mastodon-mock server on a free loopback port, killed when dropped.
pub struct MastodonMock {
    child: Child,
    pub url: String,
    http: reqwest::blocking::Client,
}

pub const TOKEN: &str = "mock_token";

impl MastodonMock {
    pub fn start() -> MastodonMock {
        let python = python();
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(&python)
                .args([
                    "-m",
                    "mastodon_mock",
                    "serve",
                    "--in-memory",
                    "--host",
                    "127.0.0.1",
                ])
                .args(["--port", &port.to_string(), "--log-level", "warning"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting mastodon-mock");
            let mut mock = MastodonMock {
                child,
                url: format!("http://127.0.0.1:{port}"),
                http: reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap(),
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if mock
                    .http
                    .get(format!("{}/api/v2/instance", mock.url))
                    .send()
                    .is_ok_and(|r| r.status().is_success())
                {
                    return mock;
                }
                if mock.child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = mock.child.kill();
        }
        panic!("mastodon-mock did not start");
    }

    /// A GET as the seeded account; transport errors (the mock is busy while the
    /// bot hammers it) are tried again a few times.
    pub fn get(&self, path: &str) -> Value {
        let mut last_error = None;
        for _ in 0..5 {
            match self
                .http
                .get(format!("{}{path}", self.url))
                .bearer_auth(TOKEN)
                .send()
            {
                Ok(r) => return r.error_for_status().unwrap().json().unwrap(),
                Err(e) => last_error = Some(e),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("GET {path} on mastodon-mock failed: {last_error:?}");
    }

    /// Every status of the seeded account, newest first.
    pub fn statuses(&self) -> Vec<Value> {
        let me = self.get("/api/v1/accounts/verify_credentials");
        let id = me["id"].as_str().unwrap();
        self.get(&format!("/api/v1/accounts/{id}/statuses?limit=40"))
            .as_array()
            .unwrap()
            .clone()
    }

    /// The text a status was posted with.
    pub fn source_text(&self, id: &str) -> String {
        self.get(&format!("/api/v1/statuses/{id}/source"))["text"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Adds a fault rule (mastodon-mock's fault-injection API).
    pub fn fault(&self, rule: Value) {
        self.http
            .post(format!("{}/api/v1/_mock/faults", self.url))
            .json(&rule)
            .send()
            .unwrap()
            .error_for_status()
            .unwrap();
    }
}

impl Drop for MastodonMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bot set-up in a temporary folder: config, posts, state.
pub struct Bot {
    pub dir: tempfile::TempDir,
}

impl Bot {
    /// A bot with the given posts (`(relative path, contents)`) and extra config.
    pub fn new(posts: &[(&str, &str)], publishers: &str) -> Bot {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("posts")).unwrap();
        for (path, text) in posts {
            let p = dir.path().join("posts").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let config = format!(
            "[bot]\nposts = \"posts\"\ntimezone = \"Europe/London\"\nschedule = \"0 9 * * *\"\nstate = \"state\"\n\n{publishers}"
        );
        std::fs::write(dir.path().join("todayis.toml"), config).unwrap();
        Bot { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("todayis.toml")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `todayis --config <this bot> ARGS`, with the mock's token in the environment.
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("todayis").unwrap();
        cmd.arg("--config")
            .arg(self.config())
            .args(args)
            .env("TODAYIS_TEST_TOKEN", TOKEN)
            .env_remove("RUST_LOG");
        cmd
    }
}

/// The config of a mastodon publisher named `mastodon` pointing at `mock`.
pub fn mastodon_publisher(mock: &MastodonMock, extra: &str) -> String {
    format!(
        "[publishers.mastodon]\ntype = \"mastodon\"\ninstance = \"{}\"\ntoken_env = \"TODAYIS_TEST_TOKEN\"\n{extra}\n",
        mock.url
    )
}

pub fn rss_publisher(extra: &str) -> String {
    format!(
        "[publishers.rss]\ntype = \"rss\"\npath = \"public/feed.xml\"\nfeed_url = \"https://todayis.example/feed.xml\"\ntitle = \"Today Is...\"\nlink = \"https://todayis.example/\"\ndescription = \"What happened on this day\"\n{extra}\n"
    )
}

/// A post file's text.
pub fn post(title: &str, date: &str, slug: &str, body: &str, extra: &str) -> String {
    format!(
        "+++\ntitle = {}\ndate = {date}\nurl = \"https://todayis.example/2024/{slug}.html\"\n{extra}\n+++\n{body}\n",
        toml_string(title)
    )
}

pub fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Parses a feed with feedparser; returns its JSON summary.
pub fn feedparser(path: &Path) -> Value {
    let script = r#"
import feedparser, json, sys
f = feedparser.parse(sys.argv[1])
print(json.dumps({
  "bozo": bool(f.bozo), "error": str(f.get("bozo_exception", "")),
  "version": f.version, "title": f.feed.get("title"),
  "entries": [{"title": e.get("title"), "link": e.get("link"), "id": e.get("id"),
               "summary": e.get("summary"), "content": (e.get("content") or [{}])[0].get("value"),
               "published": e.get("published")} for e in f.entries],
}))
"#;
    let out = Command::new(python())
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "feedparser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The reference Bluesky PDS (and an in-memory PLC), on loopback, killed when dropped.
pub struct Pds {
    child: Child,
    pub url: String,
    pub handle: String,
    pub did: String,
    pub app_password: String,
    _data: tempfile::TempDir,
}

impl Pds {
    pub fn start() -> Pds {
        let dir = std::env::var_os("TODAYIS_TEST_PDS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-pds"));
        let script = dir.join("start.mjs");
        assert!(
            dir.join("node_modules/better-sqlite3/build/Release/better_sqlite3.node")
                .exists()
                && script.exists(),
            "the reference PDS is needed at {}: run scripts/test, which installs @atproto/pds from npm",
            dir.display()
        );
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new("node")
            .arg(&script)
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting node");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the PDS did not start ({e}): {line}"));
        let s = |k: &str| info[k].as_str().unwrap().to_string();
        Pds {
            url: s("url"),
            handle: s("handle"),
            did: s("did"),
            app_password: s("app_password"),
            child,
            _data: data,
        }
    }

    pub fn get(&self, method: &str, query: &str) -> Value {
        reqwest::blocking::get(format!("{}/xrpc/{method}?{query}", self.url))
            .unwrap()
            .json()
            .unwrap()
    }

    /// The account's posts.
    pub fn posts(&self) -> Vec<Value> {
        let v = self.get(
            "com.atproto.repo.listRecords",
            &format!("repo={}&collection=app.bsky.feed.post&limit=100", self.did),
        );
        v["records"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Pds {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn bluesky_publisher(pds: &Pds, extra: &str) -> String {
    format!(
        "[publishers.bluesky]\ntype = \"bluesky\"\nservice = \"{}\"\nidentifier = \"{}\"\npassword_env = \"TODAYIS_TEST_BSKY\"\nhashtags = [\"OnThisDay\"]\n{extra}\n",
        pds.url, pds.handle
    )
}

/// A loopback HTTP proxy in front of a server that stands for "more than an hour
/// later": it drops every `Idempotency-Key` (Mastodon forgets keys after an hour),
/// and it can lose the answers to the first `lose` status posts (the server acts,
/// the client never hears). One request per connection.
pub struct ForgetfulProxy {
    pub url: String,
    pub lost: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ForgetfulProxy {
    pub fn start(upstream: &str, lose: usize) -> ForgetfulProxy {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let to_lose = std::sync::Arc::new(AtomicUsize::new(lose));
        let lost = std::sync::Arc::new(AtomicUsize::new(0));
        let (to_lose2, lost2) = (to_lose.clone(), lost.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let (upstream, to_lose, lost) = (upstream.clone(), to_lose2.clone(), lost2.clone());
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if client.read(&mut byte).unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    let mut body = vec![0u8; length];
                    if client.read_exact(&mut body).is_err() {
                        return;
                    }
                    let is_status_post = head.starts_with("POST /api/v1/statuses ");
                    let mut request = String::new();
                    for line in head.trim_end().lines() {
                        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
                        if name == "idempotency-key" || name == "connection" {
                            continue;
                        }
                        request.push_str(line);
                        request.push_str("\r\n");
                    }
                    request.push_str("Connection: close\r\n\r\n");
                    let Ok(mut server) = std::net::TcpStream::connect(&upstream) else {
                        return;
                    };
                    let _ = server.write_all(request.as_bytes());
                    let _ = server.write_all(&body);
                    let mut answer = Vec::new();
                    let _ = server.read_to_end(&mut answer);
                    if is_status_post
                        && to_lose
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok()
                    {
                        lost.fetch_add(1, Ordering::SeqCst);
                        return; // the server made it; the answer is lost
                    }
                    let _ = client.write_all(&answer);
                });
            }
        });
        let _ = to_lose;
        ForgetfulProxy { url, lost }
    }
}

/// The reference Bluesky network with its AppView (`@atproto/dev-env`: PLC, PDS and
/// `@atproto/bsky` on Debian's PostgreSQL and Redis), on loopback, stopped when
/// dropped. `like` has a second account like, repost and reply to a post.
pub struct AppView {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    pub pds: String,
    pub appview: String,
    pub handle: String,
    pub password: String,
    _data: tempfile::TempDir,
}

impl AppView {
    pub fn start() -> AppView {
        let dir = std::env::var_os("TODAYIS_TEST_APPVIEW")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-appview"));
        let script = dir.join("start.mjs");
        assert!(
            dir.join("node_modules/@atproto/dev-env").exists()
                && dir
                    .join("node_modules/better-sqlite3/build/Release/better_sqlite3.node")
                    .exists()
                && script.exists()
                && Path::new("/usr/bin/redis-server").exists()
                && Path::new("/usr/lib/postgresql").exists(),
            "the reference Bluesky AppView is needed at {}: run scripts/test, which installs \
             @atproto/dev-env from npm and `apt-get install -y postgresql redis-server`",
            dir.display()
        );
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new("node")
            .arg(&script)
            .arg(data.path())
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting node");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the AppView did not start ({e}): {line}"));
        let s = |k: &str| info[k].as_str().unwrap().to_string();
        AppView {
            pds: s("pds"),
            appview: s("appview"),
            handle: s("handle"),
            password: s("password"),
            child,
            stdin,
            stdout,
            _data: data,
        }
    }

    /// A second account likes, reposts and replies to `uri`; returns once the
    /// AppView has indexed it.
    pub fn like(&mut self, uri: &str) {
        use std::io::Write;
        writeln!(self.stdin, "like {uri}").unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut self.stdout, &mut line).unwrap();
        assert_eq!(line.trim(), "ok", "liking {uri}");
    }
}

impl Drop for AppView {
    fn drop(&mut self) {
        // SIGTERM, so that it stops PostgreSQL and Redis too.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
