//! `cargo xtask package`: the artefacts a self-hoster installs, in `<target>/package/`, and a
//! smoke test of each (see `deploy/` for the files they are made from):
//!
//! - `falscope`: static `x86_64-unknown-linux-musl` binary, frontend embedded, TLS roots built
//!   in (reqwest's `rustls-tls` bundles webpki-roots), stripped;
//! - `falscope-<version>-oci.tar`: an OCI archive of a `FROM scratch` image holding only it;
//! - `falscope_<version>_amd64.deb`: the binary, the hardened unit, `/etc/falscope/falscope.env`.
//!
//! The smoke test loads the archive into podman and serves the demo from it, installs the .deb,
//! runs `falscope --version`, verifies and rates the unit, and removes the package. It changes
//! the machine (a `falscope` system user stays, as Debian packages leave theirs), so it is not
//! part of `cargo xtask test`.

mod deb;
mod image;

use crate::bootstrap;
use crate::cmd::{self, cargo, run, Cmd};
use std::path::{Path, PathBuf};

const MUSL: &str = "x86_64-unknown-linux-musl";
/// The image archive's ceiling (issue #35).
const IMAGE_LIMIT: u64 = 40 * 1024 * 1024;
/// `systemd-analyze security` rates exposure 0.0–10.0; `--threshold` takes tenths.
const EXPOSURE_LIMIT_TENTHS: u32 = 25;

/// Builds, packages and smoke-tests everything.
pub fn package() -> Result<(), String> {
    bootstrap::install(false)?;
    bootstrap::package_tools()?;
    let version = workspace_version()?;
    let out = cmd::target_dir().join("package");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    let bin = binary(&out)?;
    let image = image::image(&out, &bin, &version)?;
    let deb = deb::deb(&out, &bin, &version)?;
    image::compose_config(&out)?;

    image::smoke_image(&image, &version)?;
    let exposure = deb::smoke_deb(&deb, &version)?;

    println!("\nxtask package: every artefact built and smoke-tested");
    for path in [&bin, &image, &deb] {
        println!("{:>10.1} MiB  {}", mib(path), path.display());
    }
    println!("{exposure:>14}  systemd-analyze security exposure of falscope.service (≤ 2.5)");
    Ok(())
}

/// The static release binary, stripped, at `out/falscope`.
fn binary(out: &Path) -> Result<PathBuf, String> {
    crate::build_frontend()?;
    // musl-gcc compiles the C parts (SQLite, mimalloc, ring) against musl's headers.
    run(cargo([
        "build",
        "--release",
        "--locked",
        "--target",
        MUSL,
        "-p",
        "backend",
        "--bin",
        "falscope",
    ])
    .env("CC_x86_64_unknown_linux_musl", "musl-gcc"))?;
    let built = cmd::target_dir().join(MUSL).join("release/falscope");
    let bin = out.join("falscope");
    run(Cmd::new("strip").args(["-o".as_ref(), bin.as_os_str(), built.as_os_str()]))?;
    check_static(&bin)?;
    Ok(bin)
}

/// An ELF with no program interpreter is loaded by the kernel alone: no dynamic loader, so no
/// shared library can be needed (static-pie binaries keep a PT_DYNAMIC for relocations only).
fn check_static(bin: &Path) -> Result<(), String> {
    const PT_INTERP: u32 = 3;
    let elf = std::fs::read(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let field = |at: usize, len: usize| -> Result<u64, String> {
        let bytes = elf
            .get(at..at + len)
            .ok_or_else(|| format!("{} is not a complete ELF file", bin.display()))?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0, |acc, b| (acc << 8) | u64::from(*b)))
    };
    if elf.get(..5) != Some(b"\x7fELF\x02".as_slice()) {
        return Err(format!("{} is not a 64-bit ELF file", bin.display()));
    }
    let (phoff, phentsize, phnum) = (field(0x20, 8)?, field(0x36, 2)?, field(0x38, 2)?);
    for i in 0..phnum {
        let at = usize::try_from(phoff + i * phentsize).map_err(|e| e.to_string())?;
        if field(at, 4)? == u64::from(PT_INTERP) {
            return Err(format!(
                "{} asks for a dynamic loader: it is not static",
                bin.display()
            ));
        }
    }
    Ok(())
}

/// `[workspace.package] version` of the root Cargo.toml.
fn workspace_version() -> Result<String, String> {
    let manifest = std::fs::read_to_string(cmd::root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    manifest
        .split("[workspace.package]")
        .nth(1)
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_owned())
        .ok_or_else(|| "Cargo.toml has no [workspace.package] version".into())
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

fn mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

fn reset_dir(dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}
