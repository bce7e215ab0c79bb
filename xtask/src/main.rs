//! `cargo xtask <command>`: falscope's command runner (std only, so it builds in seconds).
//!
//! - `demo [-- ARGS]`: install what is missing, build frontend and backend, run falscope
//!   (demo mode without `FAL_KEY`) on http://127.0.0.1:8080.
//! - `test`: install what is missing, then fmt, clippy (native + wasm32), the frontend build,
//!   every host test (unit, integration, browser e2e) and the wasm tests in headless Chromium.
//! - `bench [--soak SECS] [--first-chart]`: falscope vs nginx (proxy_cache) on the simulator,
//!   the time to first chart in headless Chromium, plus the frontend's size, chart-redraw and
//!   log-scroll figures (BENCHMARKS.md records a run); `--first-chart` measures only that,
//!   `--cluster` only the figures of several replicas (Redis, Postgres, nginx round-robin).
//! - `cluster`: Postgres and Redis from the machine's packages, the simulator, three falscope
//!   replicas sharing them and nginx round-robin in front on http://127.0.0.1:8080.
//! - `size`: release-build the frontend and print the gzip size of what a browser downloads.
//! - `package`: the static musl binary, the OCI image (`FROM scratch`) and the .deb in
//!   `target/package/`, smoke-tested (podman, dpkg, systemd-analyze); see `package.rs`.
//! - `bootstrap [--browser] [--dev]`: only install the toolchain (`--dev` adds trunk, for
//!   `trunk serve` during development).

#![allow(
    clippy::print_stdout,
    reason = "xtask is a command-line tool; stdout is its interface"
)]

mod bootstrap;
mod cmd;
mod package;
mod web;

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
        "bootstrap" => bootstrap::install(rest.iter().any(|a| a == "--browser")).and_then(|()| {
            if rest.iter().any(|a| a == "--dev") {
                bootstrap::trunk()
            } else {
                Ok(())
            }
        }),
        "size" => size(),
        "bench" => bench(rest),
        "cluster" => cluster(),
        "package" => package::package(),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo [-- falscope args] | test | bench [--soak SECS] [--first-chart] [--cluster] | cluster | package | size | bootstrap [--browser] [--dev]>"
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

/// A local cluster in the foreground (see `tests/src/cluster.rs`).
fn cluster() -> Result<(), String> {
    bootstrap::install(true)?;
    bootstrap::cluster_tools()?;
    build_release()?;
    run(cargo([
        "build",
        "--release",
        "--locked",
        "-p",
        "integration-tests",
        "--bin",
        "cluster",
    ]))?;
    let root = cmd::root();
    run(Cmd::new(root.join("target/release/cluster")).env(
        "FALSCOPE_BIN",
        &root.join("target/release/falscope").display().to_string(),
    ))
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
    // The fail-over tests run the binary itself as separate processes, to kill them.
    run(cargo([
        "build", "-p", "backend", "--bin", "falscope", "--locked",
    ]))?;
    // One invocation for all host tests: `cargo test -p <one package>` resolves features for
    // that package alone and rebuilds tokio and friends (about 20 s each time); the
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

/// Builds the frontend and prints the gzip -9 size of the first load (the budget is 350 KiB),
/// of each lazily loaded page (its chunk and the shared chunks it needs) and of everything.
fn size() -> Result<(), String> {
    bootstrap::install(false)?;
    build_frontend()?;
    let dist = cmd::root().join("frontend/dist");
    let pkg = std::fs::read_dir(&dist)
        .map_err(|e| format!("{}: {e}", dist.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pkg-"))
        })
        .ok_or("frontend/dist has no pkg-<hash> folder")?;
    let gzip = |path: &std::path::Path| {
        cmd::output(Cmd::new("sh").args(["-c", &format!("gzip -9c '{}' | wc -c", path.display())]))
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("gzip is needed to measure {}", path.display()))
    };
    let mut first = Vec::new();
    for css in web::files_with(&dist, "css")? {
        first.push(css);
    }
    for name in ["frontend.js", "frontend_bg.wasm", web::SPLIT_LOADER] {
        first.push(pkg.join(name));
    }
    let mut first_total = 0;
    for path in &first {
        let gz = gzip(path)?;
        first_total += gz;
        println!("{gz:>10} B gzip  {}", path.display());
    }
    println!("{first_total:>10} B gzip  first load (budget 358400 B = 350 KiB)\n");
    // Which pages need each shared chunk: the loader lists them above each chunk.
    let loader = std::fs::read_to_string(pkg.join(web::SPLIT_LOADER))
        .map_err(|e| format!("{}: {e}", web::SPLIT_LOADER))?;
    let mut users: Vec<(String, Vec<String>)> = Vec::new();
    let mut lines = loader.lines().peekable();
    while let Some(line) = lines.next() {
        let pages = line.strip_prefix("/* ").and_then(|l| l.strip_suffix(" */"));
        let chunk = lines
            .peek()
            .and_then(|l| l.strip_prefix("const __"))
            .and_then(|l| l.split(' ').next());
        if let (Some(pages), Some(chunk)) = (pages, chunk) {
            users.push((
                format!("{chunk}.wasm"),
                pages.split(", ").map(str::to_owned).collect(),
            ));
        }
    }
    let mut everything = first_total;
    for chunk in web::files_with(&pkg, "wasm")? {
        let name = chunk
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with("chunk_") {
            everything += gzip(&chunk)?;
        }
        let Some(page) = name
            .strip_prefix("split_")
            .and_then(|n| n.strip_suffix(".wasm"))
        else {
            continue;
        };
        let own = gzip(&chunk)?;
        everything += own;
        let mut shared = 0;
        for (file, pages) in &users {
            if pages.iter().any(|p| p == page) {
                shared += gzip(&pkg.join(file))?;
            }
        }
        println!(
            "{:>10} B gzip  {page} on first visit ({own} B its own, {shared} B shared chunks)",
            own + shared
        );
    }
    println!("\n{everything:>10} B gzip  every file");
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
    let only_first_chart = args.iter().any(|a| a == "--first-chart");
    let only_cluster = args.iter().any(|a| a == "--cluster");
    run(Cmd::new("sh")
        .args([
            "-c".to_owned(),
            "ulimit -n 65536 2>/dev/null || ulimit -n 8192; exec \"$0\" \"$@\"".to_owned(),
            root.join("target/release/bench").display().to_string(),
        ])
        .args(only_first_chart.then_some("first-chart"))
        .args(only_cluster.then_some("cluster"))
        .env(
            "FALSCOPE_BIN",
            &root.join("target/release/falscope").display().to_string(),
        )
        .env("BENCH_SOAK_SECS", soak))?;
    if only_first_chart || only_cluster {
        return Ok(());
    }
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

/// The split release frontend into `frontend/dist` (see `web`).
fn build_frontend() -> Result<(), String> {
    web::build()
}
