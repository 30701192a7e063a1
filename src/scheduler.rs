//! The daemon's decisions, without IO or a clock: when to wake, which date is due,
//! and when to try again after a failure. The daemon feeds it the time.
//!
//! Rules: each fire makes its local date due; a date stays due (retried with
//! backoff) until every publisher has it or the next fire of a later date takes
//! over, so a stale day is never published late. At start, a fire that passed
//! less than `catch_up` ago is due at once.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::schedule::Schedule;

/// The first wait after a failed attempt, and the longest.
const RETRY_FIRST: Duration = Duration::seconds(30);
const RETRY_CAP: Duration = Duration::minutes(30);
/// A fire noticed this late (e.g. after a suspend) still counts as on time.
const ON_TIME: Duration = Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    date: NaiveDate,
    attempt_at: DateTime<Utc>,
    backoff: Duration,
}

#[derive(Debug, Clone)]
pub struct Scheduler {
    schedule: Schedule,
    tz: Tz,
    catch_up: Duration,
    next_fire: Option<DateTime<Utc>>,
    pending: Option<Pending>,
    last_fire: Option<DateTime<Utc>>,
}

impl Scheduler {
    /// A scheduler started at `now`: the next fire, and a catch-up if one is owed.
    pub fn start(schedule: Schedule, tz: Tz, catch_up: Duration, now: DateTime<Utc>) -> Scheduler {
        let owed = if catch_up > Duration::zero() {
            schedule.last_fire(tz, now, catch_up)
        } else {
            None
        };
        Scheduler {
            next_fire: schedule.next_fire(tz, now),
            pending: owed.map(|fire| Pending {
                date: fire.with_timezone(&tz).date_naive(),
                attempt_at: now,
                backoff: RETRY_FIRST,
            }),
            last_fire: owed,
            schedule,
            tz,
            catch_up,
        }
    }

    /// A new schedule (after a config reload), keeping what is due.
    pub fn reschedule(
        &mut self,
        schedule: Schedule,
        tz: Tz,
        catch_up: Duration,
        now: DateTime<Utc>,
    ) {
        self.next_fire = schedule.next_fire(tz, now);
        self.schedule = schedule;
        self.tz = tz;
        self.catch_up = catch_up;
    }

    /// When something is next due: a fire or a retry.
    pub fn wake_at(&self) -> Option<DateTime<Utc>> {
        match (self.next_fire, &self.pending) {
            (Some(f), Some(p)) => Some(f.min(p.attempt_at)),
            (f, p) => f.or(p.as_ref().map(|p| p.attempt_at)),
        }
    }

