//! Short, stable names made from several strings: SHA-256 over each part's length and bytes
//! (so no two lists of parts can collide by moving a boundary), in hex, cut to a few bytes.
//! For ids that must not carry what they are made of (keys, user names) in the clear.

use sha2::{Digest, Sha256};

/// The first `bytes` bytes (at most 32) of the digest of `parts`, in lowercase hex.
pub fn of_parts<'a>(parts: impl IntoIterator<Item = &'a str>, bytes: usize) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.len().to_le_bytes());
        h.update(part);
    }
    h.finalize()
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_count_and_lengths_are_as_asked() {
        assert_ne!(of_parts(["ab", "c"], 16), of_parts(["a", "bc"], 16));
        assert_eq!(of_parts(["x"], 8).len(), 16);
        assert_eq!(of_parts(["x"], 8), of_parts(["x"], 8));
    }
}
