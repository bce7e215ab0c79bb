//! `falscope`: serve the dashboard (the default), run the fal simulator (`falscope simulate`),
//! or one of the operator's commands (`check`, `hash-password`, `backup`).
//! Only wiring lives here; everything else is in the library so tests build the same app.

use anyhow::Context;
use backend::cli::{Cli, Command};
use clap::Parser;

/// mimalloc: the request path allocates small, short-lived buffers on two threads; glibc's
/// malloc took ~8% of the cycles of a cached GET under load (perf, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    backend::telemetry::init(cli.log_format);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // A message for the person who typed the command, not a stack trace (anyhow's Debug
        // would print one with RUST_BACKTRACE=1).
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Simulate(args)) => {
            let config = backend::simulator::SimConfig::try_from(args)
                .context("invalid simulator configuration")?;
            backend::simulator::run(config).await
        }
        Some(Command::HashPassword(args)) => hash_password(&args),
        Some(Command::Check(args)) => check(cli.serve, &args).await,
        Some(Command::Backup(args)) => backup(cli.serve, args).await,
        None => {
            let config = backend::config::Config::try_from(cli.serve)
                .context("invalid falscope configuration")?;
            backend::serve(config).await
        }
    }
}

/// `falscope check`: the table on standard output; the exit status says whether it passed.
async fn check(
    serve: backend::cli::ServeArgs,
    args: &backend::cli::CheckArgs,
) -> anyhow::Result<()> {
    use std::io::Write;
    // The options `check` shares with serving may follow `check` on the command line.
    let serve = backend::cli::ServeArgs {
        fal_base_url: args.fal_base_url.clone().unwrap_or(serve.fal_base_url),
        workspaces: args.workspaces.clone().or(serve.workspaces),
        ..serve
    };
    let config =
        backend::config::Config::try_from(serve).context("invalid falscope configuration")?;
    let backend::config::Upstream::Fal(accounts) = config.upstream else {
        anyhow::bail!("falscope check talks to your fal account: set FAL_KEY (and FAL_ADMIN_KEY), or --workspaces");
    };
    if let Some(dir) = &args.record {
        backend::check::create_record_dir(dir)
            .with_context(|| format!("while creating --record {}", dir.display()))?;
    }
    let clock = std::sync::Arc::new(backend::clock::SystemClock);
    let report = backend::check::run(&accounts, args.record.as_deref(), clock).await;
    std::io::stdout()
        .lock()
        .write_all(report.render().as_bytes())?;
    anyhow::ensure!(report.ok(), "some operations failed (see the table)");
    Ok(())
}

/// `falscope backup`: SQLite's online backup of the data directory; Postgres is pg_dump's job.
async fn backup(
    serve: backend::cli::ServeArgs,
    args: backend::cli::BackupArgs,
) -> anyhow::Result<()> {
    use std::io::Write;
    if args.database_url.is_some() || serve.database_url.is_some() {
        anyhow::bail!(
            "falscope stores its data in Postgres here (--database-url, FALSCOPE_DATABASE_URL): back it up with pg_dump, e.g. `pg_dump --format=custom --file falscope.dump \"$FALSCOPE_DATABASE_URL\"`"
        );
    }
    let data_dir = args.data_dir.unwrap_or(serve.data_dir);
    let report = backend::backup::sqlite(&data_dir, &args.to).await?;
    writeln!(
        std::io::stdout().lock(),
        "copied {} (schema version {}) to {}: {} bytes",
        report.source.display(),
        report.schema_version,
        args.to.display(),
        report.bytes
    )?;
    Ok(())
}

/// `falscope hash-password`: a hash for the auth file, never the secret in a log.
fn hash_password(args: &backend::cli::HashPasswordArgs) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    let mut out = std::io::stdout().lock();
    if args.new_token {
        let token = backend::auth::password::new_secret("fsk_").map_err(anyhow::Error::msg)?;
        let digest = backend::auth::password::hex(&backend::auth::password::sha256(&token));
        writeln!(
            out,
            "token (give it to the script; it is shown only now): {token}"
        )?;
        writeln!(out, "token_sha256 = \"{digest}\"")?;
        return Ok(());
    }
    // At a terminal: a prompt, and nothing echoed. Piped: one line of standard input.
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password (not shown): ")
            .context("while reading the password from the terminal")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("while reading the password from standard input")?;
        line
    };
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "type the password on standard input");
    let hash = backend::auth::password::hash(password).map_err(anyhow::Error::msg)?;
    writeln!(out, "password_hash = \"{hash}\"")?;
    Ok(())
}
