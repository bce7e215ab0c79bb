//! `cargo xtask package`: the artefacts a self-hoster installs, in `<target>/package/`, and a
//! smoke test of each (see `deploy/` for the files they are made from):
//!
//! - `falscope`: static `x86_64-unknown-linux-musl` binary, frontend embedded, TLS roots built
//!   in (reqwest's `rustls-tls` bundles webpki-roots), stripped;
//! - `falscope-<version>-oci.tar`: an OCI archive of a `FROM scratch` image holding only it;
//! - `falscope_<version>_amd64.deb`: the binary, the hardened unit, `/etc/falscope/falscope.env`.
//!
//! The smoke test loads the archive into podman and serves the demo from it, installs the .deb,
//! runs `falscope --version`, verifies and rates the unit, and removes the package. It changes
//! the machine (a `falscope` system user stays, as Debian packages leave theirs), so it is not
//! part of `cargo xtask test`.

use crate::bootstrap;
use crate::cmd::{self, cargo, output, run, Cmd};
use std::path::{Path, PathBuf};

const MUSL: &str = "x86_64-unknown-linux-musl";
/// The image archive's ceiling (issue #35).
const IMAGE_LIMIT: u64 = 40 * 1024 * 1024;
/// `systemd-analyze security` rates exposure 0.0–10.0; `--threshold` takes tenths.
const EXPOSURE_LIMIT_TENTHS: u32 = 25;

/// Builds, packages and smoke-tests everything.
pub fn package() -> Result<(), String> {
    bootstrap::install(false)?;
    bootstrap::package_tools()?;
    let version = workspace_version()?;
    let out = cmd::target_dir().join("package");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    let bin = binary(&out)?;
    let image = image(&out, &bin, &version)?;
    let deb = deb(&out, &bin, &version)?;
    compose_config(&out)?;

    smoke_image(&image, &version)?;
    let exposure = smoke_deb(&deb, &version)?;

    println!("\nxtask package: every artefact built and smoke-tested");
    for path in [&bin, &image, &deb] {
        println!("{:>10.1} MiB  {}", mib(path), path.display());
    }
    println!("{exposure:>14}  systemd-analyze security exposure of falscope.service (≤ 2.5)");
    Ok(())
}

/// The static release binary, stripped, at `out/falscope`.
fn binary(out: &Path) -> Result<PathBuf, String> {
    crate::build_frontend()?;
    // musl-gcc compiles the C parts (SQLite, mimalloc, ring) against musl's headers.
    run(cargo([
        "build",
        "--release",
        "--locked",
        "--target",
        MUSL,
        "-p",
        "backend",
        "--bin",
        "falscope",
    ])
    .env("CC_x86_64_unknown_linux_musl", "musl-gcc"))?;
    let built = cmd::target_dir().join(MUSL).join("release/falscope");
    let bin = out.join("falscope");
    run(Cmd::new("strip").args(["-o".as_ref(), bin.as_os_str(), built.as_os_str()]))?;
    check_static(&bin)?;
    Ok(bin)
}

/// An ELF with no program interpreter is loaded by the kernel alone: no dynamic loader, so no
/// shared library can be needed (static-pie binaries keep a PT_DYNAMIC for relocations only).
fn check_static(bin: &Path) -> Result<(), String> {
    const PT_INTERP: u32 = 3;
    let elf = std::fs::read(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let field = |at: usize, len: usize| -> Result<u64, String> {
        let bytes = elf
            .get(at..at + len)
            .ok_or_else(|| format!("{} is not a complete ELF file", bin.display()))?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0, |acc, b| (acc << 8) | u64::from(*b)))
    };
    if elf.get(..5) != Some(b"\x7fELF\x02".as_slice()) {
        return Err(format!("{} is not a 64-bit ELF file", bin.display()));
    }
    let (phoff, phentsize, phnum) = (field(0x20, 8)?, field(0x36, 2)?, field(0x38, 2)?);
    for i in 0..phnum {
        let at = usize::try_from(phoff + i * phentsize).map_err(|e| e.to_string())?;
        if field(at, 4)? == u64::from(PT_INTERP) {
            return Err(format!(
                "{} asks for a dynamic loader: it is not static",
                bin.display()
            ));
        }
    }
    Ok(())
}

