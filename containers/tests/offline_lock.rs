//! Two processes that need the offline images at once: the images are built
//! exactly once, both succeed, and nobody waits for a lock it holds itself.
//!
//! The build is replaced by a stand-in (`GONOGO_OFFLINE_BUILD_SCRIPT`) that
//! counts its runs, prints a step line, imports two empty images under fresh
//! tags, then runs the real `build-images.sh` — which finds the images and
//! only has to get past its own lock, the one the crate already holds. The
//! lock file lives in a private `TMPDIR`, so a real build elsewhere on the
//! machine neither blocks nor is blocked by this test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const STAND_IN: &str = r#"#!/usr/bin/env bash
set -euo pipefail
echo "stand-in: building (pid $$)" >&2
echo run >>"$STAND_IN_COUNT"
sleep 2
for image in "$OFFLINE_POSTGRES_IMAGE" "$OFFLINE_REDIS_IMAGE"; do
  tar -cf - -T /dev/null | docker import - "$image" >/dev/null
done
exec bash "$REAL_BUILD_SCRIPT"
"#;

/// One `gonogo-stack --offline-images`, its stderr lines with the time each
/// arrived, and when it exited.
struct Run {
    lines: Vec<(Instant, String)>,
    exited: Instant,
    success: bool,
}

fn start(tmp: &std::path::Path, tags: &[String; 2]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gonogo-stack"))
        .arg("--offline-images")
        .env("TMPDIR", tmp)
        .env("GONOGO_OFFLINE_BUILD_SCRIPT", tmp.join("stand-in.sh"))
        .env("STAND_IN_COUNT", tmp.join("count"))
        .env(
            "REAL_BUILD_SCRIPT",
            concat!(env!("CARGO_MANIFEST_DIR"), "/offline/build-images.sh"),
        )
        .env("OFFLINE_POSTGRES_IMAGE", &tags[0])
        .env("OFFLINE_REDIS_IMAGE", &tags[1])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gonogo-stack starts")
}

/// Reads the child's stderr as it comes; gives up (and kills it) after
/// `limit`, which is what today's self-deadlock would need.
fn watch(mut child: Child, limit: Duration) -> Run {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    let deadline = Instant::now() + limit;
    let mut lines = Vec::new();
    loop {
        lines.extend(rx.try_iter());
        if let Some(status) = child.try_wait().unwrap() {
            let exited = Instant::now();
            std::thread::sleep(Duration::from_millis(100));
            lines.extend(rx.try_iter());
            return Run {
                lines,
                exited,
                success: status.success(),
            };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let shown: Vec<_> = lines.iter().map(|(_, l)| l.as_str()).collect();
            panic!("gonogo-stack --offline-images still running after {limit:?} (a lock waiting for itself?); stderr so far: {shown:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn remove_images(tags: &[String; 2]) {
    let _ = Command::new("docker")
        .arg("rmi")
        .args(tags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[test]
fn two_processes_needing_the_images_build_them_once_and_both_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("stand-in.sh");
    std::fs::write(&script, STAND_IN).unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let tags = [
        format!("gonogo-test/offline-postgres:{id}"),
        format!("gonogo-test/offline-redis:{id}"),
    ];

    let first = start(tmp.path(), &tags);
    let second = start(tmp.path(), &tags);
    let limit = Duration::from_secs(60);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| watch(first, limit));
        let b = s.spawn(|| watch(second, limit));
        (a.join(), b.join())
    });
    remove_images(&tags);
    let (a, b) = (a.unwrap(), b.unwrap());

    let text = |r: &Run| r.lines.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>();
    assert!(a.success, "first failed: {:?}", text(&a));
    assert!(b.success, "second failed: {:?}", text(&b));
    let runs = std::fs::read_to_string(tmp.path().join("count")).unwrap();
    assert_eq!(runs.lines().count(), 1, "the build ran {runs:?}");

    // The builder streamed its step lines while it ran: the stand-in's first
    // line reached us well before the process ended (it sleeps 2 s after it).
    let builder = if text(&a).iter().any(|l| l.starts_with("stand-in:")) {
        &a
    } else {
        &b
    };
    let (seen, _) = builder
        .lines
        .iter()
        .find(|(_, l)| l.starts_with("stand-in: building"))
        .unwrap_or_else(|| {
            panic!(
                "no stand-in line from either: {:?} {:?}",
                text(&a),
                text(&b)
            )
        });
    assert!(
        builder.exited.duration_since(*seen) >= Duration::from_millis(1500),
        "the step line came only at the end: {:?}",
        text(builder)
    );
    // ...and the real script, run under the crate's lock, did not wait for it.
    assert!(
        text(builder)
            .iter()
            .any(|l| l.starts_with("build-images: ready in")),
        "the real script did not finish: {:?}",
        text(builder)
    );
}
