//! `falscope backup`: SQLite's online backup while falscope writes, and what the copy holds.

use backend::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const WORKSPACE: &str = "backup";
const WRITERS: usize = 4;

/// Writer `w`'s `j`-th row: each writer adds its rows in order, so a consistent copy holds,
/// for every writer, exactly its rows `0..n` for some `n`.
fn app(w: usize, j: usize) -> String {
    format!("w{w}-{j:06}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_writes_go_on_opens_and_holds_a_consistent_snapshot() {
    let live = tempfile::tempdir().unwrap();
    let store = Store::open(live.path()).unwrap();
    // Some bulk first, so a copy takes more than an instant.
    for j in 0..1000 {
        store
            .set_price(
                "bulk",
                &format!("app-{j:04}-{}", "x".repeat(200)),
                Some(1.0),
            )
            .await
            .unwrap();
    }

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut j = 0;
                while !stop.load(Ordering::Relaxed) {
                    store
                        .set_price(WORKSPACE, &app(w, j), Some(j as f64))
                        .await
                        .unwrap();
                    j += 1;
                }
                j
            })
        })
        .collect();

    let copies = tempfile::tempdir().unwrap();
    let mut previous = 0;
    for round in 0..5 {
        // Wait (bounded) for the writers to add rows since the last copy.
        let before = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                let n = store.prices(WORKSPACE).await.unwrap().len();
                if n > previous + WRITERS * 10 {
                    return n;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the writers make progress");

        let dir = copies.path().join(format!("round-{round}"));
        std::fs::create_dir(&dir).unwrap();
        let to = dir.join("falscope.sqlite3");
        let report = backend::backup::sqlite(live.path(), &to).await.unwrap();
        assert!(
            report.schema_version > 0 && report.bytes > 100_000,
            "{report:?}"
        );

        // The copy opens as a data directory of its own (no migration needed, schema kept)…
        let copy = Store::open(&dir).unwrap();
        assert_eq!(copy.prices("bulk").await.unwrap().len(), 1000);
        let rows = copy.prices(WORKSPACE).await.unwrap();
        // …holds every row written before the backup began…
        assert!(rows.len() >= before, "{} rows, {before} before", rows.len());
        // …and is one snapshot: each writer's rows are a prefix of what it wrote, values intact.
        for w in 0..WRITERS {
            let mine: Vec<_> = rows
                .iter()
                .filter(|(a, _)| a.starts_with(&format!("w{w}-")))
                .collect();
            for (j, (name, price)) in mine.iter().enumerate() {
                assert_eq!(*name, app(w, j), "writer {w} has a gap in the copy");
                assert_eq!(*price, j as f64);
            }
        }
        previous = rows.len();
    }

    stop.store(true, Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    // The writers were not held up: they went on past the last copy.
    assert!(
        written > previous,
        "{written} written, {previous} in the last copy"
    );
    assert_eq!(store.prices(WORKSPACE).await.unwrap().len(), written);
}
