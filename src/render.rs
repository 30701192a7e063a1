//! The text that goes out: a template filled from a post, with the summary fitted
//! to a publisher's limit. Pure: no IO, no clock.

use chrono::{Datelike, NaiveDate};

use crate::post::Post;
use crate::text;

/// The template used when a publisher sets none.
pub const DEFAULT_TEMPLATE: &str = "{on_this_day}: {title}\n\n{summary}\n\n{url}\n\n{hashtags}";

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 8] = [
    "on_this_day",
    "title",
    "date",
    "year",
    "years_ago",
    "summary",
    "url",
    "hashtags",
];

/// A post that cannot be rendered within a publisher's limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{post}: does not fit in {limit} characters even with no summary ({needed} needed): shorten the title or the template, or drop hashtags"
)]
pub struct TooLong {
    pub post: String,
    pub limit: usize,
    pub needed: usize,
}

/// Checks a template: every `{name}` is a known placeholder, braces balance.
pub fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(tail) = after.strip_prefix('{') {
            rest = tail;
            continue;
        }
        let close = after.find('}').ok_or("a `{` is never closed")?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder `{{{name}}}`; known: {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Fills `template`; `{{` and `}}` stand for literal braces. Blank lines left by an
/// empty placeholder are folded so the message never shows a hole.
pub fn fill(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let (true, Some(close)) = (tail.starts_with('{'), tail.find('}')) {
            out.push_str(&value(&tail[1..close]));
            rest = &tail[close + 1..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    tidy(&out)
}

/// Trims line ends and the whole, and folds three or more newlines into two.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// "On this day in 1956", or, when a 29 February post goes out on another day
/// (a common year), "On 29 February 1940": it must not claim "today".
pub fn on_this_day(event: NaiveDate, publishing: NaiveDate) -> String {
    let year = match event.year() {
        y if y < 1 => year_of(y),
        y if y < 1000 => format!("AD {y}"),
        y => y.to_string(),
    };
    if (event.month(), event.day()) == (publishing.month(), publishing.day()) {
        format!("On this day in {year}")
    } else {
        format!("On {} {} {year}", event.day(), event.format("%B"))
    }
}

/// `25 February 1956`; `15 March 44 BC`.
pub fn long_date(date: NaiveDate) -> String {
    format!("{} {}", date.format("%-d %B"), year_of(date.year()))
}

/// A year as people write it: `1956`, `64`; before the common era `44 BC` (the
/// date keeps the astronomical year, -43 for 44 BC, so differences are right).
pub fn year_of(year: i32) -> String {
    if year < 1 {
        format!("{} BC", 1 - year)
    } else {
        year.to_string()
    }
}

/// The post's own summary, else the first paragraph of its body as plain text.
pub fn summary_of(post: &Post) -> String {
    match &post.summary {
        Some(s) => text::collapse_whitespace(s),
        None => text::plain_paragraphs(&post.body)
            .into_iter()
            .next()
            .unwrap_or_default(),
    }
}

/// `#CamelCase` hashtags: the publisher's then the post's, de-duplicated ignoring case.
pub fn hashtags(publisher: &[String], post: &[String]) -> Vec<String> {
    let mut seen = Vec::<String>::new();
    let mut out = Vec::new();
    for tag in publisher.iter().chain(post) {
        let camel: String = tag
            .trim_start_matches('#')
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut chars = w.chars();
                chars
                    .next()
                    .map(|f| f.to_uppercase().chain(chars).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        // Mastodon needs a letter in a hashtag; an all-digit tag would not link.
        if !camel.chars().any(char::is_alphabetic) {
            continue;
        }
        let key = camel.to_lowercase();
        if !seen.contains(&key) {
            seen.push(key);
            out.push(format!("#{camel}"));
        }
    }
    out
}

/// What a template needs to be filled, apart from the summary.
pub struct Message<'a> {
    pub post: &'a Post,
    /// The day it goes out: `{years_ago}` counts to this.
    pub date: NaiveDate,
    pub template: &'a str,
    pub hashtags: &'a [String],
}

impl Message<'_> {
    /// The text with the given summary.
    pub fn with_summary(&self, summary: &str) -> String {
        let post = self.post;
        fill(self.template, |name| match name {
            "on_this_day" => on_this_day(post.date, self.date),
            "title" => post.title.clone(),
            "date" => long_date(post.date),
            "year" => year_of(post.date.year()),
            "years_ago" => (self.date.year() - post.date.year()).to_string(),
            "summary" => summary.to_string(),
            "url" => post.url.clone(),
            "hashtags" => self.hashtags.join(" "),
            _ => String::new(),
        })
    }

    /// The text with the summary shortened so that `measure(text) <= limit`.
    pub fn fitted(
        &self,
        limit: usize,
        measure: impl Fn(&str) -> usize,
    ) -> Result<(String, usize), TooLong> {
        let summary = summary_of(self.post);
        let fitted = text::fit_summary(&summary, limit, |s| measure(&self.with_summary(s)));
        let message = self.with_summary(&fitted);
        let length = measure(&message);
        if length > limit {
            return Err(TooLong {
                post: self.post.path.display().to_string(),
                limit,
                needed: length,
            });
        }
        Ok((message, length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_camel_case_and_unique() {
        let publisher = vec!["OnThisDay".to_string(), "history".to_string()];
        let post = vec![
            "cold war".into(),
            "History".into(),
            "USSR".into(),
            "1956".into(),
            "#onthisday".into(),
        ];
        assert_eq!(
            hashtags(&publisher, &post),
            ["#OnThisDay", "#History", "#ColdWar", "#USSR"]
        );
    }

    #[test]
    fn templates_are_checked_and_filled() {
        assert!(check_template(DEFAULT_TEMPLATE).is_ok());
        assert!(check_template("{title} {{literal}}").is_ok());
        assert!(
            check_template("{titel}")
                .unwrap_err()
                .contains("unknown placeholder `{titel}`")
        );
        assert!(check_template("{title").is_err());
        assert_eq!(
            fill("a {x}\n\n{y}\n\n{z} {{b}}", |n| if n == "y" {
                String::new()
            } else {
                n.into()
            }),
            "a x\n\nz {b}"
        );
    }

    #[test]
    fn a_shifted_leap_day_post_does_not_claim_today() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            on_this_day(d("1940-02-29"), d("2024-02-29")),
            "On this day in 1940"
        );
        assert_eq!(
            on_this_day(d("1940-02-29"), d("2025-02-28")),
            "On 29 February 1940"
        );
        assert_eq!(
            on_this_day(d("1940-02-29"), d("2025-03-01")),
            "On 29 February 1940"
        );
        assert_eq!(
            on_this_day(d("1956-02-25"), d("2026-02-25")),
            "On this day in 1956"
        );
        assert_eq!(
            on_this_day(d("0064-07-19"), d("2026-07-19")),
            "On this day in AD 64"
        );
    }

    #[test]
    fn long_dates() {
        assert_eq!(
            long_date(NaiveDate::from_ymd_opt(1956, 2, 25).unwrap()),
            "25 February 1956"
        );
    }
}
