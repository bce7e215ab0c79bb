//! `falscope`: serve the dashboard (the default) or run the fal simulator (`falscope simulate`).
//! Only wiring lives here; everything else is in the library so tests build the same app.

use anyhow::Context;
use backend::cli::{Cli, Command};
use clap::Parser;

/// mimalloc: the request path allocates small, short-lived buffers on two threads; glibc's
/// malloc took ~8% of the cycles of a cached GET under load (perf, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Some(Command::HashPassword(args)) => hash_password(&args),
        None => {
            let config = backend::config::Config::try_from(cli.serve)
                .context("invalid falscope configuration")?;
            backend::serve(config).await
        }
    }
}

/// `falscope hash-password`: a hash for the auth file, never the secret in a log.
fn hash_password(args: &backend::cli::HashPasswordArgs) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    if args.new_token {
        let token = backend::auth::password::new_secret("fsk_").map_err(anyhow::Error::msg)?;
        let hash = backend::auth::password::hash(&token).map_err(anyhow::Error::msg)?;
        writeln!(
            out,
            "token (give it to the script; it is shown only now): {token}"
        )?;
        writeln!(out, "token_hash = \"{hash}\"")?;
        return Ok(());
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("while reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "type the password on standard input");
    let hash = backend::auth::password::hash(password).map_err(anyhow::Error::msg)?;
    writeln!(out, "password_hash = \"{hash}\"")?;
    Ok(())
}
