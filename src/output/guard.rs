//! Which folders sparqgen may replace: the ones it wrote, unchanged since.
//! Each folder sparqgen writes lists its files with their SHA-256 in
//! [`MARKER`] (the format `sha256sum -c` reads).

use super::FileSet;
use crate::hash::hex_sha256;
use std::collections::BTreeMap;
use std::path::Path;

/// The file inside every folder sparqgen writes that lists the folder's
/// files and their SHA-256 (`sha256sum` format, paths relative to it).
pub const MARKER: &str = ".sparqgen-sha256";

/// The marker's text for a file set.
pub(crate) fn marker_text(set: &FileSet) -> String {
    let mut out = String::new();
    for (rel, contents) in &set.files {
        out.push_str(&hex_sha256(contents));
        out.push_str("  ");
        out.push_str(&rel.to_string_lossy());
        out.push('\n');
    }
    out
}

fn parse_marker(text: &str) -> Option<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (hash, rel) = line.split_once("  ")?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        map.insert(rel.to_string(), hash.to_string());
    }
    Some(map)
}

/// Why the folder at `dest` must not be replaced, or `None` when it may be:
/// it does not exist, is empty, or sparqgen wrote it and every file in it
/// (outside the top-level subfolders in `keep`, which are carried over) is
/// one it listed, unchanged.
pub(crate) fn why_not_replaceable(dest: &Path, keep: &[&str]) -> Option<String> {
    let meta = match std::fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(format!("cannot inspect it ({e})")),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return Some(format!(
            "it is {}, not a folder sparqgen wrote; move it away or choose another output folder",
            kind_of(&meta)
        ));
    }
    let entries = match std::fs::read_dir(dest) {
        Ok(e) => e,
        Err(e) => return Some(format!("cannot list it ({e})")),
    };
    if entries.count() == 0 {
        return None;
    }
    let listed = match std::fs::read_to_string(dest.join(MARKER)) {
        Ok(text) => match parse_marker(&text) {
            Some(m) => m,
            None => return Some(format!("its {MARKER} is not a file list sparqgen wrote")),
        },
        Err(_) => {
            return Some(format!(
                "it exists and was not written by sparqgen (it has no {MARKER}), so \
                 replacing it could lose your files"
            ))
        }
    };
    let mut problems = Vec::new();
    walk(dest, "", keep, &listed, &mut problems);
    if problems.is_empty() {
        return None;
    }
    let n = problems.len();
    problems.truncate(5);
    Some(format!(
        "{} since sparqgen wrote it{}",
        problems.join("; "),
        if n > 5 {
            format!(" (and {} more)", n - 5)
        } else {
            String::new()
        }
    ))
}

fn walk(
    dir: &Path,
    prefix: &str,
    keep: &[&str],
    listed: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(format!("{} cannot be listed ({e})", dir.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        if prefix.is_empty() && (name == MARKER || keep.contains(&name.as_str())) {
            continue;
        }
        let meta = match entry.path().symlink_metadata() {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{rel} cannot be read ({e})"));
                continue;
            }
        };
        if meta.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), keep, listed, problems);
        } else if !meta.is_file() {
            problems.push(format!("{rel} ({}) was added", kind_of(&meta)));
        } else {
            match listed.get(&rel) {
                None => problems.push(format!("{rel} was added")),
                Some(want) => match std::fs::read(entry.path()) {
                    Ok(bytes) if &hex_sha256(&bytes) == want => {}
                    Ok(_) => problems.push(format!("{rel} was edited")),
                    Err(e) => problems.push(format!("{rel} cannot be read ({e})")),
                },
            }
        }
    }
}

/// "a regular file", "a symbolic link", ... for messages.
pub(crate) fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_file() {
        "a regular file"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else {
        "not a regular file"
    }
}

/// The files [`MARKER`] lists in `dir` that no longer match (edited or
/// missing); `None` when the folder has no marker.
pub fn changed_files(dir: &Path) -> Option<Vec<String>> {
    let listed = parse_marker(&std::fs::read_to_string(dir.join(MARKER)).ok()?)?;
    Some(
        listed
            .into_iter()
            .filter(|(rel, want)| {
                std::fs::read(dir.join(rel)).map_or(true, |b| &hex_sha256(&b) != want)
            })
            .map(|(rel, _)| rel)
            .collect(),
    )
}
