//! The store suite on both engines: SQLite in a data directory and a real Postgres.

use backend::store::{conformance, Store, StoreError};
use integration_tests::services::PostgresServer;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[tokio::test]
async fn sqlite_and_postgres_pass_the_same_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(&Store::open(dir.path()).unwrap()).await;

    let pg = PostgresServer::start().await;
    let url = secrecy::SecretString::from(pg.url());
    // Three replicas starting at once on an empty database: one migrates, the others wait
    // for its lock and find the schema current.
    let replicas = futures::future::join_all((0..3).map(|_| Store::connect(&url))).await;
    let mut replicas: Vec<_> = replicas.into_iter().map(Result::unwrap).collect();
    let store = replicas.pop().unwrap();
    assert_eq!(store.engine(), "postgres");
    conformance::run(&store).await;
    // What one replica wrote, another reads.
    store.set_price("shared", "app", Some(0.5)).await.unwrap();
    assert_eq!(
        replicas[0].prices("shared").await.unwrap(),
        [("app".to_owned(), 0.5)]
    );
}

/// Writes while Postgres restarts (fast, then stopped and started): every write is saved or
/// told the database is unavailable (a 503 at the API), never another failure (a 500), and
/// every write that was saved is there afterwards.
#[tokio::test]
async fn a_postgres_restart_under_writes_is_unavailable_never_failed_and_loses_nothing() {
    let mut pg = PostgresServer::start().await;
    let url = secrecy::SecretString::from(pg.url());
    let store = Arc::new(Store::connect(&url).await.unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut saved, mut unavailable, mut failed) = (Vec::new(), 0, Vec::new());
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let app = format!("w{w}-{i}");
                    match store.set_price("restart", &app, Some(f64::from(i))).await {
                        Ok(()) => saved.push(app),
                        Err(StoreError::Unavailable(_)) => unavailable += 1,
                        Err(e) => failed.push(e.to_string()),
                    }
                    // Reads too: a read that fails "not now" is tried again on a fresh
                    // connection, and is never a failure either.
                    if let Err(StoreError::Failed(e)) = store.prices("restart").await {
                        failed.push(e);
                    }
                    i += 1;
                }
                (saved, unavailable, failed)
            })
        })
        .collect();
    let saved_count = |s: &Arc<Store>| {
        let s = s.clone();
        async move { s.prices("restart").await.map(|p| p.len()).unwrap_or(0) }
    };
    wait_for_more(&store, 20, saved_count).await;
    pg.fast_restart().await;
    wait_for_more(&store, 20, saved_count).await;
    pg.stop().await;
    pg.restart().await;
    wait_for_more(&store, 20, saved_count).await;
    stop.store(true, Ordering::Relaxed);
    let mut saved = Vec::new();
    let mut unavailable = 0;
    for w in writers {
        let (s, u, failed) = w.await.unwrap();
        assert!(
            failed.is_empty(),
            "failures that are not 'unavailable': {failed:?}"
        );
        saved.extend(s);
        unavailable += u;
    }
    let stored: std::collections::BTreeSet<String> = store
        .prices("restart")
        .await
        .unwrap()
        .into_iter()
        .map(|(app, _)| app)
        .collect();
    let lost: Vec<&String> = saved.iter().filter(|a| !stored.contains(*a)).collect();
    assert!(lost.is_empty(), "saved, then lost: {lost:?}");
    println!(
        "{} writes saved, {unavailable} told 'unavailable'",
        saved.len()
    );
}

/// Waits (up to 60 s) until `more` writes were saved beyond what is saved now.
async fn wait_for_more<F, Fut>(store: &Arc<Store>, more: usize, count: F)
where
    F: Fn(&Arc<Store>) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let target = count(store).await + more;
    integration_tests::eventually(
        std::time::Duration::from_secs(60),
        "writes go on",
        || async { count(store).await >= target },
    )
    .await;
}