    /// When a date whose publication failed is tried again, if one is pending.
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        self.pending.as_ref().map(|p| p.attempt_at)
    }

    pub fn next_fire(&self) -> Option<DateTime<Utc>> {
        self.next_fire
    }

    pub fn last_fire(&self) -> Option<DateTime<Utc>> {
        self.last_fire
    }

    /// The date to publish now, if any. Call when `now` reaches [`Self::wake_at`]
    /// (calling earlier is harmless).
    pub fn due(&mut self, now: DateTime<Utc>) -> Option<NaiveDate> {
        if let Some(fire) = self.next_fire.filter(|&f| f <= now) {
            // The latest fire not after now: after a long suspend, only it counts,
            // and only if it is recent enough.
            let latest = self
                .schedule
                .last_fire(self.tz, now, now - fire)
                .unwrap_or(fire);
            self.next_fire = self.schedule.next_fire(self.tz, now);
            if now - latest <= self.catch_up.max(ON_TIME) {
                self.last_fire = Some(latest);
                let date = latest.with_timezone(&self.tz).date_naive();
                // A later date takes over from a pending one; the same date (a schedule
                // that fires several times a day) is simply tried now.
                self.pending = Some(Pending {
                    date,
                    attempt_at: now,
                    backoff: RETRY_FIRST,
                });
            }
        }
        match &self.pending {
            Some(p) if p.attempt_at <= now => Some(p.date),
            _ => None,
        }
    }

    /// After an attempt at `date`: done, or try again with backoff.
    pub fn report(&mut self, now: DateTime<Utc>, date: NaiveDate, all_done: bool) {
        let Some(p) = self.pending.as_mut().filter(|p| p.date == date) else {
            return;
        };
        if all_done {
            self.pending = None;
        } else {
            p.attempt_at = now + p.backoff;
            p.backoff = (p.backoff * 2).min(RETRY_CAP);
        }
    }

    /// The date still owed, if any.
    pub fn pending_date(&self) -> Option<NaiveDate> {
        self.pending.as_ref().map(|p| p.date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Runs the scheduler from `start` to `end` with always-successful publishing,
    /// jumping from one wake-up to the next. Returns each date with the instants it
    /// was published at.
    fn simulate(
        expr: &str,
        tz: Tz,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> BTreeMap<NaiveDate, Vec<DateTime<Utc>>> {
        let mut s = Scheduler::start(
            Schedule::parse(expr).unwrap(),
            tz,
            Duration::hours(6),
            start,
        );
        let mut published: BTreeMap<NaiveDate, Vec<DateTime<Utc>>> = BTreeMap::new();
        let mut now = start;
        while now < end {
            if let Some(date) = s.due(now) {
                published.entry(date).or_default().push(now);
                s.report(now, date, true);
            }
            now = s.wake_at().unwrap().max(now);
        }
        published
    }

    #[test]
    fn four_years_day_by_day_in_five_zones() {
        let start = utc("2023-01-01T00:00:00Z");
        let end = utc("2027-01-01T00:00:00Z");
        for zone in [
            "Europe/London",
            "America/New_York",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
            "Asia/Kolkata",
        ] {
            let tz: Tz = zone.parse().unwrap();
            for expr in ["0 9 * * *", "30 2 * * *", "45 1 * * *", "0 0 * * *"] {
                let published = simulate(expr, tz, start, end);
                // The start instant is evening or morning of a day depending on the zone: count from the next day.
                let first = start.with_timezone(&tz).date_naive().succ_opt().unwrap();
                let last = end.with_timezone(&tz).date_naive();
                let mut day = first;
                let mut count = 0;
                while day < last {
                    let at = published
                        .get(&day)
                        .unwrap_or_else(|| panic!("{zone} {expr}: {day} was skipped"));
                    assert_eq!(
                        at.len(),
                        1,
                        "{zone} {expr}: {day} published {} times",
                        at.len()
                    );
                    assert_eq!(
                        at[0].with_timezone(&tz).date_naive(),
                        day,
                        "{zone} {expr}: published on the wrong date"
                    );
                    count += 1;
                    day = day.succ_opt().unwrap();
                }
                assert!(count >= 1460, "{zone} {expr}: only {count} days");
                assert!(
                    published
                        .keys()
                        .all(|d| *d >= first.pred_opt().unwrap() && *d <= last),
                    "{zone} {expr}: a date outside the range"
                );
            }
        }
    }

    #[test]
    fn dst_edge_days_fire_at_the_exact_instants() {
        let london: Tz = "Europe/London".parse().unwrap();
        let lord_howe: Tz = "Australia/Lord_Howe".parse().unwrap();
        let chatham: Tz = "Pacific/Chatham".parse().unwrap();
        let new_york: Tz = "America/New_York".parse().unwrap();
        let cases = [
            // Spring forward: 01:30 does not exist; it fires once when 01:00 GMT becomes 02:00 BST.
            (london, "30 1 * * *", "2024-03-31", "2024-03-31T01:00:00Z"),
            // Fall back: 01:30 happens twice; it fires at the first.
            (london, "30 1 * * *", "2024-10-27", "2024-10-27T00:30:00Z"),
            (london, "0 9 * * *", "2024-03-31", "2024-03-31T08:00:00Z"),
            // New York: 02:30 does not exist on 10 March 2024 (02:00 EST -> 03:00 EDT).
            (new_york, "30 2 * * *", "2024-03-10", "2024-03-10T07:00:00Z"),
            (new_york, "30 1 * * *", "2024-11-03", "2024-11-03T05:30:00Z"),
            // Lord Howe moves by 30 minutes: 02:00 +10:30 -> 02:30 +11:00 on 6 October 2024.
            (
                lord_howe,
                "15 2 * * *",
                "2024-10-06",
                "2024-10-05T15:30:00Z",
            ),
            // ... and back on 7 April 2024: 02:00 +11:00 -> 01:30 +10:30; 01:45 happens twice.
            (
                lord_howe,
                "45 1 * * *",
                "2024-04-07",
                "2024-04-06T14:45:00Z",
            ),
            // Chatham (+13:45 -> +12:45 on 7 April 2024 at 03:45).
            (chatham, "15 3 * * *", "2024-04-07", "2024-04-06T13:30:00Z"),
            // Chatham springs forward at 02:45 -> 03:45 on 29 September 2024.
            (chatham, "0 3 * * *", "2024-09-29", "2024-09-28T14:00:00Z"),
        ];
        for (tz, expr, date, instant) in cases {
            let published = simulate(
                expr,
                tz,
                utc("2024-01-01T00:00:00Z"),
                utc("2025-01-01T00:00:00Z"),
            );
            let at = &published[&date.parse::<NaiveDate>().unwrap()];
            assert_eq!(at, &vec![utc(instant)], "{tz} {expr} on {date}");
        }
    }

    #[test]
    fn leap_days_are_dates_like_any_other() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let published = simulate(
            "0 9 * * *",
            tz,
            utc("2024-02-27T00:00:00Z"),
            utc("2024-03-02T00:00:00Z"),
        );
        let dates: Vec<String> = published.keys().map(|d| d.to_string()).collect();
        assert_eq!(
            dates,
            ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]
        );
    }

    #[test]
    fn several_fires_a_day_publish_once_per_date() {
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let mut s = Scheduler::start(
            Schedule::parse("0 */4 * * *").unwrap(),
            tz,
            Duration::hours(6),
            utc("2024-05-01T00:00:00Z"),
        );
        let mut now = utc("2024-05-01T00:00:00Z");
        let mut done: Vec<NaiveDate> = Vec::new();
        while now < utc("2024-05-05T00:00:00Z") {
            if let Some(date) = s.due(now) {
                // The journal makes later fires of the same date no-ops.
                if !done.contains(&date) {
                    done.push(date);
                }
                s.report(now, date, true);
            }
            now = s.wake_at().unwrap();
        }
        assert_eq!(done.len(), 5); // May 1 (05:30 local start) .. May 5 (before 05:30 local)
    }

    #[test]
    fn catch_up_within_the_window_only() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let schedule = Schedule::parse("0 9 * * *").unwrap();
        let mut s = Scheduler::start(
            schedule.clone(),
            tz,
            Duration::hours(6),
            utc("2024-02-25T14:00:00Z"),
        );
        assert_eq!(
            s.due(utc("2024-02-25T14:00:00Z")),
            Some("2024-02-25".parse().unwrap())
        );
        let mut s = Scheduler::start(
            schedule.clone(),
            tz,
            Duration::hours(6),
            utc("2024-02-25T16:00:00Z"),
        );
        assert_eq!(s.due(utc("2024-02-25T16:00:00Z")), None);
        assert_eq!(s.wake_at(), Some(utc("2024-02-26T09:00:00Z")));
        let mut s = Scheduler::start(schedule, tz, Duration::zero(), utc("2024-02-25T09:01:00Z"));
        assert_eq!(s.due(utc("2024-02-25T09:01:00Z")), None);
    }

    #[test]
    fn failures_retry_with_backoff_until_the_next_days_fire_never_later() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let mut s = Scheduler::start(
            Schedule::parse("0 9 * * *").unwrap(),
            tz,
            Duration::hours(6),
            utc("2024-02-25T08:00:00Z"),
        );
        let mut now = s.wake_at().unwrap();
        assert_eq!(now, utc("2024-02-25T09:00:00Z"));
        let feb25: NaiveDate = "2024-02-25".parse().unwrap();
        let mut attempts = Vec::new();
        // The server is down for a whole day.
        while now < utc("2024-02-26T09:00:00Z") {
            if let Some(date) = s.due(now) {
                assert_eq!(date, feb25);
                attempts.push(now);
                s.report(now, date, false);
            }
            now = s.wake_at().unwrap();
        }
        let gaps: Vec<i64> = attempts
            .windows(2)
            .map(|w| (w[1] - w[0]).num_seconds())
            .collect();
        assert_eq!(&gaps[..4], [30, 60, 120, 240], "exponential backoff");
        assert!(gaps.iter().all(|&g| g <= 1800), "capped at 30 minutes");
        // At the next fire the new date takes over; Feb 25 is never published late.
        assert_eq!(s.due(now), Some("2024-02-26".parse().unwrap()));
        s.report(now, "2024-02-26".parse().unwrap(), true);
        assert_eq!(s.pending_date(), None);
    }

    #[test]
    fn a_long_suspend_publishes_only_a_recent_fire() {
        let tz: Tz = "Europe/London".parse().unwrap();
        let mut s = Scheduler::start(
            Schedule::parse("0 9 * * *").unwrap(),
            tz,
            Duration::hours(6),
            utc("2024-02-25T08:00:00Z"),
        );
        // The machine sleeps through three days and wakes at 10:00 on the 28th.
        assert_eq!(
            s.due(utc("2024-02-28T10:00:00Z")),
            Some("2024-02-28".parse().unwrap())
        );
        s.report(
            utc("2024-02-28T10:00:00Z"),
            "2024-02-28".parse().unwrap(),
            true,
        );
        // Waking at 20:00 instead: the 9:00 fire is too old.
        let mut s = Scheduler::start(
            Schedule::parse("0 9 * * *").unwrap(),
            tz,
            Duration::hours(6),
            utc("2024-02-25T08:00:00Z"),
        );
        assert_eq!(s.due(utc("2024-02-28T20:00:00Z")), None);
        assert_eq!(s.wake_at(), Some(utc("2024-02-29T09:00:00Z")));
    }
}
