//! The canary judged on real traffic read from a real Prometheus (in a
//! container: `gonogo_containers::Prometheus`): two reference servers, baseline and canary, over one
//! PostgreSQL + Redis, each with its own `/metrics`; steady load on both;
//! Prometheus scraping both every second. Then:
//!
//! 1. the healthy pair (both 30 ms per request) is PROMOTED;
//! 2. the canary made 4× slower by a test switch (120 ms) is ROLLED BACK on the
//!    relative criterion (p95 ≤ 1.2 × baseline) while its absolute p95 and the
//!    probes' p95 are still inside the plan's 800 ms, with the PromQL evidence
//!    in the report and its renderings;
//! 3. with Prometheus stopped the canary is INCONCLUSIVE, not promoted.
//!
//! Prometheus runs in the host's network, so it scrapes the servers on
//! 127.0.0.1 where the test started them; its image is the official one where
//! a registry answers, else built once from Debian's `prometheus` package (the
//! way the offline PostgreSQL image is). The 30 ms / 120 ms delays put every request of a side into one
//! histogram bucket, so the healthy pair's p95s agree closely and the verdict
//! does not hang on interpolation noise.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use gonogo_containers::Prometheus;
use gonogo_harness::canary::{self, CanaryOptions, EngineConfig, TokenSource};
use gonogo_harness::config::args::Layers;
use gonogo_harness::exit::Exit;
use gonogo_harness::release_cli::{self, CanaryArgs, ReleaseCommand};
use gonogo_reports::canary_plan::CanaryPlan;
use gonogo_reports::model::{CanaryOutcome, CanaryReport};
use gonogo_reports::render::{self, Format};
use gonogo_reports::test_support::ReportBuilder;
use knowledge_server::embedded::EmbeddedServer;
use knowledge_server::App;

const HEALTHY_MS: u64 = 30;
const SLOW_MS: u64 = 120;
/// The rate window of every query: ten one-second scrapes.
const WINDOW: &str = "10s";

/// Prometheus scraping `baseline` and `canary` every second, ready.
async fn prometheus(baseline: SocketAddr, canary: SocketAddr) -> Prometheus {
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: knowledge-api\n    static_configs:\n      - targets: ['{baseline}']\n        labels: {{track: baseline}}\n      - targets: ['{canary}']\n        labels: {{track: canary}}\n"
    );
    Prometheus::start(&config)
        .await
        .unwrap_or_else(|e| panic!("Prometheus's container starts: {e}"))
}

/// One server of the pair: its own app (own metrics), a delay switch inside
/// the metrics layer, its own port.
async fn serve(app: &App, delay_ms: Arc<AtomicU64>) -> knowledge_server::RunningServer {
    let router = app.router_with(move |routes| {
        routes.layer(from_fn(move |req: Request, next: Next| {
            let delay = delay_ms.load(Ordering::Relaxed);
            async move {
                if req.uri().path() != "/metrics" {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                next.run(req).await
            }
        }))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    knowledge_server::serve(router, listener).await
}

/// Steady authenticated reads against `base` until `stop`: what real users send.
fn load(base: String, secret: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (http, base, stop) = (http.clone(), base.clone(), stop.clone());
                let token = gonogo_suites::check::tokens::sign(
                    &gonogo_suites::check::tokens::claims(uuid::Uuid::new_v4()),
                    &secret,
                );
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let _ = http
                            .get(format!("{base}/api/v1/knowledge/files?limit=5"))
                            .bearer_auth(&token)
                            .send()
                            .await;
                        tokio::time::sleep(Duration::from_millis(40)).await;
                    }
                })
            })
            .collect();
        for w in workers {
            let _ = w.await;
        }
    })
}

fn plan_toml(prometheus: &str) -> String {
    format!(
        r#"name = "prometheus test"

[[phase]]
traffic_percent = 25
duration = "10s"
error_budget = 5
max_p95_ms = 800
min_samples = 10

[metrics]
prometheus = "{prometheus}"
canary = 'job="knowledge-api", track="canary"'
baseline = 'job="knowledge-api", track="baseline"'
window = "{WINDOW}"
"#
    )
}

fn metric<'a>(c: &'a CanaryReport, name: &str) -> &'a gonogo_reports::model::MetricCheck {
    c.phases[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", c.phases[0].metrics))
}

