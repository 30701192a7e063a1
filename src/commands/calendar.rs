//! `calendar`: which post goes out on each day of a year, as text, JSON or a page.

use std::io::Write;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::PostSummary;
use crate::calendar;
use crate::config::Config;
use crate::library::{self, Library};
use crate::post;
use crate::publish::Environment;
use crate::runner;

/// The format of `calendar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CalendarFormat {
    Text,
    Json,
    Html,
}

/// The year's days and their posts; `--format json` prints it as it is.
#[derive(Debug, Clone, Serialize)]
pub struct CalendarReport {
    pub year: i32,
    pub timezone: String,
    pub days_with_post: usize,
    pub days: Vec<CalendarDay>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub post: Option<PostSummary>,
    /// Posts that share the day (`pick` chooses among them).
    pub posts: usize,
    /// Broken post files for the day (`todayis check` says what is wrong).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broken: Vec<String>,
    /// Publishers the day's post is too long for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub too_long: Vec<String>,
}

impl CalendarReport {
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for d in &self.days {
            let mut marks = String::new();
            if d.posts > 1 {
                marks.push_str(&format!("  [{} posts share the day]", d.posts));
            }
            for b in &d.broken {
                marks.push_str(&format!("  [broken: {b}]"));
            }
            if !d.too_long.is_empty() {
                marks.push_str(&format!("  [too long for {}]", d.too_long.join(", ")));
            }
            match &d.post {
                Some(p) => writeln!(
                    out,
                    "{}  {} ({})  {}{marks}",
                    d.date,
                    p.title,
                    p.date.year(),
                    p.path
                )?,
                None => writeln!(out, "{}  -- no post --{marks}", d.date)?,
            }
        }
        writeln!(
            out,
            "{} of {} days have a post",
            self.days_with_post,
            self.days.len()
        )
    }
}

/// `calendar`: which post goes out on each day of `year`.
pub fn calendar(
    out: &mut dyn Write,
    err: &mut dyn Write,
    config: &Config,
    env: &Environment,
    year: i32,
    today: NaiveDate,
    format: CalendarFormat,
) -> anyhow::Result<bool> {
    let loaded = Library::new(&config.posts).load_all()?;
    for e in &loaded.errors {
        writeln!(err, "warning: {e}")?;
    }
    let publishers = runner::build_publishers(config, &[], env)?;
    let report = CalendarReport::of(config, &loaded.posts, &loaded.errors, &publishers, year);
    match format {
        CalendarFormat::Html => {
            let today = (today.year() == year).then_some(today);
            write!(out, "{}", crate::page::calendar_page(&report, today))?
        }
        CalendarFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        CalendarFormat::Text => report.write_text(out)?,
    }
    Ok(true)
}

impl CalendarReport {
    /// The year's days, the post picked for each, and what an editor must see
    /// beside it: how many posts share the day, the day's broken files, and the
    /// publishers its post is too long for.
    pub fn of(
        config: &Config,
        posts: &[crate::post::Post],
        errors: &[crate::post::PostError],
        publishers: &[std::sync::Arc<dyn crate::publish::Publisher>],
        year: i32,
    ) -> CalendarReport {
        let grouped = calendar::by_month_day(posts);
        let days = calendar::year(&grouped, year, config.leap_day, config.pick);
        CalendarReport {
            year,
            timezone: config.timezone.name().to_string(),
            days_with_post: days.iter().filter(|d| d.post.is_some()).count(),
            days: days
                .iter()
                .map(|d| {
                    let month_days = library::month_days_for(d.date, config.leap_day);
                    CalendarDay {
                        date: d.date,
                        post: d.post.map(PostSummary::from),
                        posts: month_days
                            .iter()
                            .map(|md| grouped.get(md).map_or(0, Vec::len))
                            .sum(),
                        broken: errors
                            .iter()
                            .filter(|e| {
                                post::month_day_from_name(&e.path)
                                    .is_some_and(|md| month_days.contains(&md))
                            })
                            .map(|e| e.path.display().to_string())
                            .collect(),
                        too_long: d.post.map_or_else(Vec::new, |p| {
                            let occasion = runner::occasion(config, d.date);
                            publishers
                                .iter()
                                .filter(|publisher| publisher.render(p, &occasion).is_err())
                                .map(|publisher| publisher.name().to_string())
                                .collect()
                        }),
                    }
                })
                .collect(),
        }
    }
}
