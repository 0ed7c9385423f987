//! The build cache: compiled harnesses keyed by the SHA-256 of everything
//! that goes into them (RTL, wrapper, adapter, driver, flags, tool versions).
//!
//! Location: `$SPARQGEN_CACHE`, else `$XDG_CACHE_HOME/sparqgen`, else
//! `$HOME/.cache/sparqgen`, else `sparqgen-cache` in the system temp folder.
//! Every entry is built in a temporary folder and renamed into place, under
//! an exclusive lock on `locks/<key>.lock`, so two threads or processes that
//! want the same build wait for one another instead of building twice or
//! reading half a build. Entries are never modified after the rename; delete
//! the folder to reclaim space.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The cache root.
pub fn root() -> PathBuf {
    if let Some(p) = std::env::var_os("SPARQGEN_CACHE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("sparqgen");
    }
    if let Some(p) = std::env::var_os("HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join(".cache/sparqgen");
    }
    std::env::temp_dir().join("sparqgen-cache")
}

/// An exclusive lock held while building `key`; released on drop.
pub struct KeyLock {
    _file: File,
}

/// Block until this process holds the lock for `key` under `dir`.
pub fn lock(dir: &Path, key: &str) -> std::io::Result<KeyLock> {
    let locks = dir.join("locks");
    std::fs::create_dir_all(&locks)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(locks.join(format!("{key}.lock")))?;
    file.lock()?;
    Ok(KeyLock { _file: file })
}

/// A fresh temporary folder beside the final entry `dest`.
pub fn staging(dest: &Path) -> std::io::Result<tempfile::TempDir> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(parent)
}

/// Move a finished staging folder to `dest` (which must not exist yet).
pub fn publish(staging: tempfile::TempDir, dest: &Path) -> std::io::Result<()> {
    let path = staging.keep();
    match std::fs::rename(&path, dest) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&path);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_serializes_threads() {
        let dir = tempfile::tempdir().unwrap();
        let inside = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let _l = lock(dir.path(), "k").unwrap();
                    let n = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    assert_eq!(n, 0, "two holders at once");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
        });
    }
}
