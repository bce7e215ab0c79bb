//! `cargo xtask <command>`: falscope's command runner (std only, so it builds in seconds).
//!
//! - `demo [-- ARGS]`: install what is missing, build frontend and backend, run falscope
//!   (demo mode without `FAL_KEY`) on http://127.0.0.1:8080.
//! - `test`: install what is missing, then fmt, clippy (native + wasm32), the trunk build,
//!   every host test (unit, integration, browser e2e) and the wasm tests in headless Chromium.
//! - `bench [--soak SECS]`: falscope vs nginx (proxy_cache) on the simulator, plus the frontend's
//!   size, chart-redraw and log-scroll figures (BENCHMARKS.md records a run).
//! - `size`: release-build the frontend and print the gzip size of what a browser downloads.
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
        "size" => size(),
        "bench" => bench(rest),
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
    build_release()?;
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
        // The benchmark is `test = false`, which `--all-targets` leaves out.
        "--test",
        "bench",
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
    // The contract and proxy suites again against a simulator that varies the shape of its
    // answers within fal's contract (added fields, omitted nulls, `12.0` for numbers).
    run(cargo([
        "test",
        "-p",
        "integration-tests",
        "--test",
        "it",
        "--locked",
        "--",
        "contract::",
        "proxy::",
    ])
    .env("FAL_SIM_SHAPE_VARIATION", "true"))?;
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

/// Builds the frontend and prints raw and gzip -9 sizes of the wasm, JS and CSS (the
/// transfer budget is 350 KB gzip).
fn size() -> Result<(), String> {
    bootstrap::install(false)?;
    build_frontend()?;
    let dist = cmd::root().join("frontend/dist");
    let mut total = 0u64;
    let mut entries: Vec<_> = std::fs::read_dir(&dist)
        .map_err(|e| format!("{}: {e}", dist.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let counted = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "js" | "css")
        );
        if !counted {
            continue;
        }
        let raw = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let gz = cmd::output(
            Cmd::new("sh").args(["-c", &format!("gzip -9c '{}' | wc -c", path.display())]),
        )
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or("gzip is needed to measure")?;
        total += gz;
        println!(
            "{:>10} B raw {:>10} B gzip  {}",
            raw,
            gz,
            path.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    println!(
        "{:>10}   total {:>10} B gzip  (budget 358400 B = 350 KiB)",
        "", total
    );
    Ok(())
}

/// Every performance figure of BENCHMARKS.md: the backend against nginx on loopback, then the
/// frontend in headless Chromium. Not part of `test`: figures, not pass/fail.
fn bench(args: &[String]) -> Result<(), String> {
    let soak = args
        .iter()
        .position(|a| a == "--soak")
        .and_then(|i| args.get(i + 1))
        .map_or("60", String::as_str);
    bootstrap::bench_tools()?;
    build_release()?;
    run(cargo([
        "build",
        "--release",
        "--locked",
        "-p",
        "integration-tests",
        "--bin",
        "bench",
    ]))?;
    let root = cmd::root();
    // 1,000 clients need more descriptors than the usual soft limit of 1,024.
    run(Cmd::new("sh")
        .args([
            "-c".to_owned(),
            "ulimit -n 65536 2>/dev/null || ulimit -n 8192; exec \"$0\"".to_owned(),
            root.join("target/release/bench").display().to_string(),
        ])
        .env(
            "FALSCOPE_BIN",
            &root.join("target/release/falscope").display().to_string(),
        )
        .env("BENCH_SOAK_SECS", soak))?;
    run(cargo([
        "test",
        "-p",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
        "--locked",
        "--test",
        "bench",
        "--",
        "--nocapture",
    ]))?;
    size()
}

/// The frontend, then the release `falscope` that embeds it.
fn build_release() -> Result<(), String> {
    build_frontend()?;
    run(cargo([
        "build",
        "--release",
        "--locked",
        "-p",
        "backend",
        "--bin",
        "falscope",
    ]))
}

/// `trunk build --release` into `frontend/dist`.
fn build_frontend() -> Result<(), String> {
    run(Cmd::new("trunk").args(["--config", "trunk.toml", "build", "--release"]))
}
