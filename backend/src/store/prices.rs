//! Monthly budgets and the admin's price overrides, per workspace and app.

use super::{vals, Store, StoreError};

/// Budgets and price overrides.
impl Store {
    /// Budgets of `workspace`: `(app or "", monthly)`.
    pub async fn budgets(&self, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        self.pairs(
            "SELECT app, monthly FROM budgets WHERE workspace = ?1 ORDER BY app",
            workspace,
        )
        .await
    }

    /// Sets a budget (`app` "" for the workspace); `None` removes it.
    pub async fn set_budget(
        &self,
        workspace: &str,
        app: &str,
        monthly: Option<f64>,
    ) -> Result<(), StoreError> {
        let sql = match monthly {
            Some(_) => {
                "INSERT INTO budgets VALUES (?1, ?2, ?3)
                        ON CONFLICT (workspace, app) DO UPDATE SET monthly = excluded.monthly"
            }
            None => "DELETE FROM budgets WHERE workspace = ?1 AND app = ?2",
        };
        self.set_or_clear(sql, workspace, app, monthly).await
    }

    /// Price overrides of `workspace`: `(app, unit price)`.
    pub async fn prices(&self, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        self.pairs(
            "SELECT app, unit_price FROM prices WHERE workspace = ?1 ORDER BY app",
            workspace,
        )
        .await
    }

    /// Sets an app's price; `None` removes the override.
    pub async fn set_price(
        &self,
        workspace: &str,
        app: &str,
        price: Option<f64>,
    ) -> Result<(), StoreError> {
        let sql = match price {
            Some(_) => {
                "INSERT INTO prices VALUES (?1, ?2, ?3)
                        ON CONFLICT (workspace, app) DO UPDATE SET unit_price = excluded.unit_price"
            }
            None => "DELETE FROM prices WHERE workspace = ?1 AND app = ?2",
        };
        self.set_or_clear(sql, workspace, app, price).await
    }

    async fn pairs(&self, sql: &str, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        let rows = self.query(sql, vals![workspace]).await?;
        rows.iter().map(|r| Ok((r.text(0)?, r.real(1)?))).collect()
    }

    async fn set_or_clear(
        &self,
        sql: &str,
        workspace: &str,
        app: &str,
        value: Option<f64>,
    ) -> Result<(), StoreError> {
        let params = match value {
            Some(v) => vals![workspace, app, v],
            None => vals![workspace, app],
        };
        self.execute(sql, params).await?;
        Ok(())
    }
}
