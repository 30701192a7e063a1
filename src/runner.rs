//! Publishing one date: the day's post through each publisher that has not yet
//! published it, independently and in parallel. Shared by `publish` and the daemon.
//!
//! The write-ahead rule: an intent is journaled (and synced) before a request
//! leaves, and the answer after. An intent that has no answer is first looked for
//! on the server (reconciled); only when it is not there does anything new go out.
//! All of it happens under the state folder's publish lock, so two processes never
//! publish the same date or lose each other's feed items.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, TimeZone};
use futures_util::future::join_all;

use crate::config::{Config, UnknownPublisher};
use crate::journal::{Event, Journal, Record, Who};
use crate::library::{self, Library, LibraryError};
use crate::lock::{self, AcquireError, StateLock};
use crate::post::{Post, PostError};
use crate::publish::{
    Environment, IdempotencyKey, Occasion, PublishError, Publisher, Receipt, Retry,
};

/// What happened to one publisher on one date.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Sent now, or found on the server after a lost answer (`reconciled`).
    Published {
        receipt: Receipt,
        reconciled: bool,
    },
    /// The journal says it went out already.
    AlreadyPublished {
        receipt: Receipt,
    },
    Failed(PublishError),
}

/// The result of publishing a date.
#[derive(Debug)]
pub struct DateResult {
    pub date: NaiveDate,
    pub post: Option<Post>,
    /// Broken files among that day's posts.
    pub post_errors: Vec<PostError>,
    pub outcomes: Vec<(String, Outcome)>,
}

/// Why a date could not be published at all (before any publisher was tried).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot use the journal in {}: {source}; check that the state folder is writable", state.display())]
    Journal {
        state: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the posts: {0}")]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Lock(#[from] AcquireError),
}

/// The publishers of a config, built.
pub fn build_publishers(
    config: &Config,
    names: &[String],
    env: &Environment,
) -> Result<Vec<Arc<dyn Publisher>>, UnknownPublisher> {
    Ok(config
        .select_publishers(names)?
        .into_iter()
        .map(|(name, c)| Arc::from(c.build(name, env)))
        .collect())
}

/// The occasion for `date`: the day's scheduled fire time, or midnight if the
/// schedule does not fire that day.
pub fn occasion(config: &Config, date: NaiveDate) -> Occasion {
    let tz = config.timezone;
    let at = config
        .schedule
        .first_fire_on(tz, date)
        .map(|t| t.with_timezone(&tz))
        .or_else(|| {
            tz.from_local_datetime(&date.and_time(NaiveTime::MIN))
                .earliest()
        })
        .unwrap_or_else(|| tz.from_utc_datetime(&date.and_time(NaiveTime::MIN)));
    Occasion { date, at }
}

/// The day's post, read on the blocking pool: a slow disk never stalls the
/// daemon's timers, signals or HTTP side.
pub async fn post_for_date(
    config: &Config,
    date: NaiveDate,
) -> Result<(Option<Post>, Vec<PostError>), LibraryError> {
    let library = Library::new(&config.posts);
    let (leap_day, pick) = (config.leap_day, config.pick);
    tokio::task::spawn_blocking(move || library::post_for(&library, date, leap_day, pick))
        .await
        .unwrap_or_else(|e| {
            Err(LibraryError {
                path: config.posts.clone(),
                message: format!("reading the posts stopped: {e}"),
            })
        })
}

/// The post's identity in the journal: its path below the posts folder.
fn post_id(config: &Config, post: &Post) -> String {
    post.path
        .strip_prefix(&config.posts)
        .unwrap_or(&post.path)
        .display()
        .to_string()
}

