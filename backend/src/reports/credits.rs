//! fal's prepaid credit balance (REFERENCE §9, ADMIN key) and its runway: the day the balance
//! reaches zero at the projected spend (`crate::cost::forecast::run_out`, the month-end
//! projection's model carried beyond the month, with its band).

use super::forecast::elapsed_today;
use super::{Derived, Reports};
use crate::cache::key;
use crate::error::AppError;
use crate::upstream::{FalApi, UpstreamError};
use chrono::Duration;
use shared::cost::{Credits, Runway, RUNWAY_HORIZON_DAYS};
use shared::CacheStatus;
use std::sync::Arc;

/// The balance moves with spend, but ADMIN-key calls are the scarcest: as long as usage.
const CREDITS_TTL: std::time::Duration = std::time::Duration::from_secs(300);

impl Reports {
    /// The credit balance and its runway, as fresh as the older of the balance and the usage
    /// the projection rests on. The balance is shown even when the projection cannot be made.
    pub async fn credits(&self, ws: &str) -> Result<Derived<Credits>, AppError> {
        let w = self.admin_workspace(ws)?;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let billing = self
            .cache()
            .get_or_fetch(
                key(&w.id, "billing", &[("expand", "credits".to_owned())], None),
                |_| CREDITS_TTL,
                move || async move { fal.account_billing(true).await },
            )
            .await?;
        let Some(balance) = billing.value.credits.clone() else {
            return Err(AppError::Upstream(UpstreamError::Decode(
                "fal's billing answer has no credits although they were asked for".into(),
            )));
        };
        let mut credits = Credits {
            balance: balance.current_balance,
            currency: balance.currency.clone(),
            runway: None,
            daily_spend: None,
            note: None,
        };
        let (mut as_of, mut status) = (billing.entry.as_of, billing.status);
        match self.spend_by_day(ws).await {
            Err(err) => {
                credits.note = Some(format!("no runway: the spend could not be read ({err})"));
            }
            Ok((by_day, usage)) => {
                as_of = as_of.min(usage.entry.as_of);
                if usage.status == CacheStatus::Stale {
                    status = CacheStatus::Stale;
                }
                if !usage.value.currency.eq_ignore_ascii_case(&credits.currency)
                    && !usage.value.series.is_empty()
                {
                    credits.note = Some(format!(
                        "no runway: credits are in {} but spend is in {}",
                        credits.currency, usage.value.currency
                    ));
                } else {
                    self.add_runway(&mut credits, &by_day);
                }
            }
        }
        Ok(Derived {
            value: credits,
            as_of,
            status,
        })
    }

    fn add_runway(
        &self,
        credits: &mut Credits,
        by_day: &std::collections::BTreeMap<chrono::NaiveDate, f64>,
    ) {
        let now = self.now();
        let today = now.date_naive();
        let history: Vec<(chrono::NaiveDate, f64)> = by_day
            .iter()
            .filter(|(d, _)| **d < today)
            .map(|(d, v)| (*d, *v))
            .collect();
        let week: Vec<chrono::NaiveDate> = today.iter_days().take(7).collect();
        credits.daily_spend = crate::cost::forecast::project(&history, &week)
            .map(|p| p.remaining / week.len() as f64);
        let at = |days: f64| now + Duration::seconds((days * 86_400.0) as i64);
        match crate::cost::forecast::run_out(
            credits.balance,
            &history,
            today,
            elapsed_today(now),
            RUNWAY_HORIZON_DAYS,
        ) {
            Some(r) => {
                credits.runway = Some(Runway {
                    days: r.days,
                    runs_out: at(r.days),
                    earliest: at(r.earliest),
                    latest: r.latest.map(at),
                });
            }
            None if credits.daily_spend.is_none() => {
                credits.note =
                    Some("no runway yet: the projection needs a week of daily spend".into());
            }
            None => {
                credits.note = Some(format!(
                    "the balance lasts beyond {RUNWAY_HORIZON_DAYS} days at the projected spend"
                ));
            }
        }
    }
}
