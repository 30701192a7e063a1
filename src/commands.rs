//! The commands that print: preview, check, calendar and publish. Each returns
//! whether the job succeeded; `main.rs` turns that into an exit status.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use crate::calendar;
use crate::config::{Config, Missing};
use crate::editor;
use crate::library::{self, Library};
use crate::post::{self, Post, PostError};
use crate::publish::Environment;
use crate::runner::{self, Outcome};

/// `preview`: what would go out on `date` (or for one post file).
pub fn preview(
    out: &mut dyn Write,
    config: &Config,
    env: &Environment,
    date: NaiveDate,
    post_file: Option<&Path>,
    names: &[String],
    as_json: bool,
) -> anyhow::Result<bool> {
    let publishers = runner::build_publishers(config, names, env)?;
    let (post, errors) = match post_file {
        Some(file) => {
            // A draft outside the library may show pictures from its own folder only.
            let inside = file
                .canonicalize()
                .ok()
                .zip(config.posts.canonicalize().ok())
                .is_some_and(|(f, root)| f.starts_with(root));
            let root = if inside {
                config.posts.clone()
            } else {
                file.parent().unwrap_or(Path::new(".")).to_path_buf()
            };
            match post::load(file, &root) {
                Ok(p) => (Some(p), vec![]),
                Err(e) => (None, vec![e]),
            }
        }
        None => library::post_for(
            &Library::new(&config.posts),
            date,
            config.leap_day,
            config.pick,
        )?,
    };
    for e in &errors {
        eprintln!("error: {e}");
    }
    let occasion = runner::occasion(config, date);
    let mut outputs = Vec::new();
    let mut ok = errors.is_empty() || post_file.is_none();
    if let Some(post) = &post {
        for p in &publishers {
            match p.render(post, &occasion) {
                Ok(r) => outputs.push(r),
                Err(e) => {
                    eprintln!("error: {e}");
                    ok = false;
                }
            }
        }
    }
    if as_json {
        let value = json!({
            "date": date.to_string(),
            "timezone": config.timezone.name(),
            "post": post.as_ref().map(post_json),
            "outputs": outputs,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ok);
    }
    let Some(post) = post else {
        writeln!(
            out,
            "{date} ({}): no post for this day",
            config.timezone.name()
        )?;
        if post_file.is_none() {
            // Tell the editor when the next one goes out (and so which gap to fill).
            let loaded = Library::new(&config.posts).load_all()?;
            let grouped = calendar::by_month_day(&loaded.posts);
            let next = date.iter_days().skip(1).take(366).find_map(|d| {
                calendar::pick_for(&grouped, d, config.leap_day, config.pick)
                    .map(|p| (d, p.title.clone()))
            });
            if let Some((d, title)) = next {
                writeln!(
                    out,
                    "the next post goes out on {d}: {title} (`todayis preview --date {d}`)"
                )?;
            }
        }
        return Ok(ok);
    };
    writeln!(
        out,
        "{date} ({}): {}",
        config.timezone.name(),
        post.path.display()
    )?;
    writeln!(out, "{} ({})", post.title, post.date)?;
    for r in &outputs {
        r.write_text(out)?;
    }
    Ok(ok)
}

fn post_json(post: &Post) -> Value {
    json!({
        "path": post.path.display().to_string(),
        "title": post.title,
        "date": post.date.to_string(),
        "url": post.url,
        "tags": post.tags,
    })
}

/// `check`: every problem in the config and the posts, and the calendar's coverage.
pub async fn check(
    out: &mut dyn Write,
    config: &Config,
    env: &Environment,
    online: bool,
    strict: bool,
    as_json: bool,
) -> anyhow::Result<bool> {
    let loaded = Library::new(&config.posts).load_all()?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let mut errors: Vec<PostError> = loaded.errors;
    // A post must fit every publisher, even with no summary.
    let publishers = runner::build_publishers(config, &[], env)?;
    let mut render_problems = Vec::new();
    let mut warnings = Vec::new();
    for post in &loaded.posts {
        warnings.extend(editor::warnings(post));
        let occasion = runner::occasion(config, post.date.with_year(2024).unwrap_or(post.date));
        let summary = crate::render::summary_of(post);
        for p in &publishers {
            match p.render(post, &occasion) {
                Ok(r) if post.summary.is_none() && !r.output.carries_whole(&summary) => {
                    warnings.push(editor::Warning {
                        path: post.path.display().to_string(),
                        message: format!(
                            "no `summary`, and the first paragraph is shortened for {}: write a summary that goes out whole",
                            p.name()
                        ),
                    })
                }
                Ok(_) => {}
                Err(e) => render_problems.push(e.to_string()),
            }
        }
    }
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    let grouped = calendar::by_month_day(&loaded.posts);
    let missing = calendar::missing(&grouped);
    let mut online_results = Vec::new();
    if online {
        for p in &publishers {
            online_results.push((p.name().to_string(), p.check_online().await));
        }
    }
    let online_problems = online_results
        .iter()
        .filter(|(_, r)| r.as_ref().map_or(true, |r| !r.problems.is_empty()))
        .count();
    let missing_is_problem = config.missing == Missing::Error && !missing.is_empty();
    let ok = errors.is_empty()
        && render_problems.is_empty()
        && online_problems == 0
        && !missing_is_problem
        && (!strict || warnings.is_empty());
    let md = |(m, d): &(u32, u32)| format!("{m:02}-{d:02}");

    if as_json {
        let value = json!({
            "ok": ok,
            "config": {"path": config.path.display().to_string(), "problems": []},
            "posts": {
                "valid": loaded.posts.len(),
                "invalid": errors.len(),
                "errors": errors.iter().map(|e| json!({
                    "path": e.path.display().to_string(), "line": e.position.line,
                    "column": e.position.column, "message": e.message,
                })).collect::<Vec<_>>(),
                "render_errors": render_problems,
                "warnings": warnings,
            },
            "coverage": {
                "days_with_post": 366 - missing.len(),
                "days": 366,
                "missing": missing.iter().map(md).collect::<Vec<_>>(),
            },
            "online": online_results.iter().map(|(name, r)| match r {
                Ok(r) => json!({"publisher": name, "ok": r.problems.is_empty(), "findings": r.findings, "problems": r.problems}),
                Err(e) => json!({"publisher": name, "ok": false, "problems": [e.to_string()]}),
            }).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ok);
    }
    writeln!(out, "config {}: ok", config.path.display())?;
    for e in &errors {
        writeln!(out, "{e}")?;
    }
    for p in &render_problems {
        writeln!(out, "{p}")?;
    }
    for w in &warnings {
        writeln!(out, "warning: {w}")?;
    }
    writeln!(
        out,
        "posts: {} valid, {} invalid, {} warning{}{}",
        loaded.posts.len(),
        errors.len(),
        warnings.len(),
        if warnings.len() == 1 { "" } else { "s" },
        if strict {
            " (--strict: warnings fail)"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "coverage: {} of 366 days have a post",
        366 - missing.len()
    )?;
    if !missing.is_empty() {
        writeln!(
            out,
            "days with no post ({}): {}",
            missing.len(),
            compress_days(&missing)
        )?;
    }
    for (name, r) in &online_results {
        match r {
            Ok(r) => {
                for f in &r.findings {
                    writeln!(out, "{name}: {f}")?;
                }
                for p in &r.problems {
                    writeln!(out, "{name}: problem: {p}")?;
                }
            }
            Err(e) => writeln!(out, "{e}")?,
        }
    }
    writeln!(out, "{}", if ok { "check passed" } else { "check failed" })?;
    Ok(ok)
}

/// `01-01..01-05, 02-29` instead of a long list.
fn compress_days(days: &[(u32, u32)]) -> String {
    let ordinal =
        |(m, d): (u32, u32)| NaiveDate::from_ymd_opt(2000, m, d).map_or(0, |x| x.ordinal());
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && ordinal(days[j + 1]) == ordinal(days[j]) + 1 {
            j += 1;
        }
        let f = |(m, d): (u32, u32)| format!("{m:02}-{d:02}");
        parts.push(if j > i {
            format!("{}..{}", f(days[i]), f(days[j]))
        } else {
            f(days[i])
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// The format of `calendar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CalendarFormat {
    Text,
    Json,
    Html,
}

/// `calendar`: which post goes out on each day of `year`.
pub fn calendar(
    out: &mut dyn Write,
    config: &Config,
    year: i32,
    format: CalendarFormat,
) -> anyhow::Result<bool> {
    let loaded = Library::new(&config.posts).load_all()?;
    for e in &loaded.errors {
        eprintln!("warning: {e}");
    }
    let grouped = calendar::by_month_day(&loaded.posts);
    let days = calendar::year(&grouped, year, config.leap_day, config.pick);
    let covered = days.iter().filter(|d| d.post.is_some()).count();
    match format {
        CalendarFormat::Html => write!(out, "{}", calendar::html(year, &days))?,
        CalendarFormat::Json => {
            let value = json!({
                "year": year,
                "timezone": config.timezone.name(),
                "days_with_post": covered,
                "days": days.iter().map(|d| json!({"date": d.date.to_string(), "post": d.post.map(post_json)})).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        CalendarFormat::Text => {
            for d in &days {
                match d.post {
                    Some(p) => writeln!(
                        out,
                        "{}  {} ({})  {}",
                        d.date,
                        p.title,
                        p.date.year(),
                        p.path.display()
                    )?,
                    None => writeln!(out, "{}  -- no post --", d.date)?,
                }
            }
            writeln!(out, "{covered} of {} days have a post", days.len())?;
        }
    }
    Ok(true)
}

/// `publish`: one line per publisher; false if any failed.
pub async fn publish(
    out: &mut dyn Write,
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
        eprintln!("warning: {e}");
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
            } => writeln!(
                out,
                "{name}: {} {}",
                if *reconciled {
                    "already on the server (its answer had been lost), now journaled:"
                } else {
                    "published"
                },
                receipt.url.as_deref().unwrap_or(&receipt.remote_id)
            )?,
            Outcome::AlreadyPublished { receipt } => writeln!(
                out,
                "{name}: skipped, already published for {date} ({}); use --force to publish again",
                receipt.url.as_deref().unwrap_or(&receipt.remote_id)
            )?,
            Outcome::Failed(error) => {
                ok = false;
                writeln!(out, "{name}: failed: {}", error.message)?
            }
        }
    }
    Ok(ok)
}

/// Where `import` reads from.
pub enum ImportSource<'a> {
    File(&'a Path),
    Url(&'a str),
}

/// `import blogger`: reads the entries (a file, or the feed page by page), plans
/// the files, writes them durably together, and reports what it did.
pub async fn import(
    out: &mut dyn Write,
    source: ImportSource<'_>,
    dir: &Path,
    blog_url: Option<&str>,
    overwrite: bool,
) -> anyhow::Result<bool> {
    use crate::import;
    let entries = match source {
        ImportSource::File(path) => {
            let bytes = crate::files::read_bounded(path, 1 << 30, true)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
            let root =
                import::parse_xml(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
            import::entries(&root, blog_url)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        ImportSource::Url(url) => {
            let progress = indicatif::ProgressBar::new_spinner();
            let entries = crate::fetch::fetch_all(url, blog_url, |page, so_far| {
                progress.set_message(format!("page {page}: {so_far} entries"));
                progress.tick();
            })
            .await;
            progress.finish_and_clear();
            entries?
        }
    };
    let plan = import::plan(&entries, overwrite, |file| dir.join(file).exists());
    let files: Vec<(std::path::PathBuf, Vec<u8>)> = plan
        .writes
        .iter()
        .map(|(file, text)| (dir.join(file), text.clone().into_bytes()))
        .collect();
    crate::atomic::write_all(&files)
        .with_context(|| format!("writing the posts into {}", dir.display()))?;

    writeln!(out, "imported {} posts into {}", files.len(), dir.display())?;
    let total: usize = plan.skipped.values().sum();
    if total > 0 {
        let parts: Vec<String> = plan
            .skipped
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect();
        writeln!(out, "skipped {total}: {}", parts.join(", "))?;
    }
    for b in &plan.broken {
        writeln!(out, "  broken entry: {b}")?;
    }
    if !plan.kept.is_empty() {
        writeln!(
            out,
            "kept {} existing files (--overwrite replaces them):",
            plan.kept.len()
        )?;
        for k in &plan.kept {
            writeln!(out, "  {}", dir.join(k).display())?;
        }
    }
    if !plan.review.is_empty() {
        writeln!(out, "to review {}:", plan.review.len())?;
        for (file, why) in &plan.review {
            writeln!(out, "  {}: {why}", dir.join(file).display())?;
        }
    }
    Ok(true)
}
