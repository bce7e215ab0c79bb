//! The auth file (`--auth-file`): users with password hashes, API tokens, how a proxy names
//! users and groups, which group gets which role, and which groups may see which workspace.
//!
//! ```toml
//! session_hours = 12
//!
//! [[user]]
//! name = "ana"
//! role = "admin"                       # viewer | operator | billing | admin
//! password_hash = "$argon2id$v=19$..."  # falscope hash-password
//! groups = ["platform"]
//!
//! [[token]]
//! name = "prometheus"
//! role = "viewer"
//! token_sha256 = "9f86d08..."           # falscope hash-password --new-token
//! # token_hash = "$argon2id$v=19$..."   # older files: still read, verified slowly
//!
//! [proxy]
//! user_header = "x-forwarded-user"
//! email_header = "x-forwarded-email"
//! groups_header = "x-forwarded-groups"
//! require_group = false                 # true: users without a mapped group get no access
//!
//! [groups]                              # group → role; the highest role wins
//! platform = "operator"
//! finance = "billing"
//!
//! [workspaces]                          # workspace → groups that may see it (default: all)
//! prod = ["platform", "finance"]
//! ```

use super::password;
use shared::auth::Role;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    #[serde(default = "default_session_hours")]
    session_hours: u32,
    #[serde(default)]
    user: Vec<Principal>,
    #[serde(default)]
    token: Vec<TokenEntry>,
    #[serde(default)]
    proxy: ProxyHeaders,
    #[serde(default)]
    groups: BTreeMap<String, Role>,
    #[serde(default)]
    workspaces: BTreeMap<String, Vec<String>>,
}

fn default_session_hours() -> u32 {
    12
}

/// A user who signs in with a password.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// PHC argon2 hash of the password.
    pub password_hash: String,
    /// Groups, for workspace limits.
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    role: Role,
    #[serde(default)]
    token_sha256: Option<String>,
    #[serde(default)]
    token_hash: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// An API token: 256 random bits, so stored as its SHA-256 and found by a constant-time
/// compare (no argon2 per request, nothing for a flood of bad tokens to spend). GitHub and
/// crates.io store tokens the same way; argon2 stays for passwords, which are guessable.
#[derive(Debug, Clone)]
pub struct TokenPrincipal {
    /// Name (who, in the audit trail).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Groups, for workspace limits.
    pub groups: Vec<String>,
    /// How the token is stored.
    pub secret: TokenSecret,
}

/// A token as the auth file stores it.
#[derive(Debug, Clone)]
pub enum TokenSecret {
    /// `token_sha256`: the digest, hex in the file.
    Sha256([u8; 32]),
    /// `token_hash` (files written before `token_sha256`): an argon2 PHC string.
    Argon2(String),
}

/// 64 hex digits → 32 bytes.
fn hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// OWASP's minimum for argon2id: 19 MiB of memory, two passes.
const MIN_MEMORY_KIB: u32 = 19 * 1024;
const MIN_PASSES: u32 = 2;

/// Why an argon2 hash is weaker than OWASP's minimum, if it is.
fn weak(phc: &str) -> Option<String> {
    let h = argon2::password_hash::PasswordHash::new(phc).ok()?;
    let param = |k: &str| h.params.get_decimal(k);
    let (m, t) = (param("m")?, param("t")?);
    (m < MIN_MEMORY_KIB || t < MIN_PASSES).then(|| {
        format!("m={m} KiB, t={t} is below OWASP's minimum (m={MIN_MEMORY_KIB}, t={MIN_PASSES}): hash it again with `falscope hash-password`")
    })
}

/// Header names a single-sign-on proxy sets (oauth2-proxy's `--set-xauthrequest` names).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyHeaders {
    /// The user's name.
    pub user_header: String,
    /// The user's email (used as the name when there is no user header).
    pub email_header: String,
    /// Comma-separated groups.
    pub groups_header: String,
    /// Deny users none of whose groups has a role (otherwise they are viewers).
    pub require_group: bool,
}

impl Default for ProxyHeaders {
    fn default() -> Self {
        Self {
            user_header: "x-forwarded-user".into(),
            email_header: "x-forwarded-email".into(),
            groups_header: "x-forwarded-groups".into(),
            require_group: false,
        }
    }
}

