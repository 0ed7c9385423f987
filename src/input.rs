//! Reading the small text files a user hands over (designs, networks,
//! hardware points, manifests) and models with a size limit, so that `/dev/zero` or a
//! multi-gigabyte file by mistake is an error, not a hang.

use std::io::Read;
use std::path::Path;

/// Largest text input sparqgen reads (designs, networks, manifests, golden
/// vector files).
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Largest binary model sparqgen reads (ONNX's protobuf limit).
pub const MAX_MODEL_BYTES: u64 = 2 << 30;

/// The file at `path`, at most `limit` bytes (`what` names the kind of
/// input in the error).
pub fn read_bytes(path: &Path, limit: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    if f.metadata()?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is a folder, not a file",
        ));
    }
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB, the limit for {what}",
                limit >> 20
            ),
        ));
    }
    Ok(bytes)
}

/// The file at `path` as UTF-8 text, at most [`MAX_TEXT_BYTES`].
pub fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_bytes(path, MAX_TEXT_BYTES, "a text input")?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}
