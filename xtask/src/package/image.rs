//! The container image: built from `deploy/Containerfile` around the static binary, saved as
//! an OCI archive that Docker loads too, and smoke-tested in podman; plus the compose
//! example's parse.

use super::{copy, free_port, reset_dir, write, IMAGE_LIMIT};
use crate::bootstrap;
use crate::cmd::{self, output, run, Cmd};
use std::path::{Path, PathBuf};

/// Builds the image from `deploy/Containerfile` and saves it as an OCI archive.
pub fn image(out: &Path, bin: &Path, version: &str) -> Result<PathBuf, String> {
    let context = out.join("image");
    reset_dir(&context)?;
    copy(bin, &context.join("falscope"))?;
    std::fs::create_dir(context.join("data")).map_err(|e| format!("{}: {e}", context.display()))?;
    let tag = image_tag(version);
    let containerfile = cmd::root().join("deploy/Containerfile");
    run(podman(&out.join("containers.conf"))?
        .args(["build", "--format", "oci", "--build-arg"])
        .args([format!("VERSION={version}"), "-t".into(), tag.clone()])
        .args([
            "-f".as_ref(),
            containerfile.as_os_str(),
            context.as_os_str(),
        ]))?;
    let archive = out.join(format!("falscope-{version}-oci.tar"));
    let _ = std::fs::remove_file(&archive);
    run(podman(&out.join("containers.conf"))?
        .args(["save", "--format", "oci-archive", "-o"])
        .args([archive.as_os_str(), tag.as_ref()]))?;
    add_docker_manifest(&archive, &tag)?;
    let size = std::fs::metadata(&archive)
        .map_err(|e| format!("{}: {e}", archive.display()))?
        .len();
    if size > IMAGE_LIMIT {
        return Err(format!(
            "{} is {size} bytes, over the 40 MiB limit",
            archive.display()
        ));
    }
    Ok(archive)
}

/// Adds the `manifest.json` of Docker's own archive format beside the OCI layout (as
/// `docker save` has done since Docker 25), so Docker releases that predate OCI archives load
/// it too and name it: the blobs are shared, only the index differs.
fn add_docker_manifest(archive: &Path, tag: &str) -> Result<(), String> {
    let tar_text = |member: &str| {
        output(Cmd::new("tar").args(["-xOf".as_ref(), archive.as_os_str(), member.as_ref()]))
            .ok_or_else(|| format!("{member} is missing from {}", archive.display()))
    };
    // Digests in order: the manifest's `config` precedes its `layers` (OCI's field order,
    // which containers/image keeps).
    let digests = |json: &str| -> Vec<String> {
        json.split("\"digest\":\"sha256:")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect()
    };
    let images = digests(&tar_text("index.json")?);
    let [manifest] = images.as_slice() else {
        return Err(format!("{} should hold one image", archive.display()));
    };
    let blobs = digests(&tar_text(&format!("blobs/sha256/{manifest}"))?);
    let (config, layers) = blobs
        .split_first()
        .ok_or("the image manifest lists no config")?;
    let layers: Vec<String> = layers
        .iter()
        .map(|l| format!("\"blobs/sha256/{l}\""))
        .collect();
    let dir = archive.with_file_name("docker-manifest");
    reset_dir(&dir)?;
    write(
        &dir.join("manifest.json"),
        &format!(
            "[{{\"Config\":\"blobs/sha256/{config}\",\"RepoTags\":[\"{tag}\"],\"Layers\":[{}]}}]",
            layers.join(",")
        ),
    )?;
    run(Cmd::new("tar").args([
        "--append".as_ref(),
        "--owner=0".as_ref(),
        "--group=0".as_ref(),
        "-f".as_ref(),
        archive.as_os_str(),
        "-C".as_ref(),
        dir.as_os_str(),
        "manifest.json".as_ref(),
    ]))
}

