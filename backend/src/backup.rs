//! `falscope backup`: a consistent copy of the SQLite database while falscope runs, through
//! SQLite's online backup API. Postgres (`--database-url`) is backed up with `pg_dump`.

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database file falscope keeps in its data directory.
const DATABASE_FILE: &str = "falscope.sqlite3";

/// How long one step waits for a lock held by the running falscope before trying again, and
/// how many tries it gets: a write transaction lasts milliseconds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPTS: u32 = 6;

/// What was copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The database that was copied.
    pub source: PathBuf,
    /// Its schema version (`PRAGMA user_version`), which the copy keeps.
    pub schema_version: i64,
    /// Size of the copy in bytes.
    pub bytes: u64,
}

/// Why a backup failed; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The data directory holds no database.
    #[error("no falscope database in {0} (looked for {DATABASE_FILE}); pass the --data-dir (FALSCOPE_DATA_DIR) falscope serves from")]
    Missing(PathBuf),
    /// `--to` names the database itself.
    #[error("--to {0} is the database itself; write the copy somewhere else")]
    SameFile(PathBuf),
    /// SQLite refused.
    #[error("{context}: {source}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A file could not be written or moved.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The running falscope held its lock through every attempt.
    #[error("the database stayed locked for {} s; try again", BUSY_TIMEOUT.as_secs() * u64::from(ATTEMPTS))]
    Busy,
    /// The copy did not pass `PRAGMA quick_check`.
    #[error("the copy failed SQLite's quick_check ({0}); the previous file at --to is untouched")]
    Corrupt(String),
}

/// Copies `data_dir/falscope.sqlite3` to `to`, on the blocking pool. The copy is written
/// beside `to` and renamed over it only when complete and checked, so a failed run leaves an
/// earlier backup in place. Writers carry on meanwhile: in WAL mode the copy reads one
/// snapshot (one step over every page) without blocking them.
pub async fn sqlite(data_dir: &Path, to: &Path) -> Result<Report, BackupError> {
    let (data_dir, to) = (data_dir.to_path_buf(), to.to_path_buf());
    tokio::task::spawn_blocking(move || copy(&data_dir, &to))
        .await
        .map_err(|e| BackupError::Io {
            context: "the backup task failed".into(),
            source: std::io::Error::other(e.to_string()),
        })?
}

fn copy(data_dir: &Path, to: &Path) -> Result<Report, BackupError> {
    let source = data_dir.join(DATABASE_FILE);
    if !source.is_file() {
        return Err(BackupError::Missing(data_dir.to_path_buf()));
    }
    if to
        .canonicalize()
        .is_ok_and(|t| source.canonicalize().is_ok_and(|s| s == t))
    {
        return Err(BackupError::SameFile(to.to_path_buf()));
    }
    let sql = |context: &str| {
        let context = context.to_owned();
        move |source| BackupError::Sqlite { context, source }
    };
    // Read-write but never create: a read-only handle on a WAL database needs the -shm file
    // to exist already, which it does not when falscope is stopped.
    let src = Connection::open_with_flags(
        &source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql(&format!("opening {}", source.display())))?;
    src.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("setting a busy timeout"))?;
    let schema_version: i64 = src
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql(&format!("reading {}", source.display())))?;

    let partial = partial_path(to);
    create_private(&partial)?;
    let result = write_copy(&src, &partial).and_then(|()| {
        std::fs::rename(&partial, to).map_err(|source| BackupError::Io {
            context: format!("moving the copy to {}", to.display()),
            source,
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result?;
    let bytes = std::fs::metadata(to).map_or(0, |m| m.len());
    Ok(Report {
        source,
        schema_version,
        bytes,
    })
}

/// Backs `src` up into the (empty) file `path` and checks the copy.
fn write_copy(src: &Connection, path: &Path) -> Result<(), BackupError> {
    let sql = |context: &'static str| {
        move |source| BackupError::Sqlite {
            context: context.into(),
            source,
        }
    };
    let mut dst = Connection::open(path).map_err(sql("opening the copy"))?;
    {
        let backup = Backup::new(src, &mut dst).map_err(sql("starting the backup"))?;
        let mut attempts = 0;
        loop {
            // -1: every page in one step, under one read snapshot. Smaller steps would restart
            // whenever the running falscope writes in between.
            match backup.step(-1).map_err(sql("copying"))? {
                StepResult::Done => break,
                StepResult::More => {}
                // Busy, Locked, or a state a later rusqlite adds: try again, a bounded number
                // of times (the source's busy timeout waits in between).
                _ => {
                    attempts += 1;
                    if attempts >= ATTEMPTS {
                        return Err(BackupError::Busy);
                    }
                }
            }
        }
    }
    // One self-contained file: a WAL-mode copy would need its -wal beside it when read.
    dst.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sql("finishing the copy"))?;
    let check: String = dst
        .pragma_query_value(None, "quick_check", |r| r.get(0))
        .map_err(sql("checking the copy"))?;
    if check != "ok" {
        return Err(BackupError::Corrupt(check));
    }
    dst.close().map_err(|(_, e)| sql("closing the copy")(e))
}

/// `FILE.partial` beside `FILE` (same file system, so the rename is atomic).
fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}

/// An empty file only its owner can read: the database holds session digests and the audit
/// trail.
fn create_private(path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|source| BackupError::Io {
            context: format!("creating {}", path.display()),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn says_what_is_missing_and_never_overwrites_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let err = sqlite(dir.path(), &dir.path().join("copy.sqlite3"))
            .await
            .unwrap_err();
        assert!(matches!(err, BackupError::Missing(_)), "{err}");
        assert!(err.to_string().contains("--data-dir"), "{err}");

        crate::store::Store::open(dir.path()).unwrap();
        let err = sqlite(dir.path(), &dir.path().join(DATABASE_FILE))
            .await
            .unwrap_err();
        assert!(matches!(err, BackupError::SameFile(_)), "{err}");

        let to = dir.path().join("copy.sqlite3");
        let report = sqlite(dir.path(), &to).await.unwrap();
        assert!(report.schema_version > 0 && report.bytes > 0, "{report:?}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&to).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!partial_path(&to).exists());
    }
}
