//! `correct`: a post fixed after it went out, fixed everywhere it went.

use std::io::Write;

use chrono::NaiveDate;

use crate::config::Config;
use crate::publish::{Change, Environment};
use crate::runner::{self, Correction};

/// `correct`: shows what changed since the date went out, per publisher, and (unless
/// `dry_run`) carries it over. False if a publisher could not be corrected.
#[allow(clippy::too_many_arguments)]
pub async fn correct(
    out: &mut dyn Write,
    config: &Config,
    env: &Environment,
    date: NaiveDate,
    names: &[String],
    dry_run: bool,
    repost: bool,
) -> anyhow::Result<bool> {
    let publishers = runner::build_publishers(config, names, env)?;
    let (post, results) = runner::correct_date(
        config,
        env,
        &publishers,
        date,
        dry_run,
        repost,
        std::time::Duration::from_secs(30),
    )
    .await?;
    match &post {
        Some(p) => writeln!(out, "{date}: {} ({})", p.title, p.path.display())?,
        None => writeln!(out, "{date}: no post for this day")?,
    }
    let mut ok = true;
    for (name, correction) in &results {
        match correction {
            Correction::NotPublished => writeln!(
                out,
                "{name}: nothing went out for {date}; nothing to correct"
            )?,
            Correction::NotOnRecord => writeln!(
                out,
                "{name}: what went out for {date} is not on record (published by an older version, or found on the server after a lost answer): nothing to compare with"
            )?,
            Correction::Unchanged => writeln!(out, "{name}: unchanged since it went out")?,
            Correction::OtherPost { sent, now } => {
                ok = false;
                writeln!(
                    out,
                    "{name}: refused: {sent} went out, but the day now picks {now}; a correction fixes the post that went out (use `publish --force` to send another one)"
                )?
            }
            Correction::Changed { changes, applied } => {
                match applied {
                    None => writeln!(out, "{name}: would change (dry run, nothing sent):")?,
                    Some(r) => writeln!(
                        out,
                        "{name}: corrected {}",
                        r.url.as_deref().unwrap_or(&r.remote_id)
                    )?,
                }
                write_changes(out, changes)?;
            }
            Correction::Failed { changes, error } => {
                ok = false;
                writeln!(out, "{name}: not corrected: {}", error.message)?;
                write_changes(out, changes)?;
            }
        }
    }
    Ok(ok)
}

/// Each changed field: a line diff for text, else before → after.
fn write_changes(out: &mut dyn Write, changes: &[Change]) -> std::io::Result<()> {
    for c in changes {
        let label = match c.field.as_str() {
            "spoiler_text" => "content warning",
            "content_encoded" => "content",
            other => other,
        };
        if c.before.contains('\n') || c.after.contains('\n') {
            writeln!(out, "  {label}:")?;
            for (tag, line) in crate::text::line_diff(&c.before, &c.after) {
                writeln!(out, "    {tag} {line}")?;
            }
        } else {
            let show = |s: &str| {
                if s.is_empty() {
                    "(none)".to_string()
                } else {
                    s.to_string()
                }
            };
            writeln!(out, "  {label}: {} → {}", show(&c.before), show(&c.after))?;
        }
    }
    Ok(())
}
