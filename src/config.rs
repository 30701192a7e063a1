//! The config file: a raw serde mirror ([`RawConfig`]) checked into [`Config`].
//!
//! Validation is pure and collects every problem before returning, so the user
//! sees them all at once. Nothing past this module sees raw TOML.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::position::Position;
use crate::publish::{PublisherConfig, RawPublisher};
use crate::schedule::Schedule;
use crate::settings::Problem;
pub use crate::settings::clean;

/// Where the config is looked for when neither `--config` nor `$TODAYIS_CONFIG` names it.
pub const DEFAULT_PATH: &str = "config/todayis.toml";

/// A config that failed to load: every problem, each naming its key.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.iter().map(|p| format!("{}: {p}", path.display())).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
    /// There is no config file at all (a usage error for every command).
    pub not_found: bool,
}

/// A `--publisher NAME` that the config does not have: a usage error.
#[derive(Debug, thiserror::Error)]
#[error("no publisher named `{name}` in the config (known: {})", known.join(", "))]
pub struct UnknownPublisher {
    pub name: String,
    pub known: Vec<String>,
}

/// What to do with Feb 29 posts in a common year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeapDay {
    Feb28,
    Mar1,
    Skip,
}

/// How to choose among several posts for one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PickRule {
    Rotate,
    Newest,
    Oldest,
    Random,
}

/// Whether the daemon carries an edited post to what went out, by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Corrections {
    Off,
    Auto,
}

/// What a day with no post means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    Skip,
    Error,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    bot: RawBot,
    server: Option<RawServer>,
    #[serde(default)]
    publishers: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    posts: PathBuf,
    timezone: String,
    schedule: String,
    #[serde(default = "default_state")]
    state: PathBuf,
    #[serde(default = "default_catch_up")]
    catch_up: String,
    #[serde(default = "default_leap_day")]
    leap_day: LeapDay,
    #[serde(default = "default_pick")]
    pick: PickRule,
    #[serde(default = "default_missing")]
    missing: Missing,
    #[serde(default = "default_language")]
    language: String,
    #[serde(default = "default_corrections")]
    corrections: Corrections,
    #[serde(default = "default_corrections_window")]
    corrections_window: String,
}

fn default_state() -> PathBuf {
    PathBuf::from("state")
}
fn default_catch_up() -> String {
    "6h".into()
}
fn default_leap_day() -> LeapDay {
    LeapDay::Feb28
}
fn default_pick() -> PickRule {
    PickRule::Rotate
}
fn default_missing() -> Missing {
    Missing::Skip
}
fn default_language() -> String {
    "en".into()
}
fn default_corrections() -> Corrections {
    Corrections::Off
}
fn default_corrections_window() -> String {
    "24h".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: String,
    #[serde(default)]
    show_errors: bool,
}

/// The bot's checked settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file itself; relative paths in it were resolved against its folder.
    pub path: PathBuf,
    pub posts: PathBuf,
    pub timezone: Tz,
    pub schedule: Schedule,
    pub state: PathBuf,
    pub catch_up: chrono::Duration,
    pub leap_day: LeapDay,
    pub pick: PickRule,
    pub missing: Missing,
    pub language: String,
    /// `auto`: the daemon carries an edit of a post that went out less than
    /// `corrections_window` ago to everywhere it went (where it can edit in place).
    pub corrections: Corrections,
    pub corrections_window: Duration,
    pub listen: Option<SocketAddr>,
    /// Whether the page at `/` shows error details and servers' messages to every
    /// client, not only to loopback ones.
    pub show_errors: bool,
    /// Publishers in name order.
    pub publishers: Vec<(String, PublisherConfig)>,
}

