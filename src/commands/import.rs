//! `import blogger`: a Blogger export or a blog's feed into post files.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

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
