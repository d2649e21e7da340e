//! One run end to end: the [`Session`] owns the fixture (in-process server on
//! containers, or a remote URL), the R1 baseline and the target's
//! capabilities; it runs the suites, times them and builds the report.
//! `gonogo run`, `cargo test --test smoke` and the mutation tests all go
//! through it: baseline → fixture → execute → shut down → write.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(feature = "hermetic")]
use futures::FutureExt;
use gonogo_reports::publication::Publication;
use gonogo_reports::redact::Secrets;
use gonogo_reports::render::{Format, RenderOptions};
use gonogo_reports::Report;
use gonogo_suites::{Capabilities, CaseReport, Ctx, Group, Section, TokenSource, Transport};

use crate::client::{ExtraRoots, HttpTransport, Unreached};
use crate::progress::Progress;
use crate::report::{build, RunFacts};

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A deployed server; `None` = hermetic.
    pub target: Option<String>,
    /// The target's JWT secret (remote mode); without it tokens come from the anonymous endpoint.
    pub jwt_secret: Option<String>,
    pub label: Option<String>,
    /// The commit (or version) of a remote target's build, as the user knows it;
    /// without it the run asks the target ([`target_build`]).
    pub target_commit: Option<String>,
    /// The R1 OpenAPI baseline Gate 1 compares against; `None` = the committed one.
    pub r1_baseline: Option<PathBuf>,
    /// Searches the latency phase sends; `None` = [`gonogo_suites::cases::latency::DEFAULT_SAMPLES`].
    pub latency_samples: Option<usize>,
    /// The seed of the generated inputs (a report's, to replay its cases); `None` = a fresh one.
    pub seed: Option<u64>,
    /// The target's PostgreSQL URL as its application role (remote mode): the
    /// database RLS gate runs, read-only. Never written anywhere.
    pub database_url: Option<String>,
    /// Remote mode without a database URL: accept tenant isolation proven through
    /// the API alone, for this reason (recorded in the report and signed with it).
    pub accept_api_only_isolation: Option<String>,
    /// What the criteria are judged by (the contract's by default).
    pub thresholds: crate::decision::Thresholds,
    /// Where reports are written: an earlier `go-no-go.json` there can vouch
    /// for the anonymous token a rerun within the hour cannot be given.
    pub report_dir: Option<PathBuf>,
    /// A PEM file of the CA that signed the target's certificate (remote),
    /// trusted besides the platform's store and webpki's roots.
    pub cacert: Option<PathBuf>,
}

impl Options {
    /// The groups a session started from these options runs (the database
    /// gate in hermetic mode or with a database URL). Known before anything starts, for `--list`.
    pub fn groups(&self) -> Vec<Group> {
        gonogo_suites::registry(self.target.is_none() || self.database_url.is_some())
    }

    /// Literal strings the reports must never carry: the database URL and its password.
    fn database_secrets(&self) -> Vec<String> {
        let Some(url) = &self.database_url else {
            return Vec::new();
        };
        let password = url::Url::parse(url)
            .ok()
            .and_then(|u| u.password().map(str::to_owned));
        [Some(url.clone()), password]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Why a run could not happen at all (exit code 3). Display is one sentence.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    #[error(
        "the target {url} is unreachable ({cause}); check the URL and that the server is running"
    )]
    Unreachable { url: String, cause: String },
    #[error("the target {url}'s TLS certificate is not trusted ({kind}): pass --cacert FILE with the CA that signed it")]
    UntrustedCertificate { url: String, kind: String },
    #[error("the target {url}'s TLS certificate is not valid ({kind}); check the certificate it presents for this host name and date")]
    InvalidCertificate { url: String, kind: String },
    #[error("the CA file {} cannot be used ({source}); pass a PEM file of the CA certificate to --cacert", path.display())]
    CaCert {
        path: PathBuf,
        source: crate::client::CaFileError,
    },
    /// Not http(s), or no HTTP client can be built for it (`cause`).
    #[error(
        "the target URL {:?} is not an http(s) URL; pass e.g. --target https://api.example.com",
        with_cause(url, cause.as_ref())
    )]
    BadUrl {
        url: String,
        cause: Option<reqwest::Error>,
    },
    #[error("the R1 baseline {} cannot be read ({source}); pass an existing OpenAPI JSON file to --r1-baseline", path.display())]
    Baseline {
        path: PathBuf,
        source: BaselineError,
    },
    #[error("the hermetic run could not start its containers or server: the server panicked while starting ({panic})")]
    ServerPanicked { panic: String },
    #[error("the hermetic run could not start its containers or server: {cause:#}")]
    Hermetic { cause: anyhow::Error },
    #[error("this build has no hermetic mode (feature `hermetic` off); pass --target URL")]
    NoHermetic,
    #[error("cannot write the report: {0}")]
    Write(#[from] gonogo_reports::render::RenderError),
    #[error("the database URL is not a PostgreSQL URL; pass --database-url postgres://ROLE:PASSWORD@HOST:5432/DATABASE")]
    DatabaseUrl,
    #[error("the database is unreachable with the given --database-url ({kind}); check the host, port, database, role and password")]
    Database { kind: String },
    #[error("--database-url needs --target: a hermetic run uses its own database")]
    DatabaseWithoutTarget,
}

