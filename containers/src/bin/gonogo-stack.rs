//! `gonogo-stack`: starts a [`Stack`], prints one line (session, shim dir,
//! images, ports, start-up time; never the password) and removes it again.
//!
//! `gonogo-stack --leak` keeps the stack in a `static` (never dropped), waits
//! for a line or end-of-file on stdin, then exits: the reaper must remove the
//! containers. The reaper test drives it that way.
//!
//! `gonogo-stack --offline-images` only makes sure the offline images exist
//! (building them once, with progress on stderr), prints their names and
//! exits: the lock test starts two of them at once.

use std::io::BufRead;
use std::sync::OnceLock;

use gonogo_containers::Stack;

static LEAKED: OnceLock<Stack> = OnceLock::new();

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let leak = std::env::args().any(|a| a == "--leak");
    if std::env::args().any(|a| a == "--offline-images") {
        return match gonogo_containers::ensure_offline_images().await {
            Ok([postgres, redis]) => {
                println!("postgres={postgres} redis={redis}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gonogo-stack: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let stack = match Stack::start().await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("gonogo-stack: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Already started by Stack::start; this only reads what it decided.
    let shim_dir = match gonogo_containers::shim::ensure().await {
        Ok(endpoint) => endpoint
            .shim_socket
            .as_deref()
            .and_then(|s| s.parent())
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "none".into()),
        Err(_) => "none".into(),
    };
    println!(
        "session={} shim_dir={shim_dir} postgres={} postgres_port={} postgres_container={} redis={} redis_port={} redis_container={} startup_ms={}",
        Stack::session_id(),
        stack.postgres().image(),
        stack.postgres().host_port(),
        stack.postgres().container_id(),
        stack.redis().image(),
        stack.redis().host_port(),
        stack.redis().container_id(),
        stack.startup_time().as_millis(),
    );
    if leak {
        let _ = LEAKED.set(stack);
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
    }
    std::process::ExitCode::SUCCESS
}
