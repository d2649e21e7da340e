//! Server configuration: one `clap::Parser` struct read from flags and the environment,
//! validated once at start-up. `Debug` redacts every secret so a config can be logged.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine;
use rand::RngCore;

use crate::crypto::Keyring;
use crate::error::StartupError;
use crate::transport::DEFAULT_LIMITS;

/// The longest time limit a setting may name (a day).
pub const MAX_TIMEOUT_SECS: u64 = 86_400;

/// How the log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON when stdout is not a terminal, human-readable text otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

/// Every setting of the server. Each field is a `--flag` and an environment variable.
#[derive(clap::Parser, Clone)]
#[command(
    name = "knowledge-server",
    version,
    about = "The Knowledge API reference server"
)]
pub struct Config {
    /// PostgreSQL URL of the application role (not superuser, not owner, no BYPASSRLS).
    #[arg(long, env = "DATABASE_URL", default_value = "")]
    pub database_url: String,
    /// PostgreSQL URL of the owner role; when set, migrations run with it at start-up.
    #[arg(long, env = "DATABASE_ADMIN_URL")]
    pub database_admin_url: Option<String>,
    /// Redis URL used by the rate limiter.
    #[arg(long, env = "REDIS_URL", default_value = "")]
    pub redis_url: String,
    /// HS256 secret shared with the token issuer; at least 32 bytes.
    #[arg(long, env = "JWT_SECRET", default_value = "", hide_env_values = true)]
    pub jwt_secret: String,
    /// Metadata encryption keys, `kid:base64(32 bytes)`, comma separated; the first encrypts,
    /// all decrypt (key rotation).
    #[arg(long, env = "METADATA_KEY", default_value = "", hide_env_values = true)]
    pub metadata_key: String,
    /// Directory holding uploaded bytes (one file per upload, named by its UUID).
    #[arg(long, env = "STORAGE_DIR", default_value = "./data/files")]
    pub storage_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,
    /// Requests per hour per user (`sub`) on the knowledge and memory APIs.
    #[arg(long, env = "RATE_LIMIT_PER_HOUR", default_value_t = 100)]
    pub rate_limit_per_hour: u32,
    /// Anonymous tokens minted per hour per client IP.
    #[arg(long, env = "ANON_RATE_LIMIT_PER_HOUR", default_value_t = 30)]
    pub anon_rate_limit_per_hour: u32,
    /// Largest accepted upload, counted on the file's bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// Time budget of one rate-limiter call to Redis before it counts as unavailable.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 250)]
    pub redis_timeout_ms: u64,
    /// Admit requests (logged and counted) instead of answering 503 when Redis is unavailable.
    #[arg(long, env = "RATE_LIMIT_FAIL_OPEN", default_value_t = false)]
    pub rate_limit_fail_open: bool,
    /// Largest number of pooled connections to PostgreSQL.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 20)]
    pub database_max_connections: u32,
    /// Seconds after which what a dead upload or delete left behind is swept: an upload temp
    /// file untouched this long, and a stored file whose row never committed (see the README).
    /// Longer than any pause within one upload; sweeps run every quarter of it (1 s – 1 min).
    #[arg(long, env = "ORPHAN_GRACE_SECS", default_value_t = 300)]
    pub orphan_grace_secs: u64,
    /// New files and memories get UUIDv7 ids (time-ordered: index-friendly) instead of v4.
    #[arg(long, env = "UUID_V7_IDS", default_value_t = false)]
    pub uuid_v7_ids: bool,
    /// Seconds within which a request head must arrive whole, from its first byte (from the
    /// connection's opening for the first request); later: `408 request_timeout`.
    #[arg(long, env = "HEADER_TIMEOUT_SECS", default_value_t = DEFAULT_LIMITS.header_timeout.as_secs())]
    pub header_timeout_secs: u64,
    /// Seconds a keep-alive connection may wait for its next request before it is closed.
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value_t = DEFAULT_LIMITS.idle_timeout.as_secs())]
    pub idle_timeout_secs: u64,
    /// Smallest average rate of a request body, in bytes per second (counted after
    /// `BODY_STALL_SECS`); slower: `408 request_timeout`.
    #[arg(long, env = "BODY_MIN_BYTES_PER_SEC", default_value_t = DEFAULT_LIMITS.body_min_rate)]
    pub body_min_bytes_per_sec: u64,
    /// Seconds a request body may send nothing; longer: `408 request_timeout`.
    #[arg(long, env = "BODY_STALL_SECS", default_value_t = DEFAULT_LIMITS.body_stall.as_secs())]
    pub body_stall_secs: u64,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
    /// Start PostgreSQL and Redis in containers, migrate, serve and print a token (development).
    #[arg(long)]
    pub dev: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // URLs can carry passwords and the secrets must never reach a log line.
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "database_admin_url",
                &self.database_admin_url.as_deref().map(redact_url),
            )
            .field("redis_url", &redact_url(&self.redis_url))
            .field("jwt_secret", &"[redacted]")
            .field("metadata_key", &"[redacted]")
            .field("storage_dir", &self.storage_dir)
            .field("bind_addr", &self.bind_addr)
            .field("rate_limit_per_hour", &self.rate_limit_per_hour)
            .field("anon_rate_limit_per_hour", &self.anon_rate_limit_per_hour)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("redis_timeout_ms", &self.redis_timeout_ms)
            .field("rate_limit_fail_open", &self.rate_limit_fail_open)
            .field("database_max_connections", &self.database_max_connections)
            .field("orphan_grace_secs", &self.orphan_grace_secs)
            .field("uuid_v7_ids", &self.uuid_v7_ids)
            .field("header_timeout_secs", &self.header_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("body_min_bytes_per_sec", &self.body_min_bytes_per_sec)
            .field("body_stall_secs", &self.body_stall_secs)
            .field("log_format", &self.log_format)
            .field("dev", &self.dev)
            .finish()
    }
}

