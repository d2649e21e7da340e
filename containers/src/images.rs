//! Which image each service runs.
//!
//! The decision is a pure function, [`next_step`], over what is known so far
//! ([`Facts`]): it names the next thing to find out (inspect, pull, build) or
//! the final answer. [`resolve`] runs those steps against Docker. Keeping the
//! policy pure lets unit tests cover every branch without a daemon.
//!
//! Policy: an image named by `SMOKE_*_IMAGE` is used exactly (present, or
//! pulled) and never replaced. Otherwise the default is used if present, then
//! the offline image if present, then the default is pulled, then the offline
//! images are built by `containers/offline/build-images.sh` (once, under a
//! file lock), and only then does it fail with what to do. A service with no
//! official image (Chromium) skips the default's steps: offline if present,
//! else built.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::Docker;
use futures::StreamExt;

use crate::error::{one_line, StackError};

/// The images one service can run.
#[derive(Debug, Clone, Copy)]
pub struct ImageSpec {
    /// Name for messages: "PostgreSQL", "Redis", "Prometheus", "Chromium".
    pub service: &'static str,
    /// Variable that names an image explicitly.
    pub var: &'static str,
    /// Official image used by default; `None` when the offline one is the
    /// image everywhere (Chromium: no official headless image to pull).
    pub default: Option<&'static str>,
    /// Image built by `containers/offline/build-images.sh`.
    pub offline: &'static str,
    /// Variable that renames the offline image (the build script reads it too).
    pub offline_var: &'static str,
    /// The build script's arguments that build this image, with the images
    /// it is built together with (PostgreSQL and Redis come as a pair: the
    /// smoke run needs both, and one run of the script is quicker than two).
    pub build_args: &'static [&'static str],
}

impl ImageSpec {
    /// The offline image's name: `offline_var` if set, else `offline`.
    pub fn offline_image(&self) -> String {
        std::env::var(self.offline_var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| self.offline.to_string())
    }
}

/// PostgreSQL: `SMOKE_POSTGRES_IMAGE`, `postgres:16-alpine`, offline 15-bookworm.
pub const POSTGRES: ImageSpec = ImageSpec {
    service: "PostgreSQL",
    var: "SMOKE_POSTGRES_IMAGE",
    default: Some("postgres:16-alpine"),
    offline: "gonogo-offline/postgres:15-bookworm",
    offline_var: "OFFLINE_POSTGRES_IMAGE",
    build_args: &["postgres", "redis"],
};

/// Redis: `SMOKE_REDIS_IMAGE`, `redis:7-alpine`, offline 7-bookworm.
pub const REDIS: ImageSpec = ImageSpec {
    service: "Redis",
    var: "SMOKE_REDIS_IMAGE",
    default: Some("redis:7-alpine"),
    offline: "gonogo-offline/redis:7-bookworm",
    offline_var: "OFFLINE_REDIS_IMAGE",
    build_args: &["postgres", "redis"],
};

/// Prometheus: `SMOKE_PROMETHEUS_IMAGE`, `prom/prometheus:v2.53.4` (an LTS
/// release), offline from Debian's `prometheus` package (2.42).
pub const PROMETHEUS: ImageSpec = ImageSpec {
    service: "Prometheus",
    var: "SMOKE_PROMETHEUS_IMAGE",
    default: Some("prom/prometheus:v2.53.4"),
    offline: "gonogo-offline/prometheus:2-bookworm",
    offline_var: "OFFLINE_PROMETHEUS_IMAGE",
    build_args: &["prometheus"],
};

/// Chromium: `SMOKE_CHROMIUM_IMAGE`, else always the image built from
/// Debian's `chromium` package (there is no official headless image; the
/// same browser everywhere keeps the report's rendering check comparable).
pub const CHROMIUM: ImageSpec = ImageSpec {
    service: "Chromium",
    var: "SMOKE_CHROMIUM_IMAGE",
    default: None,
    offline: "gonogo-offline/chromium:bookworm",
    offline_var: "OFFLINE_CHROMIUM_IMAGE",
    build_args: &["chromium"],
};

/// Every service, for looking one up by its build argument.
const ALL: [&ImageSpec; 4] = [&POSTGRES, &REDIS, &PROMETHEUS, &CHROMIUM];

/// The offline images one run of the script with `spec.build_args` makes.
fn built_together(spec: &ImageSpec) -> Vec<String> {
    ALL.iter()
        .filter(|s| s.build_args == spec.build_args)
        .map(|s| s.offline_image())
        .collect()
}

/// What has been found out so far; `None`/absent means "not asked yet".
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// Image → present locally.
    pub present: HashMap<String, bool>,
    /// Image → pull succeeded.
    pub pulled: HashMap<String, bool>,
    /// Outcome of running the offline build script (Err: why not / why it failed).
    pub built: Option<Result<(), String>>,
}

