//! A workspace's cost settings, kept in falscope's database: monthly budgets (per app, or `""`
//! for the whole workspace) and the price table (prices derived from usage, overridden by the
//! admin's).

use super::Reports;
use crate::error::AppError;
use crate::store::Store;
use shared::alerts::Budget;
use shared::cost::PriceLine;
use std::collections::BTreeMap;

impl Reports {
    /// `ws`'s budgets (none without a data directory).
    pub async fn budgets(&self, ws: &str) -> Result<Vec<Budget>, AppError> {
        self.workspace(ws)?;
        let Some(db) = self.db() else {
            return Ok(Vec::new());
        };
        Ok(db
            .budgets(ws)
            .await?
            .into_iter()
            .map(|(app, monthly)| Budget {
                app: (!app.is_empty()).then_some(app),
                monthly,
            })
            .collect())
    }

    /// Sets `app`'s monthly budget (`""`: the workspace's); `None` removes it.
    pub async fn set_budget(
        &self,
        ws: &str,
        app: &str,
        monthly: Option<f64>,
    ) -> Result<(), AppError> {
        self.workspace(ws)?;
        Ok(self.cost_db()?.set_budget(ws, app, monthly).await?)
    }

    /// Each app's price per billable unit, derived from 7 days of usage and overridden by the
    /// admin's table, with ambiguous apps flagged.
    pub async fn prices(&self, ws: &str) -> Result<Vec<PriceLine>, AppError> {
        let derived = self.derived_prices(ws).await?;
        let overrides: BTreeMap<String, f64> = match self.db() {
            Some(db) => db.prices(ws).await?.into_iter().collect(),
            None => BTreeMap::new(),
        };
        let mut apps: Vec<&String> = derived.keys().chain(overrides.keys()).collect();
        apps.sort();
        apps.dedup();
        Ok(apps
            .into_iter()
            .map(|app| {
                let d = derived.get(app);
                let o = overrides.get(app).copied();
                PriceLine {
                    app: app.clone(),
                    derived: d.map(|d| d.price),
                    override_price: o,
                    effective: o.or(d.map(|d| d.price)),
                    ambiguous: d.is_some_and(|d| d.seen.len() > 1),
                    prices_seen: d.map(|d| d.seen.clone()).unwrap_or_default(),
                    machine_types: d.map(|d| d.machines.clone()).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Sets `app`'s price per billable unit; `None` goes back to the derived price.
    pub async fn set_price(
        &self,
        ws: &str,
        app: &str,
        unit_price: Option<f64>,
    ) -> Result<(), AppError> {
        self.workspace(ws)?;
        Ok(self.cost_db()?.set_price(ws, app, unit_price).await?)
    }

    fn cost_db(&self) -> Result<&Store, AppError> {
        self.db().ok_or_else(|| {
            AppError::Conflict(
                "budgets and prices are stored in --data-dir (FALSCOPE_DATA_DIR), which is not usable"
                    .into(),
            )
        })
    }
}
