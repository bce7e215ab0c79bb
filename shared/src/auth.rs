//! Who is calling: roles, the signed-in user as the browser sees it, login and audit bodies.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user may do. Each role includes everything of the roles before it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Overview, analytics, requests (without payloads), logs, file listings.
    Viewer,
    /// + file downloads and uploads.
    Operator,
    /// + usage and cost (which read fal with the ADMIN key).
    Billing,
    /// + settings and the audit log.
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Billing, Role::Admin];

    /// The name used in config files and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Billing => "billing",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: use viewer, operator, billing or admin"))
    }
}

/// How this falscope authenticates users (`--auth`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// No login (loopback only).
    None,
    /// falscope's own login page and API tokens.
    Token,
    /// A single-sign-on reverse proxy identifies users.
    Proxy,
}

/// The signed-in user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// User name (or the proxy's user header).
    pub name: String,
    /// Effective role.
    pub role: Role,
}

/// Part of [`crate::PublicConfig`]: how to sign in and who is signed in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthInfo {
    /// The server's mode.
    pub mode: AuthMode,
    /// The caller, when signed in. `None` with mode `token` means: show the login form.
    pub user: Option<UserInfo>,
}

/// Body of `POST /api/auth/login`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// User name from the auth file.
    pub username: String,
    /// Password.
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// One state-changing call, as `GET /api/audit` lists it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When the call finished.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who: a user name, or `anonymous`.
    pub who: String,
    /// The client address (the peer, or the forwarded client behind a trusted proxy).
    pub ip: String,
    /// HTTP method.
    pub method: String,
    /// The route template (`/api/ws/{ws}/files/upload`).
    pub route: String,
    /// The workspace, when the route has one.
    pub workspace: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// What the call did, where the route alone does not say (`flushed flux-studio: 12
    /// waiting`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Header every state-changing `/api` call from a browser must carry (CSRF defence: a
/// cross-site form or `fetch` cannot set it without a CORS preflight falscope never grants).
pub const CSRF_HEADER: &str = "x-falscope-csrf";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip_by_name() {
        assert!(Role::Viewer < Role::Operator && Role::Billing < Role::Admin);
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().unwrap_err().contains("viewer"));
    }

    #[test]
    fn login_debug_hides_the_password() {
        let l = LoginRequest {
            username: "a".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{l:?}").contains("hunter2"));
    }
}
