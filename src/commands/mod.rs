//! The commands that print: preview, check, calendar, stats, publish and import. Each
//! gathers what it found into a report (a plain serializable struct), then prints
//! it: the text is one printer, `--json` is serde on the same struct, so the two
//! never drift. Each returns whether the job succeeded; `main.rs` turns that into
//! an exit status. Warnings go to the `err` writer, never `eprintln!` from inside.

mod calendar;
mod check;
mod correct;
mod import;
mod journal;
mod preview;
mod publish;
mod stats;

use serde::Serialize;

use crate::post::Post;

pub use calendar::{CalendarDay, CalendarFormat, CalendarReport, calendar};
pub use check::{CheckReport, check};
pub use correct::correct;
pub use import::{ImportOptions, ImportSource, import};
pub use journal::{journal, unpublish};
pub use preview::{PreviewReport, draft_day, preview};
pub use publish::publish;
pub use stats::{StatsFormat, stats};

/// A post as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct PostSummary {
    pub path: String,
    pub title: String,
    pub date: chrono::NaiveDate,
    pub url: String,
    pub tags: Vec<String>,
}

impl From<&Post> for PostSummary {
    fn from(post: &Post) -> Self {
        PostSummary {
            path: post.path.display().to_string(),
            title: post.title.clone(),
            date: post.date,
            url: post.url.clone(),
            tags: post.tags.clone(),
        }
    }
}
