//! Monthly budgets and the admin's price overrides, per workspace and app.

use super::{SqliteStore, StoreError};
use rusqlite::params;

/// Budgets and price overrides.
impl SqliteStore {
    /// Budgets of `workspace`: `(app or "", monthly)`.
    pub fn budgets(&self, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        self.pairs(
            "SELECT app, monthly FROM budgets WHERE workspace = ?1 ORDER BY app",
            workspace,
        )
    }

    /// Sets a budget (`app` "" for the workspace); `None` removes it.
    pub fn set_budget(
        &self,
        workspace: &str,
        app: &str,
        monthly: Option<f64>,
    ) -> Result<(), StoreError> {
        self.set_or_clear("budgets", workspace, app, monthly)
    }

    /// Price overrides of `workspace`: `(app, unit price)`.
    pub fn prices(&self, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        self.pairs(
            "SELECT app, unit_price FROM prices WHERE workspace = ?1 ORDER BY app",
            workspace,
        )
    }

    /// Sets an app's price; `None` removes the override.
    pub fn set_price(
        &self,
        workspace: &str,
        app: &str,
        price: Option<f64>,
    ) -> Result<(), StoreError> {
        self.set_or_clear("prices", workspace, app, price)
    }

    fn pairs(&self, sql: &str, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![workspace], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `table` is one of this module's own names, never input.
    fn set_or_clear(
        &self,
        table: &'static str,
        workspace: &str,
        app: &str,
        value: Option<f64>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        match value {
            Some(v) => conn.execute(
                &format!("INSERT OR REPLACE INTO {table} VALUES (?1, ?2, ?3)"),
                params![workspace, app, v],
            )?,
            None => conn.execute(
                &format!("DELETE FROM {table} WHERE workspace = ?1 AND app = ?2"),
                params![workspace, app],
            )?,
        };
        Ok(())
    }
}
