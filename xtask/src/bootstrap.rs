//! Idempotent, offline-safe toolchain install: every step checks first and skips what is
//! already there at the right version. Nothing downloads from GitHub (it is unreachable here):
//! tools come from crates.io, npm and Debian's apt.

use crate::cmd::{cargo, cargo_bin, output, root, run, Cmd};

/// trunk 0.22 declares rust-version 1.96.1 (`cargo install --locked` refuses it on older
/// toolchains); 0.21.14 builds with the workspace's `rust-version` (1.95).
const TRUNK_VERSION: &str = "0.21.14";
/// npm `binaryen`. Debian's binaryen 108 "succeeds" but points wasm-bindgen's externref
/// export at the funcref table, so the page stays blank (`WebAssembly.Table.set(): Argument 1
/// is invalid`); it must not come first on PATH.
const BINARYEN_VERSION: &str = "132.0.0";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The static Linux target of `cargo xtask package`.
const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
/// PyPI `podman-compose`, for `podman-compose config` on deploy/compose.yaml.
const PODMAN_COMPOSE_VERSION: &str = "1.6.0";
/// npm `axe-core`: the accessibility engine the browser tests inject into every page.
const AXE_CORE_VERSION: &str = "4.14.1";
/// `wasm-split-cli` cuts the release wasm into per-page chunks (xtask's `web`); its 0.2 line
/// matches the `wasm_split_helpers` 0.2 that leptos links into the frontend.
const WASM_SPLIT_VERSION: &str = "0.2.4";

/// Installs what is missing; `browser` adds Chromium, chromedriver and promtool (tests).
pub fn install(browser: bool) -> Result<(), String> {
    rust_parts()?;
    wasm_bindgen()?;
    wasm_opt()?;
    wasm_split()?;
    if browser {
        apt_tools()?;
        axe_core()?;
    }
    // trunk (development) runs cargo with --offline, so every crate for every target must be
    // local.
    run(cargo(["fetch", "--locked"]))
}

