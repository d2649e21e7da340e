//! [`Chromium`]: a headless Chromium in a container, for checking how HTML
//! renders in a real browser.
//!
//! One container per [`Chromium`] stays up (`sleep infinity`); each call
//! uploads the page into a fresh directory of the container, runs `chromium
//! --headless --no-sandbox …` there with `docker exec`, and reads back what it
//! wrote (the DOM on stdout, a screenshot or a NetLog file through `cat`). So
//! nothing is mounted from the host: it works with any daemon this crate can
//! reach, and files never end up owned by the container's root on the host.
//!
//! The browser has no network: the container runs with `network_mode: none`
//! and every host name resolves to nothing. A page that needs anything from
//! elsewhere shows it (a broken image, a request in the NetLog), which is the
//! point of an offline report check.
//!
//! The image is always built from Debian's `chromium` package with a font
//! (`fonts-dejavu-core`) so screenshots show text (see [`crate::images`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use testcontainers::core::ExecCommand;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::error::{one_line, StackError};
use crate::images::split_reference;
use crate::owned::Owned;
use crate::service::{remove_labelled, ATTEMPT_LABEL};

/// The flags of every run: headless, no sandbox (the container is the
/// sandbox, and Chromium's own needs privileges a container lacks), no GPU,
/// no /dev/shm (Docker's 64 MB is too small for big pages), nothing of the
/// browser's own in the background, and no host name resolves.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
];

/// How long one run may take before it is abandoned.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A running Chromium container; removed on drop (or by the reaper at exit).
pub struct Chromium {
    docker: bollard::Docker,
    runs: AtomicU64,
    owned: Owned,
}

impl std::fmt::Debug for Chromium {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromium")
            .field("image", &self.owned.image())
            .field("container", &self.owned.id())
            .finish()
    }
}

/// What one run of Chromium produced.
#[derive(Debug, Clone)]
pub struct Run {
    /// Its standard output (the DOM, with `--dump-dom`).
    pub stdout: Vec<u8>,
    /// Its standard error, for messages.
    pub stderr: Vec<u8>,
    /// The output file it was asked for, if any.
    pub file: Option<Vec<u8>>,
}

/// The output file of a [`Chromium::run`]: the flag that names it (the
/// path is appended) and its file name inside the run's directory.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// E.g. `--screenshot=`.
    pub flag: &'static str,
    /// E.g. `shot.png`.
    pub file: &'static str,
}

impl Chromium {
    /// Resolves the image (building it from Debian's package once if it is
    /// missing, with progress lines; see the crate README) and starts the
    /// container.
    pub async fn start() -> Result<Chromium, StackError> {
        let (endpoint, docker) = crate::connect().await?;
        let image =
            crate::images::resolve(&crate::images::CHROMIUM, &docker, &endpoint.daemon_socket)
                .await?;
        let attempt = uuid::Uuid::new_v4().to_string();
        let (name, tag) = split_reference(&image);
        let mut request = GenericImage::new(name, tag)
            .with_network("none")
            // The image's command, named here too so an image given by
            // SMOKE_CHROMIUM_IMAGE needs only a `chromium` on its PATH.
            .with_cmd(["sleep", "infinity"])
            .with_label(ATTEMPT_LABEL, &attempt)
            .with_startup_timeout(Duration::from_secs(60));
        for (key, value) in crate::reaper::labels() {
            request = request.with_label(key, value);
        }
        match request.start().await {
            Ok(container) => Ok(Chromium {
                owned: Owned::new(image, container),
                docker,
                runs: AtomicU64::new(0),
            }),
            Err(e) => {
                remove_labelled(&docker, ATTEMPT_LABEL, &attempt).await;
                Err(StackError::docker(
                    format!("start the Chromium container from {image}"),
                    e,
                ))
            }
        }
    }

    /// The image the container runs.
    pub fn image(&self) -> &str {
        self.owned.image()
    }

    /// The Docker container id.
    pub fn container_id(&self) -> &str {
        self.owned.id()
    }

    fn container(&self) -> &ContainerAsync<GenericImage> {
        self.owned.get()
    }

    /// The DOM of `html` once loaded and its scripts run (`--dump-dom`).
    pub async fn dump_dom(&self, html: impl AsRef<[u8]>) -> Result<String, StackError> {
        let run = self
            .run(html.as_ref(), &["--dump-dom"], None, "load the page")
            .await?;
        Ok(String::from_utf8_lossy(&run.stdout).into_owned())
    }

    /// A PNG of `html` in a `width` × `height` window, without scrollbars.
    pub async fn screenshot(
        &self,
        html: impl AsRef<[u8]>,
        width: u32,
        height: u32,
    ) -> Result<Vec<u8>, StackError> {
        let size = format!("--window-size={width},{height}");
        let run = self
            .run(
                html.as_ref(),
                &[&size, "--hide-scrollbars"],
                Some(Output {
                    flag: "--screenshot=",
                    file: "shot.png",
                }),
                "take a screenshot",
            )
            .await?;
        Ok(run.file.unwrap_or_default())
    }

