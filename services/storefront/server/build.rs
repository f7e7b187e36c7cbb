//! Builds the web app with npm when its sources change, and embeds the result in the crate: each
//! file with its content type, a strong ETag and, for text, its gzip and brotli forms, compressed
//! once here rather than on every request.

use std::error::Error;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// What the app is built from: a change to any of these builds it again.
const INPUTS: [&str; 8] = [
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "tsconfig.node.json",
];

fn main() -> Result<(), Box<dyn Error>> {
    let app = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
    }
    let dist = out.join("dist");
    install_packages(&app)?;
    run(
        Command::new(app.join("node_modules/.bin/vite"))
            .args(["build", "--logLevel", "warn", "--emptyOutDir", "--outDir"])
            .arg(&dist)
            .current_dir(&app),
        "vite build",
    )?;
    embed(&dist, &out)
}

/// `npm ci` when `node_modules` is missing or older than the lock file (npm keeps its cache
/// outside the checkout, so a fresh clone installs from it).
fn install_packages(app: &Path) -> Result<(), Box<dyn Error>> {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let installed = modified(&app.join("node_modules/.package-lock.json"));
    let locked = modified(&app.join("package-lock.json"));
    if installed.is_some() && installed >= locked {
        return Ok(());
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(app),
        "npm ci",
    )
}

fn run(command: &mut Command, what: &str) -> Result<(), Box<dyn Error>> {
    let output = command.output().map_err(|err| {
        format!(
            "cannot run {what} to build the storefront ({err}): the build needs Node.js 20.19 or \
             newer with npm on the PATH (see README.md, Prerequisites)"
        )
    })?;
    if !output.status.success() {
        return Err(format!(
            "{what} failed while building the storefront ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// Writes `assets.rs`: one `Asset` per built file, its forms stored next to it in `out`.
fn embed(dist: &Path, out: &Path) -> Result<(), Box<dyn Error>> {
    let mut files = Vec::new();
    collect(dist, dist, &mut files)?;
    files.sort();
    let forms = out.join("forms");
    std::fs::create_dir_all(&forms)?;
    let mut code = String::from("static ASSETS: &[Asset] = &[\n");
    for (n, relative) in files.iter().enumerate() {
        let path = dist.join(relative);
        let bytes = std::fs::read(&path)?;
        let content_type = content_type(relative);
        let digest = Sha256::digest(&bytes);
        let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let (gzip, brotli) = if is_text(content_type) && bytes.len() > 256 {
            let gzip_path = forms.join(format!("{n}.gz"));
            let brotli_path = forms.join(format!("{n}.br"));
            std::fs::write(&gzip_path, gzip(&bytes)?)?;
            std::fs::write(&brotli_path, brotli(&bytes)?)?;
            (
                format!(
                    "Some(include_bytes!({:?}))",
                    gzip_path.display().to_string()
                ),
                format!(
                    "Some(include_bytes!({:?}))",
                    brotli_path.display().to_string()
                ),
            )
        } else {
            ("None".to_owned(), "None".to_owned())
        };
        let url_path = format!("/{}", relative.replace('\\', "/"));
        writeln!(
            code,
            "    Asset {{ path: {url_path:?}, content_type: {content_type:?}, tag: {tag:?}, \
             identity: include_bytes!({:?}), gzip: {gzip}, brotli: {brotli} }},",
            path.display().to_string()
        )?;
    }
    code.push_str("];\n");
    std::fs::write(out.join("assets.rs"), code)?;
    Ok(())
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) -> Result<(), Box<dyn Error>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else {
            let relative = path.strip_prefix(root)?.to_string_lossy().into_owned();
            files.push(relative);
        }
    }
    Ok(())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn is_text(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/manifest+json")
        || content_type == "image/svg+xml"
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn brotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut compressed, &params)?;
    Ok(compressed)
}
