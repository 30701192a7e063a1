//! What the daemon's page at `/` shows, gathered into [`PageReport`] from the
//! reports the commands print (`preview`, `calendar`, `stats`), the daemon's own
//! status and the journal's last records.
//!
//! The heavy parts (the library, the next preview, the calendar) are prepared
//! when the daemon loads or publishes ([`prepare`]), and this month's engagement
//! when its hourly read ends ([`month_engagement`]); a request only reads the
//! journal's tail, so the page costs the same however long the journal.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::commands::{CalendarReport, PreviewReport};
use crate::config::Config;
use crate::journal::{Event, Record};
use crate::page::{Failure, Health, NextPublication, PageReport, Recent};
use crate::post::Post;
use crate::publish::Environment;
use crate::stats::{self, Cache, PostInfo, StatsReport};
use crate::status::{PublicationResult, Status};

/// How many journal records the page reads from the end (a month of three
/// publishers, with room for intents and corrections).
pub const TAIL: usize = 400;
/// How many publications the page lists.
pub const RECENT: usize = 30;

/// What the daemon prepares for its page when it loads, reloads or publishes.
#[derive(Debug)]
pub struct PageData {
    pub config: Arc<Config>,
    pub next: Option<NextPublication>,
    pub calendar: CalendarReport,
    pub posts: HashMap<String, PostInfo>,
}

/// Prepares the page's data: the preview of the next publication and the year's
/// calendar (of the year `now` falls in, in the bot's zone).
pub fn prepare(
    config: &Config,
    env: &Environment,
    posts: &[Post],
    next_fire: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> PageData {
    let tz = config.timezone;
    let next = next_fire.and_then(|at| {
        let local = at.with_timezone(&tz);
        let (preview, _) =
            PreviewReport::gather(config, env, local.date_naive(), None, &[], false, false).ok()?;
        Some(NextPublication {
            at,
            local: local.format("%A %-d %B %Y, %H:%M %Z").to_string(),
            preview,
        })
    });
    PageData {
        config: Arc::new(config.clone()),
        next,
        calendar: CalendarReport::of(config, posts, &[], &[], now.with_timezone(&tz).year()),
        posts: stats::post_index(config, posts),
    }
}

/// This month's engagement (in the bot's zone) from the cached counts.
pub fn month_engagement(
    config: &Config,
    records: &[Record],
    cache: &Cache,
    posts: &HashMap<String, PostInfo>,
    now: DateTime<Utc>,
) -> StatsReport {
    let (first, last) = month_of(config, now);
    let publications = stats::publications(records, Some(first), Some(last));
    stats::report(
        config,
        &publications,
        cache,
        posts,
        (Some(first), Some(last)),
        Vec::new(),
    )
}

/// The first and last day of the month `now` falls in, in the bot's zone.
pub fn month_of(config: &Config, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = now.with_timezone(&config.timezone).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let last = first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .last()
        .unwrap_or(first);
    (first, last)
}

/// Everything the page shows now. `records` is the journal's tail; `show_errors`
/// says whether error details may be shown to this client.
pub fn gather(
    data: &PageData,
    status: &Status,
    month: Option<&StatsReport>,
    records: &[Record],
    now: DateTime<Utc>,
    show_errors: bool,
) -> PageReport {
    let config = &data.config;
    let title = |post: &str| {
        data.posts
            .get(post)
            .map(|p| p.title.clone())
            .unwrap_or_else(|| post.to_string())
    };
    let answered = |intent: &Record| {
        records.iter().any(|r| {
            r.event == Event::Done
                && r.key.is_some()
                && r.key == intent.key
                && r.date == intent.date
        })
    };
    let recent: Vec<Recent> = records
        .iter()
        .rev()
        .filter(|r| r.event.is_out() || r.event == Event::Unpublished || !answered(r))
        .take(RECENT)
        .map(|r| Recent {
            date: r.date,
            publisher: r.publisher.clone(),
            title: title(&r.post),
            outcome: match r.event {
                Event::Done => "published",
                Event::Corrected => "corrected",
                Event::Intent => "unconfirmed",
                Event::Unpublished => "taken back",
            },
            at: r.at,
            url: r.url.clone(),
        })
        .collect();
    let hidden = || "failed (details are shown to loopback clients)".to_string();
    let failures = status
        .publishers
        .iter()
        .filter(|(_, p)| p.last_result == Some(PublicationResult::Failed))
        .map(|(name, p)| Failure {
            publisher: name.clone(),
            date: p.last_date,
            message: if show_errors {
                p.last_message.clone()
            } else {
                None
            },
            next_retry: status.next_retry,
        })
        .collect();
    let publishers = config
        .publishers
        .iter()
        .map(|(name, c)| {
            let known = status.publishers.get(name);
            let failed = known.is_some_and(|p| p.last_result == Some(PublicationResult::Failed));
            let journaled = records
                .iter()
                .rev()
                .find(|r| r.publisher == *name && r.event.is_out())
                .map(|r| r.at);
            Health {
                publisher: name.clone(),
                kind: c.kind().to_string(),
                healthy: !failed,
                last_success: known.and_then(|p| p.last_success).or(journaled),
                last_error: failed.then(|| {
                    if show_errors {
                        known
                            .and_then(|p| p.last_message.clone())
                            .unwrap_or_else(|| "failed".into())
                    } else {
                        hidden()
                    }
                }),
            }
        })
        .collect();
    let mut next = data.next.as_ref().map(|n| NextPublication {
        at: n.at,
        local: n.local.clone(),
        preview: n.preview.clone(),
    });
    if let Some(n) = next
        .as_mut()
        .filter(|n| !show_errors && !n.preview.errors.is_empty())
    {
        n.preview.errors =
            vec!["a post of that day has a problem (details are shown to loopback clients)".into()];
    }
    PageReport {
        now,
        timezone: config.timezone.name().to_string(),
        next,
        recent,
        failures,
        publishers,
        calendar: data.calendar.clone(),
        month: month.cloned(),
        show_errors,
    }
}
