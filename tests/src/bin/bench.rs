//! `cargo xtask bench`: falscope against nginx (`proxy_cache` + `proxy_cache_lock`) in front of
//! the same simulator, on loopback, in one run; prints each figure, its target and the ratio.
//! Started by xtask with `FALSCOPE_BIN` (a release build) and `BENCH_SOAK_SECS`.
#![allow(clippy::print_stdout, reason = "a benchmark's figures are its output")]

use anyhow::{bail, Context};
use backend::clock::Clock as _;
use backend::upstream::convert::ANALYTICS_METRICS;
use backend::upstream::query::{AnalyticsQuery, Window};
use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use futures::StreamExt;
use integration_tests::cluster::{nginx_bin, port, stop_nginx, wait_ready};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

const API_KEY: &str = "bench-api-key";
const ADMIN_KEY: &str = "bench-admin-key";

struct Rig {
    /// `nginx -p … -c …`, to stop it gracefully: killing the master leaves its workers behind.
    nginx_args: [String; 4],
    sim: String,
    falscope: String,
    nginx: String,
    falscope_pid: u32,
    http: reqwest::Client,
    _children: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn start(bin: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (sp, fp, np) = (port()?, port()?, port()?);
        let sim = format!("http://127.0.0.1:{sp}");
        let mut children = Vec::new();
        children.push(
            Command::new(bin)
                .args(["simulate", "--listen", &format!("127.0.0.1:{sp}")])
                .args(["--api-key", API_KEY, "--admin-key", ADMIN_KEY])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .context("starting the simulator")?,
        );
        let falscope = Command::new(bin)
            .args(["--listen", &format!("127.0.0.1:{fp}")])
            .args(["--rate-limit", "0", "--max-streams", "100000"])
            .env("FAL_KEY", API_KEY)
            .env("FAL_ADMIN_KEY", ADMIN_KEY)
            .env("FAL_BASE_URL", &sim)
            .env("FALSCOPE_DATA_DIR", dir.path().join("data"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting falscope")?;
        let falscope_pid = falscope.id().context("falscope pid")?;
        children.push(falscope);
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, nginx_conf(dir.path(), np, sp))?;
        children.push(
            // Not killed on drop: a killed master leaves its workers behind; `Drop` stops it.
            Command::new(nginx_bin())
                .args(["-p", &dir.path().display().to_string(), "-c"])
                .arg(&conf)
                .spawn()
                .context("starting nginx (Debian package nginx; cargo xtask bench installs it)")?,
        );
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(2000)
            .build()?;
        let rig = Self {
            nginx_args: [
                "-p".into(),
                dir.path().display().to_string(),
                "-c".into(),
                conf.display().to_string(),
            ],
            falscope: format!("http://127.0.0.1:{fp}"),
            nginx: format!("http://127.0.0.1:{np}"),
            sim,
            falscope_pid,
            http,
            _children: children,
            _dir: dir,
        };
        wait_ready(&rig.http, &format!("{}/_sim/stats", rig.sim)).await?;
        wait_ready(&rig.http, &format!("{}/healthz", rig.falscope)).await?;
        wait_ready(&rig.http, &format!("{}/v1/serverless/apps", rig.nginx)).await?;
        Ok(rig)
    }

    async fn upstream_calls(&self, op: &str) -> anyhow::Result<u64> {
        let stats: serde_json::Value = self
            .http
            .get(format!("{}/_sim/stats", self.sim))
            .send()
            .await?
            .json()
            .await?;
        Ok(stats[op].as_u64().unwrap_or(0))
    }

    fn rss_mb(&self) -> f64 {
        rss_mb(self.falscope_pid)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // The other children die with their handles.
        stop_nginx(&self.nginx_args);
    }
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn nginx_conf(dir: &Path, port: u16, sim_port: u16) -> String {
    let d = dir.display();
    format!(
        "daemon off;
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    proxy_cache_path {d}/cache levels=1:2 keys_zone=fal:10m max_size=256m inactive=10m use_temp_path=off;
    upstream sim {{ server 127.0.0.1:{sim_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://sim;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Authorization \"Key {API_KEY}\";
            proxy_cache fal;
            proxy_cache_key $request_uri;
            proxy_cache_valid 200 10m;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 60s;
            proxy_cache_lock_age 60s;
            proxy_ignore_headers Cache-Control Expires Set-Cookie;
            add_header X-Cache $upstream_cache_status;
        }}
    }}
}}
"
    )
}

