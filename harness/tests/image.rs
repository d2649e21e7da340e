//! The container image (`Dockerfile`, `harness/build-image.sh`, `just image`):
//! built here with no registry, it runs `gonogo --version` and `gonogo
//! serve`'s health route, as uid 10001 on a read-only root filesystem.
//!
//! The image under test is built by the script `just image` runs, on the same
//! offline Debian base and the same Dockerfile, from this test's own
//! (debug) `gonogo` rather than a release build: the release build is minutes
//! of compiling on a cold machine, the debug binary is already there, and
//! what is under test is the image around it. The script builds the base
//! itself when it is missing (debootstrap, root).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TOKEN: &str = "image-test-token-0123456789";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn docker(args: &[&str]) -> Output {
    run(Command::new("docker").args(args))
}

/// stdout of a command that must succeed; its stderr in the panic otherwise.
fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes the test's image tag and container however the test ends, so
/// nothing of it outlives the run (CI's leak check looks for containers).
struct Cleanup {
    image: String,
    container: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.container]);
        let _ = docker(&["rmi", "-f", &self.image]);
    }
}

/// `GET path` over plain HTTP/1.1: the status code, or why there is none yet.
fn get(port: u16, path: &str) -> Result<u16, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    // docker-proxy accepts before gonogo listens, then closes: an empty reply.
    s.read_to_string(&mut reply).map_err(|e| e.to_string())?;
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {reply:?}"))
}

#[test]
fn the_image_runs_gonogo_version_and_serves_health_as_non_root() {
    let unique = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let cleanup = Cleanup {
        image: format!("gonogo-test/image:{unique}"),
        container: format!("gonogo-image-test-{unique}"),
    };
    let image = cleanup.image.as_str();

    let started = Instant::now();
    let tags = ok(
        run(Command::new("bash")
            .arg(root().join("harness/build-image.sh"))
            .args(["--binary", env!("CARGO_BIN_EXE_gonogo"), "--tag", image])),
        "harness/build-image.sh",
    );
    assert_eq!(tags, image, "the script prints the tags it built");
    eprintln!("image built in {:.1?}", started.elapsed());

    // The binary in the image is the one built here, and it runs on the base's glibc.
    let host = ok(
        run(Command::new(env!("CARGO_BIN_EXE_gonogo")).arg("--version")),
        "gonogo --version on the host",
    );
    assert!(
        host.starts_with(&format!("gonogo {} ", env!("CARGO_PKG_VERSION"))),
        "{host}"
    );
    let inside = ok(
        docker(&["run", "--rm", "--network", "none", image, "--version"]),
        "docker run IMAGE --version",
    );
    assert_eq!(inside, host);

    // gonogo is the entrypoint and the user is not root, by number (what
    // Kubernetes' runAsNonRoot checks) and in fact.
    let config = ok(
        docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Config.User}} {{json .Config.Entrypoint}} {{.Config.WorkingDir}}",
            image,
        ]),
        "docker image inspect",
    );
    assert_eq!(config, r#"10001:10001 ["gonogo"] /var/lib/gonogo"#);
    let id = ok(
        docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "id",
            image,
        ]),
        "id in the image",
    );
    assert_eq!(
        id,
        "uid=10001(gonogo) gid=10001(gonogo) groups=10001(gonogo)"
    );

    // gonogo serve as a restricted pod would run it: read-only root, no
    // capabilities, no privilege escalation, the port on loopback only. The
    // label puts a leaked container in front of CI's leak check.
    let allow = "http://knowledge-api-canary.prod:8080";
    ok(
        docker(&[
            "run",
            "--detach",
            "--name",
            &cleanup.container,
            "--label",
            "org.testcontainers=true",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--publish",
            "127.0.0.1::9090",
            "--env",
            &format!("GONOGO_SERVE_TOKEN={TOKEN}"),
            image,
            "serve",
            "--listen",
            "0.0.0.0:9090",
            "--allow-target",
            allow,
        ]),
        "docker run IMAGE serve",
    );
    let published = ok(
        docker(&["port", &cleanup.container, "9090/tcp"]),
        "docker port",
    );
    let port: u16 = published
        .lines()
        .find_map(|l| l.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no loopback port in {published:?}"));

    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        match get(port, "/health") {
            Ok(code) => break code,
            Err(why) if Instant::now() < deadline => {
                let running = ok(
                    docker(&[
                        "inspect",
                        "--format",
                        "{{.State.Running}}",
                        &cleanup.container,
                    ]),
                    "docker inspect",
                );
                if running != "true" {
                    let logs = docker(&["logs", &cleanup.container]);
                    panic!(
                        "gonogo serve exited in the container ({why}):\n{}{}",
                        String::from_utf8_lossy(&logs.stdout),
                        String::from_utf8_lossy(&logs.stderr)
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(why) => panic!("GET /health never answered in 30 s: {why}"),
        }
    };
    assert_eq!(health, 200, "GET /health");
    // It is gonogo's server, token and all: the other routes need the token.
    assert_eq!(get(port, "/argo/verdict"), Ok(401), "GET /argo/verdict");
    eprintln!("image test done in {:.1?}", started.elapsed());
}

/// The registry path cannot run here (no registry), so its shape is checked:
/// both base images are build arguments, and the binary's source is the
/// `PREBUILT` argument of one builder stage, not a second final stage, which
/// the classic builder would run on the other path too (and fail).
#[test]
fn the_dockerfile_takes_its_bases_and_binary_as_arguments() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms,
        [
            "FROM ${RUNTIME_IMAGE} AS base",
            "FROM ${BUILDER_IMAGE} AS builder",
            "FROM base AS runtime",
        ]
    );
    for line in [
        "ARG RUNTIME_IMAGE=debian:bookworm-slim",
        "ARG BUILDER_IMAGE=rust:1-bookworm",
        "ARG PREBUILT=",
        "USER 10001:10001",
        r#"ENTRYPOINT ["gonogo"]"#,
        "COPY --from=builder /usr/local/bin/gonogo /usr/local/bin/gonogo",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "the Dockerfile has no line {line}"
        );
    }
}
