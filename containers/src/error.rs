//! [`StackError`]: every failure as one sentence that says what to do.
//!
//! Details from Docker or the clients are kept short (one line) and never
//! contain the database password: URLs are not part of any message.

/// Why a [`crate::Stack`] or a [`crate::Service`] operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The Docker daemon did not answer on its socket.
    #[error("cannot reach the Docker daemon at {socket} ({detail}); start Docker or set DOCKER_HOST to a unix:// socket")]
    DockerUnreachable {
        /// The socket that was tried.
        socket: String,
        /// The underlying error, one line.
        detail: String,
    },
    /// The API-version shim could not be started.
    #[error("cannot start the Docker API shim ({0}); check that the temp dir is writable")]
    Shim(String),
    /// An image named explicitly by an environment variable is not available.
    #[error("image {image} (from {var}) is not present locally and cannot be pulled; build or load it (docker pull / docker load), or unset {var} to use the default")]
    ExplicitImageMissing {
        /// The image reference.
        image: String,
        /// The variable that named it.
        var: &'static str,
    },
    /// No usable default or offline image, and they could not be built here.
    #[error("no {service} image is available ({tried}); run {build}{reason}")]
    NoImage {
        /// "PostgreSQL", "Redis", "Prometheus" or "Chromium".
        service: &'static str,
        /// What was tried: "postgres:16-alpine cannot be pulled and … is not built".
        tried: String,
        /// The commands that build the missing image, quoted.
        build: String,
        /// Why the crate did not build it itself (starts with "; ", or empty).
        reason: String,
    },
    /// The offline images could not be built.
    #[error("cannot build the offline images ({0}); run `sudo containers/offline/build-images.sh` to see every step")]
    OfflineBuild(String),
    /// A Docker call failed.
    #[error("Docker could not {action} ({detail}); check `docker ps` and the daemon logs")]
    Docker {
        /// What was being done, e.g. "start the postgres container".
        action: String,
        /// The underlying error, one line.
        detail: String,
    },
    /// The service started but did not answer its readiness query in time.
    #[error("{service} did not become ready within {seconds} s ({detail}); check `docker logs` of its container")]
    NotReady {
        /// "PostgreSQL", "Redis" or "Prometheus".
        service: &'static str,
        /// The timeout.
        seconds: u64,
        /// The last error, one line.
        detail: String,
    },
    /// Chromium ran in its container but did not do what was asked.
    #[error("Chromium could not {action} ({detail}); run the same with `docker exec` in a container of {image} to see its full output")]
    Chromium {
        /// What was asked, e.g. "take a screenshot".
        action: &'static str,
        /// The image the container runs.
        image: String,
        /// Its exit code and last line of stderr, one line.
        detail: String,
    },
}

impl StackError {
    /// A [`StackError::Docker`] from any error, flattened to one line.
    pub(crate) fn docker(action: impl Into<String>, err: impl std::fmt::Display) -> StackError {
        StackError::Docker {
            action: action.into(),
            detail: one_line(&err.to_string()),
        }
    }
}

/// Keeps the first line of an error, at most 200 characters, so a bollard
/// dump never becomes a wall of text.
pub(crate) fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}
