//! The year at a glance: which post goes out on each day, and which days have none.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::config::{LeapDay, PickRule};
use crate::library::{month_days_for, pick_among};
use crate::post::{Post, valid_month_day};

/// One day of the calendar.
#[derive(Debug, Clone)]
pub struct Day<'a> {
    pub date: NaiveDate,
    pub post: Option<&'a Post>,
}

/// Posts grouped by month-day.
pub fn by_month_day(posts: &[Post]) -> BTreeMap<(u32, u32), Vec<Post>> {
    let mut map: BTreeMap<(u32, u32), Vec<Post>> = BTreeMap::new();
    for post in posts {
        map.entry((post.date.month(), post.date.day()))
            .or_default()
            .push(post.clone());
    }
    map
}

/// Every day of `year` with the post picked for it.
pub fn year(
    grouped: &BTreeMap<(u32, u32), Vec<Post>>,
    year: i32,
    leap_day: LeapDay,
    rule: PickRule,
) -> Vec<Day<'_>> {
    let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return Vec::new();
    };
    first
        .iter_days()
        .take_while(|d| d.year() == year)
        .map(|date| Day {
            date,
            post: pick_for(grouped, date, leap_day, rule),
        })
        .collect()
}

/// The post that goes out on `date`, from posts grouped by month-day.
pub fn pick_for(
    grouped: &BTreeMap<(u32, u32), Vec<Post>>,
    date: NaiveDate,
    leap_day: LeapDay,
    rule: PickRule,
) -> Option<&Post> {
    let candidates = month_days_for(date, leap_day)
        .iter()
        .flat_map(|md| grouped.get(md).into_iter().flatten())
        .collect();
    pick_among(candidates, date, rule)
}

/// The month-days (of all 366) that have no post.
pub fn missing(grouped: &BTreeMap<(u32, u32), Vec<Post>>) -> Vec<(u32, u32)> {
    (1..=12)
        .flat_map(|m| (1..=31).map(move |d| (m, d)))
        .filter(|&(m, d)| valid_month_day(m, d) && !grouped.contains_key(&(m, d)))
        .collect()
}

/// What a day of the calendar needs an editor to see, beyond its post.
#[derive(Debug, Clone, Default)]
pub struct DayMarks {
    /// Posts that share the day (`pick` chooses among them).
    pub posts: usize,
    /// Broken files among the day's posts.
    pub broken: usize,
    /// Publishers the day's post is too long for.
    pub too_long: Vec<String>,
}

/// The page's style: no script, no font or file from elsewhere.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
.months{display:grid;grid-template-columns:repeat(auto-fill,minmax(24em,1fr));gap:1.5em;align-items:start}\
table{border-collapse:collapse;table-layout:fixed;width:100%}caption{font-weight:bold;text-align:left;padding:.2em 0}\
th{font-weight:normal;color:#666;font-size:.8em}\
td{height:5em;vertical-align:top;border:1px solid #ddd;padding:.15em;font-size:.75em;overflow:hidden}\
td b{display:block;font-size:1.1em}td a{color:inherit;text-decoration:none}\
td .t{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden;overflow-wrap:anywhere;hyphens:auto}\
td.post{background:#dcefdc;color:#124712}td.gap{background:#f7d4d4;color:#8a1c1c}\
td.broken{background:#ffe2b3;color:#7a4300}td.long{box-shadow:inset 0 0 0 3px #7b3fa0}\
td.today{outline:3px solid #222;outline-offset:-3px}.more{font-weight:bold}\
.legend span{display:inline-block;padding:.1em .5em;margin:.1em .2em}";

/// A one-page year grid: twelve months in aligned grids of six weeks, each day
/// with its post's title (no hovering needed) and link; gaps, broken files, posts
/// too long for a publisher, shared days and today marked and explained.
/// Built with maud, which escapes every value it is given.
pub fn html(year: i32, days: &[Day], marks: &[DayMarks], today: Option<NaiveDate>) -> String {
    use maud::{DOCTYPE, PreEscaped, html};
    let covered = days.iter().filter(|d| d.post.is_some()).count();
    let none = DayMarks::default();
    let months: Vec<Vec<(&Day, &DayMarks)>> = (1..=12u32)
        .map(|m| {
            days.iter()
                .zip(marks.iter().chain(std::iter::repeat(&none)))
                .filter(|(d, _)| d.date.month() == m)
                .collect()
        })
        .filter(|m: &Vec<(&Day, &DayMarks)>| !m.is_empty())
        .collect();
    let short = |title: &str| -> String {
        let mut s: String = title.chars().take(28).collect();
        if title.chars().count() > 28 {
            s.push('…');
        }
        s
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Today Is... calendar " (year) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Today Is... " (year) }
                p { (covered) " of " (days.len()) " days have a post." }
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
                            caption { (month[0].0.date.format("%B")) }
                            tr { @for wd in ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"] { th { (wd) } } }
                            @for week in weeks(month) {
                                tr {
                                    @for cell in week {
                                        @match cell {
                                            None => td {},
                                            Some((day, mark)) => {
                                                @let class = format!(
                                                    "{}{}{}",
                                                    if day.post.is_some() { "post" } else if mark.broken > 0 { "broken" } else { "gap" },
                                                    if mark.too_long.is_empty() { "" } else { " long" },
                                                    if Some(day.date) == today { " today" } else { "" }
                                                );
                                                td class=(class) {
                                                    b { (day.date.day()) }
                                                    span.t {
                                                        @if let Some(p) = day.post {
                                                            a href=(p.url) title={ (p.title) " (" (p.date.year()) ")" } { (short(&p.title)) }
                                                        } @else if mark.broken > 0 {
                                                            "broken file"
                                                        } @else {
                                                            "no post"
                                                        }
                                                    }
                                                    @if mark.posts > 1 { " " span.more { "+" (mark.posts - 1) } }
                                                    @if !mark.too_long.is_empty() { br; "too long: " (mark.too_long.join(", ")) }
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
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

/// A month's days in six weeks from Monday (so every month's grid has the same
/// height), padded with `None`.
type Cell<'a, 'b> = Option<(&'b Day<'a>, &'b DayMarks)>;

fn weeks<'a, 'b>(month: &[(&'b Day<'a>, &'b DayMarks)]) -> Vec<Vec<Cell<'a, 'b>>> {
    let mut cells: Vec<Cell<'a, 'b>> = Vec::with_capacity(42);
    if let Some((first, _)) = month.first() {
        let lead = first.date.weekday().num_days_from_monday() as usize;
        cells.extend(std::iter::repeat_n(None, lead));
    }
    cells.extend(month.iter().map(|&(d, m)| Some((d, m))));
    cells.resize(42, None);
    cells.chunks(7).map(<[Cell<'a, 'b>]>::to_vec).collect()
}