/// Builds the image from `deploy/Containerfile` and saves it as an OCI archive.
fn image(out: &Path, bin: &Path, version: &str) -> Result<PathBuf, String> {
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
fn smoke_image(archive: &Path, version: &str) -> Result<(), String> {
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

/// The .deb: `deploy/` files laid out as Debian expects, built with dpkg-deb.
fn deb(out: &Path, bin: &Path, version: &str) -> Result<PathBuf, String> {
    let root = out.join("deb");
    reset_dir(&root)?;
    let deploy = cmd::root().join("deploy");
    let files: [(PathBuf, &str, u32); 6] = [
        (bin.to_path_buf(), "usr/bin/falscope", 0o755),
        (
            deploy.join("falscope.service"),
            "usr/lib/systemd/system/falscope.service",
            0o644,
        ),
        // It holds the fal keys; systemd reads it as root before dropping privileges.
        (
            deploy.join("falscope.env"),
            "etc/falscope/falscope.env",
            0o600,
        ),
        (deploy.join("debian/postinst"), "DEBIAN/postinst", 0o755),
        (deploy.join("debian/prerm"), "DEBIAN/prerm", 0o755),
        (deploy.join("debian/postrm"), "DEBIAN/postrm", 0o755),
    ];
    for (from, to, mode) in &files {
        let to = root.join(to);
        copy(from, &to)?;
        set_mode(&to, *mode)?;
    }
    write(
        &root.join("DEBIAN/conffiles"),
        "/etc/falscope/falscope.env\n",
    )?;
    let installed_kib = files
        .iter()
        .filter(|(_, to, _)| !to.starts_with("DEBIAN"))
        .map(|(from, _, _)| {
            std::fs::metadata(from)
                .map_or(0, |m| m.len())
                .div_ceil(1024)
        })
        .sum::<u64>();
    let control = std::fs::read_to_string(deploy.join("debian/control"))
        .map_err(|e| format!("deploy/debian/control: {e}"))?
        .replace("@VERSION@", version)
        .replace("@INSTALLED_SIZE@", &installed_kib.to_string());
    write(&root.join("DEBIAN/control"), &control)?;
    let deb = out.join(format!("falscope_{version}_amd64.deb"));
    run(Cmd::new("dpkg-deb").args([
        "--root-owner-group".as_ref(),
        "--build".as_ref(),
        root.as_os_str(),
        deb.as_os_str(),
    ]))?;
    Ok(deb)
}

/// Installs the .deb, checks the binary, the user and the unit, then removes and purges it.
/// Returns the unit's exposure as `systemd-analyze security` prints it.
fn smoke_deb(deb: &Path, version: &str) -> Result<String, String> {
    let root_user = output(Cmd::new("id").args(["-u"])).as_deref() == Some("0");
    let sudo = |program: &str| {
        if root_user {
            Cmd::new(program)
        } else {
            Cmd::new("sudo").args([program])
        }
    };
    run(sudo("dpkg").args(["-i".as_ref(), deb.as_os_str()]))?;
    let checks = (|| {
        let printed = output(Cmd::new("/usr/bin/falscope").arg_version())
            .ok_or("/usr/bin/falscope --version failed")?;
        println!("/usr/bin/falscope --version: {printed}");
        if !printed.starts_with(&format!("falscope {version}")) {
            return Err(format!("--version printed {printed:?}, not {version}"));
        }
        output(Cmd::new("getent").args(["passwd", "falscope"]))
            .ok_or("the package made no falscope user")?;
        let unit = "/usr/lib/systemd/system/falscope.service";
        cmd::run_quiet(Cmd::new("systemd-analyze").args(["verify", unit]))?;
        // verify exits 0 on some warnings: it must print nothing at all.
        let noise = Cmd::new("sh").args(["-c", &format!("systemd-analyze verify {unit} 2>&1")]);
        match output(noise).as_deref() {
            Some("") => println!("systemd-analyze verify {unit}: clean"),
            other => return Err(format!("systemd-analyze verify {unit}: {other:?}")),
        }
        let rating = output(Cmd::new("systemd-analyze").args([
            "security",
            "--offline=true",
            &format!("--threshold={EXPOSURE_LIMIT_TENTHS}"),
            unit,
        ]))
        .ok_or("systemd-analyze security rates the unit above 2.5 (or failed)")?;
        let overall = rating
            .lines()
            .find_map(|l| l.split_once("Overall exposure level for falscope.service: "))
            .map(|(_, level)| level.trim().to_owned())
            .ok_or("systemd-analyze security printed no overall level")?;
        println!("systemd-analyze security --offline=true: {overall}");
        Ok(overall)
    })();
    let removed = run(sudo("dpkg").args(["-r", "falscope"]))
        .and_then(|()| run(sudo("dpkg").args(["-P", "falscope"])));
    let exposure = checks?;
    removed?;
    for gone in ["/usr/bin/falscope", "/etc/falscope/falscope.env"] {
        if Path::new(gone).exists() {
            return Err(format!("{gone} is still there after dpkg -P"));
        }
    }
    Ok(exposure)
}

/// `deploy/compose.yaml` parses and interpolates (`podman-compose config`) with placeholder
/// secrets; nothing is pulled or started.
fn compose_config(out: &Path) -> Result<(), String> {
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

/// `[workspace.package] version` of the root Cargo.toml.
fn workspace_version() -> Result<String, String> {
    let manifest = std::fs::read_to_string(cmd::root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    manifest
        .split("[workspace.package]")
        .nth(1)
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_owned())
        .ok_or_else(|| "Cargo.toml has no [workspace.package] version".into())
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

fn mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

fn reset_dir(dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}
