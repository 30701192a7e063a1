//! Rendering: snapshots of real posts, and properties over arbitrary text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use proptest::prelude::*;
use todayis::clock::FixedClock;
use todayis::config::Config;
use todayis::post::{self, Post};
use todayis::publish::{Environment, Occasion, Output, Publisher, RawPublisher};
use todayis::text::mastodon_length;

fn env() -> Environment {
    Environment {
        clock: Arc::new(FixedClock(chrono::DateTime::UNIX_EPOCH)),
        language: "en".into(),
        timezone: chrono_tz::Europe::London,
        state: std::env::temp_dir(),
        env_var: Arc::new(|_| None),
        journal_fault: None,
        retry_budget: std::time::Duration::from_secs(300),
    }
}

fn mastodon(template: &str, limit: usize, hashtags: &[&str]) -> Box<dyn Publisher> {
    let tags: Vec<String> = hashtags.iter().map(|t| format!("{t:?}")).collect();
    let toml = format!(
        "type = \"mastodon\"\ninstance = \"https://m.example\"\ntoken_env = \"T\"\nmax_characters = {limit}\nhashtags = [{}]\ntemplate = {}\n",
        tags.join(", "),
        serde_json::to_string(template).unwrap()
    );
    let raw: RawPublisher = toml::from_str(&toml).unwrap();
    raw.check(Path::new(".")).unwrap().build("mastodon", &env())
}

fn occasion(date: &str) -> Occasion {
    let date: NaiveDate = date.parse().unwrap();
    Occasion {
        date,
        at: date
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_local_timezone(chrono_tz::Europe::London)
            .unwrap(),
    }
}

fn toot(publisher: &dyn Publisher, post: &Post, date: &str) -> Result<String, String> {
    match publisher
        .render(post, &occasion(date))
        .map_err(|e| e.to_string())?
        .output
    {
        Output::Mastodon(t) => Ok(t.text),
        other => panic!("not a toot: {other:?}"),
    }
}

fn shipped_post(rel: &str) -> Post {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("posts");
    post::load(&root.join(rel), &root).unwrap()
}

#[test]
fn snapshots_of_shipped_posts() {
    let config =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/todayis.toml")).unwrap();
    let (_, shipped) = config
        .publishers
        .iter()
        .find(|(n, _)| n == "mastodon")
        .unwrap();
    let publisher = shipped.build("mastodon", &env());
    let short = mastodon(todayis::render::DEFAULT_TEMPLATE, 280, &["OnThisDay"]);
    for (rel, date) in [
        ("02/02-25-khrushchev-denounces-stalin.md", "2024-02-25"),
        ("07/07-20-apollo-11-moon-landing.md", "2025-07-20"),
        ("08/08-06-hiroshima.md", "2025-08-06"),
        ("03/03-10-first-telephone-call.md", "2026-03-10"),
    ] {
        let post = shipped_post(rel);
        let name = rel.rsplit('/').next().unwrap().trim_end_matches(".md");
        insta::assert_snapshot!(
            format!("{name}-500"),
            toot(publisher.as_ref(), &post, date).unwrap()
        );
        insta::assert_snapshot!(
            format!("{name}-280"),
            toot(short.as_ref(), &post, date).unwrap()
        );
    }
}

#[test]
fn years_ago_and_dates_fill_the_template() {
    let p = mastodon(
        "{title}: {date}, {years_ago} years ago ({year}). {url}",
        500,
        &[],
    );
    let post = shipped_post("02/02-25-khrushchev-denounces-stalin.md");
    assert_eq!(
        toot(p.as_ref(), &post, "2026-02-25").unwrap(),
        "Nikita Khrushchev Denounces Stalin: 25 February 1956, 70 years ago (1956). https://todayis.example/2025/02/khrushchev-denounces-stalin.html"
    );
}

/// Pieces of text that stress counting and cutting.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z]{1,12}",
        Just("👩‍👩‍👧".to_string()),
        Just("🇺🇦".to_string()),
        Just("歴史的な出来事".to_string()),
        Just("مرحبا".to_string()),
        Just("שלום".to_string()),
        Just("e\u{301}te\u{301}".to_string()),
        Just("x".repeat(70)),
        "https://[a-z]{3,10}\\.example/[a-z0-9/]{0,80}",
        Just("@someone@mastodon.social".to_string()),
        Just("end.".to_string()),
        Just("Stop!".to_string()),
        Just("why?".to_string()),
        Just("(aside),".to_string()),
    ]
}

fn sentence() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..25).prop_map(|w| w.join(" ") + ".")
}

fn body() -> impl Strategy<Value = String> {
    prop::collection::vec(sentence(), 1..12).prop_map(|s| s.join(" "))
}

fn make_post(title: &str, body: &str, url: &str, tags: Vec<String>) -> Post {
    Post {
        path: PathBuf::from("posts/02-25-p.md"),
        title: title.to_string(),
        date: NaiveDate::from_ymd_opt(1956, 2, 25).unwrap(),
        url: url.to_string(),
        summary: None,
        tags,
        image: None,
        content_warning: None,
        lang: None,
        sources: vec![],
        review: None,
        body: body.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn rendered_text_fits_keeps_link_and_tags_and_never_cuts_a_word(
        title in prop::collection::vec(word(), 1..8).prop_map(|w| w.join(" ")),
        body in body(),
        path in "[a-z0-9/-]{0,150}",
        tags in prop::collection::vec("[A-Za-z][A-Za-z ]{0,15}", 0..4),
        limit in 60usize..600,
    ) {
        let url = format!("https://todayis.example/{path}");
        let post = make_post(&title, &body, &url, tags.clone());
        let publisher = mastodon("{summary}\n\n{url}\n\n{hashtags}", limit, &["OnThisDay"]);
        let hashtags = todayis::render::hashtags(&["OnThisDay".to_string()], &tags).join(" ");
        let tail = if hashtags.is_empty() { url.clone() } else { format!("{url}\n\n{hashtags}") };
        match toot(publisher.as_ref(), &post, "2024-02-25") {
            Ok(text) => {
                prop_assert!(mastodon_length(&text) <= limit, "{} > {limit}: {text}", mastodon_length(&text));
                prop_assert!(text.ends_with(&tail), "link or hashtags cut: {text}");
                let summary = text[..text.len() - tail.len()].trim_end();
                let full = todayis::render::summary_of(&post);
                if summary != full && !summary.is_empty() {
                    let kept = summary.strip_suffix('…').unwrap_or(summary);
                    prop_assert!(full.starts_with(kept), "not a prefix: {summary:?}");
                    let next = full[kept.len()..].chars().next();
                    prop_assert!(
                        next.is_none_or(|c| c.is_whitespace() || ",;:-–—(\"“".contains(c)),
                        "cut mid-word: {summary:?} (next char {next:?})"
                    );
                    if !summary.ends_with('…') {
                        prop_assert!(kept.ends_with(['.', '!', '?', '…', '"', '\'', ')']), "not a sentence end: {summary:?}");
                    }
                }
            }
            Err(e) => {
                // Only when even an empty summary cannot fit.
                let bare = mastodon_length(&tail);
                prop_assert!(bare > limit, "refused although {bare} <= {limit}: {e}");
            }
        }
    }

    #[test]
    fn counting_matches_graphemes_outside_urls(text in "[a-zA-Z \u{301}\u{5d0}-\u{5ea}\u{4e00}-\u{4e10}]{0,200}") {
        use unicode_segmentation::UnicodeSegmentation;
        prop_assert_eq!(mastodon_length(&text), text.graphemes(true).count());
    }
}
