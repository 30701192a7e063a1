//! Time as a dependency: everything below `main.rs` asks a [`Clock`] instead of
//! reading the system clock, so tests can run years of days without sleeping.

use chrono::{DateTime, Utc};

/// A source of "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// A clock that stands still at a given instant, for tests and for `--date` runs.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
