//! The reports: what the dashboard shows, computed from fal through the cache. Data flows one
//! way — fal → `upstream` → `cache` → reports → `api` handlers (and the background jobs:
//! alerts, the cost history, the live poller, `/metrics`) — and every entry point takes a typed
//! query from `shared::query`, never query text.
//!
//! Cache keys are built from the **resolved** query: relative times are resolved against the
//! clock and aligned outward to the granularity the data has (usage to the hour, analytics to
//! its bucket, lists to a few seconds; instants given as instants stay exact), and the fal call
//! asks for exactly that window (its end clamped to now), so a value is a function of its key
//! and `now` moving by a millisecond does not make a new entry.
//!
//! Adding a report: a query type in `shared::query`, one function here, one handler line in
//! `api`, one page in the frontend.

mod analytics;
mod apps;
mod budgets;
mod cost;
mod credits;
mod files;
mod forecast;
mod live;
mod logs;
mod metrics;
mod models;
mod queue;
mod requests;
mod split;
mod usage;

pub use apps::endpoints;
// What handlers name of the layers below: the cached answers reports return, and the live
// tail's events.
pub use crate::cache::Cached;
pub use crate::logs_hub::TailEvent;
pub use cost::whole_hours;
pub use metrics::Scrape;
pub use queue::check_idempotency_key;
pub use requests::{DerivedPrice, Pages};

use crate::cache::Cache;
use crate::clock::Clock;
use crate::error::AppError;
use crate::store::Store;
use crate::workspace::Workspace;
use chrono::{DateTime, Duration, DurationRound, Utc};
use shared::query::TimeExpr;
use shared::CacheStatus;
use std::sync::Arc;

/// Cheap-to-clone handle on what reports read: the workspaces (each with its fal client), the
/// cache, the clock, and falscope's own stored data.
#[derive(Clone)]
pub struct Reports(Arc<Inner>);

struct Inner {
    workspaces: Vec<Arc<Workspace>>,
    cache: Arc<Cache>,
    clock: Arc<dyn Clock>,
    db: Option<Arc<Store>>,
    flushes: queue::FlushMemory,
}

/// A view computed from cached reports (not cached itself), with the `as_of` and cache status
/// of its oldest input.
#[derive(Debug, Clone)]
pub struct Derived<T> {
    /// The view.
    pub value: T,
    /// As fresh as its oldest input.
    pub as_of: DateTime<Utc>,
    /// STALE if any input is.
    pub status: CacheStatus,
}

impl Reports {
    /// Reports over `workspaces`, read through `cache`; what must hold across replicas (queue
    /// flush confirmations) is kept in `cluster`.
    pub fn new(
        workspaces: Vec<Arc<Workspace>>,
        cache: Arc<Cache>,
        clock: Arc<dyn Clock>,
        db: Option<Arc<Store>>,
        cluster: Arc<crate::cluster::Cluster>,
    ) -> Self {
        Self(Arc::new(Inner {
            workspaces,
            cache,
            clock,
            db,
            flushes: queue::FlushMemory::new(cluster),
        }))
    }

    /// The workspace `id`, or a 404 naming it.
    pub fn workspace(&self, id: &str) -> Result<Arc<Workspace>, AppError> {
        self.0
            .workspaces
            .iter()
            .find(|w| w.id == id)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("workspace {id:?}")))
    }

    /// The workspace `id` for a read that needs its ADMIN key, or the error saying where to
    /// configure that key.
    pub fn admin_workspace(&self, id: &str) -> Result<Arc<Workspace>, AppError> {
        let w = self.workspace(id)?;
        if !crate::upstream::FalApi::has_admin_key(w.fal.as_ref()) {
            return Err(crate::upstream::UpstreamError::AdminKeyMissing {
                setting: w.admin_key_setting.clone(),
            }
            .into());
        }
        Ok(w)
    }

    /// Every configured workspace.
    pub fn workspaces(&self) -> &[Arc<Workspace>] {
        &self.0.workspaces
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }

    /// The cache in front of fal (`/metrics` reads its counters; tests expire it).
    pub fn cache(&self) -> &Arc<Cache> {
        &self.0.cache
    }

    fn db(&self) -> Option<&Store> {
        self.0.db.as_deref()
    }
}

