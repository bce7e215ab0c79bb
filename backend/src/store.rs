//! falscope's own stored data — live-metric [`samples`], the daily [`cost_history`],
//! [`alerts`] rules and events, budgets and [`prices`], watched [`models`], [`sessions`] and the
//! [`audit`] trail — written once, in SQL both engines speak, over an [`Engine`]: SQLite in the
//! data directory by default ([`sqlite`]), or a Postgres shared by several replicas
//! (`--database-url`, [`postgres`]). Each engine has its own versioned schema.

mod alerts;
mod audit;
pub mod conformance;
mod cost_history;
mod models;
pub mod postgres;
mod prices;
mod samples;
mod sessions;
pub mod sqlite;

pub use cost_history::DailyCost;

use std::path::Path;
use std::sync::Arc;

/// A storage failure (logged by callers; the dashboard keeps working without history).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (Postgres down, no connection within its deadline):
    /// a write answers 503 and can be tried again.
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    /// The database answered with an error.
    #[error("database: {0}")]
    Failed(String),
}

/// A value passed to or read from SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer (SQLite INTEGER, Postgres BIGINT).
    Int(i64),
    /// A float (REAL, DOUBLE PRECISION).
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes (BLOB, BYTEA).
    Bytes(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Self::Int(i64::from(v))
    }
}
impl From<u16> for Value {
    fn from(v: u16) -> Self {
        Self::Int(i64::from(v))
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Self::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Self::Bytes(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// `vals![a, b]`: SQL parameters.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$($crate::store::Value::from($v)),*] };
}
pub(crate) use vals;

/// One row of a result.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Failed(format!("no column {i}")))
    }

    /// Column `i` as an integer.
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.at(i)? {
            Value::Int(v) => Ok(*v),
            other => Err(StoreError::Failed(format!(
                "column {i} is {other:?}, not an integer"
            ))),
        }
    }

    /// Column `i` as a float (an integer is widened).
    pub fn real(&self, i: usize) -> Result<f64, StoreError> {
        match self.at(i)? {
            Value::Real(v) => Ok(*v),
            #[allow(
                clippy::cast_precision_loss,
                reason = "stored counts are far below 2^52"
            )]
            Value::Int(v) => Ok(*v as f64),
            other => Err(StoreError::Failed(format!(
                "column {i} is {other:?}, not a number"
            ))),
        }
    }

    /// Column `i` as text.
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Failed(format!("column {i} is NULL")))
    }

    /// Column `i` as text, or `None` for NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Text(v) => Ok(Some(v.clone())),
            Value::Null => Ok(None),
            other => Err(StoreError::Failed(format!(
                "column {i} is {other:?}, not text"
            ))),
        }
    }
}

/// A database falscope can keep its data in. SQL is written once with `?1`-style parameters
/// and the subset both engines speak (`ON CONFLICT … DO UPDATE`, `CAST(… AS DOUBLE PRECISION)`).
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// Rows of a query.
    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError>;
    /// Runs a statement; the rows it changed.
    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError>;
    /// Runs statements in one transaction (all or none); the rows each changed.
    async fn transaction(
        &self,
        statements: Vec<(&'static str, Vec<Value>)>,
    ) -> Result<Vec<u64>, StoreError>;
    /// `"sqlite"` or `"postgres"`.
    fn name(&self) -> &'static str;
}

/// What falscope stores, on one [`Engine`].
pub struct Store {
    engine: Box<dyn Engine>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine.name())
            .finish()
    }
}

impl Store {
    /// SQLite in `dir/falscope.sqlite3` (created and migrated).
    pub fn open(dir: &Path) -> Result<Arc<Self>, StoreError> {
        Ok(Arc::new(Self {
            engine: Box::new(sqlite::Sqlite::open(dir)?),
        }))
    }

    /// Postgres at `url` (migrated under a lock, so replicas may start at once).
    pub async fn connect(url: &secrecy::SecretString) -> Result<Arc<Self>, StoreError> {
        Ok(Arc::new(Self {
            engine: Box::new(postgres::Postgres::connect(url).await?),
        }))
    }

    /// Which engine: `"sqlite"` or `"postgres"`.
    pub fn engine(&self) -> &'static str {
        self.engine.name()
    }

    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        self.engine.query(sql, params).await
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        self.engine.execute(sql, params).await
    }

    async fn transaction(
        &self,
        statements: Vec<(&'static str, Vec<Value>)>,
    ) -> Result<Vec<u64>, StoreError> {
        self.engine.transaction(statements).await
    }
}
