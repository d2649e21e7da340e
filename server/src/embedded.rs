//! A complete server with its own PostgreSQL and Redis (through `gonogo-containers`): used by
//! `--dev`, the integration tests and the harness. Containers go away when it is dropped.

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;
use crate::db::{provision_roles, DbUrls};
use crate::server::{serve_with, RunningServer};

/// A running server over a fresh stack. Fields drop in order: server, app, storage, stack.
pub struct EmbeddedServer {
    running: Option<RunningServer>,
    app: App,
    urls: DbUrls,
    _storage: tempfile::TempDir,
    stack: gonogo_containers::Stack,
}

impl EmbeddedServer {
    /// Starts with the test defaults on `127.0.0.1:0`.
    pub async fn start() -> anyhow::Result<EmbeddedServer> {
        Self::start_with(|_| {}).await
    }

    /// Starts the stack, provisions roles, then lets `customize` adjust the config (the
    /// database and Redis URLs and the storage directory are already set) before building.
    pub async fn start_with(customize: impl FnOnce(&mut Config)) -> anyhow::Result<EmbeddedServer> {
        let stack = gonogo_containers::Stack::start()
            .await
            .context("starting PostgreSQL and Redis")?;
        let urls = provision_roles(stack.postgres().url())
            .await
            .context("provisioning database roles")?;
        let storage = tempfile::Builder::new()
            .prefix("knowledge-files-")
            .tempdir()
            .context("creating the storage directory")?;
        let mut config = Config::local(
            &urls.app_url,
            Some(&urls.admin_url),
            stack.redis().url(),
            storage.path(),
        );
        customize(&mut config);
        let bind = config.bind_addr;
        let app = App::build(config).await.context("building the app")?;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        let running = serve_with(app.router(), listener, app.config().transport_limits()).await;
        Ok(EmbeddedServer {
            running: Some(running),
            app,
            urls,
            _storage: storage,
            stack,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.running
            .as_ref()
            .map(RunningServer::base_url)
            .unwrap_or_default()
    }

    /// The configuration in force (JWT secret, limits, URLs...).
    pub fn config(&self) -> &Config {
        self.app.config()
    }

    /// `knowledge_owner` URL (migrations; bound by FORCE RLS too).
    pub fn admin_database_url(&self) -> &str {
        &self.urls.admin_url
    }

    /// `knowledge_app` URL (what the server uses).
    pub fn app_database_url(&self) -> &str {
        &self.urls.app_url
    }

    /// The PostgreSQL superuser on database `knowledge`: for tests that break roles, policies
    /// or tables on purpose (and put them back). Not bound by row-level security.
    pub fn superuser_database_url(&self) -> String {
        let mut u = url::Url::parse(self.stack.postgres().url())
            .expect("the container's PostgreSQL URL is a URL");
        u.set_path(&format!("/{}", crate::db::DATABASE));
        u.to_string()
    }

    /// The containers, for fault injection (stop/start/pause Redis or PostgreSQL).
    pub fn stack(&self) -> &gonogo_containers::Stack {
        &self.stack
    }

    /// A fresh router over the same state (same pools, limiter, keys, metrics).
    pub fn app_router(&self) -> axum::Router {
        self.app.router()
    }

    /// The app (state, config).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stops the server gracefully (in-flight requests finish), then drops the stack.
    pub async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}