/// `url (cause)`, or the URL alone.
fn with_cause(url: &str, cause: Option<&reqwest::Error>) -> String {
    match cause {
        Some(e) => format!("{url} ({e})"),
        None => url.to_owned(),
    }
}

/// The committed R1 baseline, built into the binary: it runs from any
/// directory and names no path of the machine that built it.
pub const DEFAULT_BASELINE: &str = include_str!("../../server/openapi/r1-baseline.json");

/// Loads the baseline: `named` (`--r1-baseline`, `SMOKE_R1_BASELINE`) when
/// given, where a file that cannot be read is a usage error; else the built-in
/// one, which could only fail by not being JSON (Gate 1's diff is then skipped).
pub fn load_baseline(named: Option<&Path>) -> Result<Baseline, InfraError> {
    match named {
        None => {
            Ok(serde_json::from_str(DEFAULT_BASELINE)
                .map_err(|e| BaselineError::BuiltIn(Arc::new(e))))
        }
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| BaselineError::Read(Arc::new(e)))
            .and_then(|t| serde_json::from_str(&t).map_err(|e| BaselineError::NotJson(Arc::new(e))))
            .map(Ok)
            .map_err(|source| InfraError::Baseline {
                path: path.to_path_buf(),
                source,
            }),
    }
}

/// The R1 baseline Gate 1 compares against, or why the built-in one cannot be used.
pub type Baseline = Result<serde_json::Value, BaselineError>;

/// Why an R1 baseline cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BaselineError {
    #[error("{0}")]
    Read(Arc<std::io::Error>),
    #[error("not JSON: {0}")]
    NotJson(Arc<serde_json::Error>),
    /// Gate 1's diff is then skipped rather than the run refused.
    #[error("the built-in R1 baseline: not JSON: {0}")]
    BuiltIn(Arc<serde_json::Error>),
}

/// Where and how the suites speak to a target (cheap to clone; the mutation
/// tests point a copy at a faulty front of the same server).
#[derive(Clone)]
pub struct TargetView {
    pub base_url: String,
    pub tokens: TokenSource,
    /// What the target offers beyond HTTP: with database access the RLS gate
    /// runs and isolation is proven at the database.
    pub caps: Capabilities,
    /// A deployed URL rather than the in-process server.
    pub remote: bool,
    /// Remote without database access: API-only isolation accepted, for this reason.
    pub api_only_waiver: Option<String>,
    /// CAs trusted besides the platform's and webpki's (`--cacert`).
    pub roots: ExtraRoots,
}

impl TargetView {
    /// The in-process server on its own containers.
    pub fn hermetic(&self) -> bool {
        !self.remote
    }

    /// The groups this target supports.
    pub fn groups(&self) -> Vec<Group> {
        gonogo_suites::registry(self.caps.db.is_some())
    }

    /// The same target seen as a deployed URL: no database access.
    pub fn remote(mut self) -> TargetView {
        self.caps = Capabilities::default();
        self.remote = true;
        self
    }
}

/// A started target; dropping it stops the server and removes the containers.
struct Fixture {
    view: TargetView,
    #[cfg(feature = "hermetic")]
    server: Option<knowledge_server::embedded::EmbeddedServer>,
}

impl Fixture {
    /// Remote: check the URL answers. Hermetic: containers + in-process server.
    async fn start(opts: &Options) -> Result<Fixture, InfraError> {
        match &opts.target {
            Some(url) => Self::remote(url, opts).await,
            None if opts.database_url.is_some() => Err(InfraError::DatabaseWithoutTarget),
            None => Self::hermetic().await,
        }
    }