/// The dashboard's analytics view of one endpoint over `[start, end)`, and the fal call behind it.
fn analytics_paths(start: DateTime<Utc>, end: DateTime<Utc>) -> (String, String) {
    let ms = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let view = format!(
        "/api/ws/default/analytics?endpoints=acme/chat-llm&from={}&to={}",
        ms(start),
        ms(end)
    );
    let q = AnalyticsQuery {
        endpoint_ids: vec!["acme/chat-llm".into()],
        metrics: ANALYTICS_METRICS.iter().map(|m| (*m).to_owned()).collect(),
        time_series: true,
        summary: true,
        window: Window {
            start: Some(start),
            end: Some(end),
            ..Window::default()
        },
        ..AnalyticsQuery::default()
    };
    let fal = format!(
        "/v1/serverless/analytics?{}",
        serde_urlencoded::to_string(q.pairs()).unwrap_or_default()
    );
    (view, fal)
}

struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn ms_of(s: &str) -> f64 {
    let (num, unit): (String, String) = s.chars().partition(|c| c.is_ascii_digit() || *c == '.');
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit.as_str() {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

async fn wrk(url: &str, connections: u32, secs: u32) -> anyhow::Result<Wrk> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--latency",
            url,
        ])
        .output()
        .await
        .context("running wrk (Debian package wrk; cargo xtask bench installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        bail!("wrk saw errors for {url}:\n{text}");
    }
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_owned)
            .with_context(|| format!("no {prefix:?} in wrk output:\n{text}"))
    };
    Ok(Wrk {
        rps: field("Requests/sec:")?.parse()?,
        p50_ms: ms_of(&field("50%")?),
        p99_ms: ms_of(&field("99%")?),
    })
}

