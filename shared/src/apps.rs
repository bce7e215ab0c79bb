//! The workspace's apps (for pickers) and how fal's names for one app are joined.
//!
//! fal names an app three ways: endpoint ids `owner/name[/route]` (analytics, requests), the
//! bare `name` (logs), and usage's `app`, "the deployed name without owner prefix", which "may
//! include an environment/version suffix" (`my-app-prod`). [`AppIndex`] maps every form to the
//! app's `name`, the key cost views join on.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// An app and its endpoint ids.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    /// `<owner>/<name>`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owner (account or team).
    #[serde(default)]
    pub owner: String,
    /// fal environment, e.g. `main`.
    #[serde(default)]
    pub environment: String,
    /// Machine type.
    pub machine_type: String,
    /// Route-level endpoint ids (the app's own id first).
    pub endpoints: Vec<String>,
}

/// Body of `POST /api/ws/{ws}/queue/flush` (operator). The request carries an
/// [`IDEMPOTENCY_KEY`] header made once per confirmation: a double click or a retry with the
/// same key flushes once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlushQueue {
    /// The app, by name (`flux-studio`) or id (`acme/flux-studio`).
    pub app: String,
}

/// The header that makes a flush happen once per confirmation.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Answer of `POST /api/ws/{ws}/queue/flush`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flushed {
    /// The app's name.
    pub app: String,
    /// Requests waiting just before the flush, as fal counted them (`None`: fal did not say).
    pub waiting: Option<u64>,
    /// This confirmation was already carried out (same key): nothing was flushed again.
    pub repeated: bool,
}

/// How many endpoint ids one fal analytics or requests call takes.
pub const MAX_ENDPOINTS: usize = 50;

/// Body of `GET /api/ws/{ws}/endpoints`: what the Analytics and Requests pages show before
/// anyone picks: every endpoint of the workspace, or, past the [`MAX_ENDPOINTS`] one fal call
/// takes, the busiest of them by requests over the last 24 hours.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DefaultEndpoints {
    /// The endpoint ids to show, at most [`MAX_ENDPOINTS`] (busiest first when `busiest`).
    pub endpoints: Vec<String>,
    /// How many endpoints the workspace has.
    pub total: usize,
    /// `endpoints` are the busiest of `total` by the last day's requests (when fal does not give
    /// the traffic, the first of them in fal's order, and this is false).
    pub busiest: bool,
}

impl DefaultEndpoints {
    /// What the pages say about the endpoints shown.
    pub fn describe(&self) -> String {
        match (self.busiest, self.total) {
            (true, total) => format!(
                "Showing the {} busiest of {total} endpoints (requests in the last 24 h): pick others above.",
                self.endpoints.len()
            ),
            (false, 1) => "Showing the workspace's one endpoint.".to_owned(),
            (false, total) if self.endpoints.len() < total => format!(
                "Showing the first {} of {total} endpoints (fal did not give their traffic): pick others above.",
                self.endpoints.len()
            ),
            (false, total) => format!("Showing all {total} endpoints: pick some above to narrow."),
        }
    }
}

/// Joins fal's names of an app (see the module docs) to the app's `name`.
#[derive(Debug, Clone, Default)]
pub struct AppIndex {
    apps: Arc<Vec<AppSummary>>,
}

impl AppIndex {
    /// An index over `apps` (of every environment).
    pub fn new(apps: impl Into<Arc<Vec<AppSummary>>>) -> Self {
        Self { apps: apps.into() }
    }

    /// An index of apps known only by their ids `owner/name` (main environment).
    pub fn of_ids(ids: &[&str]) -> Self {
        let apps: Vec<AppSummary> = ids
            .iter()
            .map(|id| AppSummary {
                id: (*id).to_owned(),
                name: id.split('/').nth(1).unwrap_or(id).to_owned(),
                owner: id.split('/').next().unwrap_or_default().to_owned(),
                environment: "main".into(),
                machine_type: String::new(),
                endpoints: vec![(*id).to_owned()],
            })
            .collect();
        Self::new(apps)
    }

