//! The shared engine (`--database-url postgres://…`): what several replicas store in one
//! place. A small connection pool; the schema is migrated at start inside one transaction
//! holding an advisory lock, so replicas starting together migrate once, in turn.
//! Connections are plain TCP or a Unix socket (no TLS): keep Postgres on a private network.

use super::{Engine, Row, StoreError, Value};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::NoTls;

/// Versioned schema: migration `i` brings the database to version `i + 1` (kept in
/// `falscope_schema`). The same tables as SQLite's, in Postgres's types.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE live_samples (
        workspace TEXT NOT NULL,
        t BIGINT NOT NULL,
        app TEXT NOT NULL,
        running BIGINT NOT NULL,
        idle BIGINT NOT NULL,
        pending BIGINT NOT NULL,
        queue_size BIGINT NOT NULL,
        concurrent BIGINT NOT NULL,
        received BIGINT NOT NULL,
        PRIMARY KEY (workspace, t, app)
    );
    CREATE TABLE sessions (
        token_sha256 BYTEA PRIMARY KEY,
        \"user\" TEXT NOT NULL,
        created BIGINT NOT NULL,
        expires BIGINT NOT NULL
    );
    CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at_ms BIGINT NOT NULL,
        who TEXT NOT NULL,
        ip TEXT NOT NULL,
        method TEXT NOT NULL,
        route TEXT NOT NULL,
        workspace TEXT,
        status BIGINT NOT NULL,
        detail TEXT
    );
    CREATE TABLE daily_cost (
        workspace TEXT NOT NULL,
        day TEXT NOT NULL,
        app TEXT NOT NULL,
        cost DOUBLE PRECISION NOT NULL,
        seconds DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (workspace, day, app)
    );
    CREATE TABLE alert_rules (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        rule_json TEXT NOT NULL
    );
    CREATE TABLE alert_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        workspace TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        event_json TEXT NOT NULL
    );
    CREATE INDEX alert_events_rule ON alert_events (rule_id, id);
    CREATE INDEX alert_events_ws ON alert_events (workspace, id);
    CREATE TABLE budgets (
        workspace TEXT NOT NULL,
        app TEXT NOT NULL,
        monthly DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (workspace, app)
    );
    CREATE TABLE prices (
        workspace TEXT NOT NULL,
        app TEXT NOT NULL,
        unit_price DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (workspace, app)
    );
    CREATE TABLE watched_models (
        workspace TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        added_ms BIGINT NOT NULL,
        sla_json TEXT NOT NULL,
        PRIMARY KEY (workspace, endpoint)
    );",
    // Alert notifications are recorded before they are sent (an outbox).
    "ALTER TABLE alert_events ADD COLUMN delivered BIGINT NOT NULL DEFAULT 1;
    ALTER TABLE alert_events ADD COLUMN claimed_ms BIGINT;
    CREATE INDEX alert_events_pending ON alert_events (delivered, id);",
    // A claim belongs to the alerts lease's term (see the SQLite migration).
    "ALTER TABLE alert_events ADD COLUMN claim_term BIGINT NOT NULL DEFAULT 0;",
];

/// The advisory lock migrations are run under (any constant; `falscope` in ASCII).
const MIGRATION_LOCK: i64 = 0x66_616c_7363_6f70;

/// Longest wait for a connection: past it the database counts as unreachable.
const CONNECT_WITHIN: Duration = Duration::from_secs(2);
/// Connections in the pool.
const POOL_SIZE: usize = 8;

/// Postgres over a connection pool.
pub struct Postgres {
    pool: Pool,
}

/// `--database-url` is not usable.
fn bad_url(why: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(format!(
        "--database-url (FALSCOPE_DATABASE_URL) is not a Postgres URL ({why}); use postgres://user:password@host:5432/falscope"
    ))
}

impl Postgres {
    /// Connects to `url` and migrates the schema.
    pub async fn connect(url: &SecretString) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.expose_secret().parse().map_err(bad_url)?;
        config.connect_timeout(CONNECT_WITHIN);
        config.application_name("falscope");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_WITHIN))
            .wait_timeout(Some(CONNECT_WITHIN))
            .recycle_timeout(Some(CONNECT_WITHIN))
            .build()
            .map_err(bad_url)?;
        let this = Self { pool };
        this.migrate().await?;
        Ok(this)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => classify(&e),
            other => StoreError::Unavailable(other.to_string()),
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| classify(&e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| classify(&e))?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS falscope_schema (version BIGINT NOT NULL)")
            .await
            .map_err(|e| classify(&e))?;
        let version: i64 = tx
            .query_opt("SELECT version FROM falscope_schema", &[])
            .await
            .map_err(|e| classify(&e))?
            .map_or(0, |r| r.get(0));
        let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > known {
            return Err(StoreError::Failed(format!(
                "the database is at schema version {version}, newer than this falscope ({known}); use a newer falscope or another database"
            )));
        }
        for sql in MIGRATIONS
            .iter()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.batch_execute(sql).await.map_err(|e| classify(&e))?;
        }
        tx.execute("DELETE FROM falscope_schema", &[])
            .await
            .map_err(|e| classify(&e))?;
        tx.execute("INSERT INTO falscope_schema VALUES ($1)", &[&known])
            .await
            .map_err(|e| classify(&e))?;
        tx.commit().await.map_err(|e| classify(&e))
    }
}

/// A failure that means "the database is not available right now" — no answer (closed,
/// refused, timed out), or an answer saying so ([`not_now`]) — is "unreachable" (a 503 that
/// can be tried again); any other answer is a failure.
fn classify(e: &tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) if !not_now(db.code()) => {
            StoreError::Failed(format!("{}: {}", db.code().code(), db.message()))
        }
        Some(db) => StoreError::Unavailable(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Unavailable(e.to_string()),
    }
}

