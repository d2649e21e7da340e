//! Helpers shared by the integration tests: asking Docker what is left.

use std::time::{Duration, Instant};

/// Ids of containers (any state) carrying `gonogo.session=<session>`.
pub fn containers_of_session(session: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter"])
        .arg(format!("label=gonogo.session={session}"))
        .output()
        .expect("docker CLI runs");
    assert!(
        out.status.success(),
        "docker ps failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

// Not every test binary uses every helper.
#[allow(dead_code)]
/// Polls for up to `limit` until the session has no container; returns what
/// is left (empty on success).
pub fn wait_until_gone(session: &str, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    loop {
        let left = containers_of_session(session);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
