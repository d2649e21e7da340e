//! Records the commit the binary is built from, for `gonogo --version`:
//! `GONOGO_COMMIT` when the packager sets it, else `git rev-parse --short HEAD`,
//! else `unknown` (a tarball, `cargo install` without `.git`, no git at all).
//! Cargo reruns this when HEAD moves: on `HEAD` itself (a checkout) and on the
//! ref it points to (a commit), found through git so worktrees work too.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Watches `path` only when it exists: a missing one would rerun this on every build.
fn watch(path: PathBuf) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GONOGO_COMMIT");
    let given = std::env::var("GONOGO_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let commit = given
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=GONOGO_COMMIT={commit}");

    // HEAD lives in the (worktree's) git dir; branch refs in the common one.
    let (Some(git_dir), Some(common)) = (
        git(&["rev-parse", "--absolute-git-dir"]),
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
    ) else {
        return;
    };
    let (git_dir, common) = (PathBuf::from(git_dir), PathBuf::from(common));
    watch(git_dir.join("HEAD"));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(common.join(&branch));
        watch(git_dir.join(&branch));
    }
    // A ref packed by `git gc` has no file of its own.
    watch(common.join("packed-refs"));
}
