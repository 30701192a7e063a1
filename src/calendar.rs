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

/// A one-page year grid: twelve months, each day linking to its post, gaps marked.
pub fn html(year: i32, days: &[Day]) -> String {
    use crate::publish::rss::escape;
    let covered = days.iter().filter(|d| d.post.is_some()).count();
    let mut h = String::new();
    h.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Today Is... calendar {year}</title>\n<style>\n\
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}\n\
.months{{display:grid;grid-template-columns:repeat(auto-fill,minmax(15em,1fr));gap:1.5em}}\n\
table{{border-collapse:collapse}} th{{font-weight:normal;color:#666;font-size:.8em}}\n\
td{{width:2em;height:2em;text-align:center;border:1px solid #ddd}}\n\
td.post{{background:#dcefdc}} td.post a{{color:#124712;text-decoration:none;display:block}}\n\
td.gap{{background:#f7d4d4;color:#8a1c1c;font-weight:bold}}\n\
</style>\n</head>\n<body>\n<h1>Today Is... {year}</h1>\n<p>{covered} of {} days have a post; <span style=\"background:#f7d4d4\">red days</span> have none.</p>\n<div class=\"months\">\n",
        days.len()
    ));
    for month in 1..=12u32 {
        let month_days: Vec<&Day> = days.iter().filter(|d| d.date.month() == month).collect();
        let Some(first) = month_days.first() else {
            continue;
        };
        h.push_str(&format!(
            "<table>\n<caption>{}</caption>\n<tr>",
            first.date.format("%B")
        ));
        for wd in ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"] {
            h.push_str(&format!("<th>{wd}</th>"));
        }
        h.push_str("</tr>\n<tr>");
        let lead = first.date.weekday().num_days_from_monday();
        h.push_str(&"<td></td>".repeat(lead as usize));
        for (i, day) in month_days.iter().enumerate() {
            if i > 0 && day.date.weekday().num_days_from_monday() == 0 {
                h.push_str("</tr>\n<tr>");
            }
            match day.post {
                Some(p) => h.push_str(&format!(
                    "<td class=\"post\"><a href=\"{}\" title=\"{} ({})\">{}</a></td>",
                    escape(&p.url),
                    escape(&p.title),
                    p.date.year(),
                    day.date.day()
                )),
                None => h.push_str(&format!(
                    "<td class=\"gap\" title=\"no post\">{}</td>",
                    day.date.day()
                )),
            }
        }
        h.push_str("</tr>\n</table>\n");
    }
    h.push_str("</div>\n</body>\n</html>\n");
    h
}
