//! The HTML pages, one layout for all: the year grid (`calendar --format html`),
//! the engagement report (`stats --format html`) and the daemon's page at `/`.
//!
//! Built with maud, which escapes every value it is given; each page is drawn from
//! the report struct its command prints as text or JSON. Self-contained: one
//! inline style sheet, SVG charts inline, no script, no font or file from elsewhere;
//! readable on a phone.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Serialize;

use crate::commands::{CalendarReport, PreviewReport};
use crate::stats::StatsReport;

/// The style of every page.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em;max-width:72em;color:#222;line-height:1.4}\
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\
a{color:#1a4f8b}.muted{color:#666}.ok{color:#1d6b1d}.bad{color:#a11}\
.scroll{overflow-x:auto}table.list{border-collapse:collapse;width:100%}\
table.list th,table.list td{text-align:left;padding:.3em .5em;border-bottom:1px solid #eee;vertical-align:top}\
table.list th{font-weight:600;font-size:.9em;color:#444}td.num,th.num{text-align:right}\
.out{white-space:pre-wrap;background:#f6f6f4;border:1px solid #e3e3de;border-radius:4px;padding:.6em;font-size:.9em;overflow-wrap:anywhere}\
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(18em,1fr));gap:1em}\
.months{display:grid;grid-template-columns:repeat(auto-fill,minmax(22em,1fr));gap:1.5em;align-items:start}\
.months table{border-collapse:collapse;table-layout:fixed;width:100%}.months caption{font-weight:bold;text-align:left;padding:.2em 0}\
.months th{font-weight:normal;color:#666;font-size:.8em}\
.months td{height:5em;vertical-align:top;border:1px solid #ddd;padding:.15em;font-size:.75em;overflow:hidden;line-height:1.2}\
.months td b{display:block;font-size:1.1em}.months td a{color:inherit;text-decoration:none}\
.months td .t{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden;overflow-wrap:anywhere}\
td.post{background:#dcefdc;color:#124712}td.gap{background:#f7d4d4;color:#8a1c1c}\
td.broken{background:#ffe2b3;color:#7a4300}td.long{box-shadow:inset 0 0 0 3px #7b3fa0}\
td.today{outline:3px solid #222;outline-offset:-3px}.more{font-weight:bold}\
.legend span{display:inline-block;padding:.1em .5em;margin:.1em .2em}svg.chart{width:100%;height:auto;max-width:48em}\
svg.chart text{font-size:11px;fill:#444}svg.chart rect.bar{fill:#3d7ab8}";

/// A whole page around `body`.
pub fn layout(title: &str, body: Markup) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

/// A bar chart as inline SVG, with its description for those who cannot see it.
/// `width` is in the chart's own units (its text is 11 of them): 720 for a chart
/// across the page, 360 for one of two side by side.
pub fn bar_chart(description: &str, bars: &[(String, u64)], width: f64) -> Markup {
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let (height, top, bottom, left) = (width * 0.3 + 20.0, 16.0, 34.0, 36.0);
    let slot = (width - left) / bars.len().max(1) as f64;
    let plot = height - top - bottom;
    let label_every = bars.len().div_ceil((width / 45.0) as usize).max(1);
    let bar = (slot * 0.7).min(48.0);
    html! {
        svg.chart viewBox={ "0 0 " (width) " " (height) } role="img" aria-label=(description) xmlns="http://www.w3.org/2000/svg" {
            title { (description) }
            line x1=(left) y1=(top + plot) x2=(width) y2=(top + plot) stroke="#999" {}
            text x=(left - 4.0) y=(top + 4.0) text-anchor="end" { (max) }
            text x=(left - 4.0) y=(top + plot) text-anchor="end" { "0" }
            @for (i, (label, value)) in bars.iter().enumerate() {
                @let h = plot * (*value as f64) / (max as f64);
                @let x = left + slot * i as f64;
                rect.bar x=(format!("{:.1}", x + (slot - bar) / 2.0)) y=(format!("{:.1}", top + plot - h)) width=(format!("{:.1}", bar)) height=(format!("{:.1}", h)) {
                    title { (label) ": " (value) }
                }
                @if i % label_every == 0 {
                    text x=(format!("{:.1}", x + slot / 2.0)) y=(height - bottom + 16.0) text-anchor="middle" { (label) }
                }
            }
        }
    }
}

/// `calendar --format html`.
pub fn calendar_page(report: &CalendarReport, today: Option<NaiveDate>) -> String {
    layout(
        &format!("Today Is... calendar {}", report.year),
        html! {
            h1 { "Today Is... " (report.year) }
            (calendar_grid(report, today))
        },
    )
}

/// Twelve months in aligned grids of six weeks, each day with its post's title
/// (no hovering needed) and link; gaps, broken files, posts too long for a
/// publisher, shared days and today marked, and a legend that says so.
pub fn calendar_grid(report: &CalendarReport, today: Option<NaiveDate>) -> Markup {
    let months: Vec<Vec<&crate::commands::CalendarDay>> = (1..=12u32)
        .map(|m| report.days.iter().filter(|d| d.date.month() == m).collect())
        .filter(|m: &Vec<_>| !m.is_empty())
        .collect();
    let short = |title: &str| -> String {
        let mut s: String = title.chars().take(28).collect();
        if title.chars().count() > 28 {
            s.push('…');
        }
        s
    };
    html! {
        p { (report.days_with_post) " of " (report.days.len()) " days have a post." }
        p.legend {
            span style="background:#dcefdc" { "a post" }
            span style="background:#f7d4d4" { "no post" }
            span style="background:#ffe2b3" { "a broken post file (see todayis check)" }
            span style="box-shadow:inset 0 0 0 3px #7b3fa0" { "too long for a publisher" }
            span { b { "+2" } " more posts share the day" }
            span style="outline:3px solid #222" { "today" }
        }
        div.months {
            @for month in &months {
                table {
                    caption { (month[0].date.format("%B")) }
                    tr { @for wd in ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"] { th { (wd) } } }
                    @for week in weeks(month) {
                        tr {
                            @for cell in week {
                                @match cell {
                                    None => td {},
                                    Some(day) => {
                                        @let class = format!(
                                            "{}{}{}",
                                            if day.post.is_some() { "post" } else if !day.broken.is_empty() { "broken" } else { "gap" },
                                            if day.too_long.is_empty() { "" } else { " long" },
                                            if Some(day.date) == today { " today" } else { "" }
                                        );
                                        td class=(class) {
                                            b { (day.date.day()) }
                                            span.t {
                                                @if let Some(p) = &day.post {
                                                    a href=(p.url) title={ (p.title) " (" (p.date.year()) ")" } { (short(&p.title)) }
                                                } @else if !day.broken.is_empty() {
                                                    "broken file"
                                                } @else {
                                                    "no post"
                                                }
                                            }
                                            @if day.posts > 1 { " " span.more { "+" (day.posts - 1) } }
                                            @if !day.too_long.is_empty() { br; "too long: " (day.too_long.join(", ")) }
                                        }
                                    },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A month's days in six weeks from Monday (every month's grid the same
/// height), padded with `None`.
fn weeks<'a, D: HasDate>(month: &[&'a D]) -> Vec<Vec<Option<&'a D>>> {
    let mut cells: Vec<Option<&'a D>> = Vec::with_capacity(42);
    if let Some(first) = month.first() {
        let lead = first.date().weekday().num_days_from_monday() as usize;
        cells.extend(std::iter::repeat_n(None, lead));
    }
    cells.extend(month.iter().map(|d| Some(*d)));
    cells.resize(42, None);
    cells.chunks(7).map(<[Option<&'a D>]>::to_vec).collect()
}

trait HasDate {
    fn date(&self) -> NaiveDate;
}

impl HasDate for crate::commands::CalendarDay {
    fn date(&self) -> NaiveDate {
        self.date
    }
}

/// `stats --format html`.
pub fn stats_page(report: &StatsReport) -> String {
    let range = match (report.since, report.until) {
        (Some(s), Some(u)) => format!("{s} to {u}"),
        (Some(s), None) => format!("since {s}"),
        (None, Some(u)) => format!("until {u}"),
        (None, None) => "every publication".to_string(),
    };
    let months: Vec<(String, u64)> = report
        .by_month
        .iter()
        .map(|b| (b.key.clone(), b.counts.total()))
        .collect();
    let weekdays: Vec<(String, u64)> = report
        .by_weekday
        .iter()
        .map(|b| (b.key[..3].to_string(), b.counts.total()))
        .collect();
    let tags: Vec<(String, u64)> = report
        .by_tag
        .iter()
        .take(8)
        .map(|b| (b.key.clone(), b.counts.total()))
        .collect();
    layout(
        "Today Is... engagement",
        html! {
            h1 { "Today Is... engagement" }
            p.muted {
                (range) ": " (report.posts.len()) " posts; "
                (report.totals.likes) " likes, " (report.totals.reposts) " reposts, " (report.totals.replies) " replies. "
                (words(report))
            }
            @if !report.unavailable.is_empty() {
                p.bad { "Not read now (older counts shown): " (report.unavailable.join("; ")) }
            }
            h2 { "Per month" }
            (bar_chart("Likes, reposts and replies per month", &months, 720.0))
            div.cards {
                div { h2 { "Per weekday" } (bar_chart("Likes, reposts and replies per weekday of publication", &weekdays, 360.0)) }
                div { h2 { "Per tag" } (bar_chart("Likes, reposts and replies per tag, the eight best", &tags, 360.0)) }
            }
            div.cards {
                div { h2 { "Best posts" } (ranked(&report.best)) }
                div { h2 { "Least liked" } (ranked(&report.worst)) }
            }
            h2 { "Every post" }
            (posts_table(report))
        },
    )
}

/// What each publisher's numbers are called.
fn words(report: &StatsReport) -> String {
    report
        .publishers
        .iter()
        .map(|c| format!("{}: {} and {}", c.publisher, c.likes, c.reposts))
        .collect::<Vec<_>>()
        .join("; ")
}

fn ranked(list: &[crate::stats::Ranked]) -> Markup {
    html! {
        @if list.is_empty() { p.muted { "Nothing counted yet." } }
        @else {
            ol { @for r in list { li { (r.title) " " span.muted { "(" (r.date) ", " (r.total) ")" } } } }
        }
    }
}

fn posts_table(report: &StatsReport) -> Markup {
    html! {
        div.scroll {
            table.list {
                thead { tr { th { "Date" } th { "Post" } th.num { "Likes" } th.num { "Reposts" } th.num { "Replies" } th { "Where" } } }
                tbody {
                    @for p in report.posts.iter().rev() {
                        tr {
                            td { (p.date) " " span.muted { (p.weekday[..3]) } }
                            td {
                                @match (&p.title, &p.url) {
                                    (Some(t), Some(u)) => a href=(u) { (t) },
                                    _ => span.muted { (p.post) },
                                }
                            }
                            td.num { (p.total.likes) } td.num { (p.total.reposts) } td.num { (p.total.replies) }
                            td {
                                @for (i, place) in p.places.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    @match &place.url { Some(u) => a href=(u) { (place.publisher) }, None => (place.publisher) }
                                    @if let Some(c) = &place.counts { span.muted { " " (c.total()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the daemon's page shows: the same reports the commands print, and the
/// journal's and the daemon's own record.
#[derive(Debug, Serialize)]
pub struct PageReport {
    pub now: DateTime<Utc>,
    pub timezone: String,
    pub next: Option<NextPublication>,
    pub recent: Vec<Recent>,
    pub failures: Vec<Failure>,
    pub publishers: Vec<Health>,
    pub calendar: CalendarReport,
    /// This month's engagement, from the stats cache.
    pub month: Option<StatsReport>,
    /// Whether error details are shown (loopback clients, or `show_errors`).
    #[serde(skip)]
    pub show_errors: bool,
}

#[derive(Debug, Serialize)]
pub struct NextPublication {
    pub at: DateTime<Utc>,
    /// The same instant on the bot's wall clock, with its zone.
    pub local: String,
    pub preview: PreviewReport,
}

/// One journal record of a publication.
#[derive(Debug, Serialize)]
pub struct Recent {
    pub date: NaiveDate,
    pub publisher: String,
    pub title: String,
    /// `published`, `corrected`, or `unconfirmed` (sent, no answer journaled yet).
    pub outcome: &'static str,
    pub at: DateTime<Utc>,
    pub url: Option<String>,
}

/// A publisher whose last attempt failed.
#[derive(Debug, Serialize)]
pub struct Failure {
    pub publisher: String,
    pub date: Option<NaiveDate>,
    pub message: Option<String>,
    pub next_retry: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub publisher: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub healthy: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// The daemon's page at `/`.
pub fn dashboard(report: &PageReport, tz: Tz) -> String {
    let local = |t: &DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string();
    let chart: Option<Vec<(String, u64)>> = report.month.as_ref().map(|m| {
        let mut days: std::collections::BTreeMap<NaiveDate, u64> =
            std::collections::BTreeMap::new();
        let today = report.now.with_timezone(&tz).date_naive();
        if let Some(first) = today.with_day(1) {
            for d in first.iter_days().take_while(|d| d.month() == today.month()) {
                days.insert(d, 0);
            }
        }
        for p in &m.posts {
            *days.entry(p.date).or_default() += p.total.total();
        }
        days.into_iter()
            .map(|(d, v)| (d.day().to_string(), v))
            .collect()
    });
    let today = report.now.with_timezone(&tz).date_naive();
    layout(
        "Today Is... the bot",
        html! {
            h1 { "Today Is... the bot" }
            p.muted { "As of " (local(&report.now)) " (" (report.timezone) ")." }
            section id="next" {
                h2 { "Next publication" }
                @match &report.next {
                    None => p { "The schedule never fires again." },
                    Some(next) => {
                        p { strong { time datetime=(next.at.to_rfc3339()) { (next.local) } } " (" (report.timezone) ")" }
                        @match &next.preview.post {
                            None => p.bad { "No post for " (next.preview.date) ": nothing goes out that day." },
                            Some(post) => {
                                p { a href=(post.url) { (post.title) } " " span.muted { "(" (post.date) ", " (post.path) ")" } }
                                div.cards {
                                    @for out in &next.preview.outputs {
                                        div {
                                            h3 { (out.publisher) }
                                            div.out { (preview_text(out)) }
                                        }
                                    }
                                }
                            }
                        }
                        @for e in &next.preview.errors { p.bad { (e) } }
                    }
                }
            }
            section id="recent" {
                h2 { "Recent publications" }
                @if !report.failures.is_empty() {
                    ul {
                        @for f in &report.failures {
                            li.bad {
                                (f.publisher) " failed"
                                @if let Some(d) = f.date { " for " (d) }
                                @if let Some(m) = &f.message { ": " (m) }
                                @if let Some(t) = &f.next_retry { "; next retry " (local(t)) }
                            }
                        }
                    }
                }
                @if report.recent.is_empty() { p.muted { "Nothing has been published yet." } }
                @else {
                    div.scroll {
                        table.list {
                            thead { tr { th { "Date" } th { "Post" } th { "Publisher" } th { "Outcome" } } }
                            tbody {
                                @for r in &report.recent {
                                    tr {
                                        td { (r.date) }
                                        td { (r.title) }
                                        td { (r.publisher) }
                                        td {
                                            @match &r.url {
                                                Some(u) => a href=(u) { (r.outcome) },
                                                None => (r.outcome),
                                            }
                                            " " span.muted { (local(&r.at)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section id="publishers" {
                h2 { "Publishers" }
                div.scroll {
                    table.list {
                        thead { tr { th { "Publisher" } th { "State" } th { "Last success" } th { "Last error" } } }
                        tbody {
                            @for h in &report.publishers {
                                tr {
                                    td { (h.publisher) " " span.muted { "(" (h.kind) ")" } }
                                    td { @if h.healthy { span.ok { "healthy" } } @else { span.bad { "failing" } } }
                                    td { @match &h.last_success { Some(t) => (local(t)), None => span.muted { "none yet" } } }
                                    td { @match &h.last_error { Some(e) => span.bad { (e) }, None => span.muted { "none" } } }
                                }
                            }
                        }
                    }
                }
            }
            section id="engagement" {
                h2 { "This month's engagement" }
                @match (&chart, &report.month) {
                    (Some(bars), Some(m)) => {
                        p.muted { (m.totals.likes) " likes, " (m.totals.reposts) " reposts, " (m.totals.replies) " replies on " (m.posts.len()) " posts, as last read (hourly)." }
                        (bar_chart("Likes, reposts and replies per day of this month", bars, 720.0))
                    }
                    _ => p.muted { "No counts read yet." },
                }
            }
            section id="calendar" {
                h2 { "The year's calendar" }
                (calendar_grid(&report.calendar, Some(today)))
            }
        },
    )
}

/// What a publisher will send, as `preview` prints it for people.
fn preview_text(out: &crate::publish::Rendered) -> String {
    let mut bytes = Vec::new();
    let _ = out.write_text(&mut bytes);
    String::from_utf8_lossy(&bytes).trim().to_string()
}