    /// The apps.
    pub fn apps(&self) -> &[AppSummary] {
        &self.apps
    }

    /// The listed app a person means by `given`: its name (`flux-studio`) or its id
    /// (`acme/flux-studio`), the main environment's first. `None`: no such app.
    pub fn named(&self, given: &str) -> Option<&AppSummary> {
        let given = given.trim();
        let is = |a: &&AppSummary| a.name == given || a.id == given;
        self.apps
            .iter()
            .filter(is)
            .min_by_key(|a| a.environment != "main")
    }

    /// The app of an endpoint id `owner/name[/route]`: the app whose id or route-level id it
    /// is, else (not listed: a model API, an app deployed since) its `owner/name`, which no
    /// app name can equal.
    pub fn of_endpoint<'a>(&'a self, endpoint: &'a str) -> &'a str {
        let listed = self.apps.iter().find(|a| {
            a.endpoints.iter().any(|e| e == endpoint)
                || endpoint
                    .strip_prefix(a.id.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        match listed {
            Some(a) => &a.name,
            None => {
                let owner_and_name = endpoint
                    .match_indices('/')
                    .nth(1)
                    .map_or(endpoint.len(), |(i, _)| i);
                &endpoint[..owner_and_name]
            }
        }
    }

    /// The app of a usage `app` (and `environment`, when fal gives one): the listed app of that
    /// name, else the listed app it is `<name>-<suffix>` of where the suffix names an
    /// environment or a version (the row's environment, a listed environment, `prod`, `dev`,
    /// `v2`, … — so `sdxl-turbo` never becomes `sdxl`), the longest such name (`upscaler-dev-prod`
    /// is `upscaler-dev`), preferring apps of the row's environment; a name no listed app
    /// explains stays itself.
    pub fn of_usage<'a>(&'a self, app: &'a str, environment: Option<&str>) -> &'a str {
        let in_env = |a: &&AppSummary| environment.is_none_or(|e| a.environment == e);
        let exact = |a: &&AppSummary| a.name == app;
        let suffixed = |a: &&AppSummary| {
            app.strip_prefix(a.name.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|suffix| self.is_environment_or_version(suffix, environment))
        };
        let longest = |it: &mut dyn Iterator<Item = &'a AppSummary>| {
            it.max_by_key(|a| a.name.len()).map(|a| a.name.as_str())
        };
        self.apps
            .iter()
            .filter(in_env)
            .find(exact)
            .map(|a| a.name.as_str())
            .or_else(|| longest(&mut self.apps.iter().filter(in_env).filter(suffixed)))
            .or_else(|| self.apps.iter().find(exact).map(|a| a.name.as_str()))
            .or_else(|| longest(&mut self.apps.iter().filter(suffixed)))
            .unwrap_or(app)
    }

    /// Whether a name suffix reads as an environment or a version.
    fn is_environment_or_version(&self, suffix: &str, environment: Option<&str>) -> bool {
        const USUAL: &[&str] = &[
            "prod",
            "production",
            "staging",
            "stage",
            "dev",
            "development",
            "test",
            "testing",
            "preview",
            "canary",
            "main",
            "live",
            "beta",
            "qa",
        ];
        let version = suffix
            .strip_prefix(['v', 'V'])
            .unwrap_or(suffix)
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        !suffix.is_empty()
            && (version
                || USUAL.contains(&suffix.to_ascii_lowercase().as_str())
                || environment.is_some_and(|e| e.eq_ignore_ascii_case(suffix))
                || self
                    .apps
                    .iter()
                    .any(|a| a.environment.eq_ignore_ascii_case(suffix)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_endpoints_say_which_are_shown() {
        let shown = |n: usize, total, busiest| DefaultEndpoints {
            endpoints: (0..n).map(|i| format!("acme/app-{i}")).collect(),
            total,
            busiest,
        };
        assert_eq!(
            shown(9, 9, false).describe(),
            "Showing all 9 endpoints: pick some above to narrow."
        );
        assert!(shown(50, 120, true)
            .describe()
            .starts_with("Showing the 50 busiest of 120"));
        assert!(shown(50, 120, false)
            .describe()
            .starts_with("Showing the first 50 of 120"));
        assert_eq!(
            shown(1, 1, false).describe(),
            "Showing the workspace's one endpoint."
        );
    }

    fn app(name: &str, environment: &str, routes: &[&str]) -> AppSummary {
        let id = format!("acme/{name}");
        AppSummary {
            endpoints: routes
                .iter()
                .map(|r| {
                    if r.is_empty() {
                        id.clone()
                    } else {
                        format!("{id}/{r}")
                    }
                })
                .collect(),
            id,
            name: name.into(),
            owner: "acme".into(),
            environment: environment.into(),
            machine_type: "GPU-H100".into(),
        }
    }

    fn index() -> AppIndex {
        AppIndex::new(vec![
            app("upscaler", "main", &[""]),
            app("upscaler-dev", "main", &[""]),
            app("flux", "main", &["", "turbo"]),
            app("image-lab", "staging", &[""]),
        ])
    }

    #[test]
    fn an_app_is_named_by_its_name_or_its_id_and_nothing_else() {
        let ix = index();
        let named = |given| ix.named(given).map(|a| a.name.as_str());
        assert_eq!(named("flux"), Some("flux"));
        assert_eq!(named("acme/flux"), Some("flux"));
        assert_eq!(named(" image-lab "), Some("image-lab"));
        assert_eq!(named("fl"), None);
        assert_eq!(named("acme/flux/turbo"), None);
        assert_eq!(named("other/flux"), None);
    }

    #[test]
    fn usage_names_with_a_suffix_join_the_app_they_extend() {
        let ix = index();
        assert_eq!(ix.of_usage("upscaler", None), "upscaler");
        assert_eq!(ix.of_usage("upscaler-prod", None), "upscaler");
        assert_eq!(
            ix.of_usage("upscaler-dev", None),
            "upscaler-dev",
            "a real app"
        );
        assert_eq!(ix.of_usage("upscaler-dev-prod", None), "upscaler-dev");
        assert_eq!(
            ix.of_usage("image-lab-staging", Some("staging")),
            "image-lab"
        );
        assert_eq!(
            ix.of_usage("image-lab-staging", Some("production")),
            "image-lab"
        );
        assert_eq!(
            ix.of_usage("flux-", None),
            "flux-",
            "an empty suffix is no suffix"
        );
        assert_eq!(
            ix.of_usage("fluxgen", None),
            "fluxgen",
            "a prefix is not a suffix"
        );
        assert_eq!(ix.of_usage("mystery-app", None), "mystery-app");
        assert_eq!(ix.of_usage("flux-v2", None), "flux");
        assert_eq!(ix.of_usage("flux-2.1", None), "flux");
        assert_eq!(
            ix.of_usage("flux-turbo", None),
            "flux-turbo",
            "another app, not a suffix"
        );
        assert_eq!(
            ix.of_usage("flux-eu", Some("eu")),
            "flux",
            "the row's environment"
        );
    }

    #[test]
    fn endpoint_ids_join_their_app_in_any_environment() {
        let ix = index();
        assert_eq!(ix.of_endpoint("acme/flux/turbo"), "flux");
        assert_eq!(ix.of_endpoint("acme/flux/new-route"), "flux");
        assert_eq!(ix.of_endpoint("acme/image-lab"), "image-lab");
        assert_eq!(ix.of_endpoint("acme/upscaler-dev"), "upscaler-dev");
        assert_eq!(ix.of_endpoint("fal-ai/flux-pro/v1.1"), "fal-ai/flux-pro");
        assert_eq!(
            ix.of_endpoint("fal-ai/flux/dev"),
            "fal-ai/flux",
            "not our app `flux`"
        );
    }
}
