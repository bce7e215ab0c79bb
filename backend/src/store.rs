//! falscope's own stored data, in SQLite in the data directory: one connection, a versioned
//! schema, and one file per concern — live-metric [`samples`], the daily [`cost_history`],
//! [`alerts`] rules and events, budgets and [`prices`], watched [`models`], [`sessions`] and the
//! [`audit`] trail.

mod alerts;
mod audit;
mod cost_history;
mod models;
mod prices;
mod samples;
mod sessions;

pub use cost_history::DailyCost;
pub use samples::SampleStore;

use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A storage failure (logged by callers; the dashboard keeps working without history).
#[derive(Debug, thiserror::Error)]
#[error("sample store: {0}")]
pub struct StoreError(String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self(e.to_string())
    }
}

/// Versioned schema: migration `i` brings the database to `user_version = i + 1`.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE live_samples (
        workspace TEXT NOT NULL,
        t INTEGER NOT NULL,            -- unix seconds
        app TEXT NOT NULL,
        running INTEGER NOT NULL,
        idle INTEGER NOT NULL,
        pending INTEGER NOT NULL,
        queue_size INTEGER NOT NULL,
        concurrent INTEGER NOT NULL,
        received INTEGER NOT NULL,
        PRIMARY KEY (workspace, t, app)
    ) WITHOUT ROWID;",
    // Sessions of `--auth token` (the cookie's SHA-256, never the cookie) and the audit trail.
    "CREATE TABLE sessions (
        token_sha256 BLOB PRIMARY KEY,
        user TEXT NOT NULL,
        created INTEGER NOT NULL,      -- unix seconds
        expires INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        who TEXT NOT NULL,
        ip TEXT NOT NULL,
        method TEXT NOT NULL,
        route TEXT NOT NULL,
        workspace TEXT,
        status INTEGER NOT NULL
    );",
    // Daily spend per app, kept beyond fal's query windows for forecasts and trends.
    "CREATE TABLE daily_cost (
        workspace TEXT NOT NULL,
        day TEXT NOT NULL,             -- YYYY-MM-DD, UTC
        app TEXT NOT NULL,
        cost REAL NOT NULL,
        seconds REAL NOT NULL,
        PRIMARY KEY (workspace, day, app)
    ) WITHOUT ROWID;",
    // Alert rules made in the UI, the history of firings, budgets and the admin's prices.
    "CREATE TABLE alert_rules (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        rule_json TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE alert_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        event_json TEXT NOT NULL
    );
    CREATE INDEX alert_events_rule ON alert_events (rule_id, id);
    CREATE INDEX alert_events_ws ON alert_events (workspace, id);
    CREATE TABLE budgets (
        workspace TEXT NOT NULL,
        app TEXT NOT NULL,             -- '' = the whole workspace
        monthly REAL NOT NULL,
        PRIMARY KEY (workspace, app)
    ) WITHOUT ROWID;
    CREATE TABLE prices (
        workspace TEXT NOT NULL,
        app TEXT NOT NULL,
        unit_price REAL NOT NULL,
        PRIMARY KEY (workspace, app)
    ) WITHOUT ROWID;",
    // What an audited call did (a queue flush: the app and how many were waiting), and the
    // model endpoints each workspace watches with their SLA objectives.
    "ALTER TABLE audit ADD COLUMN detail TEXT;
    CREATE TABLE watched_models (
        workspace TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        added_ms INTEGER NOT NULL,
        sla_json TEXT NOT NULL,
        PRIMARY KEY (workspace, endpoint)
    ) WITHOUT ROWID;",
];

/// SQLite in the data directory.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating and migrating) `dir/falscope.sqlite3`.
    pub fn open(dir: &Path) -> Result<Arc<Self>, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("falscope.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&conn)?;
        Ok(Arc::new(Self {
            conn: Mutex::new(conn),
        }))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(StoreError(format!(
            "the database is at schema version {version}, newer than this falscope ({}); use a newer falscope or another --data-dir",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        conn.execute_batch(&format!(
            "BEGIN; {sql} PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_database_from_the_future() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("falscope.sqlite3")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = SqliteStore::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("newer than this falscope"));
    }
}
