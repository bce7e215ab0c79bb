//! Page-number pagination over a deterministic, fully computed result.

use super::query::encode_page_cursor;

/// Where a page starts and how big it is.
#[derive(Debug, Clone, Copy)]
pub struct PageSpec {
    /// 1-based page number.
    pub page: usize,
    /// Items per page.
    pub limit: usize,
    /// The clock the first page saw, pinned into later cursors.
    pub now: i64,
}

impl PageSpec {
    /// Default `limit` of analytics/usage (fal leaves it unspecified).
    pub const DEFAULT_LIMIT: usize = 100;
    /// Largest `limit` of analytics/usage.
    pub const MAX_LIMIT: usize = 1000;
}

/// Slices page `spec.page` out of `items` and returns the next cursor if more remain.
pub fn page_of<T>(items: Vec<T>, spec: &PageSpec) -> (Vec<T>, Option<String>) {
    let start = (spec.page - 1).saturating_mul(spec.limit);
    let more = items.len() > start.saturating_add(spec.limit);
    let page: Vec<T> = items.into_iter().skip(start).take(spec.limit).collect();
    let next = more.then(|| encode_page_cursor(spec.page + 1, spec.now));
    (page, next)
}
