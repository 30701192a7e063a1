//! Reading files that come from outside (post files, their pictures, secrets):
//! regular files only, never more than a bound, and never blocking on a FIFO or
//! a device that someone named `*.md`.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The largest post file read (a post is a few kilobytes).
pub const MAX_POST_BYTES: u64 = 1 << 20;
/// The largest picture read (Mastodon's own limit for images is 16 MB).
pub const MAX_IMAGE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads at most `max` bytes of a regular file. `O_NONBLOCK` makes opening a FIFO
/// return at once (and the type check then refuses it); with `follow` false a
/// symlink in the last component is refused too (`O_NOFOLLOW`).
pub fn read_bounded(path: &Path, max: u64, follow: bool) -> std::io::Result<Vec<u8>> {
    let (file, meta) = open_regular(path, follow)?;
    if meta.len() > max {
        return Err(std::io::Error::other(format!(
            "{} bytes, more than the {max} allowed",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "more than the {max} bytes allowed"
        )));
    }
    Ok(bytes)
}

/// Opens a regular file for reading, never blocking on a FIFO (`O_NONBLOCK`, and
/// the type check refuses it); with `follow` false a symlink in the last component
/// is refused too (`O_NOFOLLOW`).
pub fn open_regular(
    path: &Path,
    follow: bool,
) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok((file, meta))
}

/// Resolves `path` (symlinks included) and checks that it is a regular file inside
/// `root` (itself resolved): the one way a post may name a picture.
pub fn confined(root: &Path, path: &Path) -> Result<PathBuf, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("cannot resolve the posts folder {}: {e}", root.display()))?;
    let resolved = path
        .canonicalize()
        .map_err(|e| format!("the image {} cannot be opened: {e}", path.display()))?;
    if !resolved.starts_with(&root) {
        return Err(format!(
            "the image {} is outside the posts folder: keep pictures beside the posts",
            path.display()
        ));
    }
    let meta = std::fs::metadata(&resolved)
        .map_err(|e| format!("the image {} cannot be opened: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "the image {} is not a regular file",
            path.display()
        ));
    }
    if meta.len() > MAX_IMAGE_BYTES {
        return Err(format!(
            "the image {} has {} bytes, more than the {MAX_IMAGE_BYTES} a publisher takes",
            path.display(),
            meta.len()
        ));
    }
    Ok(resolved)
}

/// Reads a post's picture (already confined to the posts folder by `post::load`)
/// on the blocking pool: a regular file, no symlink, at most `max` bytes.
pub async fn read_picture(file: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    if file.as_os_str().is_empty() {
        return Err(std::io::Error::other(
            "the picture was not checked against the posts folder",
        ));
    }
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || read_bounded(&file, max, false))
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_fifos_without_blocking_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("01-01-x.md");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let err = read_bounded(&fifo, 10, true).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 11]).unwrap();
        assert!(read_bounded(&big, 10, true).is_err());
        assert_eq!(read_bounded(&big, 11, true).unwrap().len(), 11);
    }

    #[test]
    fn pictures_stay_inside_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("posts");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.png"), b"png").unwrap();
        std::fs::write(dir.path().join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link.png")).unwrap();
        assert!(confined(&root, &root.join("a.png")).is_ok());
        for bad in [
            "../secret",
            "link.png",
            "/etc/passwd",
            "/proc/self/environ",
            ".",
        ] {
            assert!(confined(&root, &root.join(bad)).is_err(), "{bad}");
        }
    }
}