/// The next thing [`resolve`] must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Use this image.
    Use(String),
    /// Find out whether this image is present locally.
    Inspect(String),
    /// Try to pull this image.
    Pull(String),
    /// Build the offline images (then re-inspect the offline image).
    BuildOffline,
    /// Give up: an explicit image is missing.
    FailExplicit(String),
    /// Give up: nothing usable; the string says why no build happened.
    FailNoImage(String),
}

/// The resolution policy (see the module docs), as a pure function.
/// `default` and `offline` are the two fallback images (see [`ImageSpec`]).
pub fn next_step(
    explicit: Option<&str>,
    default: Option<&str>,
    offline: &str,
    facts: &Facts,
) -> Step {
    let present = |i: &str| facts.present.get(i).copied();
    let pulled = |i: &str| facts.pulled.get(i).copied();
    if let Some(image) = explicit {
        return match (present(image), pulled(image)) {
            (None, _) => Step::Inspect(image.into()),
            (Some(true), _) | (_, Some(true)) => Step::Use(image.into()),
            (Some(false), None) => Step::Pull(image.into()),
            (Some(false), Some(false)) => Step::FailExplicit(image.into()),
        };
    }
    if let Some(default) = default {
        match present(default) {
            None => return Step::Inspect(default.into()),
            Some(true) => return Step::Use(default.into()),
            Some(false) => {}
        }
    }
    match present(offline) {
        None => return Step::Inspect(offline.into()),
        Some(true) => return Step::Use(offline.into()),
        Some(false) => {}
    }
    if let Some(default) = default {
        match pulled(default) {
            None => return Step::Pull(default.into()),
            Some(true) => return Step::Use(default.into()),
            Some(false) => {}
        }
    }
    match &facts.built {
        None => Step::BuildOffline,
        Some(Ok(())) => Step::FailNoImage("the build script ran but did not produce it".into()),
        Some(Err(why)) => Step::FailNoImage(why.clone()),
    }
}

/// Picks the image for `spec`, reading its variable and asking `docker`.
pub async fn resolve(
    spec: &ImageSpec,
    docker: &Docker,
    daemon_socket: &Path,
) -> Result<String, StackError> {
    let explicit = std::env::var(spec.var)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let offline = spec.offline_image();
    let mut facts = Facts::default();
    loop {
        match next_step(explicit.as_deref(), spec.default, &offline, &facts) {
            Step::Use(image) => {
                tracing::debug!(service = spec.service, %image, "image chosen");
                return Ok(image);
            }
            Step::Inspect(image) => {
                let here = is_present(docker, &image).await?;
                facts.present.insert(image, here);
            }
            Step::Pull(image) => {
                let ok = pull(docker, &image).await;
                facts.pulled.insert(image, ok);
            }
            Step::BuildOffline => {
                let wanted = built_together(spec);
                facts.built =
                    Some(build_offline(docker, &wanted, spec.build_args, daemon_socket).await);
                let here = is_present(docker, &offline).await?;
                facts.present.insert(offline.clone(), here);
            }
            Step::FailExplicit(image) => {
                return Err(StackError::ExplicitImageMissing {
                    image,
                    var: spec.var,
                })
            }
            Step::FailNoImage(why) => {
                let tried = match spec.default {
                    Some(default) => {
                        format!("{default} cannot be pulled and {offline} is not built")
                    }
                    None => format!("{offline} is not built"),
                };
                let args = spec.build_args.join(" ");
                return Err(StackError::NoImage {
                    service: spec.service,
                    tried,
                    build: format!(
                        "`just offline-images {args}` or `sudo containers/offline/build-images.sh {args}`"
                    ),
                    reason: format!("; it was not built automatically: {why}"),
                });
            }
        }
    }
}

async fn is_present(docker: &Docker, image: &str) -> Result<bool, StackError> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e) => Err(StackError::docker(format!("inspect image {image}"), e)),
    }
}

/// Pulls `image`; any failure (no registry, unknown image) is just `false`.
async fn pull(docker: &Docker, image: &str) -> bool {
    let (from_image, tag) = split_reference(image);
    let options = bollard::query_parameters::CreateImageOptionsBuilder::new()
        .from_image(from_image)
        .tag(tag)
        .build();
    let mut stream = docker.create_image(Some(options), None, None);
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            tracing::debug!(%image, error = %one_line(&e.to_string()), "pull failed");
            return false;
        }
    }
    true
}

