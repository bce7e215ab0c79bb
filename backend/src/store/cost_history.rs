//! Daily spend history: the complete days of usage the history job keeps, so the forecast has
//! them once fal's usage no longer reaches that far back.

use super::{SqliteStore, StoreError};
use rusqlite::params;

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

/// Daily spend history.
impl SqliteStore {
    /// Stores (or corrects) days of spend of `workspace`.
    pub fn upsert_daily_cost(&self, workspace: &str, rows: &[DailyCost]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT OR REPLACE INTO daily_cost VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for r in rows {
                stmt.execute(params![
                    workspace,
                    r.day.format("%Y-%m-%d").to_string(),
                    r.app,
                    r.cost,
                    r.seconds
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Total spend per stored day of `workspace` in `[from, to)`, oldest first.
    pub fn daily_cost_totals(
        &self,
        workspace: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(chrono::NaiveDate, f64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, SUM(cost) FROM daily_cost WHERE workspace = ?1 AND day >= ?2 AND day < ?3
             GROUP BY day ORDER BY day",
        )?;
        let fmt = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let rows = stmt.query_map(params![workspace, fmt(from), fmt(to)], |r| {
            let day: String = r.get(0)?;
            Ok((day, r.get::<_, f64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (day, total) = row?;
            if let Ok(d) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                out.push((d, total));
            }
        }
        Ok(out)
    }

    /// Spend per stored day and app of `workspace` in `[from, to)`, oldest first.
    pub fn daily_cost_by_app(
        &self,
        workspace: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(chrono::NaiveDate, String, f64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, app, cost FROM daily_cost WHERE workspace = ?1 AND day >= ?2 AND day < ?3
             ORDER BY day, app",
        )?;
        let fmt = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let rows = stmt.query_map(params![workspace, fmt(from), fmt(to)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (day, app, cost) = row?;
            if let Ok(d) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                out.push((d, app, cost));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_cost_upserts_and_sums_per_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let d = |n: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        let row = |day, app: &str, cost| DailyCost {
            day,
            app: app.into(),
            cost,
            seconds: 10.0,
        };
        store
            .upsert_daily_cost(
                "w",
                &[
                    row(d(1), "a", 1.0),
                    row(d(1), "b", 2.0),
                    row(d(2), "a", 4.0),
                ],
            )
            .unwrap();
        store
            .upsert_daily_cost("w", &[row(d(2), "a", 5.0)])
            .unwrap();
        store
            .upsert_daily_cost("other", &[row(d(1), "a", 100.0)])
            .unwrap();
        assert_eq!(
            store.daily_cost_totals("w", d(1), d(3)).unwrap(),
            [(d(1), 3.0), (d(2), 5.0)],
            "per workspace, summed per day, a corrected day replaced"
        );
        assert_eq!(
            store.daily_cost_totals("w", d(2), d(3)).unwrap(),
            [(d(2), 5.0)]
        );
    }
}