/// Replaces the password of a URL by `***` (keeps host, port and database for diagnosis).
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) if raw.is_empty() => String::new(),
        Err(_) => "[unparseable url]".to_owned(),
    }
}

impl Config {
    /// A config for a server on local throwaway services (`--dev`, tests): defaults, a random
    /// JWT secret and a random metadata key, listening on `127.0.0.1:0`.
    #[cfg(any(test, feature = "embedded"))]
    pub fn local(
        database_url: impl Into<String>,
        admin_url: Option<&str>,
        redis_url: impl Into<String>,
        storage_dir: impl Into<PathBuf>,
    ) -> Config {
        Config {
            database_url: database_url.into(),
            // An empty URL counts as none, as it does from the environment.
            database_admin_url: admin_url.filter(|u| !u.is_empty()).map(str::to_owned),
            redis_url: redis_url.into(),
            jwt_secret: random_secret(),
            metadata_key: crate::crypto::random_metadata_key("k1"),
            storage_dir: storage_dir.into(),
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rate_limit_per_hour: 100,
            anon_rate_limit_per_hour: 30,
            max_upload_bytes: 10 * 1024 * 1024,
            redis_timeout_ms: 250,
            rate_limit_fail_open: false,
            database_max_connections: 20,
            orphan_grace_secs: 300,
            uuid_v7_ids: false,
            header_timeout_secs: DEFAULT_LIMITS.header_timeout.as_secs(),
            idle_timeout_secs: DEFAULT_LIMITS.idle_timeout.as_secs(),
            body_min_bytes_per_sec: DEFAULT_LIMITS.body_min_rate,
            body_stall_secs: DEFAULT_LIMITS.body_stall.as_secs(),
            log_format: LogFormat::Auto,
            dev: false,
        }
    }

    /// A fresh id for a new file or memory: UUIDv4, or v7 with `uuid_v7_ids`.
    pub fn new_id(&self) -> uuid::Uuid {
        if self.uuid_v7_ids {
            uuid::Uuid::now_v7()
        } else {
            uuid::Uuid::new_v4()
        }
    }

