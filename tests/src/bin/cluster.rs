//! `cargo xtask cluster`: Postgres, Redis, the fal simulator, three falscope replicas sharing
//! them and nginx round-robin in front, on this machine; prints the URL and runs until Ctrl-C.

use anyhow::Context;
use integration_tests::cluster::{Cluster, Layout};
use std::path::PathBuf;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bin = PathBuf::from(std::env::var("FALSCOPE_BIN").context("set FALSCOPE_BIN")?);
    let listen = std::env::var("FALSCOPE_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let port: u16 = listen
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("FALSCOPE_LISTEN is host:port")?;
    let cluster = Cluster::start(
        &bin,
        Layout {
            replicas: 3,
            shared: true,
            port,
        },
    )
    .await?;
    let say = |line: String| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), "{line}");
    };
    say(format!(
        "\nfalscope cluster: {}  (Ctrl-C stops it)\n",
        cluster.url
    ));
    say(format!("  nginx round-robin  {}", cluster.url));
    for (i, r) in cluster.replicas.iter().enumerate() {
        say(format!("  replica {i}          {r}"));
    }
    say(format!(
        "  fal simulator      {}  (/_sim/stats counts fal calls)",
        cluster.sim
    ));
    if let (Some(redis), Some(pg)) = (&cluster.redis, &cluster.postgres) {
        say(format!("  Redis              {}", redis.url()));
        say(format!("  Postgres           {}", pg.url()));
    }
    say(format!(
        "  files              {}\n",
        cluster.dir().display()
    ));
    backend::shutdown_signal().await;
    say("stopping the cluster".into());
    Ok(())
}
