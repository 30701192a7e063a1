//! When the bot fires: a cron expression evaluated on the wall clock of an IANA zone.
//!
//! Pure: every function takes the instant it reasons about; nothing reads the clock.
//!
//! Fire instants are defined on local wall-clock times, then mapped to instants:
//! a wall time that occurs twice (autumn) fires at its first occurrence only; a wall
//! time that does not exist (spring) fires once, at the first instant after the gap.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A checked cron schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    source: String,
    cron: cron::Schedule,
}

impl Schedule {
    /// Parses 5 fields (minute hour day month weekday) or 6-7 with seconds first
    /// (and a year last). Weekdays are numbered as in crontab(5): 0-7, 0 and 7 are
    /// Sunday; names (`mon`, `fri`) work too.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let (mut fields, weekday) = match fields.len() {
            5 => {
                let mut f = vec!["0"];
                f.extend(&fields);
                (f, 5)
            }
            6 | 7 => (fields, 5),
            n => {
                return Err(format!(
                    "expected 5 fields (minute hour day month weekday) or 6-7 with seconds first, found {n}"
                ));
            }
        };
        let translated = translate_weekdays(fields[weekday])?;
        fields[weekday] = &translated;
        let cron = cron::Schedule::from_str(&fields.join(" "))
            .map_err(|e| format!("not a valid cron expression: {e}"))?;
        // A schedule that can never fire (e.g. Feb 30) would leave the daemon idle forever.
        if cron.after(&DateTime::<Utc>::UNIX_EPOCH).next().is_none() {
            return Err("the expression never fires".into());
        }
        Ok(Schedule {
            source: expr.to_string(),
            cron,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first fire instant strictly after `after`.
    pub fn next_fire(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Wall times more than 3 h before `after`'s own cannot map past it: no zone
        // shifts its clock by more than that.
        let start = (after - Duration::hours(3))
            .with_timezone(&tz)
            .naive_local();
        self.wall_times_after(start)
            .map(|wall| to_instant(tz, wall))
            .find(|&instant| instant > after)
    }

    /// The first fire instant on local date `date`, if the schedule fires that day.
    pub fn first_fire_on(&self, tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
        let start = date.and_time(NaiveTime::MIN) - Duration::seconds(1);
        let wall = self.wall_times_after(start).next()?;
        (wall.date() == date).then(|| to_instant(tz, wall))
    }

    /// The last fire instant at or before `at`, if any within the past `within`.
    pub fn last_fire(&self, tz: Tz, at: DateTime<Utc>, within: Duration) -> Option<DateTime<Utc>> {
        let from = at - within;
        let start = (from - Duration::hours(3)).with_timezone(&tz).naive_local();
        // Fire instants never decrease as wall times increase, so one forward pass
        // over the window finds the last one.
        self.wall_times_after(start)
            .map(|wall| to_instant(tz, wall))
            .take_while(|&instant| instant <= at)
            .filter(|&instant| instant >= from)
            .last()
    }

    /// Wall-clock fire times strictly after `start`, in order. The cron crate has no
    /// notion of a naive time, so UTC stands in for "no zone".
    fn wall_times_after(&self, start: NaiveDateTime) -> impl Iterator<Item = NaiveDateTime> + '_ {
        self.cron
            .after(&Utc.from_utc_datetime(&start))
            .map(|t| t.naive_utc())
    }
}

/// Maps a wall time to the instant it fires: the earlier of two, or the end of a gap.
fn to_instant(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    use chrono::LocalResult;
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Inside a gap: find the first valid wall time after it (binary search in
            // seconds; gaps are at most a few hours).
            // Checked, and bounded: no zone has a gap of two days, and no date near
            // chrono's limits can overflow the search.
            const LONGEST_GAP: i64 = 2 * 86_400;
            let valid = |s: i64| {
                wall.checked_add_signed(Duration::seconds(s))
                    .and_then(|w| tz.from_local_datetime(&w).earliest())
            };
            let (mut lo, mut hi) = (0i64, 60);
            while valid(hi).is_none() {
                if hi >= LONGEST_GAP {
                    return Utc.from_utc_datetime(&wall);
                }
                lo = hi;
                hi = (hi * 2).min(LONGEST_GAP);
            }
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if valid(mid).is_some() {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            valid(hi)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&wall))
        }
    }
}

