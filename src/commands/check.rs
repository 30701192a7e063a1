//! `check`: every problem in the config and the posts, the editor's warnings, the
//! calendar's coverage, and (with `--online`) what each server says.

use std::io::Write;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::calendar;
use crate::config::{Config, Missing};
use crate::editor::{self, Warning};
use crate::library::Library;
use crate::publish::Environment;
use crate::runner;

/// What `check` found; `--json` prints it as it is.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub config: ConfigSection,
    pub posts: PostsSection,
    pub coverage: Coverage,
    /// Whether each publisher's secret resolves (without asking any server).
    pub credentials: Vec<CredentialResult>,
    pub online: Vec<OnlineResult>,
    /// Whether warnings fail the check (`--strict`).
    #[serde(skip)]
    pub strict: bool,
    /// Files passed over while listing (special files, folder loops).
    #[serde(skip)]
    pub skipped: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ConfigSection {
    pub path: String,
    /// Always empty here: a config with problems stops before the check runs.
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PostsSection {
    pub valid: usize,
    pub invalid: usize,
    pub errors: Vec<PostProblem>,
    pub render_errors: Vec<String>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Serialize)]
pub struct PostProblem {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for PostProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub days_with_post: usize,
    pub days: usize,
    /// `MM-DD` of every day with no post.
    pub missing: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CredentialResult {
    pub publisher: String,
    pub ok: bool,
    /// Where the secret was looked for and what is wrong (never the secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct OnlineResult {
    pub publisher: String,
    pub ok: bool,
    pub findings: Vec<String>,
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "config {}: ok", self.config.path)?;
        for e in &self.posts.errors {
            writeln!(out, "{e}")?;
        }
        for p in &self.posts.render_errors {
            writeln!(out, "{p}")?;
        }
        for w in &self.posts.warnings {
            writeln!(out, "warning: {w}")?;
        }
        let n = self.posts.warnings.len();
        writeln!(
            out,
            "posts: {} valid, {} invalid, {n} warning{}{}",
            self.posts.valid,
            self.posts.invalid,
            if n == 1 { "" } else { "s" },
            if self.strict {
                " (--strict: warnings fail)"
            } else {
                ""
            }
        )?;
        let c = &self.coverage;
        writeln!(
            out,
            "coverage: {} of {} days have a post",
            c.days_with_post, c.days
        )?;
        if !c.missing.is_empty() {
            writeln!(
                out,
                "days with no post ({}): {}",
                c.missing.len(),
                compress_days(&c.missing)
            )?;
        }
        for c in &self.credentials {
            match &c.problem {
                None => writeln!(out, "{}: credentials resolve", c.publisher)?,
                Some(p) => writeln!(out, "{}: problem: {p}", c.publisher)?,
            }
        }
        for r in &self.online {
            for f in &r.findings {
                writeln!(out, "{}: {f}", r.publisher)?;
            }
            for p in &r.problems {
                writeln!(out, "{}: problem: {p}", r.publisher)?;
            }
        }
        writeln!(
            out,
            "{}",
            if self.ok {
                "check passed"
            } else {
                "check failed"
            }
        )
    }
}

/// `check`: every problem in the config and the posts, whether the secrets resolve
/// (unless `credentials` is false), and the calendar's coverage.
#[allow(clippy::too_many_arguments)]
pub async fn check(
    out: &mut dyn Write,
    err: &mut dyn Write,
    config: &Config,
    env: &Environment,
    online: bool,
    strict: bool,
    credentials: bool,
    as_json: bool,
) -> anyhow::Result<bool> {
    let look_for_secrets = credentials;
    let loaded = Library::new(&config.posts).load_all()?;
    let mut errors = loaded.errors;
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    // A post must fit every publisher, even with no summary.
    let publishers = runner::build_publishers(config, &[], env)?;
    let mut render_errors = Vec::new();
    let mut warnings = Vec::new();
    for post in &loaded.posts {
        warnings.extend(editor::warnings(post));
        let occasion = runner::occasion(config, post.date.with_year(2024).unwrap_or(post.date));
        let summary = crate::render::summary_of(post);
        for p in &publishers {
            match p.render(post, &occasion) {
                Ok(r) if post.summary.is_none() && !r.output.carries_whole(&summary) => {
                    warnings.push(Warning {
                        path: post.path.display().to_string(),
                        message: format!(
                            "no `summary`, and the first paragraph is shortened for {}: write a summary that goes out whole",
                            p.name()
                        ),
                    })
                }
                Ok(_) => {}
                Err(e) => render_errors.push(e.to_string()),
            }
        }
    }
    let missing = calendar::missing(&calendar::by_month_day(&loaded.posts));
    let credentials: Vec<CredentialResult> = publishers
        .iter()
        .filter(|_| look_for_secrets)
        .map(|p| {
            let problem = p.credentials().err();
            CredentialResult {
                publisher: p.name().to_string(),
                ok: problem.is_none(),
                problem,
            }
        })
        .collect();
    let mut online_results = Vec::new();
    if online {
        for p in &publishers {
            online_results.push(match p.check_online().await {
                Ok(r) => OnlineResult {
                    publisher: p.name().to_string(),
                    ok: r.problems.is_empty(),
                    findings: r.findings,
                    problems: r.problems,
                },
                Err(e) => OnlineResult {
                    publisher: p.name().to_string(),
                    ok: false,
                    findings: vec![],
                    problems: vec![e.to_string()],
                },
            });
        }
    }
    let missing_is_problem = config.missing == Missing::Error && !missing.is_empty();
    let ok = errors.is_empty()
        && render_errors.is_empty()
        && online_results.iter().all(|r| r.ok)
        && credentials.iter().all(|c| c.ok)
        && !missing_is_problem
        && (!strict || warnings.is_empty());
    let report = CheckReport {
        ok,
        config: ConfigSection {
            path: config.path.display().to_string(),
            problems: vec![],
        },
        posts: PostsSection {
            valid: loaded.posts.len(),
            invalid: errors.len(),
            errors: errors
                .iter()
                .flat_map(|e| {
                    e.each().map(|(position, message)| PostProblem {
                        path: e.path.display().to_string(),
                        line: position.line,
                        column: position.column,
                        message: message.to_string(),
                    })
                })
                .collect(),
            render_errors,
            warnings,
        },
        coverage: Coverage {
            days_with_post: 366 - missing.len(),
            days: 366,
            missing: missing
                .iter()
                .map(|(m, d)| format!("{m:02}-{d:02}"))
                .collect(),
        },
        credentials,
        online: online_results,
        strict,
        skipped: loaded.warnings,
    };
    for s in &report.skipped {
        writeln!(err, "warning: {s}")?;
    }
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        report.write_text(out)?;
    }
    Ok(report.ok)
}

/// `01-01..01-05, 02-29` instead of a long list (`days` as `MM-DD`, in order).
fn compress_days(days: &[String]) -> String {
    let ordinal = |md: &str| {
        NaiveDate::parse_from_str(&format!("2000-{md}"), "%Y-%m-%d").map_or(0, |x| x.ordinal())
    };
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && ordinal(&days[j + 1]) == ordinal(&days[j]) + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}..{}", days[i], days[j])
        } else {
            days[i].clone()
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_of_days_are_compressed() {
        let days: Vec<String> = ["01-01", "01-02", "01-03", "02-29", "03-01", "12-31"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            super::compress_days(&days),
            "01-01..01-03, 02-29..03-01, 12-31"
        );
    }
}
