//! Atomic, guarded replacement of a whole folder.

use super::guard::{marker_text, why_not_replaceable, MARKER};
use super::{parent_of, FileSet, OutputError};
use std::fs::File;
use std::path::{Path, PathBuf};

/// How [`write_dir`] treats an existing destination.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirOptions<'a> {
    /// Replace a folder that sparqgen did not write, or whose files were
    /// changed since (never a file, link or device in the folder's place).
    pub force: bool,
    /// Top-level subfolders of an existing destination carried over into the
    /// new folder (e.g. `reports`, written there by a later command).
    pub keep: &'a [&'a str],
}

/// Write `set` as the folder `dest` (plus its [`MARKER`]), replacing what was
/// there if sparqgen may. The parent folder is created if needed.
pub fn write_dir(dest: &Path, set: &FileSet, opts: &DirOptions) -> Result<(), OutputError> {
    let parent = parent_of(dest);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| OutputError::refused(dest, "it names no folder (it ends in `..` or `/`)"))?;
    if let Ok(m) = std::fs::metadata(parent) {
        if !m.is_dir() {
            return Err(OutputError::refused(
                dest,
                format!(
                    "its output folder {} is {}, not a folder",
                    parent.display(),
                    super::guard::kind_of(&m)
                ),
            ));
        }
    }
    std::fs::create_dir_all(parent).map_err(OutputError::io(parent))?;
    // One writer per parent folder at a time; the lock ends with the process.
    let lock = File::open(parent).map_err(OutputError::io(parent))?;
    lock.lock().map_err(OutputError::io(parent))?;
    recover(parent, &name, dest)?;

    check_replaceable(dest, opts)?;

    let tmp = tempfile::Builder::new()
        .prefix(&format!(".sparqgen-tmp-{name}."))
        .permissions(dir_permissions())
        .tempdir_in(parent)
        .map_err(OutputError::io(parent))?;
    for (rel, contents) in &set.files {
        let path = tmp.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(OutputError::io(dir))?;
        }
        std::fs::write(&path, contents).map_err(OutputError::io(&path))?;
    }
    let marker = tmp.path().join(MARKER);
    std::fs::write(&marker, marker_text(set)).map_err(OutputError::io(&marker))?;
    for k in opts.keep {
        let from = dest.join(k);
        if std::fs::symlink_metadata(&from).is_ok_and(|m| m.is_dir()) {
            copy_tree(&from, &tmp.path().join(k))?;
        }
    }

    let tmp_path = tmp.keep();
    let swapped = if dest.symlink_metadata().is_ok() {
        exchange(&tmp_path, dest, parent, &name)
    } else {
        rename_noreplace(&tmp_path, dest)
    };
    match swapped {
        // tmp_path now holds the old folder (or nothing).
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&tmp_path);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp_path);
            Err(OutputError::io(dest)(e))
        }
    }
}

/// Whether [`write_dir`] may replace `dest` with these options; long runs
/// ask before they start, so a refusal costs no work.
pub fn check_replaceable(dest: &Path, opts: &DirOptions) -> Result<(), OutputError> {
    let Some(why) = why_not_replaceable(dest, opts.keep) else {
        return Ok(());
    };
    let is_dir = std::fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir());
    if opts.force && is_dir {
        return Ok(());
    }
    let hint = if is_dir {
        "; --force replaces it anyway"
    } else {
        ""
    };
    Err(OutputError::refused(dest, format!("{why}{hint}")))
}

/// Mode for new folders: 0777 less the umask (the kernel applies it).
fn dir_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o777)
}

/// Clean up after a run that was killed: restore a folder moved aside by the
/// fallback path if the destination is missing, drop temporaries.
fn recover(parent: &Path, name: &str, dest: &Path) -> Result<(), OutputError> {
    let tmp_prefix = format!(".sparqgen-tmp-{name}.");
    let old_prefix = format!(".sparqgen-old-{name}.");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    let mut olds = Vec::new();
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&tmp_prefix) || is_legacy_tmp(&n) {
            let _ = std::fs::remove_dir_all(e.path());
        } else if n.starts_with(&old_prefix) {
            olds.push(e.path());
        }
    }
    for old in olds {
        if dest.symlink_metadata().is_err() {
            std::fs::rename(&old, dest).map_err(OutputError::io(dest))?;
        } else {
            let _ = std::fs::remove_dir_all(&old);
        }
    }
    Ok(())
}

