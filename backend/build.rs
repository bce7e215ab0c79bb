//! Sets `FALSCOPE_VERSION` for `falscope --version`: the Cargo version, plus the git commit
//! when a release build is made from a checkout (`0.1.0 (1a2b3c4)`). Without git, or outside
//! a checkout, it is the Cargo version alone; nothing here can fail the build.

#![allow(
    clippy::print_stdout,
    reason = "cargo reads a build script's instructions from its standard output"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    // Release builds only: a commit changes the variable, and the variable rebuilds the whole
    // crate; debug builds (tests, development) would then rebuild after every commit.
    let commit = if std::env::var("PROFILE").as_deref() == Ok("release") {
        commit()
    } else {
        None
    };
    match commit {
        Some((hash, watch)) => {
            println!("cargo:rustc-env=FALSCOPE_VERSION={version} ({hash})");
            for path in watch {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        None => println!("cargo:rustc-env=FALSCOPE_VERSION={version}"),
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// The short hash of HEAD and the files that change when HEAD moves (only those that exist:
/// cargo reruns a script every time for a missing one).
fn commit() -> Option<(String, Vec<PathBuf>)> {
    let hash = git(&["rev-parse", "--short", "HEAD"])?;
    let git_dir = PathBuf::from(git(&["rev-parse", "--absolute-git-dir"])?);
    let common = git(&["rev-parse", "--git-common-dir"])
        .map(|d| absolute(&git_dir, Path::new(&d)))
        .unwrap_or_else(|| git_dir.clone());
    let mut watch = vec![git_dir.join("HEAD"), common.join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(common.join(branch));
    }
    watch.retain(|p| p.exists());
    Some((hash, watch))
}

/// `--git-common-dir` may be relative to the current directory.
fn absolute(git_dir: &Path, dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .unwrap_or_else(|_| git_dir.to_path_buf())
    }
}

/// A git command's trimmed output, or `None` for any failure (no git, no checkout).
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}