/// SQLSTATEs of a database that is shutting down, starting up, restarting, out of
/// connections or cut off: class 08 (connection exception), class 57 (operator intervention:
/// `57P01` terminating connection due to administrator command, `57P02` crash shutdown,
/// `57P03` the database system is starting up / shutting down, `57014` canceled), and class
/// 53 (insufficient resources: too many connections, out of memory or disk).
fn not_now(code: &tokio_postgres::error::SqlState) -> bool {
    let code = code.code();
    code.starts_with("08") || code.starts_with("57") || code.starts_with("53")
}

/// `?1` → `$1`: the SQL is written once, in SQLite's numbered style (a `?` not followed by a
/// digit is left alone).
fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let numbered = c == '?' && chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if numbered { '$' } else { c });
    }
    out
}

impl Postgres {
    /// One read; a connection that failed with "not now" is dropped, not pooled again.
    async fn query_once(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let rows = match client.prepare_cached(&dollars(sql)).await {
            Ok(stmt) => client.query(&stmt, &refs(params)).await,
            Err(e) => Err(e),
        };
        match rows {
            Ok(rows) => rows.iter().map(read_row).collect(),
            Err(e) => {
                let err = classify(&e);
                if matches!(err, StoreError::Unavailable(_)) {
                    drop(deadpool_postgres::Object::take(client));
                }
                Err(err)
            }
        }
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let wrong = || -> Box<dyn std::error::Error + Sync + Send> {
            format!("{self:?} cannot be bound to a {ty} parameter").into()
        };
        match (self, ty) {
            (Self::Null, _) => Ok(IsNull::Yes),
            (Self::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (Self::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (Self::Int(v), &Type::INT2) => i16::try_from(*v)?.to_sql(ty, out),
            #[allow(clippy::cast_precision_loss, reason = "a count compared to a float")]
            (Self::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (Self::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (Self::Text(v), &Type::TEXT | &Type::VARCHAR | &Type::NAME) => v.to_sql(ty, out),
            (Self::Bytes(v), &Type::BYTEA) => v.to_sql(ty, out),
            _ => Err(wrong()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn read_row(r: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut out = Vec::with_capacity(r.len());
    for (i, column) in r.columns().iter().enumerate() {
        let failed = |e: tokio_postgres::Error| StoreError::Failed(e.to_string());
        let v = match *column.type_() {
            Type::INT8 => r
                .try_get::<_, Option<i64>>(i)
                .map_err(failed)?
                .map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)
                .map_err(failed)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)
                .map_err(failed)?
                .map(|v| Value::Int(v.into())),
            Type::FLOAT8 => r
                .try_get::<_, Option<f64>>(i)
                .map_err(failed)?
                .map(Value::Real),
            Type::FLOAT4 => r
                .try_get::<_, Option<f32>>(i)
                .map_err(failed)?
                .map(|v| Value::Real(v.into())),
            Type::TEXT | Type::VARCHAR | Type::NAME => r
                .try_get::<_, Option<String>>(i)
                .map_err(failed)?
                .map(Value::Text),
            Type::BYTEA => r
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(failed)?
                .map(Value::Bytes),
            ref other => {
                return Err(StoreError::Failed(format!(
                    "column {} has type {other}, which falscope does not read (cast it)",
                    column.name()
                )))
            }
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

#[async_trait::async_trait]
impl Engine for Postgres {
    /// A read the database could not answer right now is tried once more, on a fresh
    /// connection (a restart closes every pooled one).
    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        match self.query_once(sql, &params).await {
            Err(StoreError::Unavailable(why)) => {
                tracing::debug!(%why, "a read failed on its connection; trying a fresh one");
                self.query_once(sql, &params).await
            }
            done => done,
        }
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&dollars(sql))
            .await
            .map_err(|e| classify(&e))?;
        client
            .execute(&stmt, &refs(&params))
            .await
            .map_err(|e| classify(&e))
    }

    async fn transaction(
        &self,
        statements: Vec<(&'static str, Vec<Value>)>,
    ) -> Result<Vec<u64>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| classify(&e))?;
        let mut changed = Vec::with_capacity(statements.len());
        for (sql, params) in &statements {
            let stmt = tx
                .prepare_cached(&dollars(sql))
                .await
                .map_err(|e| classify(&e))?;
            changed.push(
                tx.execute(&stmt, &refs(params))
                    .await
                    .map_err(|e| classify(&e))?,
            );
        }
        tx.commit().await.map_err(|e| classify(&e))?;
        Ok(changed)
    }

    fn name(&self) -> &'static str {
        "postgres"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_shutting_down_or_starting_is_unavailable_not_failed() {
        use tokio_postgres::error::SqlState;
        for code in [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::CONNECTION_FAILURE,
            SqlState::CONNECTION_EXCEPTION,
            SqlState::TOO_MANY_CONNECTIONS,
        ] {
            assert!(not_now(&code), "{code:?}");
        }
        for code in [
            SqlState::UNIQUE_VIOLATION,
            SqlState::SYNTAX_ERROR,
            SqlState::UNDEFINED_TABLE,
        ] {
            assert!(!not_now(&code), "{code:?}");
        }
    }

    #[test]
    fn numbered_parameters_become_dollars() {
        assert_eq!(
            dollars("SELECT a FROM t WHERE x = ?1 AND y < ?12 AND z = '?'"),
            "SELECT a FROM t WHERE x = $1 AND y < $12 AND z = '?'"
        );
    }
}
