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
}

/// The largest `limit` analytics and usage accept. fal documents none ("actual maximum depends
/// on query type and expansion parameters"), so each seed picks its own per operation, always
/// below the 1,000 a client might be tempted to assume: a client that depends on a number
/// fails here before it fails against fal.
#[derive(Debug, Clone, Copy)]
pub struct MaxLimits {
    /// `GET /v1/serverless/analytics` and `/v1/models/analytics`.
    pub analytics: usize,
    /// `GET /v1/serverless/usage`.
    pub usage: usize,
}

impl MaxLimits {
    /// The maxima of world `seed`.
    pub fn of(seed: u64) -> Self {
        const CHOICES: [usize; 4] = [150, 250, 400, 750];
        let pick = |salt: u64| {
            let h = (seed ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            CHOICES[(h >> 62) as usize]
        };
        Self {
            analytics: pick(0xA11A),
            usage: pick(0x05A6),
        }
    }
}

/// Slices page `spec.page` out of `items` and returns the next cursor if more remain.
pub fn page_of<T>(items: Vec<T>, spec: &PageSpec) -> (Vec<T>, Option<String>) {
    let start = (spec.page - 1).saturating_mul(spec.limit);
    let more = items.len() > start.saturating_add(spec.limit);
    let page: Vec<T> = items.into_iter().skip(start).take(spec.limit).collect();
    let next = more.then(|| encode_page_cursor(spec.page + 1, spec.now));
    (page, next)
}