#[test]
fn the_canary_is_judged_on_prometheus_against_its_baseline() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stack = EmbeddedServer::start_with(|c| c.rate_limit_per_hour = 1_000_000)
            .await
            .expect("the embedded server starts (is Docker running?)");
        let config = stack.config().clone();
        let secret = config.jwt_secret.clone();
        let baseline_app = App::build(config.clone()).await.unwrap();
        let canary_app = App::build(config).await.unwrap();
        let canary_delay = Arc::new(AtomicU64::new(HEALTHY_MS));
        let baseline = serve(&baseline_app, Arc::new(AtomicU64::new(HEALTHY_MS))).await;
        let canary_server = serve(&canary_app, canary_delay.clone()).await;
        let addr = |url: String| {
            url.trim_start_matches("http://")
                .parse::<SocketAddr>()
                .unwrap()
        };
        let prometheus =
            prometheus(addr(baseline.base_url()), addr(canary_server.base_url())).await;

        let stop = Arc::new(AtomicBool::new(false));
        let loads = [
            load(baseline.base_url(), secret.clone(), stop.clone()),
            load(canary_server.base_url(), secret.clone(), stop.clone()),
        ];
        // A window's worth of scrapes before the first judgement.
        tokio::time::sleep(Duration::from_secs(6)).await;

        let dir = tempfile::tempdir().unwrap();
        let plan_path = dir.path().join("plan.toml");
        std::fs::write(&plan_path, plan_toml(prometheus.url())).unwrap();
        let plan = CanaryPlan::load(&plan_path).unwrap();
        let options = CanaryOptions {
            roots: Default::default(),
            target: canary_server.base_url(),
            plan: plan.clone(),
            plan_label: plan_path.display().to_string(),
            engine: EngineConfig {
                rps: 5.0,
                max_in_flight: 8,
                time_scale: 1.0,
            },
            tenants: 2,
            tokens: TokenSource::from_secret(Some(&secret)),
        };

        // 1. The healthy pair.
        let healthy = canary::run(&options).await.unwrap();
        assert_eq!(
            healthy.outcome,
            CanaryOutcome::Promote,
            "{} {:#?}",
            healthy.reason,
            healthy.phases
        );
        let p95 = metric(&healthy, "p95_ms");
        let (c, b) = (
            p95.canary.value.unwrap(),
            p95.baseline.as_ref().unwrap().value.unwrap(),
        );
        assert!(
            (25.0..=50.0).contains(&c) && (25.0..=50.0).contains(&b),
            "canary {c} baseline {b}"
        );
        assert!(metric(&healthy, "request_rate").canary.value.unwrap() > 5.0);

        // 2. The canary 4× slower: the window must hold only slow requests.
        canary_delay.store(SLOW_MS, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(11)).await;
        let report_path = dir.path().join("go-no-go.json");
        render::write_reports(
            &ReportBuilder::go().build(),
            dir.path(),
            &[Format::Markdown, Format::Html],
        )
        .unwrap();
        let exit = release_cli::run(
            ReleaseCommand::Canary(CanaryArgs {
                target: canary_server.base_url(),
                plan: Some(plan_path.clone()),
                time_scale: 1.0,
                report: Some(report_path.clone()),
                rps: 5.0,
                tenants: 2,
                layers: Layers::default().with("run.jwt_secret", &secret),
                output: Default::default(),
            }),
            Default::default(),
        )
        .await
        .expect("the canary command ran");
        assert_eq!(exit, Exit::Canary(CanaryOutcome::Rollback));
        let written: gonogo_reports::Report =
            serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
        let slow = written.canary.expect("the canary section is written");
        assert_eq!(slow.outcome, CanaryOutcome::Rollback, "{}", slow.reason);
        let p95 = metric(&slow, "p95_ms");
        let c = p95.canary.value.unwrap();
        let b = p95.baseline.as_ref().unwrap().value.unwrap();
        assert!(
            c < 800.0,
            "the absolute p95 {c} must still be inside the plan"
        );
        assert!(c > 1.2 * b, "canary {c} baseline {b}");
        assert_eq!(p95.verdict, "rollback");
        assert!(
            slow.reason.contains("x baseline") && !slow.reason.contains("> 800"),
            "rolled back on the relative criterion alone: {}",
            slow.reason
        );
        assert!(
            slow.phases[0].p95_ms.unwrap() < 800.0,
            "the probes' p95 is inside the plan too"
        );
        assert!(
            p95.canary.query.contains(r#"track="canary""#),
            "{}",
            p95.canary.query
        );
        assert!(p95
            .baseline
            .as_ref()
            .unwrap()
            .query
            .contains(r#"track="baseline""#));
        let md = std::fs::read_to_string(dir.path().join("go-no-go.md")).unwrap();
        assert!(
            md.contains("PromQL evidence") && md.contains(r"| p95\_ms |"),
            "{md}"
        );
        let html = std::fs::read_to_string(dir.path().join("go-no-go.html")).unwrap();
        assert!(
            html.contains("canary-metrics"),
            "the HTML shows the metric table"
        );

        // 3. Prometheus stopped: no data is never a pass.
        canary_delay.store(HEALTHY_MS, Ordering::Relaxed);
        prometheus.stop().await.unwrap();
        let blind = canary::run(&options).await.unwrap();
        assert_eq!(
            blind.outcome,
            CanaryOutcome::Inconclusive,
            "{}",
            blind.reason
        );
        assert!(blind.reason.contains("did not answer"), "{}", blind.reason);
        assert_eq!(Exit::Canary(blind.outcome).code(), 2);

        stop.store(true, Ordering::Relaxed);
        for l in loads {
            let _ = l.await;
        }
        baseline.shutdown().await;
        canary_server.shutdown().await;
        stack.shutdown().await;
    });
}
