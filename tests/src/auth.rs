//! An auth file for tests: one password user and one API token per role, group mappings, and
//! helpers to call falscope as each of them.

use shared::auth::Role;
use std::path::PathBuf;

/// A written auth file.
pub struct AuthFixture {
    _dir: tempfile::TempDir,
    /// Its path, for `--auth-file`.
    pub path: PathBuf,
}

/// The user name of the password user with `role`.
pub fn user(role: Role) -> String {
    format!("{role}-user")
}

/// The password of [`user`].
pub fn password(role: Role) -> String {
    format!("{role}-password-7f2c")
}

/// The API token with `role`.
pub fn token(role: Role) -> String {
    format!("fsk_test_{role}_token_51e9")
}

impl AuthFixture {
    /// Users and tokens for every role; groups `ops` → operator, `finance` → billing; `extra`
    /// is appended verbatim (e.g. a `[workspaces]` table). Tokens are stored as SHA-256.
    pub fn write(extra: &str) -> Self {
        Self::written(extra, |t| {
            let digest = backend::auth::password::sha256(t);
            format!(
                "token_sha256 = \"{}\"",
                backend::auth::password::hex(&digest)
            )
        })
    }

    /// [`AuthFixture::write`] with tokens stored as argon2 hashes (files written before
    /// `token_sha256`).
    pub fn write_with_argon2_tokens(extra: &str) -> Self {
        Self::written(extra, |t| {
            let hash = backend::auth::password::hash(t).expect("hash");
            format!("token_hash = \"{hash}\"")
        })
    }

    fn written(extra: &str, stored_token: impl Fn(&str) -> String) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut text = String::new();
        for role in Role::ALL {
            let hash = |s: &str| backend::auth::password::hash(s).expect("hash");
            text += &format!(
                "[[user]]\nname = \"{}\"\nrole = \"{role}\"\npassword_hash = \"{}\"\n\n[[token]]\nname = \"{role}-token\"\nrole = \"{role}\"\n{}\n\n",
                user(role),
                hash(&password(role)),
                stored_token(&token(role)),
            );
        }
        text += "[groups]\nops = \"operator\"\nfinance = \"billing\"\n\n";
        text += extra;
        let path = dir.path().join("auth.toml");
        std::fs::write(&path, text).expect("write auth file");
        Self { _dir: dir, path }
    }

    /// `--auth-file <path>` as arguments.
    pub fn arg(&self) -> String {
        self.path.display().to_string()
    }
}
