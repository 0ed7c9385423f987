//! One output file, written so that a failed write never looks like a
//! success and never damages what the path pointed at.

use super::guard::kind_of;
use super::{parent_of, OutputError};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

/// Write `bytes` to `path`.
///
/// - a new path or a regular file: a temporary file beside it, renamed over
///   it (an existing file keeps its mode; a new one gets 0666 less the umask);
/// - a symbolic link: the same for the file it points to (the link stays);
/// - a character device or FIFO (`/dev/stdout`, `/dev/null`, a pipe): written
///   through, and any write error is reported;
/// - anything else (a folder, socket, block device): refused.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let target =
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::metadata(path) {
                // Follow the link to what it names.
                Ok(_) => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
                Err(_) => return Err(OutputError::refused(
                    path,
                    "it is a symbolic link to a missing file; remove the link or give its target",
                )),
            },
            _ => path.to_path_buf(),
        };
    let meta = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(OutputError::io(path)(e)),
    };
    match meta {
        None => replace(&target, bytes, None),
        Some(m) if m.is_file() => replace(&target, bytes, Some(m.permissions())),
        Some(m) if m.file_type().is_char_device() || m.file_type().is_fifo() => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(OutputError::io(path))?;
            f.write_all(bytes)
                .and_then(|_| f.flush())
                .map_err(OutputError::io(path))
        }
        Some(m) => Err(OutputError::refused(
            path,
            format!("it is {}; give a file name", kind_of(&m)),
        )),
    }
}

fn replace(
    path: &Path,
    bytes: &[u8],
    keep_mode: Option<std::fs::Permissions>,
) -> Result<(), OutputError> {
    let dir = parent_of(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".sparqgen-tmp-")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(OutputError::io(dir))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_data())
        .map_err(OutputError::io(path))?;
    if let Some(mode) = keep_mode {
        tmp.as_file()
            .set_permissions(mode)
            .map_err(OutputError::io(path))?;
    }
    tmp.persist(path)
        .map_err(|e| OutputError::io(path)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_links_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.npy");
        write_file(&f, b"one").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"one");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o600, "new files follow the umask, not 0600");

        let link = dir.path().join("link.npy");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        write_file(&link, b"two").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&f).unwrap(), b"two");

        write_file(Path::new("/dev/null"), b"x").unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        if Path::new("/dev/full").exists() {
            assert!(write_file(Path::new("/dev/full"), b"x").is_err());
        }
        let e = write_file(dir.path(), b"x").unwrap_err();
        assert!(e.to_string().contains("a folder"), "{e}");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nope/x"), &dangling).unwrap();
        assert!(write_file(&dangling, b"x").is_err());
    }
}
