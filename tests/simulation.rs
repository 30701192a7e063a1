//! A deterministic simulation of the publication path, in the manner of
//! FoundationDB's and TigerBeetle's: the real runner (journal intent, request,
//! answer, success record, reconciliation) and the real journal on disk, driven by
//! a seeded schedule of faults against an in-process model of a server that
//! counts what it accepted.
//!
//! Faults: answers lost after the server acted, 5xx and 429 before it acted, a
//! server that forgets idempotency keys, a journal write that fails (a full disk,
//! or a crash at that step: the process's memory is gone, the disk is what it
//! is), and a second process publishing the same date at the same time.
//!
//! Invariants, checked for every seed: at most one publication per date; after
//! the faults stop, exactly one (none lost); and the journal agrees with the
//! server (its `done` record names the server's publication).
//!
//! A failure names its seed; `TODAYIS_SIM_SEED=N cargo test --test simulation`
//! replays it alone.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use todayis::clock::FixedClock;
use todayis::config::Config;
use todayis::journal::{Event, Journal, Record};
use todayis::post::Post;
use todayis::publish::rss::Item;
use todayis::publish::{
    BoxFuture, Environment, IdempotencyKey, Occasion, OnlineReport, Output, PublishError,
    Publisher, Receipt, RenderError, Rendered, Retry,
};
use todayis::runner::{self, Outcome};

const SEEDS: u64 = 2_000;
const DATES: u32 = 4;
const ATTEMPTS: usize = 8;

/// What the server has accepted.
#[derive(Default)]
struct Server {
    /// (id, key, marker)
    accepted: Vec<(String, String, String)>,
    /// Keys it still remembers (a real one forgets them after an hour).
    keys: Vec<(String, String)>,
}

/// The faults of one seed, drawn as the run goes.
struct Faults {
    rng: fastrand::Rng,
    on: bool,
}

impl Faults {
    fn roll(&mut self, chance: f64) -> bool {
        self.on && self.rng.f64() < chance
    }
}

struct Simulated {
    server: Arc<Mutex<Server>>,
    faults: Arc<Mutex<Faults>>,
}

fn fail(message: &str) -> PublishError {
    PublishError::new("sim", Retry::Later, message)
}

impl Publisher for Simulated {
    fn name(&self) -> &str {
        "sim"
    }

    fn account(&self) -> String {
        "sim https://server.example".into()
    }

    fn render(&self, post: &Post, occasion: &Occasion) -> Result<Rendered, RenderError> {
        Ok(Rendered {
            publisher: "sim".into(),
            output: Output::Rss(Item {
                title: post.title.clone(),
                link: post.url.clone(),
                guid: format!("sim#{}", occasion.date),
                description: String::new(),
                content_html: String::new(),
                pub_date: String::new(),
                at: None,
                updated: None,
            }),
        })
    }

    fn publish<'a>(
        &'a self,
        rendered: &'a Rendered,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>> {
        Box::pin(async move {
            let marker = rendered.output.marker(key);
            let mut faults = self.faults.lock().unwrap();
            if faults.roll(0.15) {
                return Err(fail("HTTP 503"));
            }
            if faults.roll(0.05) {
                return Err(fail("HTTP 429"));
            }
            let mut server = self.server.lock().unwrap();
            if faults.roll(0.3) {
                server.keys.clear();
            }
            let known = server
                .keys
                .iter()
                .find(|(k, _)| k == key.as_str())
                .map(|(_, id)| id.clone());
            let id = match known {
                Some(id) => id,
                None => {
                    let id = (server.accepted.len() + 1).to_string();
                    server
                        .accepted
                        .push((id.clone(), key.as_str().into(), marker));
                    server.keys.push((key.as_str().into(), id.clone()));
                    id
                }
            };
            if faults.roll(0.2) {
                return Err(fail("the answer was lost"));
            }
            Ok(Receipt {
                remote_id: id,
                url: None,
                media: vec![],
                dropped: vec![],
            })
        })
    }

    fn reconcile<'a>(
        &'a self,
        marker: &'a str,
        _since: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Option<Receipt>, PublishError>> {
        Box::pin(async move {
            if self.faults.lock().unwrap().roll(0.1) {
                return Err(fail("HTTP 502 while looking"));
            }
            let server = self.server.lock().unwrap();
            Ok(server
                .accepted
                .iter()
                .find(|(_, _, m)| m == marker)
                .map(|(id, _, _)| Receipt {
                    remote_id: id.clone(),
                    url: None,
                    media: vec![],
                    dropped: vec![],
                }))
        })
    }

    fn correct<'a>(
        &'a self,
        _out: &'a Record,
        _before: &'a todayis::journal::Sent,
        _now: &'a Rendered,
        _new_picture: bool,
        _repost: bool,
    ) -> BoxFuture<'a, Result<Receipt, PublishError>> {
        Box::pin(async { Err(fail("the simulation does not correct")) })
    }

    fn unpublish<'a>(&'a self, _out: &'a Record) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async { Err(fail("the simulation does not unpublish")) })
    }

    fn check_online(&self) -> BoxFuture<'_, Result<OnlineReport, PublishError>> {
        Box::pin(async {
            Ok(OnlineReport {
                findings: vec![],
                problems: vec![],
            })
        })
    }
}

