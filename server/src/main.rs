//! `knowledge-server`: parse the config, set up logging, then either serve (production) or,
//! with `--dev`, start PostgreSQL and Redis in containers and print a ready-to-use token.

use clap::Parser;
use knowledge_server::config::{Config, LogFormat};
use knowledge_server::{serve_with, App};
use std::io::IsTerminal;

/// mimalloc, not glibc's malloc: under load glibc's allocator (with its per-thread arenas and
/// consolidation) was about a quarter of the server's CPU per list request (`just bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_tracing(config.log_format);
    if config.dev {
        #[cfg(feature = "embedded")]
        if let Err(e) = knowledge_server::dev::run(config, shutdown_signal()).await {
            // One readable chain, no backtrace dump.
            eprintln!("knowledge-server --dev: {e:#}");
            std::process::exit(2);
        }
        #[cfg(feature = "embedded")]
        return Ok(());
        #[cfg(not(feature = "embedded"))]
        anyhow::bail!("--dev needs the `embedded` feature: rebuild with default features.");
    }
    tracing::info!(config = ?config, "starting");
    let bind = config.bind_addr;
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("knowledge-server: {e}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let running = serve_with(app.router(), listener, app.config().transport_limits()).await;
    tracing::info!(addr = %running.addr(), "listening");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.shutdown().await;
    Ok(())
}
