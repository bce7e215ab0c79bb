//! argon2id hashes of passwords and API tokens, and random secrets for tokens and sessions.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A PHC string (`$argon2id$v=19$...`) of `secret` with argon2's default cost.
pub fn hash(secret: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `phc` parses as a password hash (checked when the auth file is read).
pub fn is_valid_hash(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok()
}

/// Verifies `secret` against a PHC string; the cost comes from the string itself. Slow on
/// purpose: call it off the async threads.
pub fn verify(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok()
    })
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|e| format!("no system randomness: {e}"))?;
    Ok(buf)
}

/// A new API token or session id: 32 random bytes, URL-safe base64, prefixed so it is
/// recognisable in a secret scanner.
pub fn new_secret(prefix: &str) -> Result<String, String> {
    let bytes = random_bytes::<32>()?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// SHA-256, for storing and caching high-entropy secrets without keeping them.
pub fn sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Equal digests, compared in constant time (no early exit on the first differing byte).
pub fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lowercase hex of a digest (`token_sha256` in the auth file).
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_secret() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(is_valid_hash(&h));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong", &h));
        assert!(!verify("x", "not a hash"));
        let a = new_secret("fsk_").unwrap();
        assert!(a.starts_with("fsk_") && a.len() > 40);
        assert_ne!(a, new_secret("fsk_").unwrap());
    }
}
