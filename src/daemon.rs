//! `todayis run`: sleep until something is due, publish, repeat.
//!
//! The [`Scheduler`] decides; this loop only feeds it the time, runs publications,
//! and listens for signals. It asks the injected clock for the time and sleeps at
//! most `recheck` at once, so a suspend or a clock step is noticed within minutes
//! and nothing else wakes it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::calendar;
use crate::config::{Config, Corrections, Missing};
use crate::library::{self, Library};
use crate::lock::{self, LockError, StateLock};
use crate::publish::{Environment, PublishError, Publisher, Retry};
use crate::runner::{self, Outcome};
use crate::scheduler::Scheduler;
use crate::status::{PublicationResult, Status};

/// What the outside world can ask of a running daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM, SIGINT: finish what is in flight (within the grace), then stop.
    Stop,
    /// SIGHUP: read the config again; keep the old one if the new one is broken.
    Reload,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The longest single sleep.
    ///
    /// Five minutes, not one: each tokio sleep of a minute or more costs three
    /// wake-ups (its timer wheel cascades the deadline down two levels), so a
    /// one-minute re-check would wake the process three times a minute. A fire
    /// noticed up to five minutes late (after a suspend) still counts as on time.
    pub recheck: Duration,
    /// How long an in-flight publication may take to finish after a stop.
    pub grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            recheck: Duration::from_secs(300),
            grace: Duration::from_secs(10),
        }
    }
}

/// Everything that a config (re)load sets up.
struct Loaded {
    config: Config,
    env: Environment,
    publishers: Vec<Arc<dyn Publisher>>,
}

fn load(config: Config, base_env: &Environment) -> Result<Loaded, String> {
    let env = Environment {
        journal_fault: base_env.journal_fault.clone(),
        ..config.environment(base_env.clock.clone(), base_env.env_var.clone())
    };
    let publishers = runner::build_publishers(&config, &[], &env).map_err(|e| e.to_string())?;
    Ok(Loaded {
        config,
        env,
        publishers,
    })
}