    async fn remote(url: &str, opts: &Options) -> Result<Fixture, InfraError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(InfraError::BadUrl {
                url: url.into(),
                cause: None,
            });
        }
        // The CA file and the database first: a bad one is a usage error whatever the target says.
        let roots = match &opts.cacert {
            Some(path) => ExtraRoots::from_pem_file(path).map_err(|source| InfraError::CaCert {
                path: path.clone(),
                source,
            })?,
            None => ExtraRoots::default(),
        };
        let db = match &opts.database_url {
            Some(d) => Some(database_probe(d).await?),
            None => None,
        };
        let t = HttpTransport::trusting(url, &roots).map_err(|e| InfraError::BadUrl {
            url: url.into(),
            cause: Some(e),
        })?;
        t.reach().await.map_err(|why| {
            let url = url.to_owned();
            match why {
                Unreached::Certificate(kind) if kind == "UnknownIssuer" => {
                    InfraError::UntrustedCertificate { url, kind }
                }
                Unreached::Certificate(kind) => InfraError::InvalidCertificate { url, kind },
                Unreached::Other(cause) => InfraError::Unreachable { url, cause },
            }
        })?;
        let view = TargetView {
            base_url: t.base_url().to_owned(),
            tokens: opts
                .jwt_secret
                .clone()
                .map(TokenSource::Secret)
                .unwrap_or(TokenSource::Anonymous),
            caps: Capabilities { db },
            remote: true,
            api_only_waiver: opts.accept_api_only_isolation.clone(),
            roots,
        };
        Ok(Fixture {
            view,
            #[cfg(feature = "hermetic")]
            server: None,
        })
    }

    #[cfg(feature = "hermetic")]
    async fn hermetic() -> Result<Fixture, InfraError> {
        // Caught, so a panic while starting becomes exit 3 (and containers are dropped) rather than an abort.
        let started =
            std::panic::AssertUnwindSafe(knowledge_server::embedded::EmbeddedServer::start())
                .catch_unwind()
                .await;
        let server = started
            .map_err(|p| InfraError::ServerPanicked {
                panic: gonogo_plumbing::panic_message(p.as_ref())
                    .unwrap_or("no message")
                    .to_owned(),
            })?
            .map_err(|cause| InfraError::Hermetic { cause })?;
        let probe = database_probe(server.app_database_url()).await?;
        let view = TargetView {
            base_url: server.base_url(),
            tokens: TokenSource::Secret(server.config().jwt_secret.clone()),
            caps: Capabilities { db: Some(probe) },
            remote: false,
            api_only_waiver: None,
            roots: ExtraRoots::default(),
        };
        Ok(Fixture {
            view,
            server: Some(server),
        })
    }

    #[cfg(not(feature = "hermetic"))]
    async fn hermetic() -> Result<Fixture, InfraError> {
        Err(InfraError::NoHermetic)
    }

    /// Stops the server gracefully, then removes the containers.
    async fn shutdown(self) {
        #[cfg(feature = "hermetic")]
        if let Some(s) = self.server {
            s.shutdown().await;
        }
    }
}

/// A read-only probe on `url`, checked to answer before the run starts.
pub async fn database_probe(url: &str) -> Result<Arc<dyn gonogo_suites::DbProbe>, InfraError> {
    use crate::db::{ProbeError, SqlProbe};
    let probe = SqlProbe::new(url).map_err(|_| InfraError::DatabaseUrl)?;
    probe.check().await.map_err(|e| match e {
        ProbeError::Malformed => InfraError::DatabaseUrl,
        ProbeError::Unreachable(kind) => InfraError::Database { kind },
    })?;
    Ok(Arc::new(probe))
}

/// What a run produced.
pub struct RunOutput {
    pub report: Report,
    pub results: Vec<(Section, CaseReport)>,
    /// Wall time of the suites alone (fixture start-up excluded).
    pub suites_time: Duration,
    /// Wall time of starting the fixture (containers, server), not counted above.
    pub startup: Duration,
    /// The target's JWT secret and database URL, masked again by the final pass before writing.
    secrets: Vec<String>,
}

impl RunOutput {
    /// Writes the report (JSON always, plus `formats`) into `dir`, with the default documents' options.
    pub fn write(&self, dir: &Path, formats: &[Format]) -> Result<Vec<PathBuf>, InfraError> {
        self.publish(&Publication::files(dir, formats, RenderOptions::default()))
    }

