//! Test infrastructure: `TestApp` (the shared server, replicas and isolated servers) and token
//! minting for fresh tenants. Its per-endpoint methods live in `endpoints`, assertions in `reply`.
//!
//! Starting Postgres and Redis costs seconds, so the binary shares one embedded server, kept alive in a
//! static on its own runtime thread; each test uses fresh random users so data never collides. Tests that
//! need other settings build a *variant*: another `App` over the same databases and Redis (cheap, no
//! containers). Tests that break the infrastructure (Redis stopped) get an *isolated* server with its own
//! containers, removed when the test ends.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;

use jsonwebtoken::{EncodingKey, Header};
use knowledge_server::embedded::EmbeddedServer;
use knowledge_server::{App, Config, RunningServer};
use serde_json::{json, Value};
use uuid::Uuid;

pub use crate::multipart::Multipart;
pub use crate::reply::{sorted_keys, Reply};

/// What the tests need to know about the shared server; the server itself lives on its own thread.
struct Shared {
    base_url: String,
    config: Config,
    app_url: String,
    admin_url: String,
    superuser_url: String,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

/// Starts the shared server once. It runs on a dedicated runtime thread so that it outlives every
/// test's own runtime; its containers are removed by the containers crate's reaper after the process exits.
fn shared() -> &'static Shared {
    let started = SHARED.get_or_init(|| {
        crate::test_logs::init_logs();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("shared-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime for the shared server");
                runtime.block_on(async move {
                    match EmbeddedServer::start().await {
                        Ok(server) => {
                            let shared = Shared {
                                base_url: server.base_url(),
                                config: server.config().clone(),
                                app_url: server.app_database_url().to_owned(),
                                admin_url: server.admin_database_url().to_owned(),
                                superuser_url: server.stack().postgres().url().to_owned(),
                            };
                            let _ = tx.send(Ok(shared));
                            // Keep the server (and its containers) alive for the whole binary.
                            let _keep = server;
                            std::future::pending::<()>().await;
                        }
                        Err(error) => {
                            let _ = tx.send(Err(format!("{error:#}")));
                        }
                    }
                })
            })
            .expect("a thread for the shared server");
        rx.recv()
            .unwrap_or_else(|_| Err("the shared server thread died".into()))
    });
    match started {
        Ok(shared) => shared,
        Err(error) => panic!("the shared embedded server did not start: {error}"),
    }
}

/// Keeps whatever serves a variant or isolated app alive for the test's duration
/// (dropping a `RunningServer` stops it; dropping an `EmbeddedServer` removes its containers).
enum Owned {
    Variant {
        _server: RunningServer,
        _storage: tempfile::TempDir,
    },
    Isolated(Box<EmbeddedServer>),
    Storage {
        _dir: tempfile::TempDir,
    },
}

/// A handle on a running Knowledge API with a reqwest client and token minting.
pub struct TestApp {
    pub base_url: String,
    pub config: Config,
    pub client: reqwest::Client,
    app_url: String,
    admin_url: String,
    superuser_url: String,
    owned: Option<Owned>,
}

/// A fresh tenant: a random `sub` and a valid token for it.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub token: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client")
}

impl TestApp {
    /// The shared server at default settings (100 requests/hour, 10 MiB uploads).
    pub fn shared() -> TestApp {
        let s = shared();
        TestApp {
            base_url: s.base_url.clone(),
            config: s.config.clone(),
            client: client(),
            app_url: s.app_url.clone(),
            admin_url: s.admin_url.clone(),
            superuser_url: s.superuser_url.clone(),
            owned: None,
        }
    }

    /// Another replica over the shared databases and Redis (same secret and key), with changed
    /// settings. It gets a storage directory of its own, so a test can inspect exactly its files
    /// (`storage` checks the shared-directory case on purpose).
    pub async fn variant(customize: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::shared().replica(customize).await
    }

