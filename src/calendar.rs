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

/// The page's style: no script, no font or file from elsewhere.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
.months{display:grid;grid-template-columns:repeat(auto-fill,minmax(15em,1fr));gap:1.5em;align-items:start}\
table{border-collapse:collapse}th{font-weight:normal;color:#666;font-size:.8em}\
td{width:2em;height:2em;text-align:center;border:1px solid #ddd}\
td.post{background:#dcefdc}td.post a{color:#124712;text-decoration:none;display:block}\
td.gap{background:#f7d4d4;color:#8a1c1c;font-weight:bold}\
.legend span{padding:0 .4em}";

/// A one-page year grid: twelve months, each day linking to its post, gaps marked.
/// Built with maud, which escapes every value it is given.
pub fn html(year: i32, days: &[Day]) -> String {
    use maud::{DOCTYPE, PreEscaped, html};
    let covered = days.iter().filter(|d| d.post.is_some()).count();
    let months: Vec<Vec<&Day>> = (1..=12u32)
        .map(|m| days.iter().filter(|d| d.date.month() == m).collect())
        .filter(|m: &Vec<&Day>| !m.is_empty())
        .collect();
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
                p.legend {
                    (covered) " of " (days.len()) " days have a post: "
                    span style="background:#dcefdc" { "green days" } " link to theirs, "
                    span style="background:#f7d4d4" { "red days" } " have none."
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
                                            Some(Day { date, post: Some(p) }) => td.post {
                                                a href=(p.url) title={ (p.title) " (" (p.date.year()) ")" } { (date.day()) }
                                            },
                                            Some(Day { date, post: None }) => td.gap title="no post" { (date.day()) },
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

/// A month's days in weeks from Monday, padded with `None` before the first.
fn weeks<'a>(month: &[&'a Day<'a>]) -> Vec<Vec<Option<&'a Day<'a>>>> {
    let mut weeks = vec![Vec::new()];
    if let Some(first) = month.first() {
        let lead = first.date.weekday().num_days_from_monday() as usize;
        weeks[0].extend(std::iter::repeat_n(None, lead));
    }
    for day in month {
        if weeks.last().is_some_and(|w| w.len() == 7) {
            weeks.push(Vec::new());
        }
        if let Some(week) = weeks.last_mut() {
            week.push(Some(*day));
        }
    }
    weeks
}
