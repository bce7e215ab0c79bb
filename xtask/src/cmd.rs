//! Running child processes with the toolchain's bin directory first on `PATH`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where cargo puts builds: CARGO_TARGET_DIR (or cargo's config name for it), relative to the
/// workspace root, where every command here runs.
pub fn target_dir() -> PathBuf {
    let root = root();
    std::env::var_os("CARGO_TARGET_DIR")
        .or_else(|| std::env::var_os("CARGO_BUILD_TARGET_DIR"))
        .map_or_else(|| root.join("target"), |dir| root.join(PathBuf::from(dir)))
}

/// `$CARGO_HOME/bin`, where cargo-installed tools and our wasm-opt link live.
pub fn cargo_bin() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin")
}

/// A command builder that runs in the workspace root with our environment.
pub struct Cmd(Command);

impl Cmd {
    /// A new command.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let mut c = Command::new(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![cargo_bin()];
        dirs.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(dirs) {
            c.env("PATH", joined);
        }
        // trunk asks crates.io for a newer trunk at every start; offline that only logs an
        // error, so skip it.
        c.env("TRUNK_SKIP_VERSION_CHECK", "true");
        c.current_dir(root());
        Self(c)
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.0.args(args);
        self
    }

    /// Adds `--version`.
    pub fn arg_version(self) -> Self {
        self.args(["--version"])
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.0.env(key, value);
        self
    }

    fn describe(&self) -> String {
        let mut s = self.0.get_program().to_string_lossy().into_owned();
        for a in self.0.get_args() {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }
}

/// `cargo` with arguments.
pub fn cargo<I, S>(args: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Cmd::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())).args(args)
}

/// Runs to completion with inherited stdio; a non-zero exit is an error naming the command.
pub fn run(mut cmd: Cmd) -> Result<(), String> {
    let line = cmd.describe();
    println!("\n$ {line}");
    let status = cmd
        .0
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Runs with its output captured; a failure is an error carrying the command and its stderr.
pub fn run_quiet(mut cmd: Cmd) -> Result<(), String> {
    let line = cmd.describe();
    let out = cmd
        .0
        .output()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{line}` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs quietly and returns trimmed stdout, or `None` if it could not run or failed.
pub fn output(mut cmd: Cmd) -> Option<String> {
    let out = cmd.0.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
