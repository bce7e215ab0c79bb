//! `falscope check` against the simulator: the table, a failing operation named, answers
//! recorded without keys, and what a missing ADMIN key turns off.

use backend::config::Account;
use integration_tests::sim::{SimHarness, ADMIN_KEY, API_KEY};
use std::sync::Arc;

fn account(sim: &SimHarness, admin: bool) -> Account {
    Account {
        id: "default".into(),
        name: "default".into(),
        base_url: sim.server.base_url(),
        api_key: API_KEY.to_owned().into(),
        admin_key: admin.then(|| ADMIN_KEY.to_owned().into()),
    }
}

const OPERATIONS: [&str; 9] = [
    "apps",
    "metrics",
    "queue_size",
    "analytics",
    "requests_by_endpoint",
    "logs_history",
    "logs_stream",
    "files_list",
    "usage",
];

#[tokio::test]
async fn every_operation_is_called_once_and_the_table_says_ok() {
    let sim = SimHarness::start().await;
    let report = backend::check::run(&[account(&sim, true)], None, sim.clock.clone()).await;
    let table = report.render();
    assert!(report.ok(), "{table}");
    for op in OPERATIONS {
        let row = report.rows.iter().find(|r| r.operation == op).unwrap();
        assert_eq!(
            (row.status.as_str(), row.decode.as_str()),
            ("200", "ok"),
            "{table}"
        );
        assert!(table.contains(op));
    }
    assert!(
        report
            .rows
            .iter()
            .find(|r| r.operation == "apps")
            .unwrap()
            .items
            >= Some(3)
    );
    assert!(table.contains("result: OK"));
    let stats = sim.stats().await;
    for op in OPERATIONS {
        assert_eq!(stats[op].as_u64(), Some(1), "{op} called once: {stats}");
    }
    assert_eq!(stats["files_upload_url"], 0, "read-only");
    assert_eq!(stats["queue_flush"], 0, "read-only");
}

#[tokio::test]
async fn a_failing_operation_is_named_and_fails_the_check() {
    let sim = SimHarness::start().await;
    sim.faults(serde_json::json!([{ "operation": "requests_by_endpoint", "status": 500 }]))
        .await;
    let report = backend::check::run(&[account(&sim, true)], None, sim.clock.clone()).await;
    assert!(!report.ok());
    let bad: Vec<&str> = report
        .rows
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.operation)
        .collect();
    assert_eq!(bad, ["requests_by_endpoint"]);
    let table = report.render();
    assert!(
        table.contains("HTTP 500") && table.contains("result: FAILED"),
        "{table}"
    );
}

#[tokio::test]
async fn without_the_admin_key_usage_is_skipped_and_the_note_says_what_is_off() {
    let sim = SimHarness::start().await;
    let report = backend::check::run(&[account(&sim, false)], None, sim.clock.clone()).await;
    assert!(report.ok(), "{}", report.render());
    let usage = report.rows.iter().find(|r| r.operation == "usage").unwrap();
    assert_eq!(usage.status, "skipped");
    assert!(report.render().contains("no ADMIN key"));
    assert_eq!(sim.stats().await["usage"], 0);
}

#[tokio::test]
async fn recorded_answers_carry_no_key_and_decode_again() {
    let sim = SimHarness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let report = backend::check::run(
        &[account(&sim, true)],
        Some(dir.path()),
        sim.clock.clone() as Arc<dyn backend::clock::Clock>,
    )
    .await;
    assert!(report.ok());
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(API_KEY) && !text.contains(ADMIN_KEY));
        files += 1;
    }
    assert!(files >= 7, "{files} answers recorded");
    // A recorded answer replays through the same decoder.
    let apps = std::fs::read(dir.path().join("default-apps.txt")).unwrap();
    let list: backend::upstream::models::AppList =
        backend::upstream::decode("apps", &apps).unwrap();
    assert!(!list.apps.is_empty());
}

#[tokio::test]
async fn recorded_answers_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let sim = SimHarness::start().await;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("record");
    backend::check::create_record_dir(&dir).unwrap();
    let report = backend::check::run(
        &[account(&sim, true)],
        Some(&dir),
        sim.clock.clone() as Arc<dyn backend::clock::Clock>,
    )
    .await;
    assert!(report.ok());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the folder");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files >= 7, "{files} answers recorded");
}