/// Where the journals go: memory when the machine has a tmpfs, so thousands of
/// seeds cost no real disk syncs.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

fn date(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, n).unwrap()
}

fn run_seed(seed: u64, posts: &Path) {
    let scratch = scratch();
    let config_path = scratch.path().join("todayis.toml");
    let text = format!(
        "[bot]\nposts = \"{}\"\ntimezone = \"UTC\"\nschedule = \"0 9 * * *\"\nstate = \"state\"\n",
        posts.display()
    );
    let config = Config::parse(&config_path, &text).unwrap();
    let server = Arc::new(Mutex::new(Server::default()));
    let faults = Arc::new(Mutex::new(Faults {
        rng: fastrand::Rng::with_seed(seed),
        on: true,
    }));
    let publisher: Arc<dyn Publisher> = Arc::new(Simulated {
        server: server.clone(),
        faults: faults.clone(),
    });
    let fault_source = faults.clone();
    let env = Environment {
        clock: Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2024, 3, 1, 9, 0, 0).unwrap(),
        )),
        language: "en".into(),
        timezone: chrono_tz::UTC,
        state: config.state.clone(),
        env_var: Arc::new(|_| None),
        // A failed journal write: a full disk, or a crash at exactly that step.
        retry_budget: Duration::from_secs(300),
        journal_fault: Some(Arc::new(move |_record: &Record| {
            if fault_source.lock().unwrap().roll(0.12) {
                Err(std::io::Error::other("no space left on device"))
            } else {
                Ok(())
            }
        })),
    };
    let publishers = [publisher];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let at_most_once = |when: &str| {
        let server = server.lock().unwrap();
        for d in 1..=DATES {
            let marker = format!("sim#{}", date(d));
            let n = server
                .accepted
                .iter()
                .filter(|(_, _, m)| *m == marker)
                .count();
            assert!(
                n <= 1,
                "seed {seed}: {n} publications of {} {when}",
                date(d)
            );
        }
    };
    runtime.block_on(async {
        for d in 1..=DATES {
            for attempt in 0..ATTEMPTS {
                // Now and then a second process publishes the same date at once.
                let twice = faults.lock().unwrap().roll(0.2);
                let one = runner::publish_date(
                    &config,
                    &env,
                    &publishers,
                    date(d),
                    false,
                    Duration::from_secs(5),
                );
                if twice {
                    let two = runner::publish_date(
                        &config,
                        &env,
                        &publishers,
                        date(d),
                        false,
                        Duration::from_secs(5),
                    );
                    let (a, b) = tokio::join!(one, two);
                    let _ = (a, b);
                } else {
                    let _ = one.await;
                }
                at_most_once(&format!("after attempt {attempt}"));
            }
        }
        // The faults stop (the disk has room, the server answers): every date
        // settles, and none is published twice on the way.
        faults.lock().unwrap().on = false;
        for d in 1..=DATES {
            let result = runner::publish_date(
                &config,
                &env,
                &publishers,
                date(d),
                false,
                Duration::from_secs(5),
            )
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let outcome = &result.outcomes[0].1;
            assert!(
                !matches!(outcome, Outcome::Failed(_)),
                "seed {seed}: {} still fails once the faults stop: {outcome:?}",
                date(d)
            );
        }
    });
    at_most_once("at the end");
    let server = server.lock().unwrap();
    let (journal, _) = Journal::open(&config.state).unwrap();
    for d in 1..=DATES {
        let marker = format!("sim#{}", date(d));
        let accepted: Vec<&String> = server
            .accepted
            .iter()
            .filter(|(_, _, m)| *m == marker)
            .map(|(id, _, _)| id)
            .collect();
        assert_eq!(accepted.len(), 1, "seed {seed}: {} lost", date(d));
        let done: Vec<&Record> = journal
            .records()
            .iter()
            .filter(|r| r.event == Event::Done && r.date == date(d))
            .collect();
        assert!(!done.is_empty(), "seed {seed}: {} not journaled", date(d));
        for r in done {
            assert_eq!(
                r.remote_id.as_deref(),
                Some(accepted[0].as_str()),
                "seed {seed}: the journal and the server disagree on {}",
                date(d)
            );
        }
    }
}

#[test]
fn thousands_of_seeded_fault_schedules_keep_exactly_once() {
    let posts = tempfile::tempdir().unwrap();
    for d in 1..=DATES {
        std::fs::write(
            posts.path().join(format!("03-{d:02}-event.md")),
            format!(
                "+++\ntitle = \"Event {d}\"\ndate = 1900-03-{d:02}\nurl = \"https://todayis.example/{d}.html\"\n+++\nBody.\n"
            ),
        )
        .unwrap();
    }
    let seeds: Vec<u64> = match std::env::var("TODAYIS_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("TODAYIS_SIM_SEED is a number")],
        Err(_) => (0..SEEDS).collect(),
    };
    for seed in seeds {
        run_seed(seed, posts.path());
    }
}
