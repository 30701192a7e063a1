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
