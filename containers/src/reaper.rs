//! Labels and the reaper: no container outlives its process.
//!
//! Every container carries [`SESSION_LABEL`]` = `[`session_id`] (one random id
//! per process) and [`PID_LABEL`]. testcontainers removes containers on drop.
//! A process killed by Ctrl-C or SIGTERM never drops, and a `Stack` kept in a
//! `static` is never dropped either, so [`ensure`] also starts, once per
//! process, a detached `sh` that blocks reading a pipe whose write end only
//! this process holds. When the process ends (however it ends), the read sees
//! end-of-file and the shell runs `docker rm -f` on this session's containers.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Label carrying the per-process session id.
pub const SESSION_LABEL: &str = "gonogo.session";
/// Label carrying the owning process id (for humans and `docker ps`).
pub const PID_LABEL: &str = "gonogo.owner.pid";

/// This process's session id (a UUID), the value of [`SESSION_LABEL`].
pub fn session_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| uuid::Uuid::new_v4().to_string())
}

/// The labels every container of this process carries.
pub fn labels() -> [(&'static str, String); 2] {
    [
        (SESSION_LABEL, session_id().to_string()),
        (PID_LABEL, std::process::id().to_string()),
    ]
}

/// The reaper's shell script. `$1` is the session id, `$2` a directory to
/// delete afterwards (the shim's socket dir) or empty. Arguments rather than
/// string interpolation, so no path needs quoting.
const SCRIPT: &str = "read -r _ ; \
    ids=$(docker ps -aq --filter \"label=gonogo.session=$1\"); \
    [ -z \"$ids\" ] || docker rm -f -v $ids >/dev/null 2>&1; \
    [ -z \"$2\" ] || rm -rf -- \"$2\"";

/// Starts the reaper once per process (later calls do nothing). Its pipe is
/// kept in a static, so it closes only when the process exits. Failure to
/// start it is logged, not fatal: drop still cleans up.
/// `cleanup_dir` (the shim's temp dir, if any) is deleted after the containers.
pub fn ensure(daemon_socket: &Path, cleanup_dir: Option<&Path>) {
    static REAPER: OnceLock<Mutex<Option<(Child, ChildStdin)>>> = OnceLock::new();
    REAPER.get_or_init(|| {
        let spawned = Command::new("sh")
            .arg("-c")
            .args([SCRIPT, "gonogo-reaper", session_id()])
            .arg(cleanup_dir.unwrap_or(Path::new("")))
            // The shim dies with us; the reaper must talk to the real daemon.
            .env("DOCKER_HOST", format!("unix://{}", daemon_socket.display()))
            .stdin(Stdio::piped())
            // No inherited stdout/stderr: whoever reads our output (cargo,
            // a pipe) must not wait for the reaper to exit.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: Ctrl-C in the terminal doesn't kill it first.
            .process_group(0)
            .spawn();
        match spawned {
            Ok(mut child) => {
                let stdin = child.stdin.take().expect("stdin was piped");
                tracing::debug!(pid = child.id(), session = session_id(), "reaper started");
                Mutex::new(Some((child, stdin)))
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the container reaper; leaked Stacks will outlive the process");
                Mutex::new(None)
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaper_script_removes_this_sessions_containers_then_the_dir() {
        let dir = std::env::temp_dir().join(format!("gonogo-reaper-test-{}", session_id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A fake `docker` first on PATH records its arguments.
        let log = dir.join("calls");
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let fake = format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\n[ \"$1\" = ps ] && echo c1 c2\n",
            log.display()
        );
        std::fs::write(bin.join("docker"), fake).unwrap();
        std::fs::set_permissions(
            bin.join("docker"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let gone = std::env::temp_dir().join(format!("gonogo-reaper-gone-{}", session_id()));
        std::fs::create_dir_all(&gone).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let status = Command::new("sh")
            .args(["-c", SCRIPT, "gonogo-reaper", "abc-123"])
            .arg(&gone)
            .env("PATH", path)
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let calls = std::fs::read_to_string(&log).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            calls,
            "ps -aq --filter label=gonogo.session=abc-123\nrm -f -v c1 c2\n"
        );
        assert!(!gone.exists());
    }

    #[test]
    fn labels_name_this_process() {
        let [(k1, v1), (k2, v2)] = labels();
        assert_eq!((k1, v1.as_str()), (SESSION_LABEL, session_id()));
        assert_eq!((k2, v2), (PID_LABEL, std::process::id().to_string()));
    }
}