    /// Writes the report as `publication` says, its final redaction pass also masking this run's secrets.
    pub fn publish(&self, publication: &Publication) -> Result<Vec<PathBuf>, InfraError> {
        Ok(publication
            .clone()
            .masking(self.secrets())
            .write(&self.report)?)
    }

    /// The target's JWT secret and database URL: what anything publishing this
    /// run's report (files, GitHub) masks in its final redaction pass.
    pub fn secrets(&self) -> Secrets {
        Secrets::new(self.secrets.clone())
    }
}

/// One run's target, baseline and label: start it, execute groups against it
/// (or against a view of it), shut it down.
pub struct Session {
    fixture: Fixture,
    baseline: Baseline,
    label: Option<String>,
    target_commit: Option<String>,
    latency_samples: usize,
    seed: Option<u64>,
    thresholds: crate::decision::Thresholds,
    /// The database URL and its password: masked in every report.
    database_secrets: Vec<String>,
    /// Where an earlier report of the same build may be ([`crate::earlier`]).
    report_dir: Option<PathBuf>,
    startup: Duration,
    /// What stderr shows while the run goes ([`Progress::off`] unless a command asks).
    progress: Arc<Progress>,
}

impl Session {
    /// Loads the baseline (a bad named file fails before anything starts),
    /// then starts the fixture.
    pub async fn start(opts: &Options) -> Result<Session, InfraError> {
        Self::start_watched(opts, Arc::new(Progress::off())).await
    }

    /// [`Session::start`], telling `progress` each phase of the session.
    pub async fn start_watched(
        opts: &Options,
        progress: Arc<Progress>,
    ) -> Result<Session, InfraError> {
        let baseline = load_baseline(opts.r1_baseline.as_deref())?;
        let t0 = Instant::now();
        progress.phase(match opts.target {
            Some(_) => "checking the target answers",
            None => "starting containers and the server",
        });
        let fixture = Fixture::start(opts).await?;
        Ok(Session {
            fixture,
            baseline,
            label: opts.label.clone(),
            target_commit: opts.target_commit.clone(),
            latency_samples: opts
                .latency_samples
                .unwrap_or(gonogo_suites::cases::latency::DEFAULT_SAMPLES),
            seed: opts.seed,
            thresholds: opts.thresholds,
            database_secrets: opts.database_secrets(),
            report_dir: opts.report_dir.clone(),
            startup: t0.elapsed(),
            progress,
        })
    }

    /// Starts a session, runs `groups` (all the target supports when `None`)
    /// and shuts down, whatever the run's result.
    pub async fn run_once(
        opts: &Options,
        groups: Option<&[Group]>,
    ) -> Result<RunOutput, InfraError> {
        Self::run_once_watched(opts, groups, Arc::new(Progress::off())).await
    }

    /// [`Session::run_once`] with its progress shown by `progress`.
    pub async fn run_once_watched(
        opts: &Options,
        groups: Option<&[Group]>,
        progress: Arc<Progress>,
    ) -> Result<RunOutput, InfraError> {
        let session = Session::start_watched(opts, progress).await?;
        let all;
        let groups = match groups {
            Some(g) => g,
            None => {
                all = session.target().groups();
                &all
            }
        };
        let out = session.execute(groups).await;
        session.shutdown().await;
        out
    }

    /// How the suites reach the started target.
    pub fn target(&self) -> &TargetView {
        &self.fixture.view
    }

    /// The in-process server (hermetic mode).
    #[cfg(feature = "hermetic")]
    pub fn server(&self) -> Option<&knowledge_server::embedded::EmbeddedServer> {
        self.fixture.server.as_ref()
    }

    /// Runs `groups` against the session's own target.
    pub async fn execute(&self, groups: &[Group]) -> Result<RunOutput, InfraError> {
        self.execute_on(self.target(), groups).await
    }

