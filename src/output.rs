//! Atomic output folders: everything is written into a temporary folder
//! beside the destination and renamed into place, so a failed run leaves the
//! previous output, or nothing, never half a design.

use anyhow::{Context, Result};
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

/// Write `set` as the folder `dest`, replacing what was there. The parent
/// folder is created if needed.
pub fn write_atomic(dest: &Path, set: &FileSet) -> Result<()> {
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create output folder {}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".sparqgen-tmp-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in output folder {}", parent.display()))?;
    for (rel, contents) in &set.files {
        let path = tmp.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Move the old folder aside first so that the rename cannot fail on a
    // non-empty destination, then drop it.
    let old = if dest.exists() {
        let aside = tempfile::Builder::new()
            .prefix(".sparqgen-old-")
            .tempdir_in(parent)
            .with_context(|| format!("cannot write in {}", parent.display()))?;
        let aside_path = aside.path().join("old");
        std::fs::rename(dest, &aside_path)
            .with_context(|| format!("cannot replace {}", dest.display()))?;
        Some(aside)
    } else {
        None
    };
    let tmp_path = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp_path, dest) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        if let Some(old) = &old {
            let _ = std::fs::rename(old.path().join("old"), dest);
        }
        return Err(e).with_context(|| format!("cannot move output into {}", dest.display()));
    }
    drop(old);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn replaces_whole_folder() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out/design");
        let mut a = FileSet::default();
        a.add("a.v", "one");
        a.add("sub/b.txt", "two");
        write_atomic(&dest, &a).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("sub/b.txt")).unwrap(),
            "two"
        );
        let mut b = FileSet::default();
        b.add("c.v", "three");
        write_atomic(&dest, &b).unwrap();
        assert!(!dest.join("a.v").exists());
        assert_eq!(std::fs::read_to_string(dest.join("c.v")).unwrap(), "three");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary folders left behind");
    }
}
