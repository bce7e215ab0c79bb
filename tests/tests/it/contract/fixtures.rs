//! Recorded fal answers (`tests/fixtures/fal`, see its README) replayed through the decoders
//! falscope uses on live answers, so a shape seen once keeps decoding.

use backend::upstream::models::{
    Aggregates, AnalyticsRecord, AppList, FileEntry, LogEntry, Page, QueueSize, RequestItem,
    UsageRow,
};
use backend::upstream::prometheus::MetricsScrape;
use backend::upstream::{convert, decode};

/// Decodes one answer of `op`; returns how many items it held.
fn replay(op: &str, body: &[u8]) -> usize {
    match op {
        "apps" => decode::<AppList>("apps", body).unwrap().apps.len(),
        "analytics" => {
            let a: Aggregates<AnalyticsRecord> = decode("analytics", body).unwrap();
            a.time_series.unwrap_or_default().len() + a.summary.unwrap_or_default().len()
        }
        "usage" => {
            let a: Aggregates<UsageRow> = decode("usage", body).unwrap();
            let buckets = a.time_series.unwrap_or_default();
            for b in &buckets {
                assert!(convert::instant(&b.bucket).is_some(), "{}", b.bucket);
            }
            buckets.len() + a.summary.unwrap_or_default().len()
        }
        "requests_by_endpoint" => {
            let page: Page<RequestItem> = decode("requests", body).unwrap();
            for item in &page.items {
                assert!(convert::request_row(item, None).is_some(), "{item:?}");
            }
            page.items.len()
        }
        "logs_history" => {
            let page: Page<LogEntry> = decode("logs_history", body).unwrap();
            let lines = page.items.len();
            assert_eq!(
                page.items.into_iter().filter_map(convert::log_line).count(),
                lines
            );
            lines
        }
        "files_list" => {
            let files: Vec<FileEntry> = decode("files_list", body).unwrap();
            let n = files.len();
            assert_eq!(files.into_iter().filter_map(convert::file_item).count(), n);
            n
        }
        "queue_size" => {
            decode::<QueueSize>("queue_size", body).unwrap();
            1
        }
        "metrics" => MetricsScrape::parse(std::str::from_utf8(body).unwrap())
            .unwrap()
            .samples
            .len(),
        other => panic!("no decoder for recorded operation {other:?}: add it here"),
    }
}

#[test]
fn every_recorded_answer_decodes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fal");
    let mut replayed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".txt") else {
            continue;
        };
        let op = stem.split_once('-').map_or(stem, |(_, op)| op);
        let body = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&body).contains("Key ")
                || String::from_utf8_lossy(&body).contains("Key [REDACTED]"),
            "{name}: a key-like credential"
        );
        let items = replay(op, &body);
        assert!(items > 0, "{name}: decoded, but empty");
        replayed.push(name);
    }
    assert!(replayed.len() >= 10, "{replayed:?}");
}
