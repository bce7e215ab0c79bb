//! The store suite on both engines: SQLite in a data directory and a real Postgres.

use backend::store::{conformance, Store};
use integration_tests::services::PostgresServer;

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