fn report(name: &str, value: String, target: &str, ok: bool) {
    let verdict = if ok { "met" } else { "MISSED" };
    println!("BENCH {name}: {value}  [target {target}: {verdict}]");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

async fn throughput(rig: &Rig, t0: DateTime<Utc>) -> anyhow::Result<f64> {
    let (view, fal) = analytics_paths(t0 - Days::hours(6), t0);
    // Warm both caches.
    for base in [&rig.falscope, &rig.nginx] {
        let url = if base == &rig.falscope { &view } else { &fal };
        let r = rig.http.get(format!("{base}{url}")).send().await?;
        if !r.status().is_success() {
            bail!("{base}{url} answered {}", r.status());
        }
    }
    let body = |base: &str, path: &str| {
        let req = rig.http.get(format!("{base}{path}"));
        async move { anyhow::Ok(req.send().await?.bytes().await?.len()) }
    };
    println!(
        "payloads: falscope {} B (dashboard JSON), nginx {} B (fal's JSON)",
        body(&rig.falscope, &view).await?,
        body(&rig.nginx, &fal).await?
    );
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (peak, pid) = (peak.clone(), rig.falscope_pid);
        tokio::spawn(async move {
            loop {
                peak.fetch_max((rss_mb(pid) * 10.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    // Alternating rounds, median of each: the box's background load drifts over a minute.
    let (mut fs, mut ns) = (Vec::new(), Vec::new());
    for round in 1..=3 {
        let f = wrk(&format!("{}{view}", rig.falscope), 64, 6).await?;
        let n = wrk(&format!("{}{fal}", rig.nginx), 64, 6).await?;
        println!(
            "cached GET round {round}, 64 connections, 6 s: falscope {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms); nginx {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms)",
            f.rps, f.p50_ms, f.p99_ms, n.rps, n.p50_ms, n.p99_ms
        );
        fs.push(f);
        ns.push(n);
    }
    sampler.abort();
    let median = |v: &mut Vec<Wrk>| {
        v.sort_by(|a, b| a.rps.total_cmp(&b.rps));
        v.swap_remove(1)
    };
    let (f, n) = (median(&mut fs), median(&mut ns));
    let ratio = f.rps / n.rps;
    report(
        "1 cached throughput ratio falscope/nginx (median rounds)",
        format!(
            "{ratio:.2}x ({:.0} vs {:.0} req/s; p99 {:.2} ms vs {:.2} ms)",
            f.rps, n.rps, f.p99_ms, n.p99_ms
        ),
        ">= 1.2x",
        ratio >= 1.2,
    );
    Ok(peak.load(Ordering::Relaxed) as f64 / 10.0)
}

async fn burst(rig: &Rig, base: &str, path: &str, n: usize) -> anyhow::Result<usize> {
    let calls = (0..n).map(|_| {
        let req = rig.http.get(format!("{base}{path}"));
        tokio::spawn(async move { req.send().await.map(|r| r.status().is_success()) })
    });
    let mut ok = 0;
    for c in calls.collect::<Vec<_>>() {
        if c.await?.unwrap_or(false) {
            ok += 1;
        }
    }
    Ok(ok)
}

async fn coalescing(rig: &Rig, t0: DateTime<Utc>) -> anyhow::Result<()> {
    for (name, base, which) in [("falscope", &rig.falscope, 0), ("nginx", &rig.nginx, 1)] {
        // A window nobody asked for yet: a cold key.
        let start = t0 - Days::days(3 + which);
        let (view, fal) = analytics_paths(start, start + Days::hours(5));
        let path = if which == 0 { view } else { fal };
        let before = rig.upstream_calls("analytics").await?;
        let ok = burst(rig, base, &path, 1000).await?;
        let calls = rig.upstream_calls("analytics").await? - before;
        report(
            &format!("2 coalescing {name}"),
            format!(
                "1000 concurrent cold requests ({ok} answered 200) -> {calls} upstream call(s)"
            ),
            "exactly 1",
            calls == 1 && ok == 1000,
        );
    }
    Ok(())
}

async fn miss_latency(rig: &Rig, t0: DateTime<Utc>) -> anyhow::Result<()> {
    let mut via = Vec::new();
    let mut direct = Vec::new();
    let timed = |req: reqwest::RequestBuilder| async move {
        let t = Instant::now();
        let resp = req.send().await?;
        let ok = resp.status().is_success();
        resp.bytes().await?;
        if !ok {
            bail!("a miss failed");
        }
        anyhow::Ok(t.elapsed().as_secs_f64() * 1000.0)
    };
    for i in 0..200 {
        // Every request a new window: a miss each time, for falscope and the simulator alike.
        let start = t0 - Days::days(20) + Days::minutes(i * 7);
        let (view, fal) = analytics_paths(start, start + Days::hours(2));
        via.push(timed(rig.http.get(format!("{}{view}", rig.falscope))).await?);
        let req = rig
            .http
            .get(format!("{}{fal}", rig.sim))
            .header("authorization", format!("Key {API_KEY}"));
        direct.push(timed(req).await?);
    }
    via.sort_by(f64::total_cmp);
    direct.sort_by(f64::total_cmp);
    let (pv, pd) = (percentile(&via, 0.5), percentile(&direct, 0.5));
    println!(
        "cache miss, 200 sequential: via falscope p50 {pv:.2} ms p99 {:.2} ms; simulator direct p50 {pd:.2} ms p99 {:.2} ms",
        percentile(&via, 0.99),
        percentile(&direct, 0.99)
    );
    report(
        "3 added latency on a miss (p50)",
        format!("{:.2} ms", pv - pd),
        "<= 1 ms",
        pv - pd <= 1.0,
    );
    Ok(())
}

/// Opens `n` SSE connections to `path`; each `on_event(name, data)` call sees every event.
async fn open_streams(
    rig: &Rig,
    path: &str,
    n: usize,
    on_event: impl Fn(&str, &str) + Send + Sync + 'static,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    use eventsource_stream::Eventsource;
    let on_event = Arc::new(on_event);
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let resp = rig
            .http
            .get(format!("{}{path}", rig.falscope))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("stream {path} answered {}", resp.status());
        }
        let on_event = on_event.clone();
        tasks.push(tokio::spawn(async move {
            let mut events = resp.bytes_stream().eventsource();
            while let Some(Ok(e)) = events.next().await {
                on_event(&e.event, &e.data);
            }
        }));
    }
    Ok(tasks)
}

async fn live_logs(rig: &Rig) -> anyhow::Result<()> {
    let lags = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let before = rig.upstream_calls("logs_stream").await?;
    let sink = lags.clone();
    let streams = open_streams(
        rig,
        "/api/ws/default/logs/stream",
        1000,
        move |event, data| {
            if event != "log" {
                return;
            }
            if let Ok(line) = serde_json::from_str::<shared::logs::LogLine>(data) {
                let lag = (backend::clock::SystemClock.now() - line.ts)
                    .num_microseconds()
                    .unwrap_or(0) as f64
                    / 1000.0;
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(lag);
            }
        },
    )
    .await?;
    // The same stream straight from the simulator, for the lag fal itself adds.
    let direct = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let client = backend::upstream::FalClient::new(
        url::Url::parse(&rig.sim)?,
        API_KEY.to_owned().into(),
        None,
    )?;
    let direct_task = {
        let direct = direct.clone();
        tokio::spawn(async move {
            use backend::upstream::FalApi;
            let q = backend::upstream::query::LogsQuery::default();
            if let Ok(mut s) = client.logs_stream(&q, &[]).await {
                while let Some(Ok(entry)) = s.next().await {
                    let Ok(ts) = DateTime::parse_from_rfc3339(&entry.timestamp) else {
                        continue;
                    };
                    let lag = (backend::clock::SystemClock.now() - ts.with_timezone(&Utc))
                        .num_microseconds()
                        .unwrap_or(0);
                    direct
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(lag as f64 / 1000.0);
                }
            }
        })
    };
    let mut rss: f64 = 0.0;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss = rss.max(rig.rss_mb());
    }
    // Minus the one stream this benchmark opened itself, straight to the simulator.
    let upstream = (rig.upstream_calls("logs_stream").await? - before).saturating_sub(1);
    for t in streams {
        t.abort();
    }
    direct_task.abort();
    let mut lags = lags.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut direct = direct.lock().unwrap_or_else(|e| e.into_inner()).clone();
    lags.sort_by(f64::total_cmp);
    direct.sort_by(f64::total_cmp);
    let (p99, d99) = (percentile(&lags, 0.99), percentile(&direct, 0.99));
    println!(
        "live logs, 1000 SSE clients, 15 s: {} deliveries; lag p50 {:.1} ms p99 {p99:.1} ms (simulator direct: p50 {:.1} ms p99 {d99:.1} ms); falscope RSS {rss:.1} MB",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&direct, 0.5)
    );
    report(
        "4 live logs upstream streams for 1000 clients",
        format!("{upstream}"),
        "1",
        upstream == 1,
    );
    report(
        "4 live logs delivery lag p99",
        format!("{p99:.1} ms (the simulator's own emission lag: {d99:.1} ms)"),
        "<= 100 ms",
        p99 <= 100.0,
    );
    report(
        "4 falscope RSS with 1000 log streams",
        format!("{rss:.1} MB"),
        "reported",
        true,
    );
    Ok(())
}

async fn metrics_politeness(rig: &Rig) -> anyhow::Result<()> {
    let streams = open_streams(rig, "/api/ws/default/live/stream", 1000, |_, _| {}).await?;
    let before = rig.upstream_calls("metrics").await?;
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let calls = rig.upstream_calls("metrics").await? - before;
    let per_10s = calls as f64 / (t.elapsed().as_secs_f64() / 10.0);
    for s in streams {
        s.abort();
    }
    report(
        "5 metrics calls with 1000 open overviews",
        format!("{calls} in 30 s = {per_10s:.2} per 10 s"),
        "<= 1 per 10 s",
        per_10s <= 1.0 + 1e-9 || calls <= 3,
    );
    Ok(())
}

async fn soak(rig: &Rig, t0: DateTime<Utc>, secs: u64) -> anyhow::Result<()> {
    let (view, _) = analytics_paths(t0 - Days::hours(6), t0);
    let url = format!("{}{view}", rig.falscope);
    let mut samples = Vec::new();
    let load = tokio::spawn(async move { wrk(&url, 64, u32::try_from(secs).unwrap_or(60)).await });
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        samples.push(rig.rss_mb());
    }
    let result = load.await??;
    let first = samples.get(1).or(samples.first()).copied().unwrap_or(0.0);
    let last = samples.last().copied().unwrap_or(0.0);
    let max = samples.iter().copied().fold(0.0, f64::max);
    println!(
        "soak {secs} s at 64 connections: {:.0} req/s; RSS every 10 s: {}",
        result.rps,
        samples
            .iter()
            .map(|s| format!("{s:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    report(
        "6 RSS growth over the soak (from the 20 s mark)",
        format!("{:+.1} MB (max {max:.1} MB)", last - first),
        "no growth (within 5 MB)",
        last - first <= 5.0,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bin = PathBuf::from(std::env::var("FALSCOPE_BIN").context("set FALSCOPE_BIN")?);
    let soak_secs: u64 = std::env::var("BENCH_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    if std::env::args().any(|a| a == "first-chart") {
        return first_chart(&bin).await;
    }
    if std::env::args().any(|a| a == "cluster") {
        return cluster_figures(&bin).await;
    }
    let rig = Rig::start(&bin).await?;
    // Let the poller's first rounds settle before measuring idle memory.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = rig.rss_mb();
    report(
        "6 RSS idle",
        format!("{idle:.1} MB"),
        "<= 30 MB",
        idle <= 30.0,
    );
    // A fixed hour, so each run asks for the same windows (the simulator is deterministic).
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 18, 15, 0, 0)
        .single()
        .context("t0")?;
    let peak = throughput(&rig, t0).await?;
    report(
        "6 RSS under cached-GET load",
        format!("{peak:.1} MB"),
        "<= 150 MB",
        peak <= 150.0,
    );
    coalescing(&rig, t0).await?;
    miss_latency(&rig, t0).await?;
    live_logs(&rig).await?;
    metrics_politeness(&rig).await?;
    soak(&rig, t0, soak_secs).await?;
    drop(rig);
    first_chart(&bin).await
}

/// Time to first chart: a fresh falscope in demo mode (cold cache) and a fresh headless
/// Chromium (cold browser cache) per run, on loopback; from navigation start to the frontend's
/// `falscope:first-chart` mark (its first canvas drawn), for `/` and `/analytics` with the
/// default endpoints.
async fn first_chart(bin: &Path) -> anyhow::Result<()> {
    const RUNS: usize = 7;
    for path in ["/", "/analytics"] {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let dir = tempfile::tempdir()?;
            let port = port()?;
            let base = format!("http://127.0.0.1:{port}");
            let _falscope = Command::new(bin)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .env_remove("FAL_KEY")
                .env_remove("FAL_ADMIN_KEY")
                .env_remove("FALSCOPE_WORKSPACES")
                .env("FALSCOPE_DATA_DIR", dir.path().join("data"))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .context("starting falscope in demo mode")?;
            wait_ready(&reqwest::Client::new(), &format!("{base}/readyz")).await?;
            let browser = integration_tests::browser::Browser::start().await;
            browser.goto(&format!("{base}{path}")).await;
            let mark = integration_tests::browser::poll(|| async {
                browser
                    .eval("const m = performance.getEntriesByName('falscope:first-chart')[0]; return m ? m.startTime : null")
                    .await
                    .as_f64()
            })
            .await;
            browser.close().await;
            times.push(mark.context("no chart was drawn")?);
        }
        times.sort_by(f64::total_cmp);
        let median = percentile(&times, 0.5);
        report(
            &format!("18 time to first chart {path}"),
            format!(
                "median {median:.0} ms, max {:.0} ms over {RUNS} cold runs",
                times.last().copied().unwrap_or(f64::NAN)
            ),
            "<= 400 ms",
            median <= 400.0,
        );
    }
    Ok(())
}

/// The figures of several replicas (issue 17), each layout started afresh: fal calls for 300
/// cold requests through nginx round-robin with 1, 2 and 3 replicas sharing Redis and Postgres
/// (and 3 alone, each with its own cache: nginx with per-node caches is the anchor at N),
/// cached throughput through nginx to 1 vs 3 replicas, the latency a Redis (L2) hit adds over
/// an in-memory (L1) hit, and how long a crashed replica's lease takes to move.
async fn cluster_figures(bin: &Path) -> anyhow::Result<()> {
    use integration_tests::cluster::{Cluster, Layout};
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(2000)
        .build()?;
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 18, 15, 0, 0)
        .single()
        .context("t0")?;
    let mut one_replica_calls = 0;
    for (replicas, shared) in [(1, true), (2, true), (3, true), (3, false)] {
        let mut c = Cluster::start(
            bin,
            Layout {
                replicas,
                shared,
                port: 0,
            },
        )
        .await?;
        let (view, _) = analytics_paths(t0 - Days::hours(6), t0);
        let before = c.fal_calls("analytics").await?;
        let gets = (0..300).map(|_| {
            let (http, url) = (http.clone(), format!("{}{view}", c.url));
            async move { http.get(url).send().await.map(|r| r.status().as_u16()) }
        });
        let statuses = futures::future::join_all(gets).await;
        let ok = statuses.iter().filter(|s| matches!(s, Ok(200))).count();
        let calls = c.fal_calls("analytics").await? - before;
        if replicas == 1 {
            one_replica_calls = calls;
        }
        let how = if shared {
            "sharing Redis"
        } else {
            "alone (per-node caches)"
        };
        report(
            &format!("17 fal calls for 300 cold requests, {replicas} replicas {how}"),
            format!(
                "{calls} analytics calls ({ok}/300 answered 200; 1 replica: {one_replica_calls})"
            ),
            "as 1 replica, whatever N (sharing)",
            !shared || calls == one_replica_calls,
        );
        if shared && replicas != 2 {
            let w = wrk(&format!("{}{view}", c.url), 64, 6).await?;
            report(
                &format!("17 cached GET through nginx round-robin, {replicas} replica(s)"),
                format!(
                    "{:.0} req/s (p50 {:.2} ms, p99 {:.2} ms)",
                    w.rps, w.p50_ms, w.p99_ms
                ),
                "reported (2 cores: no scaling expected)",
                true,
            );
        }
        if shared && replicas == 3 {
            l2_latency(&http, &c, t0).await?;
            lease_failover(&http, &mut c).await?;
        }
    }
    Ok(())
}

/// An L2 hit (replica 1 reads what replica 0 fetched) against an L1 hit (replica 1 again),
/// over 200 distinct views.
async fn l2_latency(
    http: &reqwest::Client,
    c: &integration_tests::cluster::Cluster,
    t0: DateTime<Utc>,
) -> anyhow::Result<()> {
    let (mut l2, mut l1) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let end = t0 - Days::minutes(i);
        let (view, _) = analytics_paths(end - Days::hours(1), end);
        let get = |base: &str| {
            let url = format!("{base}{view}");
            async move {
                let start = Instant::now();
                let resp = http.get(url).send().await?;
                let cache = resp
                    .headers()
                    .get("x-cache")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                resp.bytes().await?;
                Ok::<_, anyhow::Error>((start.elapsed().as_secs_f64() * 1000.0, cache))
            }
        };
        get(&c.replicas[0]).await?;
        let (peer, cache) = get(&c.replicas[1]).await?;
        anyhow::ensure!(
            cache == "HIT",
            "the second replica did not hit Redis: {cache}"
        );
        l2.push(peer);
        l1.push(get(&c.replicas[1]).await?.0);
    }
    l2.sort_by(f64::total_cmp);
    l1.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&l2, 0.5), percentile(&l2, 0.99));
    let (q50, q99) = (percentile(&l1, 0.5), percentile(&l1, 0.99));
    report(
        "17 L2 (Redis) hit vs L1 hit, one replica, 200 views",
        format!(
            "L2 p50 {p50:.2} ms, p99 {p99:.2} ms; L1 p50 {q50:.2} ms, p99 {q99:.2} ms; added p50 {:.2} ms, p99 {:.2} ms",
            p50 - q50,
            p99 - q99
        ),
        "reported",
        true,
    );
    Ok(())
}

