//! Sessions of `--auth token`: the cookie's SHA-256 (never the cookie), its user and expiry.

use super::{vals, Store, StoreError};
use chrono::{DateTime, Utc};

/// Sessions.
impl Store {
    /// Stores a new session (and forgets expired ones).
    pub async fn create_session(
        &self,
        token_sha256: &[u8; 32],
        user: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.transaction(vec![
            (
                "DELETE FROM sessions WHERE expires <= ?1",
                vals![now.timestamp()],
            ),
            (
                "INSERT INTO sessions VALUES (?1, ?2, ?3, ?4)",
                vals![
                    token_sha256.as_slice(),
                    user,
                    now.timestamp(),
                    expires.timestamp()
                ],
            ),
        ])
        .await?;
        Ok(())
    }

    /// The user of a live session (a read: every signed-in request asks).
    pub async fn session_user(
        &self,
        token_sha256: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let rows = self
            .query(
                "SELECT \"user\" FROM sessions WHERE token_sha256 = ?1 AND expires > ?2",
                vals![token_sha256.as_slice(), now.timestamp()],
            )
            .await?;
        rows.first().map(|r| r.text(0)).transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            vals![token_sha256.as_slice()],
        )
        .await?;
        Ok(())
    }
}