/// The validated auth file (empty without `--auth-file`).
#[derive(Debug, Clone)]
pub struct Directory {
    /// Session lifetime.
    pub session_hours: u32,
    /// Password users.
    pub users: Vec<Principal>,
    /// API tokens.
    pub tokens: Vec<TokenPrincipal>,
    /// What to tell the operator at start (weak hashes, slow token storage).
    pub warnings: Vec<String>,
    /// Proxy header names.
    pub proxy: ProxyHeaders,
    /// group → role.
    pub groups: BTreeMap<String, Role>,
    /// workspace → groups allowed.
    pub workspaces: BTreeMap<String, Vec<String>>,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            session_hours: default_session_hours(),
            users: Vec::new(),
            tokens: Vec::new(),
            warnings: Vec::new(),
            proxy: ProxyHeaders::default(),
            groups: BTreeMap::new(),
            workspaces: BTreeMap::new(),
        }
    }
}

impl Directory {
    /// Reads and validates `path`; the error says what to fix.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        Self::parse(&text)
    }

    /// Parses and validates the file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: AuthFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.session_hours == 0 || file.session_hours > 24 * 30 {
            return Err("session_hours must be between 1 and 720".into());
        }
        let mut warnings = Vec::new();
        let mut tokens = Vec::new();
        for t in file.token {
            let secret = match (t.token_sha256, t.token_hash) {
                (Some(hex), None) => TokenSecret::Sha256(hex32(&hex).ok_or_else(|| {
                    format!("token {:?}: token_sha256 must be 64 hex digits (falscope hash-password --new-token)", t.name)
                })?),
                (None, Some(phc)) => {
                    warnings.push(format!("token {:?} is stored as an argon2 hash: every new use costs a slow hash; issue a new one with `falscope hash-password --new-token` (token_sha256)", t.name));
                    TokenSecret::Argon2(phc)
                }
                _ => {
                    return Err(format!(
                        "token {:?}: give exactly one of token_sha256 or token_hash",
                        t.name
                    ))
                }
            };
            tokens.push(TokenPrincipal {
                name: t.name,
                role: t.role,
                groups: t.groups,
                secret,
            });
        }
        let users = file
            .user
            .iter()
            .map(|u| (u.name.as_str(), Some(u.password_hash.as_str())));
        let token_names = tokens.iter().map(|t| {
            let phc = match &t.secret {
                TokenSecret::Argon2(phc) => Some(phc.as_str()),
                TokenSecret::Sha256(_) => None,
            };
            (t.name.as_str(), phc)
        });
        for (kind, list, field) in [
            ("user", users.collect::<Vec<_>>(), "password_hash"),
            ("token", token_names.collect::<Vec<_>>(), "token_hash"),
        ] {
            for (i, (name, phc)) in list.iter().enumerate() {
                if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                    return Err(format!(
                        "{kind} #{}: name must be 1–64 printable characters",
                        i + 1
                    ));
                }
                if list[..i].iter().any(|(q, _)| q == name) {
                    return Err(format!("{kind} {name:?} appears twice"));
                }
                let Some(phc) = phc else { continue };
                if !password::is_valid_hash(phc) {
                    return Err(format!(
                        "{kind} {name:?}: {field} is not an argon2 hash; make one with `falscope hash-password`"
                    ));
                }
                if let Some(why) = weak(phc) {
                    warnings.push(format!("{kind} {name:?}: {field} {why}"));
                }
            }
        }
        for (what, name) in [
            ("user_header", &file.proxy.user_header),
            ("email_header", &file.proxy.email_header),
            ("groups_header", &file.proxy.groups_header),
        ] {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!(
                    "[proxy] {what} {name:?} is not a valid header name"
                ));
            }
        }
        Ok(Self {
            session_hours: file.session_hours,
            users: file.user,
            tokens,
            warnings,
            proxy: file.proxy,
            groups: file.groups,
            workspaces: file.workspaces,
        })
    }

    /// The role of a proxy user with `groups`: the highest mapped role, else viewer unless
    /// `require_group`.
    pub fn role_of_groups(&self, groups: &[String]) -> Option<Role> {
        let mapped = groups
            .iter()
            .filter_map(|g| self.groups.get(g))
            .max()
            .copied();
        mapped.or((!self.proxy.require_group).then_some(Role::Viewer))
    }

    /// Whether someone in `groups` may see workspace `ws` (unlisted workspaces are open).
    pub fn may_see(&self, ws: &str, groups: &[String]) -> bool {
        self.workspaces
            .get(ws)
            .is_none_or(|allowed| allowed.iter().any(|g| groups.contains(g)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap_hash(secret: &str) -> String {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(8, 1, 1, None).unwrap();
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        a.hash_password(
            secret.as_bytes(),
            &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
        )
        .unwrap()
        .to_string()
    }

    #[test]
    fn parses_roles_groups_and_workspace_limits() {
        let text = format!(
            "[[user]]\nname = \"ana\"\nrole = \"admin\"\npassword_hash = \"{}\"\n\n[[token]]\nname = \"prom\"\nrole = \"viewer\"\ntoken_hash = \"{}\"\n\n[groups]\nfinance = \"billing\"\nops = \"operator\"\n\n[workspaces]\nprod = [\"ops\"]\n",
            cheap_hash("pw"),
            cheap_hash("tok")
        );
        let d = Directory::parse(&text).unwrap();
        assert_eq!(d.users[0].role, Role::Admin);
        assert_eq!(d.tokens[0].name, "prom");
        let g = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            d.role_of_groups(&g(&["ops", "finance"])),
            Some(Role::Billing)
        );
        assert_eq!(d.role_of_groups(&g(&["x"])), Some(Role::Viewer));
        assert!(d.may_see("prod", &g(&["ops"])) && !d.may_see("prod", &g(&["finance"])));
        assert!(d.may_see("stage", &[]), "unlisted workspaces are open");
    }

    #[test]
    fn tokens_are_stored_as_sha256_and_weak_or_slow_hashes_are_named() {
        let digest = password::hex(&password::sha256("fsk_secret"));
        let strong = password::hash("pw").unwrap();
        let text = format!(
            "[[user]]\nname = \"ana\"\nrole = \"admin\"\npassword_hash = \"{strong}\"\n\n[[token]]\nname = \"prom\"\nrole = \"viewer\"\ntoken_sha256 = \"{digest}\"\n"
        );
        let d = Directory::parse(&text).unwrap();
        assert!(
            matches!(d.tokens[0].secret, TokenSecret::Sha256(s) if s == password::sha256("fsk_secret"))
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);

        let weak = format!(
            "[[user]]\nname = \"bo\"\nrole = \"admin\"\npassword_hash = \"{}\"\n\n[[token]]\nname = \"old\"\nrole = \"viewer\"\ntoken_hash = \"{strong}\"\n",
            cheap_hash("pw")
        );
        let d = Directory::parse(&weak).unwrap();
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("\"old\"") && d.warnings[0].contains("token_sha256"));
        assert!(d.warnings[1].contains("\"bo\"") && d.warnings[1].contains("OWASP"));

        for bad in ["token_sha256 = \"abc\"", "token_sha256 = \"zz\"", ""] {
            let text = format!("[[token]]\nname = \"t\"\nrole = \"viewer\"\n{bad}\n");
            assert!(Directory::parse(&text).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_what_to_fix() {
        for (text, hint) in [
            (
                "[[user]]\nname = \"a\"\nrole = \"root\"\npassword_hash = \"x\"\n",
                "unknown variant",
            ),
            (
                "[[user]]\nname = \"a\"\nrole = \"admin\"\npassword_hash = \"plain\"\n",
                "hash-password",
            ),
            ("[proxy]\nuser_header = \"bad header\"\n", "user_header"),
            (
                "[proxy]\nrequire_group = true\n[groups]\nops = \"viewer\"\n",
                "",
            ),
            ("session_hours = 0\n", "session_hours"),
            ("password = \"x\"\n", "unknown field"),
        ] {
            match Directory::parse(text) {
                Ok(d) => {
                    assert!(hint.is_empty(), "{text} should fail");
                    assert_eq!(
                        d.role_of_groups(&[]),
                        None,
                        "require_group denies the unmapped"
                    );
                }
                Err(e) => assert!(e.contains(hint), "{e}"),
            }
        }
    }
}