    /// Chromium's NetLog (JSON text) of loading `html`: every network
    /// request the browser started, the page's own and its own background
    /// ones, each with its initiator.
    pub async fn net_log(&self, html: impl AsRef<[u8]>) -> Result<String, StackError> {
        let run = self
            .run(
                html.as_ref(),
                &["--dump-dom"],
                Some(Output {
                    flag: "--log-net-log=",
                    file: "netlog.json",
                }),
                "write a NetLog",
            )
            .await?;
        Ok(String::from_utf8_lossy(&run.file.unwrap_or_default()).into_owned())
    }

    /// Loads `html` as `file:///tmp/gonogo-<n>/page.html` with [`FLAGS`],
    /// `args` and, if asked, `output`'s flag; returns what it printed and the
    /// output file. A failed run (non-zero exit, no output file) is an error
    /// saying `action` failed, with Chromium's last line of stderr.
    pub async fn run(
        &self,
        html: &[u8],
        args: &[&str],
        output: Option<Output>,
        action: &'static str,
    ) -> Result<Run, StackError> {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        let dir = format!("/tmp/gonogo-{n}");
        self.upload(&format!("gonogo-{n}/page.html"), html).await?;
        let mut cmd: Vec<String> = vec!["chromium".into()];
        cmd.extend(FLAGS.iter().map(|f| f.to_string()));
        cmd.push(format!("--user-data-dir={dir}/profile"));
        cmd.extend(args.iter().map(|a| a.to_string()));
        if let Some(out) = output {
            cmd.push(format!("{}{dir}/{}", out.flag, out.file));
        }
        cmd.push(format!("file://{dir}/page.html"));
        let (code, stdout, stderr) = self.exec(cmd, action).await?;
        let fail = |detail: String| StackError::Chromium {
            action,
            image: self.image().to_owned(),
            detail,
        };
        if code != 0 {
            return Err(fail(format!("exit {code}: {}", last_line(&stderr))));
        }
        let file = match output {
            None => None,
            Some(out) => {
                let path = format!("{dir}/{}", out.file);
                let (code, bytes, _) = self.exec(vec!["cat".into(), path.clone()], action).await?;
                if code != 0 {
                    return Err(fail(format!("it wrote no {path}: {}", last_line(&stderr))));
                }
                Some(bytes)
            }
        };
        // The profile is tens of MB; a long test would fill the container.
        self.exec(vec!["rm".into(), "-rf".into(), dir], action)
            .await?;
        Ok(Run {
            stdout,
            stderr,
            file,
        })
    }

    /// Runs `cmd` in the container; its exit code, stdout and stderr.
    async fn exec(
        &self,
        cmd: Vec<String>,
        action: &'static str,
    ) -> Result<(i64, Vec<u8>, Vec<u8>), StackError> {
        let docker_err =
            |e: &dyn std::fmt::Display| StackError::docker(format!("run Chromium to {action}"), e);
        let work = async {
            let mut result = self
                .container()
                .exec(ExecCommand::new(cmd))
                .await
                .map_err(|e| docker_err(&e))?;
            // One after the other is safe: testcontainers splits the stream
            // into two unbounded channels, so stderr never waits for stdout.
            let stdout = result.stdout_to_vec().await.map_err(|e| docker_err(&e))?;
            let stderr = result.stderr_to_vec().await.map_err(|e| docker_err(&e))?;
            // The streams end as the process exits; its code follows shortly.
            for _ in 0..50 {
                if let Some(code) = result.exit_code().await.map_err(|e| docker_err(&e))? {
                    return Ok((code, stdout, stderr));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(docker_err(&"the command's exit code never came"))
        };
        tokio::time::timeout(RUN_TIMEOUT, work)
            .await
            .unwrap_or_else(|_| {
                Err(StackError::Chromium {
                    action,
                    image: self.image().to_owned(),
                    detail: format!("no result within {} s", RUN_TIMEOUT.as_secs()),
                })
            })
    }

    /// Puts `data` at `/tmp/<path>` in the container (parents created).
    async fn upload(&self, path: &str, data: &[u8]) -> Result<(), StackError> {
        let upload_err = |e: &dyn std::fmt::Display| {
            StackError::docker("copy the page into the Chromium container", e)
        };
        let mut tar = tokio_tar::Builder::new(Vec::new());
        let mut header = tokio_tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, data)
            .await
            .map_err(|e| upload_err(&e))?;
        let tar = tar.into_inner().await.map_err(|e| upload_err(&e))?;
        let options = bollard::query_parameters::UploadToContainerOptionsBuilder::new()
            .path("/tmp")
            .build();
        self.docker
            .upload_to_container(
                self.container().id(),
                Some(options),
                bollard::body_full(tar.into()),
            )
            .await
            .map_err(|e| upload_err(&e))
    }
}

/// The last non-empty line of Chromium's stderr, shortened: its complaint.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    one_line(line)
}
