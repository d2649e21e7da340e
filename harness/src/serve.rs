//! `gonogo serve`: the gate as an analysis provider for the release engines
//! teams already run — Flagger's webhooks and Argo Rollouts' web metric.
//!
//! | route | who calls it | 2xx when |
//! |---|---|---|
//! | `GET /health` | probes (no token) | always |
//! | `POST /flagger/pre-rollout` | Flagger, before traffic shifts | the smoke gate says GO |
//! | `POST /flagger/rollout` | Flagger, every analysis interval | one canary step's triggers hold |
//! | `POST /flagger/confirm-promotion` | Flagger, before promotion | the release's report is APPROVED |
//! | `GET`/`POST /argo/verdict` | Argo's web provider | always, with `{"verdict": …}` |
//! | `GET /reports/{flagger,argo}/<release>/<file>` | people | the report exists (read-only) |
//! | `GET /ledger?env=E&since=WHEN` | people, dashboards | the ledger can be read: `{"entries": […]}` |
//! | `GET /can-i-deploy?commit=C&to=E` | Argo's web provider, CI | always once answered: `{"answer": "yes" \| "not_go" \| …}` |
//!
//! `confirm-promotion` records the promoted release as a deployment in the
//! ledger (its environment: `metadata.environment`, else the namespace).
//!
//! It is a server, so it is secured like one: every route but `/health` needs
//! the bearer token ([`auth`]); traffic goes only to origins on the allowlist
//! ([`allow`]); one run at a time per target, each within `serve.run_timeout`;
//! every refusal is a problem body whose `detail` is one sentence (Flagger
//! shows it in its events).

pub mod allow;
mod auth;
mod ledger;
mod problem;
mod routes;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gonogo_plumbing::ListenOptions;
use gonogo_reports::canary_plan::CanaryPlan;
use gonogo_reports::render::RenderOptions;

pub use allow::{Allowlist, AllowlistError, Refused};
pub use problem::Problem;
pub use routes::{router, ROUTES};

use crate::config::Config;
use crate::exit::Exit;
use crate::run::Options;

/// Tokens shorter than this are refused at start-up: a guessable token is no lock.
pub const MIN_TOKEN_LEN: usize = 16;
/// Runs at once across all targets (each target one at a time).
pub const MAX_RUNS: usize = 4;
/// Probes per second of one `rollout` step: twice `gonogo canary`'s default, so that a
/// short `serve.rollout_step` still gathers enough samples to judge.
pub const ROLLOUT_RPS: f64 = 4.0;
/// Tenants probing in one `rollout` step (as `gonogo canary --tenants` by default).
pub const ROLLOUT_TENANTS: usize = 4;

/// What `gonogo serve` needs, from the effective configuration.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    pub token: String,
    pub allow: Allowlist,
    /// Where each release's reports are kept: `<report.dir>/<release>/`.
    pub report_dir: PathBuf,
    /// Trusted public keys for `confirm-promotion`; without it nothing is ever APPROVED.
    pub trust_dir: Option<PathBuf>,
    pub run_timeout: Duration,
    /// How long one `rollout` call probes the canary.
    pub rollout_step: Duration,
    /// The run template: secrets, thresholds, waivers; the target comes from each request
    /// (`run.target` is the default when a request names none).
    pub run: Options,
    /// Required roles and the canary plan the documents show.
    pub render: RenderOptions,
    pub canary_plan: CanaryPlan,
    /// Told of each run's decision, when set.
    pub webhook: Option<crate::notify::Webhook>,
    /// The whole configuration, for the ledger: where it is, its key, what
    /// each environment requires before `can-i-deploy` says yes.
    pub config: Config,
}

