//! Test logging shared by the test binaries (`#[path]`-included by each `main.rs`).

use std::sync::OnceLock;

/// Logs stay silent unless `TEST_LOG` is set (then they go to stdout; add `--nocapture` to see them).
pub fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if let Ok(value) = std::env::var("TEST_LOG") {
            // `TEST_LOG=1` means "show the logs"; anything else is a filter such as `debug` or `sqlx=warn`.
            let directives = if matches!(value.as_str(), "" | "1" | "true") {
                "info"
            } else {
                value.as_str()
            };
            let filter = tracing_subscriber::EnvFilter::try_new(directives)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}