impl Config {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            not_found: e.kind() == std::io::ErrorKind::NotFound,
            problems: vec![Problem::new(
                "",
                if e.kind() == std::io::ErrorKind::NotFound {
                    "there is no config file here: pass --config PATH, set TODAYIS_CONFIG, or start from the example config/todayis.toml".to_string()
                } else {
                    format!("cannot read the config: {e}")
                },
            )],
        })?;
        Config::parse(path, &text)
    }

    /// Checks config text; `path` locates relative paths and names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let fail = |problems| ConfigError {
            path: path.to_path_buf(),
            problems,
            not_found: false,
        };
        // Syntax first: a file that is not TOML has only that problem.
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let pos = e
                .span()
                .map_or(Position::START, |s| Position::of(text, s.start));
            fail(vec![Problem::located(
                pos,
                "",
                e.message().trim().replace('\n', " "),
            )])
        })?;
        // Serde stops at the first unknown key; find them all, then read the rest.
        let mut problems = remove_unknown_keys(text, &mut table);
        let raw = match RawConfig::deserialize(toml::Value::Table(table)) {
            Ok(raw) => raw,
            Err(e) => {
                // Read from the text instead, for the position of the bad value (unless
                // the first thing that reading meets is an unknown key, reported above).
                let located = match toml::from_str::<RawConfig>(text) {
                    Err(te) if !te.message().contains("unknown field") => {
                        let pos = te
                            .span()
                            .map_or(Position::START, |s| Position::of(text, s.start));
                        Problem::located(pos, "", te.message().trim().replace('\n', " "))
                    }
                    _ => Problem::new("", e.message().trim().replace('\n', " ")),
                };
                problems.push(located);
                return Err(fail(problems));
            }
        };
        let base = path.parent().unwrap_or(Path::new(""));
        let base = &clean(base);
        let bot = raw.bot;

        let posts = clean(&base.join(&bot.posts));
        if !posts.is_dir() {
            problems.push(Problem::new(
                "bot.posts",
                format!("the folder {} does not exist", posts.display()),
            ));
        }
        let timezone = bot.timezone.parse::<Tz>().map_err(|_| {
            Problem::new(
                "bot.timezone",
                format!(
                    "`{}` is not an IANA time zone name (e.g. Europe/London)",
                    bot.timezone
                ),
            )
        });
        let schedule = Schedule::parse(&bot.schedule)
            .map_err(|e| Problem::new("bot.schedule", format!("`{}`: {e}", bot.schedule)));
        let catch_up =
            crate::settings::bounded_duration(&bot.catch_up, Duration::ZERO, MAX_CATCH_UP)
                .map(|d| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero()))
                .map_err(|e| Problem::new("bot.catch_up", e));
        let corrections_window = crate::settings::bounded_duration(
            &bot.corrections_window,
            Duration::from_secs(60),
            Duration::from_secs(30 * 86_400),
        )
        .map_err(|e| Problem::new("bot.corrections_window", e));
        if !crate::post::is_language_tag(&bot.language) {
            problems.push(Problem::new(
                "bot.language",
                format!("`{}` is not a language tag like `en`", bot.language),
            ));
        }
        let show_errors = raw.server.as_ref().is_some_and(|s| s.show_errors);
        let listen = match raw.server.map(|s| s.listen) {
            None => Ok(None),
            Some(l) => l.parse::<SocketAddr>().map(Some).map_err(|_| {
                Problem::new(
                    "server.listen",
                    format!("`{l}` is not an address like 127.0.0.1:8080"),
                )
            }),
        };

        let mut publishers = Vec::new();
        for (name, value) in raw.publishers {
            let key = format!("publishers.{name}");
            match RawPublisher::deserialize(value).map(|raw| raw.check(base)) {
                Ok(Ok(publisher)) => publishers.push((name, publisher)),
                Ok(Err(found)) => problems.extend(found.into_iter().map(|p| p.within(&key))),
                Err(e) => problems.push(Problem::new(key, e.message().trim())),
            }
        }

        let corrections_window = match corrections_window {
            Ok(w) => Some(w),
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let (timezone, schedule, catch_up, listen, corrections_window) =
            match (timezone, schedule, catch_up, listen, corrections_window) {
                (Ok(t), Ok(s), Ok(c), Ok(l), Some(w)) if problems.is_empty() => (t, s, c, l, w),
                (t, s, c, l, _) => {
                    problems.extend(t.err());
                    problems.extend(s.err());
                    problems.extend(c.err());
                    problems.extend(l.err());
                    return Err(fail(problems));
                }
            };
        Ok(Config {
            path: path.to_path_buf(),
            posts,
            timezone,
            schedule,
            state: clean(&base.join(bot.state)),
            catch_up,
            leap_day: bot.leap_day,
            pick: bot.pick,
            missing: bot.missing,
            language: bot.language,
            corrections: bot.corrections,
            corrections_window,
            listen,
            show_errors,
            publishers,
        })
    }

    /// What the publishers need from the bot, for this config.
    pub fn environment(
        &self,
        clock: std::sync::Arc<dyn crate::clock::Clock>,
        env_var: crate::publish::EnvVar,
    ) -> crate::publish::Environment {
        crate::publish::Environment {
            clock,
            language: self.language.clone(),
            timezone: self.timezone,
            state: self.state.clone(),
            env_var,
            journal_fault: None,
            retry_budget: crate::publish::DAEMON_RETRY_BUDGET,
        }
    }

    /// The publishers named in `names` (all when empty), or the first unknown name.
    pub fn select_publishers(
        &self,
        names: &[String],
    ) -> Result<Vec<&(String, PublisherConfig)>, UnknownPublisher> {
        if let Some(unknown) = names
            .iter()
            .find(|n| !self.publishers.iter().any(|(p, _)| p == *n))
        {
            return Err(UnknownPublisher {
                name: unknown.clone(),
                known: self.publishers.iter().map(|(n, _)| n.clone()).collect(),
            });
        }
        Ok(self
            .publishers
            .iter()
            .filter(|(n, _)| names.is_empty() || names.contains(n))
            .collect())
    }
}

