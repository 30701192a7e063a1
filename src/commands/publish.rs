//! `publish`: the day's post through each publisher, once, journaled.

use std::io::Write;

use anyhow::Context;
use chrono::NaiveDate;

use crate::config::{Config, Missing};
use crate::publish::Environment;
use crate::runner::{self, Outcome};

/// `publish`: one line per publisher; false if any failed.
pub async fn publish(
    out: &mut dyn Write,
    err: &mut dyn Write,
    config: &Config,
    env: &Environment,
    date: NaiveDate,
    names: &[String],
    force: bool,
) -> anyhow::Result<bool> {
    let publishers = runner::build_publishers(config, names, env)?;
    let result = runner::publish_date(
        config,
        env,
        &publishers,
        date,
        force,
        std::time::Duration::from_secs(30),
    )
    .await
    .context("publishing")?;
    for e in &result.post_errors {
        writeln!(err, "warning: {e}")?;
    }
    let mut ok = true;
    match &result.post {
        Some(post) => writeln!(out, "{date}: {} ({})", post.title, post.path.display())?,
        None => {
            writeln!(out, "{date}: no post for this day")?;
            ok = config.missing == Missing::Skip;
        }
    }
    for (name, outcome) in &result.outcomes {
        match outcome {
            Outcome::Published {
                receipt,
                reconciled,
            } => {
                writeln!(
                    out,
                    "{name}: {} {}",
                    if *reconciled {
                        "already on the server (its answer had been lost), now journaled:"
                    } else {
                        "published"
                    },
                    receipt.url.as_deref().unwrap_or(&receipt.remote_id)
                )?;
                for what in &receipt.dropped {
                    writeln!(out, "{name}: note: the server dropped {what}")?;
                }
            }
            Outcome::AlreadyPublished { receipt } => writeln!(
                out,
                "{name}: skipped, already published for {date} ({}); use --force to publish again",
                receipt.url.as_deref().unwrap_or(&receipt.remote_id)
            )?,
            Outcome::Failed(error) => {
                ok = false;
                let again = match error.retry {
                    crate::publish::Retry::Later => format!(
                        "; nothing more will be tried by this command: run `todayis publish --date {date}` again once the server answers (a running daemon retries by itself)"
                    ),
                    crate::publish::Retry::Never => String::new(),
                };
                writeln!(out, "{name}: failed: {}{again}", error.message)?
            }
        }
    }
    Ok(ok)
}
