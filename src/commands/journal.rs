//! `journal`: what went out, and `unpublish`: taking it back.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::journal::Journal;
use crate::publish::Environment;
use crate::runner;

/// One publication that is out, as `journal --json` prints it.
#[derive(Debug, Serialize)]
pub struct Publication {
    pub date: NaiveDate,
    pub publisher: String,
    pub post: String,
    pub url: Option<String>,
    pub remote_id: Option<String>,
    /// `done`, or `corrected` after `todayis correct`.
    pub state: crate::journal::Event,
    pub at: DateTime<Utc>,
}

/// `journal`: every publication that is out (or those of one date), oldest first.
pub fn journal(
    out: &mut dyn Write,
    config: &Config,
    date: Option<NaiveDate>,
    as_json: bool,
) -> anyhow::Result<bool> {
    let (journal, warnings) = Journal::open(&config.state)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let publications: Vec<Publication> = journal
        .publications()
        .into_iter()
        .filter(|r| date.is_none_or(|d| r.date == d))
        .map(|r| Publication {
            date: r.date,
            publisher: r.publisher.clone(),
            post: r.post.clone(),
            url: r.url.clone(),
            remote_id: r.remote_id.clone(),
            state: r.event,
            at: r.at,
        })
        .collect();
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&publications)?)?;
        return Ok(true);
    }
    if publications.is_empty() {
        writeln!(
            out,
            "nothing went out{}",
            date.map(|d| format!(" for {d}")).unwrap_or_default()
        )?;
    }
    for p in &publications {
        writeln!(
            out,
            "{}  {:<10} {}  {}{}",
            p.date,
            p.publisher,
            p.post,
            p.url.as_deref().or(p.remote_id.as_deref()).unwrap_or(""),
            if p.state == crate::journal::Event::Corrected {
                "  (corrected)"
            } else {
                ""
            }
        )?;
    }
    Ok(true)
}

/// `unpublish`: deletes the date's status and record and removes its feed item,
/// journaled, so a later `publish` makes a new one.
pub async fn unpublish(
    out: &mut dyn Write,
    config: &Config,
    env: &Environment,
    date: NaiveDate,
    names: &[String],
) -> anyhow::Result<bool> {
    let publishers = runner::build_publishers(config, names, env)?;
    let results = runner::unpublish_date(
        config,
        env,
        &publishers,
        date,
        std::time::Duration::from_secs(30),
    )
    .await?;
    let mut ok = true;
    for (name, result) in results {
        match result {
            None => writeln!(out, "{name}: nothing went out for {date}")?,
            Some(Ok(r)) => writeln!(
                out,
                "{name}: taken back: {}",
                r.url.as_deref().or(r.remote_id.as_deref()).unwrap_or("")
            )?,
            Some(Err(e)) => {
                ok = false;
                writeln!(out, "{name}: failed: {}", e.message)?
            }
        }
    }
    Ok(ok)
}
