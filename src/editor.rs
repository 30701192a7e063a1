//! The editor's checks: not errors (the post goes out as it is) but what makes a
//! post read badly or mislead, reported by `check` and failing it with `--strict`.
//! Pure: a post in, warnings out.

use chrono::Datelike;
use serde::Serialize;

use crate::post::Post;
use crate::render;

/// One thing an editor should look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Words that suggest a post is about death, disaster or violence, and so needs a
/// `content_warning` (matched as whole words, ignoring case). Kept short on
/// purpose: it is a prompt for the editor, not a judge.
pub const SENSITIVE_WORDS: &[&str] = &[
    "assassinated",
    "assassination",
    "atrocity",
    "atrocities",
    "bomb",
    "bombed",
    "bombing",
    "casualties",
    "crash",
    "crashed",
    "dead",
    "death",
    "deaths",
    "died",
    "disaster",
    "drowned",
    "earthquake",
    "executed",
    "execution",
    "explosion",
    "famine",
    "genocide",
    "killed",
    "massacre",
    "murder",
    "murdered",
    "shot",
    "tsunami",
    "wounded",
];

/// How a summary must not open: the template already says "On this day in 1969" (or
/// "Today in 1969", as older templates do).
const LEAD_INS: &[&str] = &["on this day", "today", "this day", "in the year"];

/// The editor's warnings for one post.
pub fn warnings(post: &Post) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |message: String| {
        out.push(Warning {
            path: post.path.display().to_string(),
            message,
        })
    };
    if let Some(why) = &post.review {
        warn(format!(
            "marked for review: {why} (remove the `review` line once it is checked)"
        ));
    }
    let summary = render::summary_of(post);
    let year = post.date.year().to_string();
    let lower = summary.to_lowercase();
    let opens_with_year = {
        let words: Vec<&str> = lower.split_whitespace().take(3).collect();
        let is_year = |w: &str| {
            let w = w.trim_end_matches(',');
            (3..=4).contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit())
        };
        matches!(words.as_slice(), ["in", y, ..] | ["on", _, y, ..] if is_year(y))
    };
    if LEAD_INS.iter().any(|l| lower.starts_with(l)) || opens_with_year {
        warn("the summary opens with a date lead-in; the template gives the date already: start with what happened".into());
    } else if contains_word(&summary, &year) {
        warn(format!(
            "the summary repeats the year {year}, which the template gives already"
        ));
    }
    if post.sources.is_empty() {
        warn("no `sources`: list where the post's date and facts were checked".into());
    }
    if post.tags.len() < 2 {
        warn(format!(
            "{} tag{}: give it at least two, for followers who follow tags",
            post.tags.len(),
            if post.tags.len() == 1 { "" } else { "s" }
        ));
    }
    if post.content_warning.is_none() {
        let text = format!("{} {} {}", post.title, summary, post.body);
        if let Some(word) = SENSITIVE_WORDS.iter().find(|w| contains_word(&text, w)) {
            warn(format!(
                "it says \"{word}\" but has no `content_warning`: add one if it is about death, disaster or violence"
            ));
        }
    }
    out
}

/// Whether `word` appears in `text` as a whole word, ignoring case.
fn contains_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(extra: &str, body: &str) -> Post {
        crate::post::parse(
            std::path::Path::new("p/07-20-moon.md"),
            &format!("+++\ntitle = \"Moon\"\ndate = 1969-07-20\nurl = \"https://a.example/m\"\n{extra}\n+++\n{body}\n"),
        )
        .unwrap()
    }

    fn messages(p: &Post) -> Vec<String> {
        warnings(p).into_iter().map(|w| w.message).collect()
    }

    #[test]
    fn a_good_post_has_no_warnings() {
        let p = post(
            "summary = \"Two men walked on the Moon.\"\ntags = [\"Space\", \"NASA\"]\nsources = [\"https://a.example/s\"]",
            "They did.",
        );
        assert_eq!(messages(&p), Vec::<String>::new());
    }

    #[test]
    fn each_habit_is_named() {
        let all = |extra: &str, body: &str| messages(&post(extra, body)).join("\n");
        assert!(all("", "On this day in 1969 they landed.").contains("date lead-in"));
        assert!(all("", "In 1969, they landed.").contains("date lead-in"));
        assert!(!all("", "In 90 minutes they landed.").contains("date lead-in"));
        assert!(all("", "Men landed in 1969.").contains("repeats the year 1969"));
        assert!(all("", "x").contains("no `sources`"));
        assert!(all("tags = [\"Space\"]", "x").contains("1 tag:"));
        assert!(all("", "Three men died.").contains("\"died\""));
        assert!(!all("content_warning = \"Death\"", "Three men died.").contains("\"died\""));
        assert!(
            !all("", "Kill Devil Hills, deathless prose").contains("content_warning"),
            "whole words only"
        );
        assert!(
            all("review = \"the year was guessed\"", "x")
                .contains("marked for review: the year was guessed (remove the `review` line")
        );
    }
}
