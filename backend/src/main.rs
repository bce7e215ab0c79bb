//! `falscope`: serve the dashboard (the default) or run the fal simulator (`falscope simulate`).
//! Only wiring lives here; everything else is in the library so tests build the same app.

use anyhow::Context;
use backend::cli::{Cli, Command};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    backend::telemetry::init(cli.log_format);
    match cli.command {
        Some(Command::Simulate(args)) => {
            let config = backend::simulator::SimConfig::try_from(args)
                .context("invalid simulator configuration")?;
            backend::simulator::run(config).await
        }
        None => {
            let config = backend::config::Config::try_from(cli.serve)
                .context("invalid falscope configuration")?;
            backend::serve(config).await
        }
    }
}
