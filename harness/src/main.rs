//! `gonogo`: see [`gonogo_harness::cli`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gonogo_harness::cli::main_with(std::env::args_os()).await
}