    /// The connection time limits (header, idle, body rate) the transport guard enforces.
    pub fn transport_limits(&self) -> crate::transport::Limits {
        crate::transport::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_secs),
            body_min_rate: self.body_min_bytes_per_sec,
            body_stall: std::time::Duration::from_secs(self.body_stall_secs),
        }
    }

    /// Checks every setting that can be checked without the network; returns the parsed keys.
    pub fn validate(&self) -> Result<Keyring, StartupError> {
        if self.database_url.is_empty() {
            return Err(StartupError::Config(
                "DATABASE_URL is required: set it to the application role's PostgreSQL URL.".into(),
            ));
        }
        if self.redis_url.is_empty() {
            return Err(StartupError::Config(
                "REDIS_URL is required: set it to the Redis URL used for rate limiting.".into(),
            ));
        }
        if self.jwt_secret.len() < 32 {
            return Err(StartupError::Config(
                "JWT_SECRET is shorter than 32 bytes: use a random secret of at least 32 bytes."
                    .into(),
            ));
        }
        if self.rate_limit_per_hour == 0 || self.anon_rate_limit_per_hour == 0 {
            return Err(StartupError::Config(
                "RATE_LIMIT_PER_HOUR and ANON_RATE_LIMIT_PER_HOUR must be at least 1.".into(),
            ));
        }
        if self.max_upload_bytes == 0 {
            return Err(StartupError::Config(
                "MAX_UPLOAD_BYTES must be at least 1.".into(),
            ));
        }
        if self.redis_timeout_ms == 0 {
            return Err(StartupError::Config(
                "REDIS_TIMEOUT_MS must be at least 1.".into(),
            ));
        }
        if [
            self.header_timeout_secs,
            self.idle_timeout_secs,
            self.body_min_bytes_per_sec,
            self.body_stall_secs,
        ]
        .contains(&0)
        {
            return Err(StartupError::Config(
                "HEADER_TIMEOUT_SECS, IDLE_TIMEOUT_SECS, BODY_MIN_BYTES_PER_SEC and BODY_STALL_SECS must be at least 1.".into(),
            ));
        }
        // A day at most: "off" written as a huge number would overflow the clock's arithmetic.
        if [
            self.header_timeout_secs,
            self.idle_timeout_secs,
            self.body_stall_secs,
            self.orphan_grace_secs,
        ]
        .iter()
        .any(|&secs| secs > MAX_TIMEOUT_SECS)
        {
            return Err(StartupError::Config(format!(
                "HEADER_TIMEOUT_SECS, IDLE_TIMEOUT_SECS, BODY_STALL_SECS and ORPHAN_GRACE_SECS must be at most {MAX_TIMEOUT_SECS} (a day)."
            )));
        }
        if self.orphan_grace_secs == 0 {
            return Err(StartupError::Config(
                "ORPHAN_GRACE_SECS must be at least 1.".into(),
            ));
        }
        Keyring::parse(&self.metadata_key)
    }

    /// How long a dead upload's leftovers wait before they are swept.
    pub fn orphan_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.orphan_grace_secs)
    }
}

/// A random 48-byte secret, base64url encoded (64 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_redacts_secrets_and_passwords() {
        let mut c = Config::local(
            "postgres://app:hunter2@localhost/knowledge",
            Some("postgres://owner:s3cret@localhost/knowledge"),
            "redis://:rpass@localhost",
            "/tmp/x",
        );
        c.jwt_secret = "super-secret-super-secret-super-secret".into();
        let out = format!("{c:?}");
        for secret in [
            "hunter2",
            "s3cret",
            "rpass",
            "super-secret",
            &c.metadata_key,
        ] {
            assert!(!out.contains(secret), "{secret} leaked in {out}");
        }
        assert!(out.contains("localhost"));
    }

    #[test]
    fn validate_refuses_a_short_jwt_secret() {
        let mut c = Config::local("postgres://a@b/c", None, "redis://x", "/tmp");
        c.jwt_secret = "short".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("JWT_SECRET"), "{err}");
    }

    #[test]
    fn validate_refuses_a_time_limit_past_a_day() {
        let mut c = Config::local("postgres://a@b/c", None, "redis://x", "/tmp");
        c.body_stall_secs = u64::MAX;
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("BODY_STALL_SECS") && err.contains("86400"),
            "{err}"
        );
    }

    #[test]
    fn validate_accepts_the_test_config() {
        let c = Config::local("postgres://a@b/c", Some(""), "redis://x", "/tmp");
        assert!(c.database_admin_url.is_none());
        assert!(c.validate().is_ok());
    }
}