/// Temporaries of sparqgen 0.1's writer (`.sparqgen-tmp-XXXXXX`): partial
/// outputs, never the only copy of anything.
fn is_legacy_tmp(n: &str) -> bool {
    n.strip_prefix(".sparqgen-tmp-")
        .is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(to).map_err(OutputError::io(to))?;
    for e in std::fs::read_dir(from).map_err(OutputError::io(from))? {
        let e = e.map_err(OutputError::io(from))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let meta = src.symlink_metadata().map_err(OutputError::io(&src))?;
        if meta.is_dir() {
            copy_tree(&src, &dst)?;
        } else if meta.is_file() {
            std::fs::copy(&src, &dst).map_err(OutputError::io(&src))?;
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&src).map_err(OutputError::io(&src))?;
            std::os::unix::fs::symlink(target, &dst).map_err(OutputError::io(&dst))?;
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"))
    };
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: both are NUL-terminated paths that live across the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            flags,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Swap `tmp` and `dest` in one step; where the file system cannot, move the
/// old folder aside under a name [`recover`] knows, then move `tmp` in.
fn exchange(tmp: &Path, dest: &Path, parent: &Path, name: &str) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    match renameat2(tmp, dest, libc::RENAME_EXCHANGE) {
        Ok(()) => return Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {}
        Err(e) => return Err(e),
    }
    // An empty folder with a name `recover` knows; rename replaces it.
    let aside: PathBuf = tempfile::Builder::new()
        .prefix(&format!(".sparqgen-old-{name}."))
        .tempdir_in(parent)?
        .keep();
    std::fs::rename(dest, &aside)?;
    if let Err(e) = std::fs::rename(tmp, dest) {
        let _ = std::fs::rename(&aside, dest);
        return Err(e);
    }
    std::fs::rename(&aside, tmp)
}

fn rename_noreplace(tmp: &Path, dest: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    match renameat2(tmp, dest, libc::RENAME_NOREPLACE) {
        Ok(()) => return Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {}
        Err(e) => return Err(e),
    }
    std::fs::rename(tmp, dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> FileSet {
        let mut s = FileSet::default();
        for (p, c) in files {
            s.add(*p, *c);
        }
        s
    }

    #[test]
    fn replaces_its_own_folder_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out/design");
        let opts = DirOptions::default();
        write_dir(&dest, &set(&[("a.v", "one"), ("sub/b.txt", "two")]), &opts).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("sub/b.txt")).unwrap(),
            "two"
        );
        write_dir(&dest, &set(&[("c.v", "three")]), &opts).unwrap();
        assert!(!dest.join("a.v").exists());
        assert_eq!(std::fs::read_to_string(dest.join("c.v")).unwrap(), "three");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("out")).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary folders left behind");
    }

    #[test]
    fn refuses_user_folders_edits_and_files_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("src");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("main.rs"), "fn main() {}").unwrap();
        let s = set(&[("a.v", "one")]);
        let e = write_dir(&dest, &s, &DirOptions::default()).unwrap_err();
        assert!(e.to_string().contains("not written by sparqgen"), "{e}");
        assert!(dest.join("main.rs").exists());

        let ours = dir.path().join("ours");
        write_dir(&ours, &s, &DirOptions::default()).unwrap();
        std::fs::write(ours.join("a.v"), "edited").unwrap();
        let e = write_dir(&ours, &s, &DirOptions::default()).unwrap_err();
        assert!(e.to_string().contains("a.v was edited"), "{e}");
        std::fs::write(ours.join("a.v"), "one").unwrap();
        std::fs::write(ours.join("notes.txt"), "mine").unwrap();
        let e = write_dir(&ours, &s, &DirOptions::default()).unwrap_err();
        assert!(e.to_string().contains("notes.txt was added"), "{e}");
        let forced = DirOptions {
            force: true,
            ..DirOptions::default()
        };
        write_dir(&ours, &s, &forced).unwrap();
        assert!(!ours.join("notes.txt").exists());

        let file = dir.path().join("plain");
        std::fs::write(&file, "data").unwrap();
        let e = write_dir(&file, &s, &forced).unwrap_err();
        assert!(e.to_string().contains("a regular file"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
    }

    #[test]
    fn keeps_named_subfolders_and_recovers_a_killed_run() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("d");
        let opts = DirOptions {
            force: false,
            keep: &["reports"],
        };
        write_dir(&dest, &set(&[("a.v", "1")]), &opts).unwrap();
        write_dir(&dest.join("reports"), &set(&[("r.md", "area")]), &opts).unwrap();
        write_dir(&dest, &set(&[("a.v", "2")]), &opts).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("reports/r.md")).unwrap(),
            "area"
        );
        // A run killed between the two renames of the fallback path.
        let aside = dir.path().join(".sparqgen-old-d.abc123");
        std::fs::rename(&dest, &aside).unwrap();
        std::fs::create_dir(dir.path().join(".sparqgen-tmp-d.xyz")).unwrap();
        write_dir(&dir.path().join("other"), &set(&[("x", "y")]), &opts).unwrap();
        write_dir(&dest, &set(&[("a.v", "3")]), &opts).unwrap();
        assert_eq!(std::fs::read_to_string(dest.join("a.v")).unwrap(), "3");
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["d", "other"]);
    }
}
