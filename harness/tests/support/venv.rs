//! A Python venv under the target dir with a pinned requirements file
//! installed, made once: the tests that run someone else's Python code
//! (in-toto's verifier, kubernetes-validate's schemas) share it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The python of venv `name` under `CARGO_TARGET_TMPDIR`, with
/// `tests/<requirements>` installed unless `ready` already holds for it; `what`
/// names the packages in the failure sentence.
pub fn python_with(
    name: &str,
    requirements: &str,
    what: &str,
    ready: impl Fn(&Path) -> bool,
) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let py = venv.join("bin/python");
    if ready(&py) {
        return py;
    }
    let base = std::env::var("GONOGO_PYTHON").unwrap_or_else(|_| "python3".into());
    let made = Command::new(&base)
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .output();
    assert!(
        made.as_ref().is_ok_and(|o| o.status.success()),
        "cannot make a venv with `{base} -m venv` ({made:?}); install python3-venv or set GONOGO_PYTHON"
    );
    let req = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(requirements);
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&req)
        .output()
        .expect("pip runs");
    assert!(
        pip.status.success(),
        "pip could not install {what} from PyPI: {}",
        String::from_utf8_lossy(&pip.stderr)
    );
    assert!(ready(&py), "the venv at {} lacks {what}", venv.display());
    py
}
