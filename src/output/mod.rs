//! Output that loses nothing.
//!
//! - [`write_dir`]: a folder is rendered into a temporary folder beside its
//!   destination and exchanged into place atomically (`renameat2` with
//!   `RENAME_EXCHANGE`), under an exclusive lock on the parent folder, so a
//!   killed run leaves the old folder or the new one, never neither, and two
//!   writers never interleave. A folder is only replaced when sparqgen wrote
//!   it and nobody changed it since: every folder carries `.sparqgen-sha256`
//!   (the `sha256sum` format), and anything not listed there, or changed, makes
//!   the write refuse unless forced.
//! - [`write_file`]: one file, through a temporary file and a rename; a
//!   character device or a FIFO is written through, a directory, socket or
//!   block device is refused, a symbolic link keeps pointing where it did.

mod dir;
mod file;
mod guard;
pub mod stdio;

pub use dir::{check_replaceable, write_dir, DirOptions};
pub use file::write_file;
pub use guard::{changed_files, MARKER};

use std::path::{Path, PathBuf};

/// Files to write, relative path -> contents, in the order given.
#[derive(Debug, Default, Clone)]
pub struct FileSet {
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

impl FileSet {
    pub fn add(&mut self, rel: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) {
        self.files.push((rel.into(), contents.into()));
    }

    pub fn get(&self, rel: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == Path::new(rel))
            .map(|(_, c)| c.as_slice())
    }
}

/// Why an output was not written. Nothing that existed before is changed
/// when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The destination holds something sparqgen may not replace.
    #[error("refusing to replace {path}: {why}")]
    Refused { path: String, why: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl OutputError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
        move |source| OutputError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn refused(path: &Path, why: impl Into<String>) -> OutputError {
        OutputError::Refused {
            path: path.display().to_string(),
            why: why.into(),
        }
    }
}

/// The folder a path's file lives in (`.` for a bare file name).
pub(crate) fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}
