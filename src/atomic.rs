//! Writing a file so that readers and crashes see the old bytes or the new, never half.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a temporary file beside `path`, syncs it, renames it over
/// `path`, then syncs the folder so the rename itself survives a power cut.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_mode(path, bytes, 0o644)
}

/// [`write`] for secrets: the file is readable by its owner only from the first byte.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_mode(path, bytes, 0o600)
}

fn write_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let folder = folder_of(path);
    std::fs::create_dir_all(folder)?;
    // Unique per process and call: two writers never share a temporary file.
    let temp = temp_beside(path);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(folder)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Writes many files so that each is whole or absent after a crash, and all are on
/// disk when it returns, at one sync per file and one per folder (not one of each
/// per file, which made a 5,000-post import wait on 10,000 syncs): every file is
/// written to a temporary beside it first, then all are synced, then renamed, then
/// the folders are synced. A rerun after a crash finishes the job.
pub fn write_all(files: &[(std::path::PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    use std::collections::BTreeSet;
    use std::io::Write;
    let mut temps = Vec::with_capacity(files.len());
    let result = (|| {
        for (path, bytes) in files {
            let folder = folder_of(path);
            std::fs::create_dir_all(folder)?;
            let temp = temp_beside(path);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            temps.push(temp.clone());
            file.write_all(bytes)?;
        }
        sync_in_parallel(&temps)?;
        for ((path, _), temp) in files.iter().zip(&temps) {
            std::fs::rename(temp, path)?;
        }
        let folders: BTreeSet<&Path> = files.iter().map(|(p, _)| folder_of(p)).collect();
        for folder in folders {
            std::fs::File::open(folder)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        for temp in &temps {
            let _ = std::fs::remove_file(temp);
        }
    }
    result
}

/// Syncs every file once, from a few threads at a time: the disk (and the file
/// system's journal) then commits many syncs together instead of one after another.
fn sync_in_parallel(paths: &[std::path::PathBuf]) -> std::io::Result<()> {
    const THREADS: usize = 16;
    if paths.is_empty() {
        return Ok(());
    }
    let chunk = paths.len().div_ceil(THREADS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> std::io::Result<()> {
                    for path in part {
                        std::fs::File::open(path)?.sync_all()?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a sync thread failed")))
        })
    })
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary name beside `path`, unique per process and call.
fn temp_beside(path: &Path) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    folder_of(path).join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_many_files_whole() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<_> = (0..5)
            .map(|i| {
                (
                    dir.path().join(format!("{i:02}/x.md")),
                    vec![b'a' + i as u8; 10],
                )
            })
            .collect();
        super::write_all(&files).unwrap();
        for (path, bytes) in &files {
            assert_eq!(&std::fs::read(path).unwrap(), bytes);
            assert_eq!(
                std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
                1
            );
        }
    }

    #[test]
    fn replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/feed.xml");
        super::write(&path, b"first").unwrap();
        super::write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
