//! `stats`: the engagement each publication got where it went, in totals per
//! post, month, tag and weekday; as text, JSON or a page with charts.

use std::io::Write;

use chrono::NaiveDate;

use crate::config::Config;
use crate::journal::Journal;
use crate::library::Library;
use crate::publish::Environment;
use crate::runner;
use crate::stats::{self, Cache, StatsReport};

/// The format of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    Text,
    Json,
    Html,
}

impl StatsReport {
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let e = &self.totals;
        writeln!(
            out,
            "{} posts: {} likes, {} reposts, {} replies",
            self.posts.len(),
            e.likes,
            e.reposts,
            e.replies
        )?;
        for c in &self.publishers {
            writeln!(
                out,
                "  ({}: likes are {}, reposts are {})",
                c.publisher, c.likes, c.reposts
            )?;
        }
        let table = |out: &mut dyn Write, title: &str, buckets: &[stats::Bucket]| {
            writeln!(out, "\n{title}")?;
            for b in buckets {
                writeln!(
                    out,
                    "  {:<12} {:>4} posts {:>6} likes {:>6} reposts {:>6} replies",
                    b.key, b.posts, b.counts.likes, b.counts.reposts, b.counts.replies
                )?;
            }
            Ok::<(), std::io::Error>(())
        };
        table(out, "per month", &self.by_month)?;
        table(out, "per weekday", &self.by_weekday)?;
        table(out, "per tag", &self.by_tag)?;
        for (title, list) in [("best", &self.best), ("worst", &self.worst)] {
            writeln!(out, "\n{title}")?;
            for r in list {
                writeln!(out, "  {}  {:>6}  {}", r.date, r.total, r.title)?;
            }
        }
        writeln!(out, "\nper post")?;
        for p in &self.posts {
            writeln!(
                out,
                "  {}  {:>5} {:>5} {:>5}  {}",
                p.date,
                p.total.likes,
                p.total.reposts,
                p.total.replies,
                p.title.as_deref().unwrap_or(&p.post)
            )?;
            for place in &p.places {
                let counts = match &place.counts {
                    Some(c) => format!("{} {} {}", c.likes, c.reposts, c.replies),
                    None => "-".to_string(),
                };
                writeln!(
                    out,
                    "      {}: {counts}  {}",
                    place.publisher,
                    place.url.as_deref().unwrap_or("")
                )?;
            }
        }
        Ok(())
    }
}

/// `stats`: reads the journal, asks the servers for the counts not read in the last
/// hour (kept in the state folder), and prints the report. False if a server could
/// not be read (the report then shows the counts read before).
pub async fn stats(
    out: &mut dyn Write,
    err: &mut dyn Write,
    config: &Config,
    env: &Environment,
    (since, until): (Option<NaiveDate>, Option<NaiveDate>),
    format: StatsFormat,
) -> anyhow::Result<bool> {
    let (journal, warnings) = Journal::open(&config.state)?;
    for w in &warnings {
        writeln!(err, "warning: {w}")?;
    }
    let publications = stats::publications(journal.records(), since, until);
    let publishers = runner::build_publishers(config, &[], env)?;
    let mut cache = Cache::load(&config.state);
    let problems = stats::refresh(
        config,
        &publishers,
        &publications,
        &mut cache,
        env.clock.now(),
    )
    .await;
    if let Err(e) = cache.save(&config.state) {
        writeln!(
            err,
            "warning: cannot keep the counts in {}: {e}",
            config.state.display()
        )?;
    }
    for p in &problems {
        writeln!(err, "error: {p}")?;
    }
    let loaded = Library::new(&config.posts).load_all()?;
    let posts = stats::post_index(config, &loaded.posts);
    let ok = problems.is_empty();
    let report = stats::report(
        config,
        &publications,
        &cache,
        &posts,
        (since, until),
        problems,
    );
    match format {
        StatsFormat::Text => report.write_text(out)?,
        StatsFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        StatsFormat::Html => write!(out, "{}", crate::page::stats_page(&report))?,
    }
    Ok(ok)
}