/// The longest `catch_up`: a date stays due only until the next date's fire
/// anyway, and a week covers any schedule that fires at least weekly.
const MAX_CATCH_UP: Duration = Duration::from_secs(7 * 86_400);

const TOP_KEYS: &[&str] = &["bot", "server", "publishers"];
const BOT_KEYS: &[&str] = &[
    "posts",
    "timezone",
    "schedule",
    "state",
    "catch_up",
    "leap_day",
    "pick",
    "missing",
    "language",
    "corrections",
    "corrections_window",
];
const SERVER_KEYS: &[&str] = &["listen", "show_errors"];

/// Removes the keys the config does not know (outside `[publishers.*]`, whose
/// backends check their own) and says where each was.
fn remove_unknown_keys(text: &str, table: &mut toml::Table) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut report = |section: Option<&str>, key: &str, known: &[&str]| {
        let name = section.map_or(key.to_string(), |s| format!("{s}.{key}"));
        let pos = key_position(text, section, key);
        let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        problems.push(Problem::located(
            pos,
            name.clone(),
            format!(
                "unknown key `{name}`, expected one of {}",
                expected.join(", ")
            ),
        ));
    };
    let unknown_top: Vec<String> = table
        .keys()
        .filter(|k| !TOP_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown_top {
        report(None, &key, TOP_KEYS);
        table.remove(&key);
    }
    for (section, known) in [("bot", BOT_KEYS), ("server", SERVER_KEYS)] {
        if let Some(toml::Value::Table(t)) = table.get_mut(section) {
            let unknown: Vec<String> = t
                .keys()
                .filter(|k| !known.contains(&k.as_str()))
                .cloned()
                .collect();
            for key in unknown {
                report(Some(section), &key, known);
                t.remove(&key);
            }
        }
    }
    problems
}