/// Runs until a stop signal (or the signal channel closes).
pub async fn run(
    config_path: PathBuf,
    config: Config,
    base_env: Environment,
    status: Arc<Mutex<Status>>,
    mut signals: mpsc::Receiver<Signal>,
    options: Options,
) -> anyhow::Result<()> {
    let clock = Arc::clone(&base_env.clock);
    // One daemon per state folder, for its whole life.
    let holder = format!(
        "pid {} (todayis run) since {}",
        std::process::id(),
        clock.now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    let _daemon_lock = StateLock::try_acquire(&config.state, lock::DAEMON, &holder)
        .with_context(|| format!("cannot lock the state folder {}", config.state.display()))?
        .ok_or_else(|| LockError {
            folder: config.state.clone(),
            holder: StateLock::holder(&config.state, lock::DAEMON),
            advice: ": another daemon already publishes from it; stop that one or give this one its own `bot.state`",
        })?;
    let mut current = load(config, &base_env).map_err(anyhow::Error::msg)?;
    let c = &current.config;
    let mut scheduler = Scheduler::start(c.schedule.clone(), c.timezone, c.catch_up, clock.now());
    refresh_library(&current, &status, scheduler.next_fire(), clock.now());
    // This month's engagement for the page: read hourly in a task of its own, so it
    // never delays a publication or /healthz.
    let mut engagement_due = clock.now();
    let mut engagement: Option<tokio::task::JoinHandle<()>> = None;
    announce(&current, &scheduler, &status);

    loop {
        let now = clock.now();
        update(&status, |s| {
            s.heartbeat = Some(now);
            s.wakeups += 1;
            s.next_fire = scheduler.next_fire();
            s.next_retry = scheduler.retry_at();
        });
        if let Some(date) = scheduler.due(now) {
            update(&status, |s| {
                s.busy_since = Some(now);
                s.last_fire = scheduler.last_fire();
            });
            let mut reload_after = false;
            let mut stopping = false;
            let result = {
                let publication = runner::publish_date(
                    &current.config,
                    &current.env,
                    &current.publishers,
                    date,
                    false,
                    PUBLISH_LOCK_WAIT,
                );
                tokio::pin!(publication);
                loop {
                    tokio::select! {
                        r = &mut publication => break Some(r),
                        signal = signals.recv() => match signal {
                            Some(Signal::Reload) => reload_after = true,
                            Some(Signal::Stop) | None => stopping = true,
                        }
                    }
                    if stopping {
                        tracing::info!(
                            "stopping: letting the publication in flight finish (up to {}s)",
                            options.grace.as_secs()
                        );
                        break tokio::time::timeout(options.grace, &mut publication)
                            .await
                            .ok();
                    }
                }
            };
            let Some(result) = result else {
                tracing::warn!(
                    "the publication did not finish within the grace period; a restart within catch_up completes it"
                );
                return Ok(());
            };
            let all_done = record(&current, &status, result, clock.now());
            update(&status, |s| s.busy_since = None);
            scheduler.report(clock.now(), date, all_done);
            refresh_library(&current, &status, scheduler.next_fire(), clock.now());
            if !all_done {
                tracing::info!(%date, "some publishers failed; they will be retried until the next day's publication");
            }
            if stopping {
                tracing::info!("stopped");
                return Ok(());
            }
            if reload_after {
                reload(
                    &config_path,
                    &base_env,
                    &mut current,
                    &mut scheduler,
                    &status,
                    clock.now(),
                );
            }
            continue;
        }
        // The journal, read once a wake and off the runtime's thread: what went
        // out (perhaps by `todayis publish` elsewhere) and what may need correcting.
        if let Some(journal) = read_journal(&current.config.state).await {
            follow_journal(&current, &journal, &status);
            if current.config.corrections == Corrections::Auto {
                auto_correct(&current, &journal, clock.now()).await;
            }
        }
        if current.config.listen.is_some()
            && now >= engagement_due
            && engagement.as_ref().is_none_or(|t| t.is_finished())
        {
            engagement_due = now
                .checked_add_signed(crate::stats::FRESH_FOR)
                .unwrap_or(now);
            engagement = Some(tokio::spawn(read_engagement(
                current.config.clone(),
                current.publishers.clone(),
                Arc::clone(&status),
                now,
            )));
        }
        // Reading the library and the journal leaves freed memory behind; hand it
        // back before a long sleep, so the idle daemon stays small.
        release_free_memory();
        let wait = scheduler
            .wake_at()
            .map(|w| (w - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(options.recheck)
            .min(options.recheck);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            signal = signals.recv() => match signal {
                Some(Signal::Reload) => reload(&config_path, &base_env, &mut current, &mut scheduler, &status, clock.now()),
                Some(Signal::Stop) | None => {
                    tracing::info!("stopping");
                    return Ok(());
                }
            }
        }
    }
}

/// Logs and counts each publisher's outcome; true if nothing is left to retry.
fn record(
    current: &Loaded,
    status: &Mutex<Status>,
    result: Result<runner::DateResult, runner::RunError>,
    now: DateTime<Utc>,
) -> bool {
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            // The date fails (and is retried), and /healthz shows why: an unreadable
            // library is never taken as a day with no post.
            tracing::error!("{e}; retrying later");
            let mut guard = status.lock().unwrap_or_else(|p| p.into_inner());
            let date = scheduler_date(now, &current.config);
            for p in &current.publishers {
                guard.record(
                    p.name(),
                    date,
                    PublicationResult::Failed,
                    Some(e.to_string()),
                    now,
                );
            }
            return false;
        }
    };
    for e in &result.post_errors {
        tracing::warn!("{e}");
    }
    let date = result.date;
    if result.post.is_none() && result.outcomes.is_empty() {
        match current.config.missing {
            Missing::Skip => tracing::info!(%date, "no post for this day; nothing to publish"),
            Missing::Error => {
                tracing::error!(%date, "no post for this day (missing = \"error\"): add one to the library")
            }
        }
        return true;
    }
    let mut all_done = true;
    let mut guard = status.lock().unwrap_or_else(|p| p.into_inner());
    for (name, outcome) in result.outcomes {
        match outcome {
            Outcome::Published { .. } => {
                guard.record(&name, date, PublicationResult::Published, None, now)
            }
            Outcome::AlreadyPublished { .. } => {
                guard.record(&name, date, PublicationResult::AlreadyPublished, None, now)
            }
            Outcome::Failed(PublishError { message, retry, .. }) => {
                if retry == Retry::Later {
                    all_done = false;
                    tracing::warn!(publisher = %name, %date, "{message}");
                } else {
                    tracing::error!(publisher = %name, %date, "{message}; not retried until fixed: then run `todayis publish --date {date}`");
                }
                guard.record(&name, date, PublicationResult::Failed, Some(message), now);
            }
        }
    }
    all_done
}