/// Splits `repo[:tag]` into repo and tag ("latest" when absent); a `:` inside
/// a registry host (`host:5000/x`) is not a tag separator.
pub fn split_reference(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

/// Names a script to run instead of `containers/offline/build-images.sh`
/// (the lock test points it at a stand-in).
pub const BUILD_SCRIPT_VAR: &str = "GONOGO_OFFLINE_BUILD_SCRIPT";

/// Set to `1` for the build script when this crate already holds the build
/// lock, so the script does not wait for a lock its own parent holds.
pub const LOCK_HELD_VAR: &str = "GONOGO_OFFLINE_LOCK_HELD";

/// The build script: [`BUILD_SCRIPT_VAR`] if set, else the one next to this
/// crate's sources.
pub fn build_script() -> PathBuf {
    match std::env::var_os(BUILD_SCRIPT_VAR) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("offline/build-images.sh"),
    }
}

/// The lock the crate and the build script share:
/// `$TMPDIR/gonogo-offline-images.lock` (the script reads `${TMPDIR:-/tmp}`).
pub fn lock_path() -> PathBuf {
    std::env::temp_dir().join("gonogo-offline-images.lock")
}

/// Makes sure both offline images exist, building them at most once (see
/// [`build_offline`]); returns their names.
pub async fn ensure_offline(docker: &Docker, daemon_socket: &Path) -> Result<[String; 2], String> {
    let wanted = [POSTGRES.offline_image(), REDIS.offline_image()];
    build_offline(docker, &wanted, POSTGRES.build_args, daemon_socket).await?;
    for image in &wanted {
        if !is_present(docker, image).await.map_err(|e| e.to_string())? {
            return Err(format!("the build script ran but did not produce {image}"));
        }
    }
    Ok(wanted)
}

/// Runs the build script with `args` (which images to build) unless every
/// image in `wanted` is present, once at a time across tasks (a mutex) and
/// across processes (an exclusive lock on [`lock_path`], which the script
/// honours through [`LOCK_HELD_VAR`]). A caller that waited finds the images
/// built by the first and returns without running the script. The script's
/// step lines go to stderr as they come.
async fn build_offline(
    docker: &Docker,
    wanted: &[String],
    args: &[&str],
    daemon_socket: &Path,
) -> Result<(), String> {
    static IN_PROCESS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let script = build_script();
    if !script.exists() {
        return Err(format!("{} is missing", script.display()));
    }
    let uid = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata("/proc/self").map_err(|e| e.to_string())?,
    );
    if uid != 0 {
        return Err("it needs root".into());
    }
    let _task_guard = IN_PROCESS.lock().await;
    let lock_path = lock_path();
    let lock = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                progress_line(&format!(
                    "gonogo-containers: another process is building the offline images; waiting for {}",
                    lock_path.display()
                ));
                fs4::FileExt::lock(&file)?;
            }
            Err(fs4::TryLockError::Error(e)) => return Err(e),
        }
        Ok(file)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot lock the build: {e}"))?;
    let mut missing = false;
    for image in wanted {
        missing |= !is_present(docker, image).await.unwrap_or(false);
    }
    if !missing {
        return Ok(());
    }
    let services: Vec<&str> = ALL
        .iter()
        .filter(|s| s.build_args.iter().any(|a| args.contains(a)))
        .map(|s| s.service)
        .collect();
    progress_line(&format!(
        "gonogo-containers: building the offline {} image{} with {} {} (once; a few minutes)",
        services.join("/"),
        if services.len() == 1 { "" } else { "s" },
        script.display(),
        args.join(" "),
    ));
    let outcome = run_script(&script, args, daemon_socket).await;
    drop(lock);
    outcome
}

