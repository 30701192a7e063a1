//! `preview`: exactly what would go out on a date, or for one post file.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use super::PostSummary;
use crate::calendar;
use crate::config::Config;
use crate::journal::{Journal, Who};
use crate::library::{self, Library};
use crate::post::{self, Post};
use crate::publish::{Environment, Rendered};
use crate::runner;

/// What `preview` found; `--json` prints it as it is.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewReport {
    pub date: NaiveDate,
    pub timezone: String,
    pub post: Option<PostSummary>,
    pub outputs: Vec<Rendered>,
    /// For a date that went out already: per publisher, when and where, and whether
    /// the post now differs from what was sent (`todayis correct` carries it over).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<WentOut>,
    /// A broken post file, or a post too long for a publisher (on stderr).
    #[serde(skip)]
    pub errors: Vec<String>,
    /// On a day with no post: the next day that has one, and its title.
    #[serde(skip)]
    pub next: Option<(NaiveDate, String)>,
    /// A draft (`--post`): when it goes out, and, on a day it shares with other
    /// posts, the years `pick` sends it (the next ten).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goes_out: Option<GoesOut>,
    /// Whether a draft (`--post`) was previewed.
    #[serde(skip)]
    pub draft: bool,
}

/// When a draft goes out.
#[derive(Debug, Clone, Serialize)]
pub struct GoesOut {
    /// The scheduled time on its day, in the bot's zone.
    pub at: String,
    /// How many posts share its day (itself included).
    pub posts_that_day: usize,
    /// The years among the next ten in which it is the one picked.
    pub years: Vec<i32>,
}

/// The day a draft goes out next: its month and day, this year or the next (a 29
/// February post on the day `leap_day` names in a common year).
pub fn draft_day(config: &Config, file: &Path, today: NaiveDate) -> NaiveDate {
    let Some((month, day)) = post::month_day_from_name(file).or_else(|| {
        let text = std::fs::read_to_string(file).ok()?;
        let post = post::parse(file, &text).ok()?;
        Some((
            chrono::Datelike::month(&post.date),
            chrono::Datelike::day(&post.date),
        ))
    }) else {
        return today;
    };
    today
        .iter_days()
        .take(366 * 4 + 1)
        .find(|d| library::month_days_for(*d, config.leap_day).contains(&(month, day)))
        .unwrap_or(today)
}

/// A publication already made for the previewed date.
#[derive(Debug, Clone, Serialize)]
pub struct WentOut {
    pub publisher: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub url: Option<String>,
    /// Whether the post as it reads now would send something else (`null` when what
    /// went out is not on record).
    pub differs: Option<bool>,
}

