//! Sessions of `--auth token` (stored by the SHA-256 of their token).

use super::{SqliteStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::params;

/// Sessions.
impl SqliteStore {
    /// Stores a new session.
    pub fn create_session(
        &self,
        token_sha256: &[u8; 32],
        user: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        // Expired sessions go here, on the rare write, not on every request's lookup.
        conn.execute(
            "DELETE FROM sessions WHERE expires <= ?1",
            params![now.timestamp()],
        )?;
        conn.execute(
            "INSERT INTO sessions VALUES (?1, ?2, ?3, ?4)",
            params![
                token_sha256.as_slice(),
                user,
                now.timestamp(),
                expires.timestamp()
            ],
        )?;
        Ok(())
    }

    /// The user of a live session (a read: every signed-in request asks).
    pub fn session_user(
        &self,
        token_sha256: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT user FROM sessions WHERE token_sha256 = ?1 AND expires > ?2")?;
        let mut rows = stmt.query(params![token_sha256.as_slice(), now.timestamp()])?;
        Ok(match rows.next()? {
            Some(r) => Some(r.get(0)?),
            None => None,
        })
    }

    /// Ends a session.
    pub fn delete_session(&self, token_sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            params![token_sha256.as_slice()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::auth::AuditEntry;
    #[test]
    fn sessions_expire_and_audit_lists_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        store.create_session(&[1; 32], "ann", t(0), t(100)).unwrap();
        assert_eq!(
            store.session_user(&[1; 32], t(99)).unwrap().as_deref(),
            Some("ann")
        );
        assert_eq!(store.session_user(&[2; 32], t(99)).unwrap(), None);
        assert_eq!(
            store.session_user(&[1; 32], t(100)).unwrap(),
            None,
            "expired"
        );
        store.create_session(&[3; 32], "bob", t(0), t(100)).unwrap();
        store.delete_session(&[3; 32]).unwrap();
        assert_eq!(
            store.session_user(&[3; 32], t(1)).unwrap(),
            None,
            "logged out"
        );
        for (i, who) in ["ann", "bob"].into_iter().enumerate() {
            store
                .audit_insert(&AuditEntry {
                    at: t(i as i64),
                    who: who.into(),
                    ip: "127.0.0.1".into(),
                    method: "POST".into(),
                    route: "/api/auth/login".into(),
                    workspace: None,
                    status: 200,
                    detail: None,
                })
                .unwrap();
        }
        let list = store.audit_list(10).unwrap();
        assert_eq!(
            list.iter().map(|e| e.who.as_str()).collect::<Vec<_>>(),
            ["bob", "ann"]
        );
    }
}