/// Rewrites a crontab(5) weekday field (0-7, Sunday = 0 or 7) as the names the cron
/// crate reads (it numbers Sunday as 1), expanding ranges and steps.
fn translate_weekdays(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    const NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let day = |s: &str| -> Result<usize, String> {
        if let Ok(n) = s.parse::<usize>() {
            return if n <= 7 {
                Ok(n)
            } else {
                Err(format!("weekday {n} is out of range 0-7"))
            };
        }
        NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(s.get(..3).unwrap_or(s)) && s.len() >= 3)
            .ok_or_else(|| format!("`{s}` is not a weekday"))
    };
    let mut days = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("`{s}` is not a valid step"))?,
            ),
            None => (item, 1),
        };
        let (from, to) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            (day(a)?, day(b)?)
        } else {
            let d = day(range)?;
            (d, if item.contains('/') { 6 } else { d })
        };
        if from > to {
            return Err(format!("weekday range `{range}` runs backwards"));
        }
        for d in (from..=to).step_by(step) {
            days[d % 7] = true;
        }
    }
    let names: Vec<&str> = (0..7).filter(|&d| days[d]).map(|d| NAMES[d]).collect();
    Ok(names.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, tz: Tz, after: &str) -> String {
        Schedule::parse(expr)
            .unwrap()
            .next_fire(tz, utc(after))
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn fires_at_local_time() {
        let tz: Tz = "Europe/London".parse().unwrap();
        assert_eq!(
            next("0 9 * * *", tz, "2024-02-25T00:00:00Z"),
            "2024-02-25T09:00:00+00:00"
        );
        assert_eq!(
            next("0 9 * * *", tz, "2024-07-01T09:00:00Z"),
            "2024-07-02T08:00:00+00:00"
        );
    }

    #[test]
    fn spring_forward_gap_fires_once_at_the_end_of_the_gap() {
        let tz: Tz = "Europe/London".parse().unwrap();
        // 31 March 2024: 01:00 GMT becomes 02:00 BST; 01:30 does not exist.
        assert_eq!(
            next("30 1 * * *", tz, "2024-03-30T12:00:00Z"),
            "2024-03-31T01:00:00+00:00"
        );
        assert_eq!(
            next("30 1 * * *", tz, "2024-03-31T01:00:00Z"),
            "2024-04-01T00:30:00+00:00"
        );
        // Every minute through the gap fires once at its end, not sixty times.
        assert_eq!(
            next("* 1 * * *", tz, "2024-03-31T00:59:00Z"),
            "2024-03-31T01:00:00+00:00"
        );
        assert_eq!(
            next("* 1 * * *", tz, "2024-03-31T01:00:00Z"),
            "2024-04-01T00:00:00+00:00"
        );
    }

    #[test]
    fn fall_back_repeated_time_fires_once() {
        let tz: Tz = "Europe/London".parse().unwrap();
        // 27 October 2024: 02:00 BST becomes 01:00 GMT; 01:30 happens twice.
        assert_eq!(
            next("30 1 * * *", tz, "2024-10-26T12:00:00Z"),
            "2024-10-27T00:30:00+00:00"
        );
        assert_eq!(
            next("30 1 * * *", tz, "2024-10-27T00:30:00Z"),
            "2024-10-28T01:30:00+00:00"
        );
        // Asked during the second pass through 01:xx, it does not fire again.
        assert_eq!(
            next("30 1 * * *", tz, "2024-10-27T01:05:00Z"),
            "2024-10-28T01:30:00+00:00"
        );
    }

    #[test]
    fn lord_howe_half_hour_shift() {
        let tz: Tz = "Australia/Lord_Howe".parse().unwrap();
        // 6 October 2024: 02:00 +10:30 becomes 02:30 +11:00.
        assert_eq!(
            next("15 2 * * *", tz, "2024-10-05T00:00:00Z"),
            "2024-10-05T15:30:00+00:00"
        );
    }

    #[test]
    fn weekdays_follow_crontab_numbering() {
        let tz: Tz = "UTC".parse().unwrap();
        // 2024-02-25 is a Sunday.
        assert_eq!(
            next("0 9 * * 0", tz, "2024-02-20T00:00:00Z"),
            "2024-02-25T09:00:00+00:00"
        );
        assert_eq!(
            next("0 9 * * 7", tz, "2024-02-20T00:00:00Z"),
            "2024-02-25T09:00:00+00:00"
        );
        assert_eq!(
            next("0 9 * * 1-5", tz, "2024-02-24T00:00:00Z"),
            "2024-02-26T09:00:00+00:00"
        );
        assert_eq!(
            next("0 9 * * fri-sat", tz, "2024-02-20T00:00:00Z"),
            "2024-02-23T09:00:00+00:00"
        );
        assert_eq!(translate_weekdays("5-7").unwrap(), "SUN,FRI,SAT");
        assert_eq!(translate_weekdays("*/2").unwrap(), "SUN,TUE,THU,SAT");
    }

    #[test]
    fn seconds_first_forms() {
        let tz: Tz = "UTC".parse().unwrap();
        assert_eq!(
            next("*/5 * * * * *", tz, "2024-02-25T00:00:01Z"),
            "2024-02-25T00:00:05+00:00"
        );
        assert_eq!(
            next("0 0 9 * * * 2030", tz, "2024-02-25T00:00:00Z"),
            "2030-01-01T09:00:00+00:00"
        );
    }

    #[test]
    fn rejects_bad_expressions() {
        for bad in [
            "",
            "0 9 * *",
            "0 9 * * * * * *",
            "61 9 * * *",
            "0 9 * * 8",
            "0 9 30 2 *",
            "0 9 * * 5-1",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn last_fire_within_window() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let s = Schedule::parse("0 9 * * *").unwrap();
        let at = utc("2024-02-25T10:00:00Z");
        assert_eq!(
            s.last_fire(tz, at, Duration::hours(6)),
            Some(utc("2024-02-25T09:00:00Z"))
        );
        assert_eq!(s.last_fire(tz, at, Duration::minutes(30)), None);
        assert_eq!(
            s.first_fire_on(tz, NaiveDate::from_ymd_opt(2024, 7, 1).unwrap()),
            Some(utc("2024-07-01T08:00:00Z"))
        );
    }
}