    /// Another replica of this app (same databases, Redis, secret and key), with changed settings.
    pub async fn replica(&self, customize: impl FnOnce(&mut Config)) -> TestApp {
        let storage = tempfile::Builder::new()
            .prefix("knowledge-test-")
            .tempdir()
            .expect("a storage dir");
        let mut config = self.config.clone();
        config.storage_dir = storage.path().to_path_buf();
        customize(&mut config);
        let built = App::build(config.clone())
            .await
            .expect("a replica app builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let running = knowledge_server::serve(built.router(), listener).await;
        TestApp {
            base_url: running.base_url(),
            config,
            client: client(),
            app_url: self.app_url.clone(),
            admin_url: self.admin_url.clone(),
            superuser_url: self.superuser_url.clone(),
            owned: Some(Owned::Variant {
                _server: running,
                _storage: storage,
            }),
        }
    }

    /// A server with its own Postgres and Redis, for tests that stop or break them.
    pub async fn isolated(customize: impl FnOnce(&mut Config)) -> TestApp {
        crate::test_logs::init_logs();
        let server = EmbeddedServer::start_with(customize)
            .await
            .expect("an isolated embedded server starts");
        TestApp {
            base_url: server.base_url(),
            config: server.config().clone(),
            client: client(),
            app_url: server.app_database_url().to_owned(),
            admin_url: server.admin_database_url().to_owned(),
            superuser_url: server.stack().postgres().url().to_owned(),
            owned: Some(Owned::Isolated(Box::new(server))),
        }
    }

    /// Splits a replica into its handle and its running server (to shut it down in a test).
    pub fn into_running(mut self) -> (TestApp, RunningServer) {
        match self.owned.take() {
            Some(Owned::Variant { _server, _storage }) => {
                self.owned = Some(Owned::Storage { _dir: _storage });
                (self, _server)
            }
            _ => panic!("only a replica can be shut down by a test"),
        }
    }

    /// The isolated server's containers (Redis stop/start).
    pub fn stack(&self) -> &gonogo_containers::Stack {
        match &self.owned {
            Some(Owned::Isolated(server)) => server.stack(),
            _ => panic!("only an isolated TestApp may touch its containers"),
        }
    }

    pub fn secret(&self) -> &str {
        self.config.jwt_secret.as_str()
    }

    /// Signs any claims with the server's secret (HS256).
    pub fn sign(&self, claims: &Value) -> String {
        jsonwebtoken::encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(self.secret().as_bytes()),
        )
        .expect("claims encode")
    }

    /// The claims a Supabase-style token of `sub` carries, valid for an hour.
    pub fn claims_for(sub: Uuid) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"sub": sub.to_string(), "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 3600})
    }

    pub fn new_user(&self) -> User {
        let id = Uuid::new_v4();
        User {
            id,
            token: self.sign(&Self::claims_for(id)),
        }
    }

    pub fn app_database_url(&self) -> &str {
        &self.app_url
    }

    /// The owner role's URL (runs the migrations; bound by FORCE RLS too).
    pub fn admin_database_url(&self) -> &str {
        &self.admin_url
    }

    /// The superuser URL pointed at the application's database (bypasses RLS: for tampering only).
    pub fn superuser_database_url(&self) -> String {
        let database = self
            .app_url
            .rsplit('/')
            .next()
            .unwrap_or("knowledge")
            .split('?')
            .next()
            .unwrap();
        let base = self
            .superuser_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap();
        format!("{base}/{database}")
    }
}

/// Starts (spawned) a 256 KiB upload of `slow.txt` as `user`, streamed in 64 KiB chunks `pause`
/// apart, so that it is still in flight when a test stops or starts a server next to it.
pub fn spawn_slow_upload(
    client: &reqwest::Client,
    base_url: &str,
    user: &User,
    pause: Duration,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let form = Multipart::new();
    let content_type = form.content_type();
    let body = form
        .into_streaming_file(
            "slow.txt",
            "text/plain",
            256 * 1024,
            Arc::new(AtomicU64::new(0)),
        )
        .then(move |chunk| async move {
            tokio::time::sleep(pause).await;
            chunk
        });
    tokio::spawn(
        client
            .post(format!("{base_url}/api/v1/knowledge/files"))
            .bearer_auth(&user.token)
            .header("content-type", content_type)
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    )
}

/// Current unix time in seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