/// `[from, to)` widened to whole `step`s: `from` down, `to` up.
fn align(from: DateTime<Utc>, to: DateTime<Utc>, step: Duration) -> (DateTime<Utc>, DateTime<Utc>) {
    let down = |t: DateTime<Utc>| t.duration_trunc(step).unwrap_or(t);
    let up = |t: DateTime<Utc>| {
        let d = down(t);
        if d == t {
            t
        } else {
            d + step
        }
    };
    (down(from), up(to))
}

/// A window: its ends that move with the clock (`now…`, or defaulted from now) aligned outward to
/// `step` (the data's grain), so repeated views share an entry; ends given as instants (a
/// zoomed chart, an alert rule's window, the cost views' whole hours) are kept exactly, so a
/// rule judged over "the last 120 min" reads exactly those minutes.
fn align_moving(
    q: (Option<&TimeExpr>, Option<&TimeExpr>),
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    step: Duration,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let to_moves = q.1.is_none_or(TimeExpr::is_relative);
    let from_moves = q.0.map_or(to_moves, TimeExpr::is_relative);
    let (aligned_from, aligned_to) = align(from, to, step);
    (
        if from_moves { aligned_from } else { from },
        if to_moves { aligned_to } else { to },
    )
}

/// The `summary` rows of an aggregate read's pages. fal does not say whether a summary that
/// spans pages comes whole on every page or split across them (REFERENCE §4, [I]), and it
/// splits rows by price and discount rate (two rows of one app and machine are two line
/// items): every row fal gives is kept, and only a page whose rows are the previous page's
/// rows again (the same identities, `key`, the same number of times) is taken as the summary
/// repeated — counted once, with its later numbers. Rows within one page are never merged.
struct Summary<T, K> {
    rows: Vec<T>,
    /// Where the previous page's rows start in `rows`, and their identities.
    previous: Option<(usize, Vec<K>)>,
}

impl<T, K: PartialEq> Summary<T, K> {
    fn new() -> Self {
        Self {
            rows: Vec::new(),
            previous: None,
        }
    }

    fn add(&mut self, page: Option<Vec<T>>, key: impl Fn(&T) -> K) {
        let Some(page) = page.filter(|p| !p.is_empty()) else {
            return;
        };
        let keys: Vec<K> = page.iter().map(&key).collect();
        let repeated = self
            .previous
            .as_ref()
            .is_some_and(|(_, prev)| same_multiset(prev, &keys));
        let start = match (&self.previous, repeated) {
            (Some((start, _)), true) => {
                self.rows.truncate(*start);
                *start
            }
            _ => self.rows.len(),
        };
        self.rows.extend(page);
        self.previous = Some((start, keys));
    }
}

/// Whether `a` and `b` hold the same items the same number of times, in any order.
fn same_multiset<K: PartialEq>(a: &[K], b: &[K]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|k| a.iter().filter(|x| *x == k).count() == b.iter().filter(|x| *x == k).count())
}

/// Pages an aggregate read walks at most.
const MAX_PAGES: usize = 20;

/// Every page of an aggregate read (analytics, usage): `read(cursor)` fetches one; buckets are
/// concatenated and summary rows collected ([`Summary`], identities by `key`), following
/// `next_cursor` for at most [`MAX_PAGES`] pages.
async fn all_pages<R, K, F, Fut>(
    mut read: F,
    key: impl Fn(&R) -> K,
) -> Result<(Vec<crate::upstream::models::Bucket<R>>, Vec<R>), crate::upstream::UpstreamError>
where
    K: PartialEq,
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<
        Output = Result<crate::upstream::models::Aggregates<R>, crate::upstream::UpstreamError>,
    >,
{
    let (mut buckets, mut summary) = (Vec::new(), Summary::new());
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let page = read(cursor.take()).await?;
        buckets.extend(page.time_series.unwrap_or_default());
        summary.add(page.summary, &key);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok((buckets, summary.rows))
}

/// The identity of a usage summary row: what fal splits rows by (REFERENCE §4: app,
/// environment, machine type, unit price, discount rate, surge), and the unit and currency.
type UsageRowKey = (
    Option<String>,
    Option<String>,
    String,
    String,
    u64,
    Option<u64>,
    bool,
    String,
);

/// [`UsageRowKey`] of a row.
fn usage_row_key(r: &crate::upstream::models::UsageRow) -> UsageRowKey {
    (
        r.app.clone(),
        r.environment.clone(),
        r.machine_type.clone(),
        r.unit.clone(),
        r.unit_price.to_bits(),
        r.percent_discount.map(f64::to_bits),
        r.is_surge,
        r.currency.clone(),
    )
}

