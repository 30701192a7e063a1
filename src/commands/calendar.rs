//! `calendar`: which post goes out on each day of a year, as text, JSON or a page.

use std::io::Write;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::PostSummary;
use crate::calendar::{self, DayMarks};
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
#[derive(Debug, Serialize)]
pub struct CalendarReport {
    pub year: i32,
    pub timezone: String,
    pub days_with_post: usize,
    pub days: Vec<CalendarDay>,
}

#[derive(Debug, Serialize)]
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
    let grouped = calendar::by_month_day(&loaded.posts);
    let days = calendar::year(&grouped, year, config.leap_day, config.pick);
    // What an editor must see beside each day's post: how many share the day, the
    // broken files, the publishers its post is too long for.
    let publishers = runner::build_publishers(config, &[], env)?;
    let marks: Vec<DayMarks> = days
        .iter()
        .map(|d| {
            let month_days = library::month_days_for(d.date, config.leap_day);
            let posts = month_days
                .iter()
                .map(|md| grouped.get(md).map_or(0, Vec::len))
                .sum();
            let broken = loaded
                .errors
                .iter()
                .filter(|e| {
                    post::month_day_from_name(&e.path).is_some_and(|md| month_days.contains(&md))
                })
                .count();
            let too_long = d.post.map_or_else(Vec::new, |p| {
                let occasion = runner::occasion(config, d.date);
                publishers
                    .iter()
                    .filter(|publisher| publisher.render(p, &occasion).is_err())
                    .map(|publisher| publisher.name().to_string())
                    .collect()
            });
            DayMarks {
                posts,
                broken,
                too_long,
            }
        })
        .collect();
    if format == CalendarFormat::Html {
        let today = (today.year() == year).then_some(today);
        write!(out, "{}", calendar::html(year, &days, &marks, today))?;
        return Ok(true);
    }
    let report = CalendarReport {
        year,
        timezone: config.timezone.name().to_string(),
        days_with_post: days.iter().filter(|d| d.post.is_some()).count(),
        days: days
            .iter()
            .zip(&marks)
            .map(|(d, m)| CalendarDay {
                date: d.date,
                post: d.post.map(PostSummary::from),
                posts: m.posts,
                broken: loaded
                    .errors
                    .iter()
                    .filter(|e| {
                        post::month_day_from_name(&e.path).is_some_and(|md| {
                            library::month_days_for(d.date, config.leap_day).contains(&md)
                        })
                    })
                    .map(|e| e.path.display().to_string())
                    .collect(),
                too_long: m.too_long.clone(),
            })
            .collect(),
    };
    if format == CalendarFormat::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        report.write_text(out)?;
    }
    Ok(true)
}