fn rust_parts() -> Result<(), String> {
    let installed =
        output(Cmd::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == WASM_TARGET) {
        run(Cmd::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    for (component, probe) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        if output(cargo([probe, "--version"])).is_none() {
            run(Cmd::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

/// trunk serves the unsplit frontend during development (`trunk serve`); the release build
/// (`web`) does not use it, so only `bootstrap --dev` installs it.
pub fn trunk() -> Result<(), String> {
    let want = format!("trunk {TRUNK_VERSION}");
    if output(Cmd::new("trunk").arg_version()).as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    run(cargo([
        "install",
        "trunk",
        "--version",
        TRUNK_VERSION,
        "--locked",
    ]))
}

fn wasm_bindgen() -> Result<(), String> {
    let want = locked_version("wasm-bindgen")?;
    let pinned = std::fs::read_to_string(root().join("trunk.toml"))
        .map_err(|e| format!("trunk.toml: {e}"))?;
    if !pinned.contains(&format!("wasm_bindgen = \"{want}\"")) {
        return Err(format!(
            "Cargo.lock has wasm-bindgen {want} but trunk.toml pins another version: set [tools] wasm_bindgen = \"{want}\""
        ));
    }
    if output(Cmd::new("wasm-bindgen").arg_version()) == Some(format!("wasm-bindgen {want}")) {
        return Ok(());
    }
    // Without --locked: its bundled lockfile pins a webpki-roots the registry lacks (P2).
    run(cargo(["install", "wasm-bindgen-cli", "--version", &want]))
}

fn wasm_split() -> Result<(), String> {
    let installed = output(cargo(["install", "--list"])).unwrap_or_default();
    let want = format!("wasm_split_cli_support v{WASM_SPLIT_VERSION}:");
    if installed.lines().any(|l| l == want) {
        return Ok(());
    }
    run(cargo([
        "install",
        "wasm_split_cli_support",
        "--version",
        WASM_SPLIT_VERSION,
        "--features",
        "build-binary",
        "--locked",
    ]))
}

fn wasm_opt() -> Result<(), String> {
    let major = BINARYEN_VERSION.split('.').next().unwrap_or_default();
    let link = cargo_bin().join("wasm-opt");
    let works = |p: &std::path::Path| {
        output(Cmd::new(p).arg_version()).is_some_and(|v| v.contains(&format!("version {major}")))
    };
    if works(&link) {
        return Ok(());
    }
    let prefix = cargo_bin().with_file_name("falscope-binaryen");
    npm_install(&prefix, &format!("binaryen@{BINARYEN_VERSION}"))?;
    let target = prefix.join("node_modules/.bin/wasm-opt");
    std::fs::create_dir_all(cargo_bin())
        .map_err(|e| format!("creating {}: {e}", cargo_bin().display()))?;
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link)
        .map_err(|e| format!("linking {}: {e}", link.display()))?;
    if works(&link) {
        Ok(())
    } else {
        Err(format!(
            "{} does not report binaryen {major}",
            link.display()
        ))
    }
}

/// axe-core for the browser tests' accessibility check, at `$CARGO_HOME/falscope-axe`
/// (`integration_tests::browser::axe_source` reads it from there).
fn axe_core() -> Result<(), String> {
    let prefix = cargo_bin().with_file_name("falscope-axe");
    let manifest = prefix.join("node_modules/axe-core/package.json");
    let installed = std::fs::read_to_string(&manifest).unwrap_or_default();
    if installed.contains(&format!("\"version\": \"{AXE_CORE_VERSION}\"")) {
        return Ok(());
    }
    npm_install(&prefix, &format!("axe-core@{AXE_CORE_VERSION}"))
}

/// `npm install package@version` into its own folder `prefix` (nothing global).
fn npm_install(prefix: &std::path::Path, package: &str) -> Result<(), String> {
    run(Cmd::new("npm").args([
        "install",
        "--no-audit",
        "--no-fund",
        "--prefix",
        &prefix.to_string_lossy(),
        package,
    ]))
}

/// Chromium + chromedriver for browser tests, promtool to validate Prometheus text, Redis and
/// Postgres for the tests of several replicas (the tests start and stop their own servers).
fn apt_tools() -> Result<(), String> {
    apt_install(&[
        ("chromium", "chromium"),
        ("chromedriver", "chromium-driver"),
        ("promtool", "prometheus"),
        ("redis-server", "redis-server"),
        // postgresql-common's wrapper; the server itself lives in /usr/lib/postgresql/*/bin.
        ("pg_ctlcluster", "postgresql"),
    ])
}

/// What `cargo xtask cluster` needs besides the test tools: nginx in front of the replicas.
pub fn cluster_tools() -> Result<(), String> {
    apt_install(&[("nginx", "nginx")])
}

/// What `cargo xtask bench` needs besides the test tools: nginx (the reference proxy) and wrk
/// (the load generator).
pub fn bench_tools() -> Result<(), String> {
    install(true)?;
    apt_install(&[("nginx", "nginx"), ("wrk", "wrk")])
}

/// The musl target; podman + runc (toolchain.md "Containers here"), musl-gcc for the C parts,
/// strip, curl and systemd-analyze for the smoke test; podman-compose to check the compose file.
/// Only `cargo xtask package` needs these.
pub fn package_tools() -> Result<(), String> {
    let installed =
        output(Cmd::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == MUSL_TARGET) {
        run(Cmd::new("rustup").args(["target", "add", MUSL_TARGET]))?;
    }
    apt_install(&[
        ("podman", "podman"),
        ("runc", "runc"),
        ("musl-gcc", "musl-tools"),
        ("strip", "binutils"),
        ("curl", "curl"),
        ("systemd-analyze", "systemd"),
        ("dpkg-deb", "dpkg"),
        ("python3", "python3"),
    ])?;
    podman_compose_install()
}

/// podman-compose from PyPI in its own virtualenv (`$CARGO_HOME/falscope-podman-compose`):
/// Debian 12's 1.0.3 has no `config` command and ignores network settings.
fn podman_compose_install() -> Result<(), String> {
    let want = format!("podman-compose version {PODMAN_COMPOSE_VERSION}");
    if output(Cmd::new(podman_compose()).arg_version()).is_some_and(|v| v.contains(&want)) {
        return Ok(());
    }
    let venv = cargo_bin().with_file_name("falscope-podman-compose");
    if run(Cmd::new("python3").args(["-m".as_ref(), "venv".as_ref(), venv.as_os_str()])).is_err() {
        apt_get(&["python3-venv"])?;
        run(Cmd::new("python3").args(["-m".as_ref(), "venv".as_ref(), venv.as_os_str()]))?;
    }
    run(Cmd::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        &format!("podman-compose=={PODMAN_COMPOSE_VERSION}"),
    ]))
}

/// The podman-compose that [`package_tools`] installs.
pub fn podman_compose() -> std::path::PathBuf {
    cargo_bin()
        .with_file_name("falscope-podman-compose")
        .join("bin/podman-compose")
}

/// Installs the Debian packages of the `(binary, package)` pairs whose binary is missing.
fn apt_install(wanted: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(bin, _)| {
            // /usr/sbin: Debian's nginx lives there, off a non-root user's PATH.
            let probe = format!("command -v {bin} || test -x /usr/sbin/{bin}");
            output(Cmd::new("sh").args(["-c", &probe])).is_none()
        })
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_get(&missing)
}

/// `apt-get update` and `install` of `packages` (through sudo unless root).
fn apt_get(packages: &[&str]) -> Result<(), String> {
    let root_user = output(Cmd::new("id").args(["-u"])).as_deref() == Some("0");
    let sudo: &[&str] = if root_user { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        Cmd::new(all[0])
            .args(&all[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
    };
    run(apt(&["update", "-q"]))?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(packages);
    run(apt(&install))
}

/// The version of `name` in Cargo.lock.
fn locked_version(name: &str) -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let header = format!("name = \"{name}\"\n");
    lock.split("[[package]]")
        .find(|p| p.trim_start().starts_with(header.trim_end()) && p.contains(&header))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_owned())
        .ok_or_else(|| format!("{name} is not in Cargo.lock"))
}
