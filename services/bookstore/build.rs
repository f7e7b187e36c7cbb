//! Records the commit the binary is built from (`bookstore_build_info`): `BOOKSTORE_GIT_COMMIT`
//! when set (image builds without the repository's history), else the checkout's HEAD.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=BOOKSTORE_GIT_COMMIT");
    let commit = std::env::var("BOOKSTORE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(head_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BOOKSTORE_GIT_COMMIT={}", commit.trim());
}

/// Reads HEAD from the repository's `.git` folder, asking cargo to run this again when it
/// moves. Only files that exist are watched: a missing one would rerun this on every build.
fn head_commit() -> Option<String> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").ok()?);
    let git = manifest
        .ancestors()
        .map(|dir| dir.join(".git"))
        .find(|g| g.is_dir())?;
    let watch = |path: &Path| println!("cargo:rerun-if-changed={}", path.display());
    let head_file = git.join("HEAD");
    watch(&head_file);
    let head = std::fs::read_to_string(&head_file).ok()?;
    let Some(reference) = head.trim().strip_prefix("ref: ") else {
        return Some(short(head.trim()));
    };
    let loose = git.join(reference);
    if loose.is_file() {
        watch(&loose);
        return std::fs::read_to_string(loose).ok().map(|c| short(c.trim()));
    }
    let packed = git.join("packed-refs");
    watch(&packed);
    std::fs::read_to_string(packed)
        .ok()?
        .lines()
        .find_map(|line| {
            let (commit, name) = line.split_once(' ')?;
            (name == reference).then(|| short(commit))
        })
}

fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}