/// Where `key` is written in `[section]` (or at the top), for messages.
fn key_position(text: &str, section: Option<&str>, key: &str) -> Position {
    let mut in_section = section.is_none();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let header = trimmed.trim_start_matches('[');
        if section.is_none()
            && trimmed.starts_with('[')
            && (header.starts_with(&format!("{key}]")) || header.starts_with(&format!("{key}.")))
        {
            return Position::of(text, offset + line.len() - line.trim_start().len());
        }
        if trimmed.starts_with('[') {
            in_section = section.is_some_and(|s| trimmed.trim_matches(['[', ']']).trim() == s);
        } else if in_section {
            let indent = line.len() - line.trim_start().len();
            let rest = trimmed.strip_prefix(key).map(str::trim_start);
            if rest.is_some_and(|r| r.starts_with('=')) {
                return Position::of(text, offset + indent);
            }
        }
        offset += line.len();
    }
    Position::START
}

/// Resolves the config path: the flag, else `$TODAYIS_CONFIG`, else the default.
pub fn locate(flag: Option<&Path>, env: Option<&str>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| env.filter(|e| !e.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("todayis.toml");
        let text = r#"
[bot]
posts = "nowhere"
timezone = "Europe/Lundon"
schedule = "0 25 * * *"
catch_up = "soon"

[publishers.m]
type = "mastodon"
instance = "http://mastodon.example"
token_env = "T"
"#;
        let err = Config::parse(&path, text).unwrap_err();
        let all = err
            .problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        for key in [
            "bot.posts",
            "bot.timezone",
            "bot.schedule",
            "bot.catch_up",
            "publishers.m.instance",
        ] {
            assert!(
                all.contains(&format!("`{key}")),
                "no problem for {key} in:\n{all}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let text =
            "[bot]\nposts = \".\"\ntimezone = \"UTC\"\nschedule = \"0 9 * * *\"\nshedule = \"x\"\n";
        let err = Config::parse(Path::new("c.toml"), text).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(
            err.problems[0]
                .to_string()
                .starts_with("5:1: unknown key `bot.shedule`, expected one of `posts`"),
            "{}",
            err.problems[0]
        );

        // Unknown keys do not hide the other problems.
        let text = "[bot]\nposts = \".\"\ntimezone = \"Mars/Base\"\nschedule = \"0 9 * * *\"\nshedule = \"x\"\ncolour = 1\n[sever]\nlisten = 1\n";
        let err = Config::parse(Path::new("c.toml"), text).unwrap_err();
        let all = err
            .problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        for expected in [
            "5:1: unknown key `bot.shedule`",
            "6:1: unknown key `bot.colour`",
            "7:1: unknown key `sever`",
            "`bot.timezone`",
        ] {
            assert!(all.contains(expected), "no `{expected}` in:\n{all}");
        }

        let text = "[bot]\nposts = \".\"\ntimezone = 5\nschedule = \"0 9 * * *\"\n";
        let err = Config::parse(Path::new("c.toml"), text).unwrap_err();
        assert!(
            err.problems[0]
                .to_string()
                .starts_with("3:12: invalid type: integer `5`, expected a string"),
            "{}",
            err.problems[0]
        );

        let text = "[bot]\nposts = \".\"\ntimezone = \"UTC\"\nschedule = \"0 9 * * *\"\n[publishers.m]\ntype = \"mastodon\"\ninstance = \"https://a.example\"\ntokn = \"x\"\n";
        let err = Config::parse(Path::new("c.toml"), text).unwrap_err();
        assert!(
            err.problems[0]
                .to_string()
                .starts_with("`publishers.m`: unknown field `tokn`"),
            "{}",
            err.problems[0]
        );

        let text = "[bot]\nposts = \".\"\ntimezone = \"UTC\"\nschedule = \"0 9 * * *\"\n[publishers.m]\ntype = \"myspace\"\n";
        let err = Config::parse(Path::new("c.toml"), text).unwrap_err();
        assert!(
            err.problems[0]
                .to_string()
                .contains("unknown variant `myspace`"),
            "{}",
            err.problems[0]
        );
    }
}