/// Loads the archive afresh, checks the image's settings, refuses a key without sign-in, and
/// serves the demo: `/healthz`, `/` and the demo's apps.
pub fn smoke_image(archive: &Path, version: &str) -> Result<(), String> {
    let conf = archive.with_file_name("containers.conf");
    let tag = image_tag(version);
    // Docker's own format first (what an older `docker load` reads), then the OCI layout.
    let _ = output(podman(&conf)?.args(["rmi", "-f", &tag]));
    let docker_archive = format!("docker-archive:{}", archive.display());
    run(podman(&conf)?.args(["pull", &docker_archive]))?;
    output(podman(&conf)?.args(["image", "exists", &tag]))
        .ok_or_else(|| format!("the docker-archive manifest does not name {tag}"))?;
    let _ = output(podman(&conf)?.args(["rmi", "-f", &tag]));
    run(podman(&conf)?.args(["load".as_ref(), "-i".as_ref(), archive.as_os_str()]))?;
    let config = output(podman(&conf)?.args([
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{.Config.ExposedPorts}} {{.Config.Volumes}}",
        &tag,
    ]))
    .ok_or("podman image inspect failed")?;
    for want in ["65532:65532", "8080/tcp", "/data"] {
        if !config.contains(want) {
            return Err(format!("the image's config lacks {want}: {config}"));
        }
    }
    println!("image config: {config}");

    // A fal key without sign-in on 0.0.0.0 must not start (the image's defaults otherwise).
    // `timeout`: were it to start, it would serve until stopped.
    let refused = Cmd::new("timeout")
        .args(["60", "podman"])
        .args(podman_flags())
        .env("CONTAINERS_CONF", &conf.display().to_string())
        .args([
            "run",
            "--rm",
            "--network",
            "host",
            "-e",
            "FAL_KEY=not-a-key",
        ])
        .args([
            "-e".into(),
            format!("FALSCOPE_LISTEN=0.0.0.0:{}", free_port()?),
        ])
        .args([&tag]);
    match cmd::run_quiet(refused) {
        Err(e) if e.contains("only allows a loopback --listen") => {
            println!("a fal key with --auth none on 0.0.0.0: refused, as it should be");
        }
        Err(e) => return Err(format!("the key-without-sign-in check failed oddly: {e}")),
        Ok(()) => return Err("the image started --auth none on 0.0.0.0 with a fal key".into()),
    }

    let port = free_port()?;
    let name = format!("falscope-smoke-{port}");
    run(podman(&conf)?
        .args(["run", "-d", "--rm", "--name", &name, "--network", "host"])
        .args(["-e".into(), format!("FALSCOPE_LISTEN=0.0.0.0:{port}"), tag]))?;
    let result = demo_answers(port);
    if result.is_err() {
        let _ = run(podman(&conf)?.args(["logs", &name]));
    }
    let _ = output(podman(&conf)?.args(["stop", "-t", "5", &name]));
    result
}

/// `/healthz`, `/` and the demo's apps over HTTP, as a browser on this machine asks.
fn demo_answers(port: u16) -> Result<(), String> {
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: &str| {
        output(Cmd::new("curl").args([
            "-fsS",
            "--retry",
            "30",
            "--retry-connrefused",
            "--retry-delay",
            "1",
            "--max-time",
            "20",
            &format!("{base}{path}"),
        ]))
        .ok_or_else(|| format!("GET {path} on the container failed"))
    };
    let health = get("/healthz")?;
    println!("GET /healthz: {health}");
    let index = get("/")?;
    if !index.contains("<script") {
        return Err(format!("GET / is not the dashboard: {index:.200}"));
    }
    println!("GET /: the dashboard ({} bytes)", index.len());
    let apps = get("/api/ws/demo/apps")?;
    if !apps.contains("flux-studio") {
        return Err(format!("the demo's apps lack flux-studio: {apps:.300}"));
    }
    println!("GET /api/ws/demo/apps: {apps:.120}…");
    Ok(())
}

/// `deploy/compose.yaml` parses and interpolates (`podman-compose config`) with placeholder
/// secrets; nothing is pulled or started.
pub fn compose_config(out: &Path) -> Result<(), String> {
    let dir = out.join("compose");
    reset_dir(&dir)?;
    let deploy = cmd::root().join("deploy");
    for name in ["compose.yaml", "nginx.conf"] {
        copy(&deploy.join(name), &dir.join(name))?;
    }
    write(
        &dir.join(".env"),
        "FAL_KEY=placeholder\nPOSTGRES_PASSWORD=placeholder\nREDIS_PASSWORD=placeholder\n",
    )?;
    write(&dir.join("auth.toml"), "")?;
    let config = output(Cmd::new(bootstrap::podman_compose()).args([
        "-f".as_ref(),
        dir.join("compose.yaml").as_os_str(),
        "config".as_ref(),
    ]))
    .ok_or("podman-compose config refused deploy/compose.yaml")?;
    for service in [
        "falscope-1:",
        "falscope-2:",
        "postgres:",
        "redis:",
        "nginx:",
    ] {
        if !config.contains(service) {
            return Err(format!("deploy/compose.yaml has no service {service}"));
        }
    }
    println!("podman-compose config deploy/compose.yaml: 5 services, parses");
    Ok(())
}

/// podman as it runs on these machines (toolchain.md "Containers here"): runc with cgroupfs,
/// no default ulimits, events to a file.
fn podman(conf: &Path) -> Result<Cmd, String> {
    write(conf, "[containers]\ndefault_ulimits = []\n")?;
    Ok(Cmd::new("podman")
        .args(podman_flags())
        .env("CONTAINERS_CONF", &conf.display().to_string()))
}

/// crun fails here ("cgroups in hybrid mode not supported"); runc with cgroupfs works.
fn podman_flags() -> [&'static str; 6] {
    [
        "--runtime",
        "runc",
        "--cgroup-manager",
        "cgroupfs",
        "--events-backend",
        "file",
    ]
}

fn image_tag(version: &str) -> String {
    format!("localhost/falscope:{version}")
}
