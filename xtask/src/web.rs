//! The release frontend in `frontend/dist`, split by page: cargo builds the wasm with
//! `--cfg falscope_split` (each page of `frontend/src/lazy.rs` becomes a split point) and
//! `--emit-relocs`, `wasm-split-cli` cuts it into the first-load module and one chunk per page
//! (plus chunks shared by some pages), wasm-bindgen and wasm-opt process every module, and
//! `index.html` is written from `frontend/index.html` with hashed asset names.
//!
//! trunk cannot split a module (its issue "Support wasm splitting" is open), so trunk stays for
//! `trunk serve` during development, where the pages are linked into one module.

use crate::cmd::{self, cargo, run, Cmd};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The loader `wasm-split-cli` writes; every split chunk is fetched through it.
pub const SPLIT_LOADER: &str = "__wasm_split.js";

/// Builds the split release frontend into `frontend/dist`.
pub fn build() -> Result<(), String> {
    let root = cmd::root();
    let target = cmd::target_dir();
    let staging = target.join("falscope-web");
    reset_dir(&staging)?;

    // `erase_components` erases each component's view type (leptos's own dev default): fewer
    // monomorphised views, 13 % less wasm, same behaviour.
    // `-Dwarnings`: this build compiles code (`cfg(falscope_split)`) that clippy's runs do not;
    // cargo caps the lints of registry crates, so only ours are held to it.
    let flags = [
        "--cfg",
        "falscope_split",
        "--cfg",
        "erase_components",
        "-Clink-args=--emit-relocs",
        "-Dwarnings",
    ];
    run(cargo([
        "build",
        "--locked",
        "-p",
        "frontend",
        "--bin",
        "frontend",
        "--target",
        WASM_TARGET,
        "--profile",
        "wasm-release",
    ])
    .env("CARGO_ENCODED_RUSTFLAGS", &flags.join("\u{1f}")))?;
    let linked = target.join(WASM_TARGET).join("wasm-release/frontend.wasm");

    let split_dir = staging.join("split");
    run(Cmd::new("wasm-split-cli")
        .args([linked.as_os_str(), split_dir.as_os_str()])
        .args(["--target", "web", "--out-name", "frontend"]))?;
    let unbound = split_dir.join("frontend.wasm");
    run(Cmd::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--keep-lld-exports",
            "--no-demangle",
            "--no-typescript",
        ])
        .args(["--out-name", "frontend", "--out-dir"])
        .args([split_dir.as_os_str(), unbound.as_os_str()]))?;
    std::fs::remove_file(&unbound).map_err(|e| format!("{}: {e}", unbound.display()))?;
    optimise(&files_with(&split_dir, "wasm")?)?;

    let dist = root.join("frontend/dist");
    reset_dir(&dist)?;
    let pkg = format!("pkg-{}", content_hash(&split_dir)?);
    copy_dir(&split_dir, &dist.join(&pkg))?;
    let css = std::fs::read_to_string(root.join("frontend/style/main.css"))
        .map_err(|e| format!("frontend/style/main.css: {e}"))?;
    let css = hashed_write(minify_css(&css).as_bytes(), "css", &dist, "main")?;
    let icon = hashed_copy(&root.join("frontend/favicon.svg"), &dist, "favicon")?;
    let template = std::fs::read_to_string(root.join("frontend/index.html"))
        .map_err(|e| format!("frontend/index.html: {e}"))?;
    let index = index_html(&template, &pkg, &css, &icon)?;
    std::fs::write(dist.join("index.html"), index).map_err(|e| format!("index.html: {e}"))
}

