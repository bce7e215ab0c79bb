//! The simulated fal account: its apps, machine prices and the traffic they receive.
//!
//! Everything is a pure function of (seed, time): the requests of any minute are regenerated
//! on demand, so requests, analytics, usage, logs and metrics all agree with each other and a
//! request id can be looked up without storing anything (it encodes its minute, app and index).

use super::rng::{hash, str_id, Draws};
use uuid::Uuid;

/// Milliseconds in a minute.
pub const MINUTE_MS: i64 = 60_000;
/// Billing lags this long behind a request's end (`billable_units` is null until then).
pub const BILLING_LAG_MS: i64 = 3 * MINUTE_MS;
/// Longest a request can stay in flight (queue + startup + timeout), for look-back windows.
pub const MAX_IN_FLIGHT_MS: i64 = 12 * MINUTE_MS;

/// What an app does; drives payloads and log messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// Text-to-image.
    Image,
    /// Text-to-video.
    Video,
    /// Chat completion.
    Llm,
    /// Image upscaling.
    Upscale,
    /// Text embeddings.
    Embed,
}

/// A machine type with its names and per-second price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Machine {
    /// Name used by apps and usage (`GPU-H100`).
    pub usage_name: &'static str,
    /// Name used by the Prometheus `machine_type` label (`NVIDIA H100`).
    pub metrics_name: &'static str,
    /// USD per machine-second, non-surge.
    pub unit_price: f64,
    /// Multiplier applied during surge periods, when the machine has surge pricing.
    pub surge_multiplier: Option<f64>,
    /// Contracted percentage discount, when any.
    pub percent_discount: Option<f64>,
}

/// The machine catalogue.
pub const H100: Machine = Machine {
    usage_name: "GPU-H100",
    metrics_name: "NVIDIA H100",
    unit_price: 0.00125,
    surge_multiplier: Some(1.5),
    percent_discount: Some(10.0),
};
/// NVIDIA B200.
pub const B200: Machine = Machine {
    usage_name: "GPU-B200",
    metrics_name: "NVIDIA B200",
    unit_price: 0.00199,
    surge_multiplier: Some(1.5),
    percent_discount: None,
};
/// NVIDIA A100.
pub const A100: Machine = Machine {
    usage_name: "GPU-A100",
    metrics_name: "NVIDIA A100",
    unit_price: 0.00099,
    surge_multiplier: None,
    percent_discount: None,
};
/// NVIDIA A10G.
pub const A10G: Machine = Machine {
    usage_name: "GPU-A10G",
    metrics_name: "NVIDIA A10G",
    unit_price: 0.00032,
    surge_multiplier: None,
    percent_discount: None,
};
/// CPU machine "L".
pub const CPU_L: Machine = Machine {
    usage_name: "L",
    metrics_name: "CPU L",
    unit_price: 0.00005,
    surge_multiplier: None,
    percent_discount: None,
};

/// One deployed app of the simulated account.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// App name (`flux-studio`).
    pub name: &'static str,
    /// Route suffixes; `""` is the app's root endpoint.
    pub routes: &'static [&'static str],
    /// What it does.
    pub kind: AppKind,
    /// Its machine.
    pub machine: Machine,
    /// Peak requests per minute (15:00 UTC on a weekday).
    pub peak_rpm: f64,
    /// Median execution time, seconds.
    pub median_s: f64,
    /// Log-normal spread of execution time.
    pub sigma: f64,
    /// Share of requests answered 4xx.
    pub p_user_error: f64,
    /// Share of requests failing 5xx.
    pub p_server_error: f64,
    /// Runners kept warm without traffic.
    pub min_concurrency: u32,
    /// Upper bound of runners.
    pub max_concurrency: u32,
    /// Seconds an idle runner is kept.
    pub keep_alive: f64,
    /// Typical cold-start seconds.
    pub startup_s: f64,
    /// Request timeout, seconds.
    pub request_timeout: f64,
    /// Environment name.
    pub environment: &'static str,
}

/// A model-API endpoint the account calls (models analytics), owned by fal.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// Endpoint id, e.g. `fal-ai/flux/dev`.
    pub endpoint_id: &'static str,
    /// Peak requests per minute from this account.
    pub peak_rpm: f64,
    /// Median execution seconds.
    pub median_s: f64,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Success,
    /// 4xx.
    UserError,
    /// 5xx: the runner never started (startup timeout, scheduling failure).
    StartupError,
    /// 5xx: connection to the runner lost or refused.
    ConnectionError,
    /// 5xx: request exceeded its timeout.
    TimeoutError,
    /// 5xx: the handler raised.
    RuntimeError,
}