/// `corrections = "auto"`: every date that went out less than `corrections_window`
/// ago is compared with its post as it reads now, and a change is carried to every
/// publisher that edits in place (Bluesky only ever by hand, with `--repost`).
async fn auto_correct(current: &Loaded, journal: &crate::journal::Journal, now: DateTime<Utc>) {
    let config = &current.config;
    let window = chrono::Duration::from_std(config.corrections_window).unwrap_or_default();
    let dates: std::collections::BTreeSet<chrono::NaiveDate> = journal
        .records()
        .iter()
        .filter(|r| r.event == crate::journal::Event::Done && now - r.at <= window)
        .map(|r| r.date)
        .collect();
    if dates.is_empty() {
        return;
    }
    let editable: Vec<Arc<dyn Publisher>> = current
        .publishers
        .iter()
        .filter(|p| p.edits_in_place())
        .cloned()
        .collect();
    for date in dates {
        match runner::correct_date(
            config,
            &current.env,
            &editable,
            date,
            false,
            false,
            PUBLISH_LOCK_WAIT,
        )
        .await
        {
            Ok((_, results)) => {
                for (name, correction) in results {
                    if let runner::Correction::Failed { error, .. } = correction {
                        tracing::warn!(publisher = %name, %date, "the post changed but could not be corrected: {}", error.message);
                    }
                }
            }
            Err(e) => tracing::warn!(%date, "cannot look for corrections: {e}"),
        }
    }
}

/// Returns the allocator's free pages to the system (glibc's `malloc_trim`).
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no
    // pointer and touches no memory the program owns.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How long the daemon waits for a `todayis publish` that holds the state folder.
const PUBLISH_LOCK_WAIT: Duration = Duration::from_secs(60);

/// The date `now` falls on in the bot's zone.
fn scheduler_date(now: DateTime<Utc>, config: &Config) -> chrono::NaiveDate {
    now.with_timezone(&config.timezone).date_naive()
}

fn reload(
    path: &Path,
    base_env: &Environment,
    current: &mut Loaded,
    scheduler: &mut Scheduler,
    status: &Mutex<Status>,
    now: DateTime<Utc>,
) {
    match Config::load(path)
        .map_err(|e| e.to_string())
        .and_then(|c| load(c, base_env))
    {
        Ok(new) => {
            let c = &new.config;
            // What is bound at start stays until a restart.
            if c.listen != current.config.listen {
                tracing::warn!(
                    "`server.listen` changed: restart the daemon to apply it (it keeps the old address until then)"
                );
            }
            if c.state != current.config.state {
                tracing::warn!(
                    "`bot.state` changed: restart the daemon to move to the new state folder (it keeps the old one's lock until then)"
                );
            }
            scheduler.reschedule(c.schedule.clone(), c.timezone, c.catch_up, now);
            *current = new;
            update(status, |s| s.config_error = None);
            tracing::info!(config = %path.display(), "reloaded the config");
            refresh_library(current, status, scheduler.next_fire(), now);
            announce(current, scheduler, status);
        }
        Err(e) => {
            for line in e.lines() {
                tracing::error!("reload refused, keeping the running config: {line}");
            }
            update(status, |s| s.config_error = Some(e.clone()));
        }
    }
}

/// Re-reads the library's counts for /metrics (and warns about broken posts), and
/// with the HTTP side prepares the page: the next publication and the calendar.
fn refresh_library(
    current: &Loaded,
    status: &Mutex<Status>,
    next_fire: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    let loaded = match Library::new(&current.config.posts).load_all() {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}");
            return;
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    for e in &loaded.errors {
        tracing::warn!("{e}");
    }
    let missing = calendar::missing(&calendar::by_month_day(&loaded.posts)).len();
    let feed = current
        .config
        .publishers
        .iter()
        .find_map(|(_, p)| p.served_file().map(Path::to_path_buf));
    let page = current.config.listen.is_some().then(|| {
        Arc::new(crate::dashboard::prepare(
            &current.config,
            &current.env,
            &loaded.posts,
            next_fire,
            now,
        ))
    });
    update(status, |s| {
        s.posts_in_library = loaded.posts.len();
        s.days_without_post = missing;
        s.feed_path = feed;
        s.page = page;
    });
}

/// Every configured publisher in the status from the start, with whether its
/// secret resolves (a missing token is found now, not at the day's fire).
fn check_credentials(current: &Loaded, status: &Mutex<Status>) {
    let mut guard = status.lock().unwrap_or_else(|p| p.into_inner());
    let configured: Vec<&str> = current.publishers.iter().map(|p| p.name()).collect();
    guard
        .publishers
        .retain(|name, _| configured.contains(&name.as_str()));
    for p in &current.publishers {
        let credentials = match p.credentials() {
            Ok(()) => "ok".to_string(),
            Err(e) => {
                tracing::warn!(publisher = %p.name(), "{e}: it will fail at the fire until this is fixed");
                e
            }
        };
        guard
            .publishers
            .entry(p.name().to_string())
            .or_default()
            .credentials = Some(credentials);
    }
}

/// The journal, read on the blocking pool (`None` if it cannot be read: the
/// publication itself then says why).
async fn read_journal(state: &Path) -> Option<crate::journal::Journal> {
    let state = state.to_path_buf();
    tokio::task::spawn_blocking(move || crate::journal::Journal::open(&state).ok().map(|(j, _)| j))
        .await
        .ok()
        .flatten()
}

