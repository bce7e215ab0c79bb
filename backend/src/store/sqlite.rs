//! The default engine: SQLite in the data directory, one connection (used on the blocking
//! pool, never on a runtime thread), versioned by `user_version`.

use super::{Engine, Row, StoreError, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Failed(e.to_string())
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
    // Alert notifications are recorded before they are sent (an outbox): one left unsent by a
    // replica that died is sent by the next. Older events count as sent.
    "ALTER TABLE alert_events ADD COLUMN delivered INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE alert_events ADD COLUMN claimed_ms INTEGER;
    CREATE INDEX alert_events_pending ON alert_events (delivered, id);",
    // A claim belongs to the alerts lease's term: the next leader takes over at once what an
    // older term claimed and did not confirm.
    "ALTER TABLE alert_events ADD COLUMN claim_term INTEGER NOT NULL DEFAULT 0;",
];

/// SQLite in the data directory.
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    /// Opens (creating and migrating) `dir/falscope.sqlite3`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Failed(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("falscope.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Failed(format!("the database task failed: {e}")))?
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Self::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Self::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Self::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Self::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

fn read_row(r: &rusqlite::Row<'_>, columns: usize) -> rusqlite::Result<Row> {
    let mut out = Vec::with_capacity(columns);
    for i in 0..columns {
        out.push(match r.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Real(v) => Value::Real(v),
            ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
            ValueRef::Blob(v) => Value::Bytes(v.to_vec()),
        });
    }
    Ok(Row(out))
}

fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.execute(rusqlite::params_from_iter(params))?;
    Ok(n as u64)
}

#[async_trait::async_trait]
impl Engine for Sqlite {
    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let sql = sql.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let columns = stmt.column_count();
            let rows = stmt.query_map(rusqlite::params_from_iter(&params), |r| {
                read_row(r, columns)
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let sql = sql.to_owned();
        self.with(move |conn| execute(conn, &sql, &params)).await
    }

    async fn transaction(
        &self,
        statements: Vec<(&'static str, Vec<Value>)>,
    ) -> Result<Vec<u64>, StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let mut changed = Vec::with_capacity(statements.len());
            for (sql, params) in &statements {
                changed.push(execute(&tx, sql, params)?);
            }
            tx.commit()?;
            Ok(changed)
        })
        .await
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Failed(format!(
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
        let err = Sqlite::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("newer than this falscope"));
    }
}