    /// Runs `groups` against `view` (e.g. a faulty front of the session's
    /// server) with the session's baseline and label, and builds the report.
    pub async fn execute_on(
        &self,
        view: &TargetView,
        groups: &[Group],
    ) -> Result<RunOutput, InfraError> {
        let transport = HttpTransport::trusting(&view.base_url, &view.roots).map_err(|e| {
            InfraError::BadUrl {
                url: view.base_url.clone(),
                cause: Some(e),
            }
        })?;
        let transport: Arc<dyn Transport> = Arc::new(transport);
        // The build judged: the reference server is this checkout; a deployed
        // target's is what the user names, else what the target says it is.
        let judged_build = if view.hermetic() {
            crate::report::git_commit()
        } else if let Some(c) = &self.target_commit {
            Some(c.clone())
        } else {
            target_build(transport.as_ref()).await
        };
        // An earlier report vouches only for the same build of the same target.
        let earlier = crate::earlier::earlier_evidence(
            self.report_dir.as_deref(),
            &view.base_url,
            judged_build.as_deref(),
        );
        let ctx = Ctx::new(
            transport.clone(),
            view.tokens.clone(),
            // The suites take the reason as text, to show as Gate 1's.
            self.baseline.as_ref().cloned().map_err(ToString::to_string),
            view.caps.clone(),
        )
        .with_latency_samples(self.latency_samples)
        .with_earlier(earlier);
        let ctx = match self.seed {
            Some(seed) => ctx.with_seed(seed),
            None => ctx,
        };
        // The in-process server hears from this run alone; a deployed one may have other clients.
        let ctx = match view.hermetic() {
            true => ctx.with_sole_client(),
            false => ctx,
        };
        let ctx = match self.progress.active() {
            true => ctx.with_observer(self.progress.clone()),
            false => ctx,
        };
        let started_at = chrono::Utc::now();
        let t0 = Instant::now();
        let results = gonogo_suites::check::registry::run(&ctx, groups).await;
        let suites_time = t0.elapsed();
        let facts = RunFacts {
            started_at,
            finished_at: chrono::Utc::now(),
            hermetic: view.hermetic(),
            database: view.caps.db.is_some(),
            api_only_waiver: view.api_only_waiver.clone(),
            base_url: view.base_url.clone(),
            label: self.label.clone(),
            build: judged_build,
            secret: view.tokens.secret().map(str::to_owned),
            thresholds: self.thresholds,
        };
        let secrets = facts
            .secret
            .iter()
            .cloned()
            .chain(self.database_secrets.iter().cloned())
            .collect();
        let report = build(&results, &facts);
        Ok(RunOutput {
            report,
            results,
            suites_time,
            startup: self.startup,
            secrets,
        })
    }

    /// Stops the server gracefully, then removes the containers.
    pub async fn shutdown(self) {
        if self.fixture.view.hermetic() {
            self.progress.phase("stopping the server and containers");
        }
        self.fixture.shutdown().await;
    }
}

/// What a deployed target says its build is: `/health`'s body `commit` or
/// `version`, else a version header of its answer (`X-App-Version`,
/// `X-Version`, `X-Git-Commit`, `Server`), with where it was read. `None`
/// when it says nothing (the report then shows the commit as unknown).
pub async fn target_build(transport: &dyn Transport) -> Option<String> {
    let exchange = transport
        .send(gonogo_suites::ApiRequest::get("/health"))
        .await;
    let response = exchange.response.ok()?;
    build_of(&response)
}

/// [`target_build`] on one answer.
pub fn build_of(response: &gonogo_suites::ApiResponse) -> Option<String> {
    let clean = |v: &str| {
        let v: String = v.chars().filter(|c| !c.is_control()).take(80).collect();
        Some(v.trim().to_string()).filter(|v| !v.is_empty())
    };
    if response.status == 200 {
        if let Some(body) = response.json() {
            for key in ["commit", "git_commit", "version"] {
                if let Some(v) = body.get(key).and_then(|v| v.as_str()).and_then(clean) {
                    return Some(format!("{v} (/health {key})"));
                }
            }
        }
    }
    ["x-app-version", "x-version", "x-git-commit", "server"]
        .into_iter()
        .find_map(|h| {
            let v = clean(response.header(h)?)?;
            Some(format!("{v} ({h} header)"))
        })
}

#[cfg(test)]
mod build_tests {
    use super::build_of;
    use gonogo_suites::ApiResponse;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> ApiResponse {
        ApiResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_string().into(),
        }
    }

    #[test]
    fn the_health_body_names_the_build_before_any_header() {
        let a = answer(
            200,
            &[("server", "nginx")],
            r#"{"status":"ok","commit":"9f2c1e7"}"#,
        );
        assert_eq!(build_of(&a).as_deref(), Some("9f2c1e7 (/health commit)"));
    }

    #[test]
    fn a_version_header_names_the_build_when_the_body_does_not() {
        let a = answer(
            404,
            &[("x-app-version", "2.3.0"), ("server", "uvicorn")],
            "{}",
        );
        assert_eq!(
            build_of(&a).as_deref(),
            Some("2.3.0 (x-app-version header)")
        );
        assert_eq!(build_of(&answer(200, &[], "ok")), None);
    }
}
