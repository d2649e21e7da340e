//! Writes the sample report (the test fixture) in every format into a directory,
//! to try the renderings and the sign-off commands without running the suites:
//! `cargo run -p gonogo-reports --example sample_report -- /tmp/gonogo-sample [no-go|warned|canary|wrong-server]`
//! (`warned`: a NO-GO with a failure and two warnings, each citing the contract;
//! `wrong-server`: 95 failed checks answered 401/404, as from a server that is
//! not a Knowledge API).

use gonogo_reports::render::{write_reports, Format};
use gonogo_reports::test_support::{
    sample_canary_rollback, warned_no_go, wrong_server_no_go, ReportBuilder,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "reports/out/sample".into());
    let builder = ReportBuilder::go();
    let report = match args.next().as_deref() {
        Some("no-go") => builder
            .failing(
                "suite_b::user_b_list_excludes_user_a_file",
                "user B's list contains A's file",
            )
            .build(),
        Some("warned") => warned_no_go().build(),
        Some("canary") => builder.canary(sample_canary_rollback()).build(),
        Some("wrong-server") => wrong_server_no_go(95).build(),
        _ => builder.build(),
    };
    for path in write_reports(&report, std::path::Path::new(&dir), &Format::ALL)? {
        println!("{}", path.display());
    }
    Ok(())
}