/// Runs the build script with the lock marked as held, streaming its stderr
/// line by line; the last line is the reason when it fails.
async fn run_script(script: &Path, args: &[&str], daemon_socket: &Path) -> Result<(), String> {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new("bash")
        .arg(script)
        .args(args)
        // The script's docker CLI talks to the real daemon, not our shim.
        .env("DOCKER_HOST", format!("unix://{}", daemon_socket.display()))
        .env(LOCK_HELD_VAR, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stderr = child.stderr.take().expect("stderr was piped");
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let mut last = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if !line.trim().is_empty() {
            progress_line(&line);
            last = line;
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| format!("cannot wait for {}: {e}", script.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("build-images.sh failed: {}", one_line(&last)))
    }
}

/// Writes one progress line to the process's real stderr: not through
/// `eprintln!`, which the test harness captures, so a user watching
/// `cargo test` sees the build as it goes.
fn progress_line(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(present: &[(&str, bool)], pulled: &[(&str, bool)]) -> Facts {
        Facts {
            present: present.iter().map(|(i, p)| (i.to_string(), *p)).collect(),
            pulled: pulled.iter().map(|(i, p)| (i.to_string(), *p)).collect(),
            built: None,
        }
    }

    const PG: &ImageSpec = &POSTGRES;
    /// PostgreSQL's default image, for the facts' keys.
    const PGD: &str = "postgres:16-alpine";

    #[test]
    fn explicit_image_is_used_when_present_or_pulled_and_never_replaced() {
        let f = facts(&[("my/pg:1", true)], &[]);
        assert_eq!(
            next_step(Some("my/pg:1"), PG.default, PG.offline, &f),
            Step::Use("my/pg:1".into())
        );
        let f = facts(&[("my/pg:1", false)], &[]);
        assert_eq!(
            next_step(Some("my/pg:1"), PG.default, PG.offline, &f),
            Step::Pull("my/pg:1".into())
        );
        let f = facts(&[("my/pg:1", false)], &[("my/pg:1", true)]);
        assert_eq!(
            next_step(Some("my/pg:1"), PG.default, PG.offline, &f),
            Step::Use("my/pg:1".into())
        );
        // Even with the default and the offline image present: fail, don't substitute.
        let f = facts(
            &[("my/pg:1", false), (PGD, true), (PG.offline, true)],
            &[("my/pg:1", false)],
        );
        assert_eq!(
            next_step(Some("my/pg:1"), PG.default, PG.offline, &f),
            Step::FailExplicit("my/pg:1".into())
        );
    }

    #[test]
    fn default_is_preferred_then_offline_then_pull_then_build() {
        let f = Facts::default();
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::Inspect(PGD.into())
        );
        let f = facts(&[(PGD, true)], &[]);
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::Use(PGD.into())
        );
        let f = facts(&[(PGD, false)], &[]);
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::Inspect(PG.offline.into())
        );
        let f = facts(&[(PGD, false), (PG.offline, true)], &[]);
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::Use(PG.offline.into())
        );
        let f = facts(&[(PGD, false), (PG.offline, false)], &[]);
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::Pull(PGD.into())
        );
        let f = facts(&[(PGD, false), (PG.offline, false)], &[(PGD, true)]);
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::Use(PGD.into())
        );
        let f = facts(&[(PGD, false), (PG.offline, false)], &[(PGD, false)]);
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::BuildOffline
        );
    }

    #[test]
    fn after_a_build_the_offline_image_is_used_or_the_reason_is_reported() {
        let mut f = facts(&[(PGD, false), (PG.offline, true)], &[(PGD, false)]);
        f.built = Some(Ok(()));
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::Use(PG.offline.into())
        );
        f.present.insert(PG.offline.into(), false);
        f.built = Some(Err("it needs root".into()));
        assert_eq!(
            next_step(None, PG.default, PG.offline, &f),
            Step::FailNoImage("it needs root".into())
        );
    }

    #[test]
    fn without_an_official_image_the_offline_one_is_used_or_built() {
        let ch = &CHROMIUM;
        let f = Facts::default();
        assert_eq!(
            next_step(None, ch.default, ch.offline, &f),
            Step::Inspect(ch.offline.into())
        );
        let f = facts(&[(ch.offline, true)], &[]);
        assert_eq!(
            next_step(None, ch.default, ch.offline, &f),
            Step::Use(ch.offline.into())
        );
        // Nothing to pull: straight to the build.
        let f = facts(&[(ch.offline, false)], &[]);
        assert_eq!(
            next_step(None, ch.default, ch.offline, &f),
            Step::BuildOffline
        );
        let mut f = facts(&[(ch.offline, false)], &[]);
        f.built = Some(Err("it needs root".into()));
        assert_eq!(
            next_step(None, ch.default, ch.offline, &f),
            Step::FailNoImage("it needs root".into())
        );
    }

    #[test]
    fn postgres_and_redis_are_built_together_the_others_alone() {
        assert_eq!(
            built_together(&POSTGRES),
            [POSTGRES.offline_image(), REDIS.offline_image()]
        );
        assert_eq!(built_together(&REDIS), built_together(&POSTGRES));
        assert_eq!(built_together(&PROMETHEUS), [PROMETHEUS.offline_image()]);
        assert_eq!(built_together(&CHROMIUM), [CHROMIUM.offline_image()]);
    }

    #[test]
    fn references_split_into_repo_and_tag() {
        assert_eq!(
            split_reference("postgres:16-alpine"),
            ("postgres", "16-alpine")
        );
        assert_eq!(split_reference("redis"), ("redis", "latest"));
        assert_eq!(split_reference("host:5000/pg"), ("host:5000/pg", "latest"));
        assert_eq!(split_reference("host:5000/pg:15"), ("host:5000/pg", "15"));
    }
}
