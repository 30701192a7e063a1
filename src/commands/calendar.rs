//! `calendar`: which post goes out on each day of a year, as text, JSON or a page.

use std::io::Write;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::PostSummary;
use crate::calendar;
use crate::config::Config;
use crate::library::Library;

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
}

impl CalendarReport {
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for d in &self.days {
            match &d.post {
                Some(p) => writeln!(
                    out,
                    "{}  {} ({})  {}",
                    d.date,
                    p.title,
                    p.date.year(),
                    p.path
                )?,
                None => writeln!(out, "{}  -- no post --", d.date)?,
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
    year: i32,
    format: CalendarFormat,
) -> anyhow::Result<bool> {
    let loaded = Library::new(&config.posts).load_all()?;
    for e in &loaded.errors {
        writeln!(err, "warning: {e}")?;
    }
    let report = CalendarReport::of(config, &loaded.posts, year);
    match format {
        CalendarFormat::Html => write!(out, "{}", crate::page::calendar_page(&report))?,
        CalendarFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        CalendarFormat::Text => report.write_text(out)?,
    }
    Ok(true)
}

impl CalendarReport {
    /// The year's days and the post picked for each.
    pub fn of(config: &Config, posts: &[crate::post::Post], year: i32) -> CalendarReport {
        let grouped = calendar::by_month_day(posts);
        let days = calendar::year(&grouped, year, config.leap_day, config.pick);
        CalendarReport {
            year,
            timezone: config.timezone.name().to_string(),
            days_with_post: days.iter().filter(|d| d.post.is_some()).count(),
            days: days
                .iter()
                .map(|d| CalendarDay {
                    date: d.date,
                    post: d.post.map(PostSummary::from),
                })
                .collect(),
        }
    }
}