impl PreviewReport {
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let Some(post) = &self.post else {
            // A broken draft: its error (on stderr) says it all.
            if self.draft {
                return Ok(());
            }
            writeln!(
                out,
                "{} ({}): no post for this day",
                self.date, self.timezone
            )?;
            if let Some((d, title)) = &self.next {
                writeln!(
                    out,
                    "the next post goes out on {d}: {title} (`todayis preview --date {d}`)"
                )?;
            }
            return Ok(());
        };
        writeln!(out, "{} ({}): {}", self.date, self.timezone, post.path)?;
        writeln!(out, "{} ({})", post.title, post.date)?;
        if let Some(g) = &self.goes_out {
            writeln!(out, "goes out {}", g.at)?;
            if g.posts_that_day > 1 {
                let years: Vec<String> = g.years.iter().map(ToString::to_string).collect();
                writeln!(
                    out,
                    "{} posts share its day; in the next ten years it goes out in {}",
                    g.posts_that_day,
                    if years.is_empty() {
                        "none".to_string()
                    } else {
                        years.join(", ")
                    }
                )?;
            }
        }
        for r in &self.outputs {
            r.write_text(out)?;
        }
        for w in &self.sent {
            let state = match w.differs {
                Some(true) => "; the post has changed since: `todayis correct` carries the change",
                Some(false) => "; the post still reads as it went out",
                None => "",
            };
            writeln!(
                out,
                "\n{}: went out {}{}{state}",
                w.publisher,
                w.at.format("%Y-%m-%d %H:%M UTC"),
                w.url
                    .as_deref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

/// `preview`: what would go out on `date` (or for one post file).
#[allow(clippy::too_many_arguments)]
pub fn preview(
    out: &mut dyn Write,
    err: &mut dyn Write,
    config: &Config,
    env: &Environment,
    date: NaiveDate,
    post_file: Option<&Path>,
    names: &[String],
    as_json: bool,
) -> anyhow::Result<bool> {
    let (report, ok) = PreviewReport::gather(config, env, date, post_file, names, !as_json, true)?;
    for e in &report.errors {
        writeln!(err, "error: {e}")?;
    }
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        report.write_text(out)?;
    }
    Ok(ok)
}

/// When and how often a draft goes out: its day's scheduled time, and the years
/// it is picked among the library's posts for that day (the draft counted in).
fn goes_out(config: &Config, draft: &Post, date: NaiveDate) -> anyhow::Result<GoesOut> {
    let library = Library::new(&config.posts);
    let days = library::month_days_for(date, config.leap_day);
    let mut shared: Vec<Post> = library
        .load_days(&days)?
        .posts
        .into_iter()
        .filter(|p| p.path.canonicalize().ok() != draft.path.canonicalize().ok())
        .collect();
    shared.push(draft.clone());
    let years = (0..10)
        .filter_map(|i| {
            let year = chrono::Datelike::year(&date) + i;
            let on = chrono::NaiveDate::from_ymd_opt(
                year,
                chrono::Datelike::month(&date),
                chrono::Datelike::day(&date),
            )
            .or_else(|| draft_day_in(config, draft, year))?;
            let candidates: Vec<Post> = shared
                .iter()
                .filter(|p| {
                    library::month_days_for(on, config.leap_day).contains(&(
                        chrono::Datelike::month(&p.date),
                        chrono::Datelike::day(&p.date),
                    ))
                })
                .cloned()
                .collect();
            let picked = library::pick(&candidates, on, config.pick)?;
            (picked.path == draft.path).then_some(year)
        })
        .collect();
    let at = runner::occasion(config, date).at;
    Ok(GoesOut {
        at: at.format("%Y-%m-%d %H:%M %Z").to_string(),
        posts_that_day: shared.len(),
        years,
    })
}

/// The day in `year` a draft goes out (for a 29 February post in a common year).
fn draft_day_in(config: &Config, draft: &Post, year: i32) -> Option<NaiveDate> {
    let start = NaiveDate::from_ymd_opt(year, 2, 27)?;
    start.iter_days().take(4).find(|d| {
        library::month_days_for(*d, config.leap_day).contains(&(
            chrono::Datelike::month(&draft.date),
            chrono::Datelike::day(&draft.date),
        ))
    })
}

impl PreviewReport {
    /// What would go out on `date` (or for one post file), and whether the preview
    /// is clean. `with_next`: on a day with no post, look for the next one.
    /// `with_sent`: read the journal for what went out already (the daemon's page
    /// previews a date to come, and never reads the whole journal).
    pub fn gather(
        config: &Config,
        env: &Environment,
        date: NaiveDate,
        post_file: Option<&Path>,
        names: &[String],
        with_next: bool,
        with_sent: bool,
    ) -> anyhow::Result<(PreviewReport, bool)> {
        let publishers = runner::build_publishers(config, names, env)?;
        let (post, errors) = match post_file {
            Some(file) => match load_draft(config, file) {
                Ok(p) => (Some(p), vec![]),
                Err(e) => (None, vec![e.to_string()]),
            },
            None => {
                let (post, errors) = library::post_for(
                    &Library::new(&config.posts),
                    date,
                    config.leap_day,
                    config.pick,
                )?;
                (post, errors.iter().map(ToString::to_string).collect())
            }
        };
        let mut report = PreviewReport {
            date,
            timezone: config.timezone.name().to_string(),
            post: post.as_ref().map(PostSummary::from),
            outputs: Vec::new(),
            sent: Vec::new(),
            errors,
            next: None,
            goes_out: None,
            draft: post_file.is_some(),
        };
        // A broken file among the day's others does not fail the day's preview; a
        // broken draft does.
        let mut ok = report.errors.is_empty() || post_file.is_none();
        if let Some(post) = &post {
            let occasion = runner::occasion(config, date);
            // Reading the journal only: a preview writes nothing.
            let journal = if post_file.is_none() && with_sent {
                Journal::open(&config.state).ok().map(|(j, _)| j)
            } else {
                None
            };
            let picture = runner::picture_digest_now(post);
            for p in &publishers {
                match p.render(post, &occasion) {
                    Ok(r) => {
                        let account = p.account();
                        let who = Who {
                            name: p.name(),
                            account: &account,
                        };
                        if let Some(done) = journal.as_ref().and_then(|j| j.published(who, date)) {
                            let output = serde_json::to_value(&r.output).unwrap_or_default();
                            report.sent.push(WentOut {
                                publisher: p.name().to_string(),
                                at: done.at,
                                url: done.url.clone(),
                                differs: done.sent.as_ref().map(|s| {
                                    runner::digest_of(&output, picture.as_deref()) != s.digest
                                }),
                            });
                        }
                        report.outputs.push(r)
                    }
                    Err(e) => {
                        report.errors.push(e.to_string());
                        ok = false;
                    }
                }
            }
        }
        if let (Some(post), Some(_)) = (&post, post_file) {
            report.goes_out = Some(goes_out(config, post, date)?);
        } else if post.is_none() && post_file.is_none() && with_next {
            // Tell the editor when the next one goes out (and so which gap to fill).
            let loaded = Library::new(&config.posts).load_all()?;
            let grouped = calendar::by_month_day(&loaded.posts);
            report.next = date.iter_days().skip(1).take(366).find_map(|d| {
                calendar::pick_for(&grouped, d, config.leap_day, config.pick)
                    .map(|p| (d, p.title.clone()))
            });
        }
        Ok((report, ok))
    }
}

/// A draft: inside the library it may show the library's pictures; outside it,
/// only pictures from its own folder.
fn load_draft(config: &Config, file: &Path) -> Result<Post, post::PostError> {
    let inside = file
        .canonicalize()
        .ok()
        .zip(config.posts.canonicalize().ok())
        .is_some_and(|(f, root)| f.starts_with(root));
    let root = if inside {
        config.posts.clone()
    } else {
        file.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    post::load(file, &root)
}