impl ServeSettings {
    /// Checks what serving needs: a token, an allowlist, a parsable address.
    pub fn from_config(c: &Config) -> Result<ServeSettings, ServeError> {
        let s = &c.settings.serve;
        let token = s.token.clone().unwrap_or_default();
        if token.trim().len() < MIN_TOKEN_LEN {
            return Err(ServeError::NoToken);
        }
        let allow = Allowlist::parse(&s.allowed_targets)?;
        if allow.is_empty() {
            return Err(ServeError::NoTargets);
        }
        if let Some(m) = &c.canary_plan().metrics {
            allow
                .check(&m.prometheus)
                .map_err(|source| ServeError::Prometheus {
                    url: m.prometheus.clone(),
                    source,
                })?;
        }
        let listen = s.listen.parse().map_err(|_| ServeError::Listen)?;
        Ok(ServeSettings {
            listen,
            token: token.trim().to_owned(),
            allow,
            report_dir: c.report_dir(),
            trust_dir: s.trust_dir.clone(),
            run_timeout: s.run_timeout,
            rollout_step: s.rollout_step,
            run: c.run_options(),
            render: c.render_options(),
            canary_plan: c.canary_plan().clone(),
            webhook: c.webhook()?,
            config: c.clone(),
        })
    }
}

/// Why `gonogo serve` cannot start (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gonogo serve needs a bearer token of at least {MIN_TOKEN_LEN} characters: set GONOGO_SERVE_TOKEN (or serve.token in gonogo.toml), e.g. GONOGO_SERVE_TOKEN=$(openssl rand -hex 32)")]
    NoToken,
    #[error(transparent)]
    Allowlist(#[from] AllowlistError),
    #[error("gonogo serve has no target to judge: list the origins it may send traffic to in serve.allowed_targets (or --allow-target URL, GONOGO_SERVE_ALLOWED_TARGETS)")]
    NoTargets,
    #[error("the canary plan's Prometheus ({url}) must be on serve.allowed_targets too: {source}")]
    Prometheus { url: String, source: Refused },
    #[error("serve.listen is not an address such as 127.0.0.1:9090")]
    Listen,
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error("cannot listen on {addr} ({source}); choose another serve.listen")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The server's state: settings and the targets being judged right now.
pub struct State {
    pub settings: ServeSettings,
    busy: Mutex<HashSet<String>>,
    runs: tokio::sync::Semaphore,
}

impl State {
    pub fn new(settings: ServeSettings) -> Arc<State> {
        Arc::new(State {
            settings,
            busy: Mutex::new(HashSet::new()),
            runs: tokio::sync::Semaphore::new(MAX_RUNS),
        })
    }

    /// Claims `origin` for one run; released when the guard drops (also on timeout or cancel).
    fn claim(self: &Arc<Self>, origin: &str) -> Option<Claim> {
        let mut busy = self.busy.lock().expect("busy set");
        busy.insert(origin.to_owned()).then(|| Claim {
            state: self.clone(),
            origin: origin.to_owned(),
        })
    }
}

struct Claim {
    state: Arc<State>,
    origin: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.state.busy.lock() {
            busy.remove(&self.origin);
        }
    }
}

/// `gonogo serve`: binds, serves until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> Result<Exit, ServeError> {
    let settings = ServeSettings::from_config(&config)?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: settings.listen,
            source,
        })?;
    println!(
        "gonogo serve: listening on http://{} — targets: {}",
        settings.listen,
        settings.allow.origins().join(", ")
    );
    let app = router(State::new(settings));
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    listen(listener, app, shutdown).await;
    Ok(Exit::Done)
}

/// Headers must arrive within this, or the connection is closed (slow clients
/// cannot hold connections open without a token).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once; beyond it new ones wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;

/// Serves `app` on `listener` over HTTP/1.1 with a header-read timeout and a
/// connection cap, until `shutdown` resolves; in-flight requests then finish.
pub async fn listen(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let options = ListenOptions {
        max_connections: Some(MAX_CONNECTIONS),
        ..ListenOptions::new(HEADER_READ_TIMEOUT)
    };
    gonogo_plumbing::listen(listener, app, options, shutdown, gonogo_plumbing::as_is).await;
}