impl Outcome {
    /// True for 5xx outcomes.
    pub fn is_server_error(self) -> bool {
        !matches!(self, Self::Success | Self::UserError)
    }
}

/// One simulated request. Times are Unix milliseconds; durations seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRequest {
    /// Index of the app in [`World::apps`] (or of the model in `models` + 8).
    pub source: usize,
    /// Route-level endpoint id it was recorded under.
    pub endpoint_id: String,
    /// UUIDv7 whose timestamp is `sent_at` and whose random bits encode source and index.
    pub request_id: Uuid,
    /// Runner that served it; `None` when it failed before dispatch.
    pub runner_id: Option<Uuid>,
    /// Submitted.
    pub sent_at: i64,
    /// Execution started.
    pub started_at: i64,
    /// Finished.
    pub ended_at: i64,
    /// HTTP status returned.
    pub status_code: u16,
    /// Outcome class.
    pub outcome: Outcome,
    /// Cold-start seconds when it waited for a new runner.
    pub cold_boot: Option<f64>,
    /// Seconds from submission to execution start.
    pub prepare: f64,
    /// Execution seconds.
    pub duration: f64,
    /// Index within its minute.
    pub index: u8,
    /// Seed of its per-request draws (payloads, log text).
    pub draws: Draws,
}

impl SimRequest {
    /// Machine-seconds billed for this request (execution only; startup errors bill nothing).
    pub fn billable_units(&self) -> f64 {
        if self.runner_id.is_none() {
            0.0
        } else {
            (self.duration * 100.0).round() / 100.0
        }
    }
}

/// The simulated account.
#[derive(Debug, Clone)]
pub struct World {
    /// Seed of every draw.
    pub seed: u64,
    /// Account username (owner of every app).
    pub owner: &'static str,
    /// Deployed apps.
    pub apps: Vec<AppSpec>,
    /// Model endpoints the account calls.
    pub models: Vec<ModelSpec>,
}

/// Model sources are numbered after apps in request ids (4 bits: apps 0..8, models 8..16).
const MODEL_SOURCE_BASE: usize = 8;

impl World {
    /// The standard world: image, video, LLM, upscaler prod/dev and an embeddings app.
    pub fn new(seed: u64) -> Self {
        let app = |name, routes, kind, machine, peak_rpm, median_s, sigma| AppSpec {
            name,
            routes,
            kind,
            machine,
            peak_rpm,
            median_s,
            sigma,
            p_user_error: 0.04,
            p_server_error: 0.015,
            min_concurrency: 0,
            max_concurrency: 10,
            keep_alive: 300.0,
            startup_s: 25.0,
            request_timeout: 300.0,
            environment: "main",
        };
        let apps = vec![
            AppSpec {
                min_concurrency: 1,
                ..app(
                    "flux-studio",
                    &["", "turbo"],
                    AppKind::Image,
                    H100,
                    9.0,
                    4.5,
                    0.35,
                )
            },
            AppSpec {
                startup_s: 60.0,
                request_timeout: 600.0,
                max_concurrency: 4,
                p_server_error: 0.03,
                ..app("video-gen", &[""], AppKind::Video, B200, 1.2, 48.0, 0.3)
            },
            AppSpec {
                min_concurrency: 2,
                p_user_error: 0.06,
                ..app(
                    "chat-llm",
                    &["", "stream"],
                    AppKind::Llm,
                    A100,
                    14.0,
                    2.2,
                    0.6,
                )
            },
            AppSpec {
                startup_s: 12.0,
                ..app("upscaler", &[""], AppKind::Upscale, A10G, 4.0, 3.0, 0.25)
            },
            AppSpec {
                startup_s: 12.0,
                p_server_error: 0.08,
                max_concurrency: 1,
                ..app("upscaler-dev", &[""], AppKind::Upscale, A10G, 0.3, 3.4, 0.3)
            },
            AppSpec {
                startup_s: 5.0,
                ..app("embeddings", &[""], AppKind::Embed, CPU_L, 6.0, 0.4, 0.4)
            },
            // Lives in a second environment: the apps list shows it only when asked for
            // `environment=staging`, and usage names it `image-lab-staging`.
            AppSpec {
                environment: "staging",
                startup_s: 20.0,
                ..app("image-lab", &[""], AppKind::Image, H100, 1.5, 5.0, 0.35)
            },
        ];
        let models = vec![
            ModelSpec {
                endpoint_id: "fal-ai/flux/dev",
                peak_rpm: 3.0,
                median_s: 3.8,
            },
            ModelSpec {
                endpoint_id: "fal-ai/flux-pro/v1.1",
                peak_rpm: 1.0,
                median_s: 6.5,
            },
            ModelSpec {
                endpoint_id: "fal-ai/kling-video/v2/master",
                peak_rpm: 0.2,
                median_s: 95.0,
            },
        ];
        Self {
            seed,
            owner: "acme",
            apps,
            models,
        }
    }

