//! Content hashes: the one SHA-256 helper of designs, generated folders
//! and cache keys.

use sha2::{Digest, Sha256};

/// Hex SHA-256 of bytes.
pub fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
