//! Reading the small text files a user hands over (designs, networks,
//! hardware points, manifests) with a size limit, so that `/dev/zero` or a
//! multi-gigabyte file by mistake is an error, not a hang.

use std::io::Read;
use std::path::Path;

/// Largest text input sparqgen reads (designs, networks, manifests, golden
/// vector files).
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// The file at `path` as UTF-8 text, at most [`MAX_TEXT_BYTES`].
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let f = std::fs::File::open(path)?;
    if f.metadata()?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is a folder, not a file",
        ));
    }
    let mut text = String::new();
    f.take(MAX_TEXT_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_TEXT_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB, the limit for a text input",
                MAX_TEXT_BYTES >> 20
            ),
        ));
    }
    Ok(text)
}
