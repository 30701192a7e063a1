//! Values the config's keys hold, parsed and range-checked once, at load: a
//! duration, a path. A leaf: it imports nothing of the bot's, so `config` and the
//! publishers' settings both use it without importing each other.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::position::Position;

/// One problem with a config key: formatted in one place, [`Problem`]'s `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key's full name, e.g. `publishers.mastodon.timeout`.
    pub key: String,
    pub message: String,
    /// Where in the file, when the parser knows (unknown keys, bad values).
    pub at: Option<Position>,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
            at: None,
        }
    }

    /// A problem the parser located; its message names the key itself.
    pub fn located(at: Position, key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            at: Some(at),
            ..Problem::new(key, message)
        }
    }

    /// The same problem inside a table: `timeout` within `publishers.m`.
    pub fn within(self, table: &str) -> Problem {
        Problem {
            key: format!("{table}.{}", self.key),
            ..self
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some(at) => write!(f, "{at}: {}", self.message),
            None if self.key.is_empty() => f.write_str(&self.message),
            None => write!(f, "`{}`: {}", self.key, self.message),
        }
    }
}

/// Collects problems while values are checked, so all are reported at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// The value, or `None` with the problem noted under `key`.
    pub fn take<T>(&mut self, key: &str, checked: Result<T, String>) -> Option<T> {
        checked.map_err(|m| self.0.push(Problem::new(key, m))).ok()
    }

    /// Notes a problem when `bad`.
    pub fn check(&mut self, bad: bool, key: &str, message: &str) {
        if bad {
            self.0.push(Problem::new(key, message));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses durations like `6h`, `90m`, `1h30m`, `45s` or `0`, with checked
/// arithmetic: a number too large for any duration is an error, never a panic.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration like 6h, 90m, 1h30m or 45s");
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if number.is_empty() {
            return Err(bad());
        }
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is too large a duration"))?;
        number.clear();
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(|| format!("`{text}` is too large a duration"))?;
    }
    if !number.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// [`parse_duration`] within `min..=max`; the message says the range.
pub fn bounded_duration(text: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d < min || d > max {
        return Err(format!(
            "`{}` is out of range: it must be from {} to {}",
            text.trim(),
            human(min),
            human(max)
        ));
    }
    Ok(d)
}

/// `7d`, `10m`, `1s`: the largest unit that divides it.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `config/../posts` as `posts`: lexical, so messages show the paths people wrote.
pub fn clean(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in [
            "",
            "6",
            "h",
            "6x",
            "-1h",
            "99999999999999999999d",
            "18446744073709551615d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_are_checked_and_said() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(600));
        assert!(bounded_duration("30s", min, max).is_ok());
        let err = bounded_duration("99999d", min, max).unwrap_err();
        assert!(err.contains("from 1s to 10m"), "{err}");
        let err = bounded_duration("5124095576030431d", min, max).unwrap_err();
        assert!(err.contains("too large"), "{err}");
        assert!(bounded_duration("0", min, max).is_err());
    }
}