/// An instant as cache keys write it.
fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// An IANA zone name, or a 400 on `tz` (only the server has the zone database).
fn zone(tz: Option<&str>) -> Result<Option<String>, AppError> {
    match tz {
        None => Ok(None),
        Some(v) => v
            .parse::<chrono_tz::Tz>()
            .map(|_| Some(v.to_owned()))
            .map_err(|_| AppError::invalid("tz", "must be an IANA time zone such as Europe/Paris")),
    }
}

/// The family of a view whose window moves with the clock (`now-7d`, or no end): its key
/// without the resolved window, with the window as the user wrote it
/// ([`crate::cache::Cache::get_or_fetch_moving`]); `None` for a window with fixed ends.
fn moving_family(
    ws: &str,
    op: &str,
    pairs: &[(&'static str, String)],
    from: Option<&shared::query::TimeExpr>,
    to: Option<&shared::query::TimeExpr>,
) -> Option<String> {
    let moves = to.is_none_or(|t| t.is_relative()) || from.is_some_and(|f| f.is_relative());
    if !moves {
        return None;
    }
    let written = |t: Option<&shared::query::TimeExpr>| t.map_or("", |t| t.as_str()).to_owned();
    let pairs: Vec<(&str, String)> = pairs
        .iter()
        .filter(|(k, _)| !matches!(*k, "from" | "to"))
        .cloned()
        .chain([("from~", written(from)), ("to~", written(to))])
        .collect();
    Some(crate::cache::key(ws, op, &pairs, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_repeated_on_every_page_count_once_and_split_ones_add_up() {
        let key = |r: &(&'static str, u32)| r.0;
        let mut s = Summary::new();
        s.add(Some(vec![("a", 1), ("b", 2)]), key);
        // Repeated on the next page, a little later: counted once, with the later numbers.
        s.add(Some(vec![("b", 3), ("a", 1)]), key);
        s.add(None, key);
        assert_eq!(s.rows, [("b", 3), ("a", 1)], "repeated whole");
        s.add(Some(vec![("c", 5)]), key);
        assert_eq!(s.rows, [("b", 3), ("a", 1), ("c", 5)], "split across pages");
        s.add(Some(vec![("a", 2)]), key);
        assert_eq!(
            s.rows,
            [("b", 3), ("a", 1), ("c", 5), ("a", 2)],
            "one row, later: another line item, not a repeat"
        );
    }

    #[test]
    fn usage_rows_split_by_price_or_discount_are_all_kept_even_within_one_page() {
        use crate::upstream::models::UsageRow;
        let row = |price: f64, discount: Option<f64>, cost: f64| UsageRow {
            app: Some("flux-studio".into()),
            environment: Some("production".into()),
            machine_type: "GPU-H100".into(),
            unit: "second".into(),
            quantity: cost / price,
            unit_price: price,
            percent_discount: discount,
            cost_subtotal: cost,
            cost_discount: 0.0,
            cost_total: cost,
            cost,
            currency: "USD".into(),
            is_surge: false,
        };
        let mut s = Summary::new();
        s.add(
            Some(vec![row(0.001, None, 10.0), row(0.0012, None, 4.0)]),
            usage_row_key,
        );
        s.add(Some(vec![row(0.001, Some(10.0), 3.0)]), usage_row_key);
        let total: f64 = s.rows.iter().map(|r| r.cost_total).sum();
        assert!(
            (total - 17.0).abs() < 1e-9,
            "every line item counts: {total}"
        );
        // Two identical rows within one page are two line items.
        let mut s = Summary::new();
        s.add(
            Some(vec![row(0.001, None, 1.0), row(0.001, None, 1.0)]),
            usage_row_key,
        );
        assert_eq!(s.rows.len(), 2);
    }

    #[test]
    fn align_widens_to_whole_steps_and_keeps_aligned_ends() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let (f, to) = align(
            t("2026-11-23T10:17:03.5Z"),
            t("2026-11-24T10:17:03.25Z"),
            Duration::hours(1),
        );
        assert_eq!(
            (f, to),
            (t("2026-11-23T10:00:00Z"), t("2026-11-24T11:00:00Z"))
        );
        let (f, to) = align(
            t("2026-11-23T10:00:00Z"),
            t("2026-11-23T12:00:00Z"),
            Duration::hours(1),
        );
        assert_eq!(
            (f, to),
            (t("2026-11-23T10:00:00Z"), t("2026-11-23T12:00:00Z"))
        );
    }
}
