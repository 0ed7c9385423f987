//! The build cache: compiled harnesses keyed by the SHA-256 of everything
//! that goes into them (RTL, wrapper, adapter, driver, flags, tool versions).
//!
//! Location ([`root`]), shared with the HCM area fits (in its `hcm-fit`
//! folder): `$SPARQGEN_CACHE`, else `$XDG_CACHE_HOME/sparqgen`, else
//! `$HOME/.cache/sparqgen`, else `sparqgen-cache` in the system temp folder.
//! `$SPARQGEN_CACHE_DIR`, which once placed only the HCM fits, is read as
//! a deprecated alias of `$SPARQGEN_CACHE` when that is unset (with a
//! warning on stderr).
//! Every entry is built in a temporary folder and renamed into place, under
//! an exclusive lock on `locks/<key>.lock`, so two threads or processes that
//! want the same build wait for one another instead of building twice or
//! reading half a build. Entries are never modified after the rename; delete
//! the folder to reclaim space.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The variable that places the cache.
pub const VAR: &str = "SPARQGEN_CACHE";
/// Its deprecated alias (read only when [`VAR`] is unset).
pub const DEPRECATED_VAR: &str = "SPARQGEN_CACHE_DIR";

/// The cache root of this process, from the environment read once
/// ([`crate::settings`]; see the module documentation for the order).
pub fn root() -> PathBuf {
    crate::settings::get().cache.clone()
}

/// The cache root from the variables `var` returns, and the warning to
/// print when only the deprecated variable placed it.
pub fn resolve(var: impl Fn(&str) -> Option<OsString>) -> (PathBuf, Option<String>) {
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(p) = get(VAR) {
        return (PathBuf::from(p), None);
    }
    if let Some(p) = get(DEPRECATED_VAR) {
        let warning = format!(
            "warning: {DEPRECATED_VAR} is deprecated (it now places the whole sparqgen cache); \
             set {VAR}={} instead",
            Path::new(&p).display()
        );
        return (PathBuf::from(p), Some(warning));
    }
    if let Some(p) = get("XDG_CACHE_HOME") {
        return (PathBuf::from(p).join("sparqgen"), None);
    }
    if let Some(p) = get("HOME") {
        return (PathBuf::from(p).join(".cache/sparqgen"), None);
    }
    (std::env::temp_dir().join("sparqgen-cache"), None)
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

    fn resolve_with(vars: &[(&str, &str)]) -> (PathBuf, Option<String>) {
        resolve(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn one_variable_places_the_cache() {
        let home = [("HOME", "/h")];
        assert_eq!(
            resolve_with(&home),
            (PathBuf::from("/h/.cache/sparqgen"), None)
        );
        let xdg = [("HOME", "/h"), ("XDG_CACHE_HOME", "/x")];
        assert_eq!(resolve_with(&xdg).0, PathBuf::from("/x/sparqgen"));
        let set = [
            ("XDG_CACHE_HOME", "/x"),
            (VAR, "/c"),
            (DEPRECATED_VAR, "/old"),
        ];
        assert_eq!(resolve_with(&set), (PathBuf::from("/c"), None));
        // the old name alone still works, with a warning that names the new one
        let (p, w) = resolve_with(&[("HOME", "/h"), (DEPRECATED_VAR, "/old")]);
        assert_eq!(p, PathBuf::from("/old"));
        let w = w.expect("a warning");
        assert!(
            w.contains("SPARQGEN_CACHE=/old") && !w.contains('\n'),
            "{w}"
        );
        // empty values count as unset
        assert_eq!(
            resolve_with(&[(VAR, ""), ("HOME", "/h")]).0,
            PathBuf::from("/h/.cache/sparqgen")
        );
    }

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
