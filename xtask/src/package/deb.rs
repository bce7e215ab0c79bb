//! The Debian package: `deploy/` files laid out as Debian expects, built with dpkg-deb, then
//! installed, checked and removed.

use super::{copy, reset_dir, set_mode, write, EXPOSURE_LIMIT_TENTHS};
use crate::cmd::{self, output, run, Cmd};
use std::path::{Path, PathBuf};

/// The .deb: `deploy/` files laid out as Debian expects, built with dpkg-deb.
pub fn deb(out: &Path, bin: &Path, version: &str) -> Result<PathBuf, String> {
    let root = out.join("deb");
    reset_dir(&root)?;
    let deploy = cmd::root().join("deploy");
    let files: [(PathBuf, &str, u32); 7] = [
        (bin.to_path_buf(), "usr/bin/falscope", 0o755),
        (
            cmd::root().join("README.md"),
            "usr/share/doc/falscope/README.md",
            0o644,
        ),
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
pub fn smoke_deb(deb: &Path, version: &str) -> Result<String, String> {
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