/// Kills the replica holding the alerts lease (SIGKILL: no release) and times until another
/// one holds it.
async fn lease_failover(
    http: &reqwest::Client,
    c: &mut integration_tests::cluster::Cluster,
) -> anyhow::Result<()> {
    let holds = |base: String| async move {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        Some(text.contains("falscope_lease_held{job=\"alerts\"} 1"))
    };
    let mut holder = None;
    for _ in 0..200 {
        for (i, r) in c.replicas.iter().enumerate() {
            if holds(r.clone()).await == Some(true) {
                holder = Some(i);
            }
        }
        if holder.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let holder = holder.context("no replica holds the alerts lease")?;
    c.kill(holder).await;
    let killed = Instant::now();
    let others: Vec<String> = (0..c.replicas.len())
        .filter(|i| *i != holder)
        .map(|i| c.replicas[i].clone())
        .collect();
    loop {
        for r in &others {
            if holds(r.clone()).await == Some(true) {
                let took = killed.elapsed().as_secs_f64();
                report(
                    "17 alerts lease fail-over after its holder is killed",
                    format!("{took:.1} s"),
                    "<= 8 s (lease 6 s, renewed every 2 s)",
                    took <= 8.0,
                );
                return Ok(());
            }
        }
        anyhow::ensure!(
            killed.elapsed() < Duration::from_secs(30),
            "no replica took the lease over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
