//! One writer per state folder: an advisory lock (`flock`) on a file in it.
//!
//! `daemon.lock` is held by `todayis run` for its whole life, so two daemons never
//! share a state folder; `publish.lock` is held around every publication (the
//! daemon's and `todayis publish`'s), so the journal and the feed's item store are
//! read and written by one process at a time. The kernel drops a lock when its
//! holder dies, so a crash never leaves the folder locked.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The folder is held by another process.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the state folder {} is in use by {holder}{}", folder.display(), advice)]
pub struct LockError {
    pub folder: PathBuf,
    /// Who holds it, as that process wrote it: pid, command and since when.
    pub holder: String,
    pub advice: &'static str,
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

pub const DAEMON: &str = "daemon.lock";
pub const PUBLISH: &str = "publish.lock";

impl StateLock {
    /// Takes the lock `name` in `state` if it is free; `holder` says who we are.
    pub fn try_acquire(
        state: &Path,
        name: &str,
        holder: &str,
    ) -> std::io::Result<Option<StateLock>> {
        std::fs::create_dir_all(state)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(state.join(name))?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                file.rewind()?;
                file.write_all(holder.as_bytes())?;
                Ok(Some(StateLock { _file: file }))
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Who holds `name` in `state`, as it described itself.
    pub fn holder(state: &Path, name: &str) -> String {
        let mut text = String::new();
        let _ = std::fs::File::open(state.join(name))
            .and_then(|f| f.take(512).read_to_string(&mut text));
        let text = text.trim();
        if text.is_empty() {
            "another process".into()
        } else {
            text.to_string()
        }
    }

    /// Takes the lock, waiting up to `wait` (in steps of 100 ms) for its holder to
    /// finish; then fails naming the holder.
    pub async fn acquire(
        state: &Path,
        name: &str,
        holder: &str,
        wait: Duration,
    ) -> Result<StateLock, AcquireError> {
        let step = Duration::from_millis(100);
        let attempts = (wait.as_millis() / step.as_millis()).max(1);
        for attempt in 0..attempts {
            if let Some(lock) =
                Self::try_acquire(state, name, holder).map_err(|e| AcquireError::Io {
                    folder: state.to_path_buf(),
                    source: e,
                })?
            {
                return Ok(lock);
            }
            if attempt + 1 < attempts {
                tokio::time::sleep(step).await;
            }
        }
        Err(AcquireError::Busy(LockError {
            folder: state.to_path_buf(),
            holder: Self::holder(state, name),
            advice: ": it is publishing; try again when it is done",
        }))
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    #[error(transparent)]
    Busy(LockError),
    #[error("cannot lock the state folder {}: {source}; check that it is writable", folder.display())]
    Io {
        folder: PathBuf,
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_holder_at_a_time_and_the_second_is_told_who() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::try_acquire(dir.path(), PUBLISH, "pid 1 (todayis run)")
            .unwrap()
            .unwrap();
        let err = StateLock::acquire(dir.path(), PUBLISH, "pid 2", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("in use by pid 1 (todayis run)"),
            "{err}"
        );
        drop(first);
        StateLock::acquire(dir.path(), PUBLISH, "pid 2", Duration::from_secs(1))
            .await
            .unwrap();
    }
}