/// `frontend/index.html` with trunk's `data-trunk` links replaced by the built assets.
fn index_html(template: &str, pkg: &str, css: &str, icon: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut replaced = 0;
    for line in template.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let built = if !line.contains("data-trunk") {
            None
        } else if line.contains("rel=\"icon\"") {
            Some(format!("<link rel=\"icon\" href=\"/{icon}\" />"))
        } else if line.contains("rel=\"css\"") {
            Some(format!("<link rel=\"stylesheet\" href=\"/{css}\" />"))
        } else if line.contains("rel=\"rust\"") {
            Some(format!(
                "<link rel=\"modulepreload\" href=\"/{pkg}/frontend.js\" />\n{indent}\
                 <link rel=\"preload\" href=\"/{pkg}/frontend_bg.wasm\" as=\"fetch\" type=\"application/wasm\" crossorigin=\"anonymous\" />\n{indent}\
                 <script type=\"module\">import init from '/{pkg}/frontend.js'; await init({{ module_or_path: '/{pkg}/frontend_bg.wasm' }});</script>"
            ))
        } else {
            return Err(format!(
                "frontend/index.html: unknown trunk link `{}`",
                line.trim()
            ));
        };
        if let Some(built) = built {
            replaced += 1;
            out.push_str(indent);
            out.push_str(&built);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if replaced == 3 {
        Ok(out)
    } else {
        Err(format!(
            "frontend/index.html: expected the icon, css and rust trunk links, found {replaced}"
        ))
    }
}

/// wasm-opt -Oz on every module, as many at once as there are cores (npm's wasm-opt spends
/// a second starting node, and there are dozens of small chunks).
fn optimise(modules: &[PathBuf]) -> Result<(), String> {
    let queue = std::sync::Mutex::new(modules.to_vec());
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut failed = Vec::new();
                    loop {
                        let next = queue.lock().map(|mut q| q.pop()).unwrap_or(None);
                        let Some(module) = next else { break failed };
                        // The split chunks carry no target_features section: name the features.
                        let opt = Cmd::new("wasm-opt")
                            .args([
                                "-Oz",
                                "--enable-bulk-memory",
                                "--enable-nontrapping-float-to-int",
                            ])
                            .args([module.as_os_str(), "-o".as_ref(), module.as_os_str()]);
                        if let Err(e) = cmd::run_quiet(opt) {
                            failed.push(e);
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec!["a wasm-opt worker panicked".into()])
            })
            .collect()
    });
    println!("wasm-opt -Oz: {} modules", modules.len());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// The files of `dir` (not recursive) ending in `.ext`, sorted.
pub fn files_with(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}

/// 16 hex digits over the names and contents of `dir`'s files: a new build, a new name.
fn content_hash(dir: &Path) -> Result<String, String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in entries {
        path.file_name().hash(&mut hasher);
        std::fs::read(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

/// Copies `file` into `dir` as `<stem>-<hash>.<ext>` and returns that name.
fn hashed_copy(file: &Path, dir: &Path, stem: &str) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    hashed_write(&bytes, ext, dir, stem)
}

/// Writes `bytes` as `dir/{stem}-{hash}.{ext}`; returns the file name.
fn hashed_write(bytes: &[u8], ext: &str, dir: &Path, stem: &str) -> Result<String, String> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    let name = format!("{stem}-{:016x}.{ext}", hasher.finish());
    std::fs::write(dir.join(&name), bytes).map_err(|e| format!("{name}: {e}"))?;
    Ok(name)
}

/// The stylesheet without comments and with whitespace only where CSS needs it: runs collapse
/// to one space, none is kept after `{ } ; , :` or before `{ } ;` (a space before `:` is kept:
/// in a selector it is the descendant combinator), nor a rule's last `;`. Text in quotes is
/// copied as it is.
fn minify_css(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                space = true;
            }
            '"' | '\'' => {
                if space && !out.is_empty() && !out.ends_with(['{', '}', ';', ',', ':']) {
                    out.push(' ');
                }
                space = false;
                out.push(c);
                for q in chars.by_ref() {
                    out.push(q);
                    if q == c {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => space = true,
            c => {
                let tight = out.is_empty()
                    || out.ends_with(['{', '}', ';', ',', ':'])
                    || matches!(c, '{' | '}' | ';' | ',');
                if space && !tight {
                    out.push(' ');
                }
                space = false;
                // A rule's last declaration needs no `;`.
                if c == '}' && out.ends_with(';') {
                    out.pop();
                }
                out.push(c);
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from)
        .map_err(|e| format!("{}: {e}", from.display()))?
        .flatten()
    {
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

fn reset_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::minify_css;

    #[test]
    fn css_keeps_its_meaning_without_its_whitespace() {
        let css = "/* theme */\n:root {\n  --a: #fff; --b: 1px solid var(--a);\n}\nth :hover, a:hover > b { content: \" ↕\" / \"\"; margin: 0 .2rem; }\n";
        assert_eq!(
            minify_css(css),
            ":root{--a:#fff;--b:1px solid var(--a)}th :hover,a:hover > b{content:\" ↕\" / \"\";margin:0 .2rem}"
        );
    }
}