/// Publishes `date` through `publishers`, skipping those the journal says are done
/// (unless `force`, which makes a new publication). Waits up to `lock_wait` for
/// another process that holds the state folder.
pub async fn publish_date(
    config: &Config,
    env: &Environment,
    publishers: &[Arc<dyn Publisher>],
    date: NaiveDate,
    force: bool,
    lock_wait: Duration,
) -> Result<DateResult, RunError> {
    let holder = format!(
        "pid {} (todayis), publishing {date} since {}",
        std::process::id(),
        env.clock.now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    let _lock = StateLock::acquire(&config.state, lock::PUBLISH, &holder, lock_wait).await?;
    let journal_error = |source| RunError::Journal {
        state: config.state.clone(),
        source,
    };
    let (mut journal, warnings) = Journal::open(&config.state).map_err(journal_error)?;
    if let Some(fault) = &env.journal_fault {
        journal.set_fault(fault.clone());
    }
    for w in warnings {
        tracing::warn!("{w}");
    }
    let journal = tokio::sync::Mutex::new(journal);
    publish_with_journal(config, env, publishers, date, force, &journal).await
}

/// [`publish_date`] with the lock held and the journal open.
async fn publish_with_journal(
    config: &Config,
    env: &Environment,
    publishers: &[Arc<dyn Publisher>],
    date: NaiveDate,
    force: bool,
    journal: &tokio::sync::Mutex<Journal>,
) -> Result<DateResult, RunError> {
    let (post, post_errors) = post_for_date(config, date).await?;
    let mut result = DateResult {
        date,
        post: post.clone(),
        post_errors,
        outcomes: Vec::new(),
    };
    let occasion = occasion(config, date);
    let jobs = publishers.iter().map(|publisher| {
        let (post, occasion) = (post.as_ref(), &occasion);
        async move {
            let name = publisher.name().to_string();
            let outcome = publish_one(
                config,
                env,
                publisher.as_ref(),
                post,
                occasion,
                force,
                journal,
            )
            .await
            .unwrap_or_else(|e| Some(Outcome::Failed(e)));
            outcome.map(|o| (name, o))
        }
    });
    // With no post, a publisher has an outcome only if an earlier intent was settled.
    result.outcomes = join_all(jobs).await.into_iter().flatten().collect();
    Ok(result)
}

/// One publisher: skip, reconcile, or intent → send → done. `None`: no post and
/// nothing pending, so nothing to do.
async fn publish_one(
    config: &Config,
    env: &Environment,
    publisher: &dyn Publisher,
    post: Option<&Post>,
    occasion: &Occasion,
    force: bool,
    journal: &tokio::sync::Mutex<Journal>,
) -> Result<Option<Outcome>, PublishError> {
    let name = publisher.name();
    let account = publisher.account();
    let who = Who {
        name,
        account: &account,
    };
    let date = occasion.date;
    let journal_failed = |what: &str, e: std::io::Error| {
        PublishError::new(
            name,
            Retry::Later,
            format!(
                "{what} in {}: {e}; free space or fix the permissions of the state folder",
                config.state.display()
            ),
        )
    };
    let (done, pending, generation) = {
        let j = journal.lock().await;
        (
            j.published(who, date).cloned(),
            j.pending(who, date).cloned(),
            j.generation(who, date),
        )
    };
    if let Some(done) = done.filter(|_| !force) {
        return Ok(Some(Outcome::AlreadyPublished {
            receipt: Receipt {
                remote_id: done.remote_id.unwrap_or_default(),
                url: done.url,
            },
        }));
    }
    // An intent with no answer: look on the server before anything is sent.
    if let Some(intent) = &pending {
        let settled =
            intent.at + chrono::Duration::from_std(publisher.settle()).unwrap_or_default();
        if let Ok(wait) = (settled - env.clock.now()).to_std() {
            tracing::info!(publisher = %name, %date, "an earlier attempt may still be on its way: waiting {}s before looking for it", wait.as_secs());
            tokio::time::sleep(wait.min(Duration::from_secs(600))).await;
        }
        let marker = intent.marker.as_deref().unwrap_or_default();
        if let Some(receipt) = publisher.reconcile(marker, intent.at).await? {
            let record = Record {
                event: Event::Done,
                remote_id: Some(receipt.remote_id.clone()),
                url: receipt.url.clone(),
                at: env.clock.now(),
                ..intent.clone()
            };
            journal.lock().await.append(record).map_err(|e| {
                journal_failed(
                    "found the earlier publication on the server but cannot record it",
                    e,
                )
            })?;
            tracing::info!(publisher = %name, %date, url = receipt.url.as_deref().unwrap_or(""), "found an earlier publication whose answer was lost; not sending again");
            return Ok(Some(Outcome::Published {
                receipt,
                reconciled: true,
            }));
        }
    }
    let Some(post) = post else {
        return Ok(None);
    };
    let rendered = publisher
        .render(post, occasion)
        .map_err(|e| PublishError::new(name, Retry::Never, e.to_string()))?;
    // The pending intent's key (it never reached the server, or it would have been
    // found), else a new one for this generation.
    let key = match &pending {
        Some(intent) if intent.key.is_some() => IdempotencyKey::from_journal(
            intent.key.as_deref().unwrap_or_default(),
            date,
            generation,
        ),
        _ => IdempotencyKey::new(&account, date, &post_id(config, post), generation),
    };
    let intent = Record {
        date,
        publisher: name.to_string(),
        account: Some(account.clone()),
        event: Event::Intent,
        post: post_id(config, post),
        key: Some(key.as_str().to_string()),
        marker: Some(rendered.output.marker(&key)),
        remote_id: None,
        url: None,
        at: env.clock.now(),
    };
    journal
        .lock()
        .await
        .append(intent.clone())
        .map_err(|e| journal_failed("nothing was sent: cannot record the intent", e))?;
    let receipt = publisher.publish(&rendered, &key).await?;
    let done = Record {
        event: Event::Done,
        remote_id: Some(receipt.remote_id.clone()),
        url: receipt.url.clone(),
        at: env.clock.now(),
        ..intent
    };
    if let Err(e) = journal.lock().await.append(done) {
        return Err(journal_failed(
            &format!(
                "published ({}), but cannot record it; the next run finds it on the server and does not send it again",
                receipt.url.as_deref().unwrap_or(&receipt.remote_id)
            ),
            e,
        ));
    }
    tracing::info!(
        publisher = %name,
        %date,
        post = %post.path.display(),
        url = receipt.url.as_deref().unwrap_or(""),
        "published"
    );
    Ok(Some(Outcome::Published {
        receipt,
        reconciled: false,
    }))
}
