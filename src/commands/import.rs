//! `import blogger`: a Blogger export (the file, a Takeout zip or folder) or a
//! blog's feed into post files.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::import::{self, Zone};

/// Where `import` reads from.
pub enum ImportSource<'a> {
    File(&'a Path),
    Url(&'a str),
}

/// How to import: where to, the blog's address, and how to read times.
pub struct ImportOptions<'a> {
    pub dir: &'a Path,
    pub blog_url: Option<&'a str>,
    pub overwrite: bool,
    pub zone: Zone,
    /// Where the zone came from, said in the report ("--timezone", "the config's bot.timezone").
    pub zone_from: &'a str,
}

/// `import blogger`: reads the entries (a file, a Takeout, or the feed page by
/// page), plans the files, writes them durably together, and reports what it did.
/// Fails (`Ok(false)`) when nothing was imported.
pub async fn import(
    out: &mut dyn Write,
    err: &mut dyn Write,
    source: ImportSource<'_>,
    options: &ImportOptions<'_>,
) -> anyhow::Result<bool> {
    let dir = options.dir;
    let mut address_from_export = None;
    let entries = match source {
        ImportSource::File(path) => {
            let export = crate::takeout::read(path).map_err(anyhow::Error::msg)?;
            if export.label != path.display().to_string() {
                writeln!(out, "reading {}", export.label)?;
            }
            let label = &export.label;
            let root =
                import::parse_xml(&export.text).map_err(|e| anyhow::anyhow!("{label}:{e}"))?;
            let named_wordpress = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().to_lowercase().contains("wordpress"));
            if import::is_wordpress(&root) || (named_wordpress && root.name != "feed") {
                anyhow::bail!("{label}: {}", import::WORDPRESS);
            }
            let blog_url = match options.blog_url {
                Some(url) => Some(url.to_string()),
                None => {
                    address_from_export = import::blog_address(&root);
                    address_from_export.clone()
                }
            };
            import::entries(&root, blog_url.as_deref())
                .map_err(|e| anyhow::anyhow!("{label}: {e}"))?
        }
        ImportSource::Url(url) => {
            let mut progress = Progress::new(url, err);
            let entries = crate::fetch::fetch_all(url, options.blog_url, |page, so_far, total| {
                progress.page(page, so_far, total)
            })
            .await;
            progress.finish();
            entries?
        }
    };
    let zone = options.zone.tz.name();
    if options.zone.explicit {
        writeln!(
            out,
            "time zone: {zone} ({}): every publication time is read in it",
            options.zone_from
        )?;
    } else {
        writeln!(
            out,
            "time zone: {zone} ({}): times given in UTC are read in it; times with an offset of their own keep it (--timezone overrides)",
            options.zone_from
        )?;
    }
    if let Some(address) = &address_from_export
        && entries.iter().any(|e| e.file_name.is_some())
    {
        writeln!(out, "the blog's address, from the export: {address}")?;
    }
    let plan = import::plan(&entries, &options.zone, options.overwrite, |file| {
        dir.join(file).exists()
    });
    if plan.need_blog_url > 0 {
        writeln!(
            out,
            "{} posts carry only a file name, not an address: pass the blog's address, e.g. --blog-url https://YOURBLOG.blogspot.com/",
            plan.need_blog_url
        )?;
    }
    let files: Vec<(std::path::PathBuf, Vec<u8>)> = plan
        .writes
        .iter()
        .map(|(file, text)| (dir.join(file), text.clone().into_bytes()))
        .collect();
    if !files.is_empty() && !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "cannot create the folder {}: name a folder you can write to with --out",
                dir.display()
            )
        })?;
        writeln!(out, "created the folder {}", dir.display())?;
    }
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!(
            "{} is not a folder: name a folder with --out",
            dir.display()
        );
    }
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
    if plan.own_offset > 0 {
        writeln!(
            out,
            "{} posts kept the offset their time carried (the blog's zone in the older export)",
            plan.own_offset
        )?;
    }
    if !plan.review.is_empty() {
        writeln!(
            out,
            "to review {} (each marked `review = ...`: `todayis check` warns until the line is removed):",
            plan.review.len()
        )?;
        for (file, why) in &plan.review {
            writeln!(out, "  {}: {why}", dir.join(file).display())?;
        }
    }
    if !plan.near_midnight.is_empty() {
        writeln!(
            out,
            "published within {} hours of midnight, so check the day {}:",
            import::NEAR_MIDNIGHT_HOURS,
            plan.near_midnight.len()
        )?;
        for (file, when) in &plan.near_midnight {
            writeln!(out, "  {}: {when}", dir.join(file).display())?;
        }
    }
    if plan.writes.is_empty() && plan.kept.is_empty() {
        writeln!(out, "nothing was imported")?;
        return Ok(false);
    }
    Ok(true)
}

/// Progress while a feed's pages download: a bar with an ETA at a terminal, else
/// a line a page on `err` (container logs, pipes).
struct Progress<'a> {
    label: String,
    started: Instant,
    bar: Option<indicatif::ProgressBar>,
    err: &'a mut dyn Write,
}

impl<'a> Progress<'a> {
    fn new(url: &str, err: &'a mut dyn Write) -> Self {
        let label = format!(
            "fetching {}",
            url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| url.to_string())
        );
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(label.clone());
            bar
        });
        Progress {
            label,
            started: Instant::now(),
            bar,
            err,
        }
    }

    fn page(&mut self, page: usize, so_far: usize, total: Option<usize>) {
        let total = total.filter(|t| *t >= so_far && *t > 0);
        if let Some(bar) = &self.bar {
            if let Some(total) = total
                && bar.length() != Some(total as u64)
            {
                bar.set_length(total as u64);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {pos}/{len} entries, about {eta} left",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
            }
            bar.set_position(so_far as u64);
            return;
        }
        let line = match total {
            Some(total) => format!(
                "{}: page {page}, {so_far} of {total} entries{}",
                self.label,
                eta(self.started.elapsed(), so_far, total)
                    .map(|d| format!(", about {} left", indicatif::HumanDuration(d)))
                    .unwrap_or_default()
            ),
            None => format!("{}: page {page}, {so_far} entries", self.label),
        };
        // Progress is a courtesy: a closed stderr never fails the import.
        let _ = writeln!(self.err, "{line}");
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The time left at the pace so far, once something is done.
fn eta(elapsed: Duration, done: usize, total: usize) -> Option<Duration> {
    if done == 0 || done > total {
        return None;
    }
    let per_entry = elapsed.as_secs_f64() / done as f64;
    Duration::try_from_secs_f64(per_entry * (total - done) as f64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_follows_the_pace_so_far() {
        assert_eq!(
            eta(Duration::from_secs(10), 100, 300),
            Some(Duration::from_secs(20))
        );
        assert_eq!(eta(Duration::from_secs(10), 0, 300), None);
        assert_eq!(eta(Duration::from_secs(10), 300, 300), Some(Duration::ZERO));
        assert_eq!(eta(Duration::from_secs(10), 400, 300), None);
    }
}
