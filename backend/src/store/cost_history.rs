//! Daily spend history: the complete days of usage the history job keeps, so the forecast has
//! them once fal's usage no longer reaches that far back.

use super::{vals, Store, StoreError};

/// One app's spend on one (complete, UTC) day.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyCost {
    /// The day.
    pub day: chrono::NaiveDate,
    /// App name.
    pub app: String,
    /// Spend after discounts.
    pub cost: f64,
    /// Machine-seconds.
    pub seconds: f64,
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_day(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Daily spend history.
impl Store {
    /// Stores (or corrects) days of spend of `workspace`.
    pub async fn upsert_daily_cost(
        &self,
        workspace: &str,
        rows: &[DailyCost],
    ) -> Result<(), StoreError> {
        let statements = rows
            .iter()
            .map(|r| {
                (
                    "INSERT INTO daily_cost VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (workspace, day, app)
                     DO UPDATE SET cost = excluded.cost, seconds = excluded.seconds",
                    vals![workspace, day(r.day), &r.app, r.cost, r.seconds],
                )
            })
            .collect();
        self.transaction(statements).await?;
        Ok(())
    }

    /// Total spend per stored day of `workspace` in `[from, to)`, oldest first.
    pub async fn daily_cost_totals(
        &self,
        workspace: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(chrono::NaiveDate, f64)>, StoreError> {
        let rows = self
            .query(
                "SELECT day, CAST(SUM(cost) AS DOUBLE PRECISION) FROM daily_cost
                 WHERE workspace = ?1 AND day >= ?2 AND day < ?3
                 GROUP BY day ORDER BY day",
                vals![workspace, day(from), day(to)],
            )
            .await?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(d) = parse_day(&r.text(0)?) {
                out.push((d, r.real(1)?));
            }
        }
        Ok(out)
    }

    /// Spend per stored day and app of `workspace` in `[from, to)`, oldest first.
    pub async fn daily_cost_by_app(
        &self,
        workspace: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(chrono::NaiveDate, String, f64)>, StoreError> {
        let rows = self
            .query(
                "SELECT day, app, cost FROM daily_cost WHERE workspace = ?1 AND day >= ?2 AND day < ?3
                 ORDER BY day, app",
                vals![workspace, day(from), day(to)],
            )
            .await?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(d) = parse_day(&r.text(0)?) {
                out.push((d, r.text(1)?, r.real(2)?));
            }
        }
        Ok(out)
    }
}