    /// `<owner>/<name>` of app `i`.
    pub fn app_id(&self, i: usize) -> String {
        format!("{}/{}", self.owner, self.apps[i].name)
    }

    /// The `app` usage reports for app `i`: fal's "may include an environment/version
    /// suffix", so apps outside the main environment carry theirs and, depending on the seed,
    /// two of the main ones carry `-prod` (with `environment` null, as in fal's example).
    pub fn usage_name(&self, i: usize) -> String {
        let spec = &self.apps[i];
        if spec.environment != "main" {
            format!("{}-{}", spec.name, spec.environment)
        } else if i % 3 == (self.seed % 3) as usize {
            format!("{}-prod", spec.name)
        } else {
            spec.name.to_owned()
        }
    }

    /// Route-level endpoint ids of app `i` (the root first).
    pub fn endpoints_of(&self, i: usize) -> Vec<String> {
        let base = self.app_id(i);
        self.apps[i]
            .routes
            .iter()
            .map(|r| {
                if r.is_empty() {
                    base.clone()
                } else {
                    format!("{base}/{r}")
                }
            })
            .collect()
    }

    /// The app with `name`.
    pub fn app_index(&self, name: &str) -> Option<usize> {
        self.apps.iter().position(|a| a.name == name)
    }

    /// Requests per minute expected for a source at `minute` (Unix minutes).
    pub fn rate(&self, source: usize, minute: i64) -> f64 {
        let peak = self.peak_rpm(source);
        let hour = minute.rem_euclid(24 * 60) as f64 / 60.0;
        // Diurnal: low at 03:00 UTC, peak at 15:00 UTC.
        let diurnal =
            0.15 + 0.85 * (0.5 + 0.5 * ((hour - 15.0) / 24.0 * std::f64::consts::TAU).cos());
        // 1970-01-01 was a Thursday: day 2 and 3 of the week (from Thursday) are Sat and Sun.
        let weekday = (minute.div_euclid(24 * 60)).rem_euclid(7);
        let weekly = if weekday == 2 || weekday == 3 {
            0.55
        } else {
            1.0
        };
        // Ten-minute blocks wander, and 2% of them are bursts.
        let block = Draws(hash(&[
            self.seed,
            1,
            source as u64,
            minute.div_euclid(10) as u64,
        ]));
        let mut noise = 0.6 + 0.8 * block.unit(0);
        if block.unit(1) < 0.02 {
            noise *= 3.0;
        }
        peak * diurnal * weekly * noise
    }

    fn peak_rpm(&self, source: usize) -> f64 {
        if source >= MODEL_SOURCE_BASE {
            self.models[source - MODEL_SOURCE_BASE].peak_rpm
        } else {
            self.apps[source].peak_rpm
        }
    }

    /// Every source index: apps then models.
    pub fn model_source(&self, model: usize) -> usize {
        MODEL_SOURCE_BASE + model
    }

    /// The requests submitted to `source` during `minute`, in submission order.
    pub fn requests_in_minute(&self, source: usize, minute: i64) -> Vec<SimRequest> {
        let rate = self.rate(source, minute);
        let d = Draws(hash(&[self.seed, 2, source as u64, minute as u64]));
        let count = ((rate + d.unit(0)).floor() as usize).min(255);
        let mut out: Vec<SimRequest> = (0..count)
            .map(|i| self.request(source, minute, i as u8, rate))
            .collect();
        out.sort_by_key(|r| (r.sent_at, r.index));
        out
    }

