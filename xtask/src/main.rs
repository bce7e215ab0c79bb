//! `cargo xtask <command>`: falscope's command runner (std only, so it builds in seconds).
//!
//! - `demo [-- ARGS]`: install what is missing, build frontend and backend, run falscope
//!   (demo mode without `FAL_KEY`) on http://127.0.0.1:8080.
//! - `test`: install what is missing, then fmt, clippy (native + wasm32), the trunk build,
//!   every host test (unit, integration, browser e2e) and the wasm tests in headless Chromium.
//! - `bootstrap [--browser]`: only install the toolchain.

#![allow(
    clippy::print_stdout,
    reason = "xtask is a command-line tool; stdout is its interface"
)]

mod bootstrap;
mod cmd;

use cmd::{cargo, run, Cmd};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args
        .split_first()
        .map_or(("help", &[][..]), |(c, r)| (c.as_str(), r));
    let result = match command {
        "demo" => demo(rest),
        "test" => test(),
        "bootstrap" => bootstrap::install(rest.iter().any(|a| a == "--browser")),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo [-- falscope args] | test | bootstrap [--browser]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Builds everything in release mode and runs falscope in the foreground.
fn demo(args: &[String]) -> Result<(), String> {
    bootstrap::install(false)?;
    build_frontend()?;
    run(cargo([
        "build",
        "--release",
        "--locked",
        "-p",
        "backend",
        "--bin",
        "falscope",
    ]))?;
    let listen = std::env::var("FALSCOPE_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    println!("\nfalscope: starting on http://{listen}  (Ctrl-C stops it)\n");
    let args = args.iter().skip_while(|a| *a == "--");
    run(Cmd::new(cmd::root().join("target/release/falscope")).args(args))
}

/// Every check and test, in the order that fails fastest.
fn test() -> Result<(), String> {
    bootstrap::install(true)?;
    run(cargo(["fmt", "--all", "--check"]))?;
    run(cargo([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo([
        "clippy",
        "-p",
        "shared",
        "-p",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    build_frontend()?;
    // One invocation for all host tests so features resolve once (toolchain.md P9); the
    // browser e2e tests are #[ignore]d for plain `cargo test` and included here.
    run(cargo([
        "test",
        "--workspace",
        "--locked",
        "--",
        "--include-ignored",
    ]))?;
    run(cargo([
        "test",
        "-p",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--locked",
    ]))?;
    println!("\nxtask: every check and test passed");
    Ok(())
}

/// `trunk build --release` into `frontend/dist`.
fn build_frontend() -> Result<(), String> {
    run(Cmd::new("trunk").args(["--config", "trunk.toml", "build", "--release"]))
}
