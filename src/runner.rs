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
use crate::journal::{Event, Journal, Record, Sent, Who};
use crate::library::{self, Library, LibraryError};
use crate::lock::{self, AcquireError, StateLock};
use crate::post::{Post, PostError};
use crate::publish::{
    Change, Environment, IdempotencyKey, Occasion, PublishError, Publisher, Receipt, Rendered,
    Retry,
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

/// SHA-256 of the post's picture, read on the blocking pool; `None` without one
/// (or when it cannot be read: then the publication itself fails on it).
pub async fn picture_digest(post: &Post) -> Option<String> {
    let post = post.clone();
    tokio::task::spawn_blocking(move || picture_digest_now(&post))
        .await
        .ok()
        .flatten()
}

/// [`picture_digest`], reading in place (for commands that run no runtime).
pub fn picture_digest_now(post: &Post) -> Option<String> {
    use sha2::{Digest, Sha256};
    let image = post.image.as_ref()?;
    let bytes =
        crate::files::read_bounded(&image.file, crate::files::MAX_IMAGE_BYTES, false).ok()?;
    Some(hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the journal keeps of a publication: the rendering, and a digest of it and
/// of its picture, so a later edit of the post is seen.
pub fn sent_of(rendered: &Rendered, picture: Option<String>, receipt: &Receipt) -> Sent {
    let output = serde_json::to_value(&rendered.output).unwrap_or_default();
    Sent {
        digest: digest_of(&output, picture.as_deref()),
        output,
        picture,
        media: receipt.media.clone(),
    }
}

/// SHA-256 of a rendering's JSON and its picture's digest.
pub fn digest_of(output: &serde_json::Value, picture: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(output.to_string().as_bytes());
    hasher.update(b"\0");
    hasher.update(picture.unwrap_or_default().as_bytes());
    hex(&hasher.finalize())
}

/// The post's identity in the journal: its path below the posts folder.
pub fn post_id(config: &Config, post: &Post) -> String {
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
    let (_lock, journal) = hold_state(config, env, "publishing", date, lock_wait).await?;
    let journal = tokio::sync::Mutex::new(journal);
    publish_with_journal(config, env, publishers, date, force, &journal).await
}

/// Takes the state folder's publish lock (waiting up to `lock_wait`, saying who
/// holds it and for what) and opens the journal under it, with the test's fault
/// when there is one. Every write to the journal goes through this.
async fn hold_state(
    config: &Config,
    env: &Environment,
    doing: &str,
    date: NaiveDate,
    lock_wait: Duration,
) -> Result<(StateLock, Journal), RunError> {
    let holder = format!(
        "pid {} (todayis), {doing} {date} since {}",
        std::process::id(),
        env.clock.now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    let lock = StateLock::acquire(&config.state, lock::PUBLISH, &holder, lock_wait).await?;
    let (mut journal, warnings) =
        Journal::open(&config.state).map_err(|source| RunError::Journal {
            state: config.state.clone(),
            source,
        })?;
    if let Some(fault) = &env.journal_fault {
        journal.set_fault(fault.clone());
    }
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok((lock, journal))
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
                media: vec![],
                dropped: vec![],
            },
        }));
    }
    // An intent with no answer: look on the server before anything is sent.
    if let Some(intent) = &pending {
        // The intent's time is read from the journal: checked arithmetic.
        let settled = chrono::Duration::from_std(publisher.settle())
            .ok()
            .and_then(|d| intent.at.checked_add_signed(d))
            .unwrap_or(intent.at);
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
        sent: None,
        at: env.clock.now(),
    };
    journal
        .lock()
        .await
        .append(intent.clone())
        .map_err(|e| journal_failed("nothing was sent: cannot record the intent", e))?;
    let picture = picture_digest(post).await;
    let receipt = publisher.publish(&rendered, &key).await?;
    let done = Record {
        event: Event::Done,
        remote_id: Some(receipt.remote_id.clone()),
        url: receipt.url.clone(),
        sent: Some(sent_of(&rendered, picture, &receipt)),
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

/// What `correct` found, or did, for one publisher.
#[derive(Debug)]
pub enum Correction {
    /// Nothing went out for that date.
    NotPublished,
    /// What went out is not on record (it was found on the server after a lost
    /// answer, or published by an older version): nothing to compare with.
    NotOnRecord,
    /// The post reads as it did when it went out.
    Unchanged,
    /// The day now picks another post file than the one that went out: refused.
    OtherPost { sent: String, now: String },
    /// It changed; `applied` is what the server has now (`None` in a dry run).
    Changed {
        changes: Vec<Change>,
        applied: Option<Receipt>,
    },
    /// It changed, but the correction failed (or cannot be made in place).
    Failed {
        changes: Vec<Change>,
        error: PublishError,
    },
}

/// Carries the post for `date` as it reads now to what went out, publisher by
/// publisher: an edit in place, journaled. A rerun after a crash finishes the job;
/// a rerun after success finds nothing changed.
pub async fn correct_date(
    config: &Config,
    env: &Environment,
    publishers: &[Arc<dyn Publisher>],
    date: NaiveDate,
    dry_run: bool,
    repost: bool,
    lock_wait: Duration,
) -> Result<(Option<Post>, Vec<(String, Correction)>), RunError> {
    let (_lock, mut journal) = hold_state(config, env, "correcting", date, lock_wait).await?;
    let (post, _) = post_for_date(config, date).await?;
    let picture = match &post {
        Some(p) => picture_digest(p).await,
        None => None,
    };
    let occasion = occasion(config, date);
    let mut results = Vec::new();
    for publisher in publishers {
        let name = publisher.name().to_string();
        let account = publisher.account();
        let who = Who {
            name: &name,
            account: &account,
        };
        let correction = match (journal.published(who, date).cloned(), &post) {
            (None, _) => Correction::NotPublished,
            (Some(out), _) if out.sent.is_none() => Correction::NotOnRecord,
            (Some(out), None) => Correction::OtherPost {
                sent: out.post,
                now: "no post".into(),
            },
            (Some(out), Some(post)) if out.post != post_id(config, post) => Correction::OtherPost {
                sent: out.post,
                now: post_id(config, post),
            },
            (Some(out), Some(post)) => {
                let before = out.sent.clone().unwrap_or_else(|| Sent {
                    digest: String::new(),
                    output: serde_json::Value::Null,
                    picture: None,
                    media: vec![],
                });
                match publisher.render(post, &occasion) {
                    Err(e) => Correction::Failed {
                        changes: vec![],
                        error: PublishError::new(&name, Retry::Never, e.to_string()),
                    },
                    Ok(rendered) => {
                        let output = serde_json::to_value(&rendered.output).unwrap_or_default();
                        if digest_of(&output, picture.as_deref()) == before.digest {
                            Correction::Unchanged
                        } else {
                            let mut changes = crate::publish::changes(&before.output, &output);
                            if picture != before.picture {
                                changes.push(Change {
                                    field: "picture".into(),
                                    before: if before.picture.is_some() {
                                        "the picture that went out"
                                    } else {
                                        "none"
                                    }
                                    .into(),
                                    after: if picture.is_some() {
                                        "the picture the post has now"
                                    } else {
                                        "none"
                                    }
                                    .into(),
                                });
                            }
                            if dry_run {
                                Correction::Changed {
                                    changes,
                                    applied: None,
                                }
                            } else {
                                let new_picture = picture != before.picture;
                                match publisher
                                    .correct(&out, &before, &rendered, new_picture, repost)
                                    .await
                                {
                                    Err(error) => Correction::Failed { changes, error },
                                    Ok(receipt) => {
                                        let record = Record {
                                            event: Event::Corrected,
                                            remote_id: Some(receipt.remote_id.clone()),
                                            url: receipt.url.clone(),
                                            sent: Some(sent_of(
                                                &rendered,
                                                picture.clone(),
                                                &receipt,
                                            )),
                                            at: env.clock.now(),
                                            ..out.clone()
                                        };
                                        match journal.append(record) {
                                            Ok(()) => {
                                                tracing::info!(publisher = %name, %date, url = receipt.url.as_deref().unwrap_or(""), fields = %changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>().join(", "), "corrected");
                                                Correction::Changed {
                                                    changes,
                                                    applied: Some(receipt),
                                                }
                                            }
                                            Err(e) => Correction::Failed {
                                                changes,
                                                error: PublishError::new(
                                                    &name,
                                                    Retry::Later,
                                                    format!(
                                                        "corrected on the server, but cannot record it in {}: {e}; the next `correct` finds nothing left to change there",
                                                        config.state.display()
                                                    ),
                                                ),
                                            },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        results.push((name, correction));
    }
    Ok((post, results))
}

/// Takes `date`'s publications back (`todayis unpublish`), publisher by publisher,
/// journaling each so a later `publish` makes a new one. `None`: nothing was out.
pub async fn unpublish_date(
    config: &Config,
    env: &Environment,
    publishers: &[Arc<dyn Publisher>],
    date: NaiveDate,
    lock_wait: Duration,
) -> Result<Vec<(String, Option<Result<Record, PublishError>>)>, RunError> {
    let (_lock, mut journal) = hold_state(config, env, "unpublishing", date, lock_wait).await?;
    let mut results = Vec::new();
    for publisher in publishers {
        let name = publisher.name().to_string();
        let account = publisher.account();
        let who = Who {
            name: &name,
            account: &account,
        };
        let Some(out) = journal.published(who, date).cloned() else {
            results.push((name, None));
            continue;
        };
        let result = match publisher.unpublish(&out).await {
            Err(e) => Err(e),
            Ok(()) => {
                let record = Record {
                    event: Event::Unpublished,
                    at: env.clock.now(),
                    ..out.clone()
                };
                journal.append(record).map(|()| out).map_err(|e| {
                    PublishError::new(
                        &name,
                        Retry::Later,
                        format!(
                            "taken back on the server, but cannot record it in {}: {e}",
                            config.state.display()
                        ),
                    )
                })
            }
        };
        if let Ok(out) = &result {
            tracing::info!(publisher = %name, %date, url = out.url.as_deref().unwrap_or(""), "unpublished");
        }
        results.push((name, Some(result)));
    }
    Ok(results)
}