    /// The requests of `source` submitted in `[from_ms, to_ms)`.
    pub fn requests_between(&self, source: usize, from_ms: i64, to_ms: i64) -> Vec<SimRequest> {
        let first = from_ms.div_euclid(MINUTE_MS);
        let last = (to_ms - 1).div_euclid(MINUTE_MS);
        (first..=last)
            .flat_map(|m| self.requests_in_minute(source, m))
            .filter(|r| r.sent_at >= from_ms && r.sent_at < to_ms)
            .collect()
    }

    /// Finds a request by id without scanning: the id carries its minute, source and index.
    pub fn request_by_id(&self, id: Uuid) -> Option<SimRequest> {
        let bytes = id.as_bytes();
        if id.get_version_num() != 7 {
            return None;
        }
        let ms = i64::from_be_bytes([
            0, 0, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5],
        ]);
        let source = usize::from(bytes[6] & 0x0F);
        if source >= MODEL_SOURCE_BASE + self.models.len()
            || (source < MODEL_SOURCE_BASE && source >= self.apps.len())
        {
            return None;
        }
        let minute = ms.div_euclid(MINUTE_MS);
        self.requests_in_minute(source, minute)
            .into_iter()
            .find(|r| r.request_id == id)
    }

    fn request(&self, source: usize, minute: i64, index: u8, rate: f64) -> SimRequest {
        let d = Draws(hash(&[
            self.seed,
            3,
            source as u64,
            minute as u64,
            u64::from(index),
        ]));
        let (endpoint_id, median, sigma, p4, p5, startup, timeout, machines) =
            if source >= MODEL_SOURCE_BASE {
                let m = &self.models[source - MODEL_SOURCE_BASE];
                (
                    m.endpoint_id.to_owned(),
                    m.median_s,
                    0.3,
                    0.03,
                    0.01,
                    0.0,
                    600.0,
                    4u32,
                )
            } else {
                let a = &self.apps[source];
                let endpoints = self.endpoints_of(source);
                // The root route takes 70% of the traffic; the others share the rest.
                let e = if endpoints.len() == 1 || d.unit(1) < 0.7 {
                    0
                } else {
                    1 + (d.bits(2) as usize) % (endpoints.len() - 1)
                };
                (
                    endpoints[e].clone(),
                    a.median_s,
                    a.sigma,
                    a.p_user_error,
                    a.p_server_error,
                    a.startup_s,
                    a.request_timeout,
                    a.max_concurrency,
                )
            };
        let sent_at = minute * MINUTE_MS + (d.unit(3) * MINUTE_MS as f64) as i64;
        // Quiet periods mean more cold starts.
        let p_cold = if startup > 0.0 {
            (0.4 / (1.0 + rate)).min(0.3)
        } else {
            0.0
        };
        let cold = d.unit(6) < p_cold;
        let u = d.unit(4);
        let outcome = if u < p5 {
            // Why it failed, as it happens: startup errors on cold starts, timeouts on the
            // slow video app, connection errors in short bursts, runtime errors anywhere.
            let video = source < MODEL_SOURCE_BASE && self.apps[source].kind == AppKind::Video;
            let burst = hash(&[self.seed, 7, source as u64, minute.div_euclid(5) as u64])
                .is_multiple_of(12);
            match d.unit(5) {
                x if video && x < 0.5 => Outcome::TimeoutError,
                x if cold && x < 0.7 => Outcome::StartupError,
                x if burst && x < 0.8 => Outcome::ConnectionError,
                x if x < 0.06 => Outcome::ConnectionError,
                x if x < 0.12 => Outcome::TimeoutError,
                _ => Outcome::RuntimeError,
            }
        } else if u < p5 + p4 {
            Outcome::UserError
        } else {
            Outcome::Success
        };
        let cold_boot =
            (cold || outcome == Outcome::StartupError).then(|| startup * (0.6 + 0.9 * d.unit(7)));
        let queue_wait =
            0.03 + 0.6 * d.unit(8).powi(4) + if rate > 20.0 { 2.0 * d.unit(9) } else { 0.0 };
        let prepare = queue_wait + cold_boot.unwrap_or(0.0);
        let duration = match outcome {
            Outcome::Success | Outcome::RuntimeError => {
                (median * (sigma * d.normal(10)).exp()).clamp(0.05, timeout * 0.9)
            }
            Outcome::UserError => 0.05 + 0.25 * d.unit(12),
            Outcome::StartupError => 0.0,
            Outcome::ConnectionError => 0.5 + median * d.unit(12),
            Outcome::TimeoutError => timeout,
        };
        let status_code = match outcome {
            Outcome::Success => 200,
            Outcome::UserError => [400, 422, 422, 404][(d.bits(13) % 4) as usize],
            Outcome::StartupError => 503,
            Outcome::ConnectionError => 502,
            Outcome::TimeoutError => 504,
            Outcome::RuntimeError => 500,
        };
        let runners = u64::from(machines.max(1));
        let runner_id = (outcome != Outcome::StartupError).then(|| {
            let day = minute.div_euclid(24 * 60) as u64;
            uuid_v4(hash(&[
                self.seed,
                4,
                source as u64,
                day,
                d.bits(14) % runners,
            ]))
        });
        let started_at = sent_at + (prepare * 1000.0) as i64;
        let ended_at = started_at + (duration * 1000.0) as i64;
        let request_id = uuid_v7(sent_at, source as u8, index, d.bits(15));
        SimRequest {
            source,
            endpoint_id,
            request_id,
            runner_id,
            sent_at,
            started_at,
            ended_at,
            status_code,
            outcome,
            cold_boot,
            prepare,
            duration,
            index,
            draws: d,
        }
    }

    /// The revision id an app ran at `ms` (apps are redeployed weekly).
    pub fn revision(&self, app_name: &str, ms: i64) -> String {
        let week = ms.div_euclid(7 * 24 * 60 * MINUTE_MS);
        format!(
            "rev_{:06x}",
            hash(&[self.seed, 5, str_id(app_name), week as u64]) & 0xFF_FFFF
        )
    }

    /// Whether machine `m` is in a surge period during `minute` (whole hours in the
    /// afternoon peak, about one in six).
    pub fn is_surge(&self, m: &Machine, minute: i64) -> bool {
        if m.surge_multiplier.is_none() {
            return false;
        }
        let hour = minute.div_euclid(60);
        let hour_of_day = hour.rem_euclid(24);
        (13..20).contains(&hour_of_day)
            && Draws(hash(&[self.seed, 6, str_id(m.usage_name), hour as u64])).unit(0) < 0.17
    }
}

