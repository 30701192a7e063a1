//! Publishing one date: the day's post through each publisher that has not yet
//! published it, independently and in parallel, each result journaled.
//! Shared by the `publish` command and the daemon.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime, TimeZone};
use futures_util::future::join_all;

use crate::config::{Config, UnknownPublisher};
use crate::journal::{Journal, Record};
use crate::library::{self, Library};
use crate::post::{Post, PostError};
use crate::publish::{Environment, IdempotencyKey, Occasion, Publisher, Retry};

/// What happened to one publisher on one date.
#[derive(Debug, Clone)]
pub enum Outcome {
    Published {
        url: Option<String>,
        remote_id: String,
    },
    AlreadyPublished {
        remote_id: String,
    },
    Failed {
        message: String,
        retry: Retry,
    },
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

/// Publishes `date` through `publishers`, skipping those the journal says are done
/// (unless `force`). Each success is journaled before it is reported.
pub async fn publish_date(
    config: &Config,
    env: &Environment,
    publishers: &[Arc<dyn Publisher>],
    date: NaiveDate,
    force: bool,
) -> Result<DateResult, String> {
    let journal_error = |e: std::io::Error| {
        format!(
            "cannot use the journal in {}: {e}; check that the state folder is writable",
            config.state.display()
        )
    };
    let (journal, warnings) = Journal::open(&config.state).map_err(journal_error)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let library = Library::new(&config.posts);
    let (post, post_errors) = library::post_for(&library, date, config.leap_day, config.pick);
    let mut result = DateResult {
        date,
        post: post.clone(),
        post_errors,
        outcomes: Vec::new(),
    };
    let Some(post) = post else {
        return Ok(result);
    };
    let occasion = occasion(config, date);
    let journal = &tokio::sync::Mutex::new(journal);

    let jobs = publishers.iter().map(|publisher| {
        let post = &post;
        let occasion = &occasion;
        async move {
            let name = publisher.name().to_string();
            if !force && let Some(done) = journal.lock().await.published(&name, date) {
                return (
                    name,
                    Outcome::AlreadyPublished {
                        remote_id: done.remote_id.clone(),
                    },
                );
            }
            let rendered = match publisher.render(post, occasion) {
                Ok(r) => r,
                Err(e) => {
                    return (
                        name,
                        Outcome::Failed {
                            message: e.to_string(),
                            retry: Retry::Never,
                        },
                    );
                }
            };
            let key = IdempotencyKey::new(&name, date, &post.url);
            let outcome = match publisher.publish(&rendered, &key).await {
                Ok(receipt) => {
                    let record = Record {
                        date,
                        publisher: name.clone(),
                        post: post.path.display().to_string(),
                        remote_id: receipt.remote_id.clone(),
                        url: receipt.url.clone(),
                        at: env.clock.now(),
                    };
                    match journal.lock().await.append(record) {
                        Ok(()) => {
                            tracing::info!(
                                publisher = %name,
                                %date,
                                post = %post.path.display(),
                                url = receipt.url.as_deref().unwrap_or(""),
                                "published"
                            );
                            Outcome::Published {
                                url: receipt.url,
                                remote_id: receipt.remote_id,
                            }
                        }
                        Err(e) => Outcome::Failed {
                            message: format!("{name}: published, but {}", journal_error(e)),
                            retry: Retry::Later,
                        },
                    }
                }
                Err(e) => Outcome::Failed {
                    message: e.to_string(),
                    retry: e.retry,
                },
            };
            (name, outcome)
        }
    });
    result.outcomes = join_all(jobs).await;
    Ok(result)
}