/// Brings the status in line with the journal (publications by `todayis publish`,
/// or before a restart).
fn follow_journal(current: &Loaded, journal: &crate::journal::Journal, status: &Mutex<Status>) {
    let mut guard = status.lock().unwrap_or_else(|p| p.into_inner());
    for p in &current.publishers {
        let account = p.account();
        let who = crate::journal::Who {
            name: p.name(),
            account: &account,
        };
        guard.follow_journal(p.name(), journal.last_out(who));
    }
}

/// Says what was loaded and what goes out next.
fn announce(current: &Loaded, scheduler: &Scheduler, status: &Mutex<Status>) {
    check_credentials(current, status);
    let c = &current.config;
    let names: Vec<&str> = current.publishers.iter().map(|p| p.name()).collect();
    let posts = status.lock().map(|s| s.posts_in_library).unwrap_or(0);
    tracing::info!(
        config = %c.path.display(),
        posts,
        publishers = %names.join(", "),
        schedule = c.schedule.source(),
        timezone = c.timezone.name(),
        "loaded"
    );
    match scheduler.next_fire() {
        Some(next) => {
            let local = next.with_timezone(&c.timezone);
            let date = local.date_naive();
            let what = match library::post_for(&Library::new(&c.posts), date, c.leap_day, c.pick) {
                Ok((Some(p), _)) => format!("{} ({})", p.title, p.path.display()),
                Ok((None, _)) => "no post for that day".to_string(),
                Err(e) => format!("unknown: {e}"),
            };
            tracing::info!(at = %local.format("%Y-%m-%d %H:%M:%S %Z"), timezone = c.timezone.name(), post = %what, "next publication");
        }
        None => tracing::warn!("the schedule never fires again"),
    }
    if let Some(date) = scheduler.pending_date() {
        tracing::info!(%date, "catching up: publishing now what the last run missed");
    }
}

/// Reads this month's engagement (the counts older than an hour, from the servers;
/// the rest from the cache) for the page, and keeps the counts in the cache.
async fn read_engagement(
    config: Config,
    publishers: Vec<Arc<dyn Publisher>>,
    status: Arc<Mutex<Status>>,
    now: DateTime<Utc>,
) {
    use crate::stats::Cache;
    let folder = config.state.clone();
    let Ok((records, mut cache)) = tokio::task::spawn_blocking(move || {
        (
            crate::journal::tail(&folder, crate::dashboard::TAIL).unwrap_or_default(),
            Cache::load(&folder),
        )
    })
    .await
    else {
        return;
    };
    let (first, last) = crate::dashboard::month_of(&config, now);
    let publications = crate::stats::publications(&records, Some(first), Some(last));
    for problem in crate::stats::refresh(&config, &publishers, &publications, &mut cache, now).await
    {
        tracing::warn!("cannot read this month's engagement: {problem}");
    }
    let posts = status
        .lock()
        .ok()
        .and_then(|s| s.page.clone())
        .map(|p| p.posts.clone())
        .unwrap_or_default();
    let report = crate::dashboard::month_engagement(&config, &records, &cache, &posts, now);
    update(&status, |s| s.engagement = Some(Arc::new(report)));
    let folder = config.state.clone();
    let saved = tokio::task::spawn_blocking(move || cache.save(&folder)).await;
    if let Ok(Err(e)) = saved {
        tracing::warn!(
            "cannot keep the engagement counts in {}: {e}",
            config.state.display()
        );
    }
}

fn update(status: &Mutex<Status>, f: impl FnOnce(&mut Status)) {
    let mut guard = status.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut guard);
}

/// Starts the HTTP side (if configured), wires signals to the daemon, and runs it.
pub async fn serve(path: PathBuf, config: Config, env: Environment) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let status = Arc::new(Mutex::new(Status::default()));
    if let Some(addr) = config.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("`server.listen`: cannot listen on {addr}: {e}"))?;
        tracing::info!(%addr, "serving the page at /, /healthz, /metrics and /feed.xml");
        let app = crate::server::router(crate::server::AppState {
            status: Arc::clone(&status),
            clock: Arc::clone(&env.clock),
            show_errors: config.show_errors,
        });
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("the HTTP server stopped: {e}");
            }
        });
    }
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            let sent = tokio::select! {
                _ = term.recv() => tx.send(Signal::Stop).await,
                _ = int.recv() => tx.send(Signal::Stop).await,
                _ = hup.recv() => tx.send(Signal::Reload).await,
            };
            if sent.is_err() {
                break;
            }
        }
    });
    run(path, config, env, status, rx, Options::default()).await
}