/// A UUIDv7: 48-bit Unix-ms timestamp, then 4 bits of source and 8 bits of index in `rand_a`.
fn uuid_v7(ms: i64, source: u8, index: u8, random: u64) -> Uuid {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70 | (source & 0x0F);
    b[7] = index;
    b[8..].copy_from_slice(&random.to_be_bytes());
    b[8] = (b[8] & 0x3F) | 0x80;
    Uuid::from_bytes(b)
}

/// A UUIDv4-shaped id from a hash.
pub fn uuid_v4(h: u64) -> Uuid {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&h.to_be_bytes());
    b[8..].copy_from_slice(&super::rng::mix(h).to_be_bytes());
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    Uuid::from_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_2026: i64 = 1_795_000_000_000;

    #[test]
    fn same_seed_same_world_and_ids_resolve() {
        let w = World::new(7);
        let minute = NOV_2026 / MINUTE_MS + 15 * 60;
        let a = w.requests_in_minute(0, minute);
        assert_eq!(a, w.requests_in_minute(0, minute));
        assert!(!a.is_empty(), "flux-studio should see traffic");
        for r in &a {
            assert_eq!(w.request_by_id(r.request_id).as_ref(), Some(r));
            assert!(r.sent_at <= r.started_at && r.started_at <= r.ended_at);
            assert!(w.endpoints_of(0).contains(&r.endpoint_id));
        }
        assert_ne!(World::new(8).requests_in_minute(0, minute), a);
    }

    #[test]
    fn outcomes_follow_the_configured_mix() {
        let w = World::new(1);
        let start = NOV_2026;
        let reqs = w.requests_between(2, start, start + 24 * 60 * MINUTE_MS);
        let n = reqs.len() as f64;
        assert!(
            n > 3000.0,
            "chat-llm sees thousands of requests a day, got {n}"
        );
        let user = reqs
            .iter()
            .filter(|r| r.outcome == Outcome::UserError)
            .count() as f64
            / n;
        let server = reqs.iter().filter(|r| r.outcome.is_server_error()).count() as f64 / n;
        assert!((0.04..0.08).contains(&user), "user error share {user}");
        assert!(
            (0.005..0.03).contains(&server),
            "server error share {server}"
        );
    }
}
