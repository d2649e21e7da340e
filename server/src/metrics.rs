//! Prometheus metrics, one registry per [`crate::App`] (several apps can live in one test
//! process without clashing).

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    rate_limit_rejections: IntCounterVec,
    /// Requests admitted without asking Redis because the limiter fails open.
    pub fail_open_admissions: IntCounter,
    db_latency: HistogramVec,
    redis_latency: HistogramVec,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route template and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route template and status",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let rate_limit_rejections = IntCounterVec::new(
            Opts::new(
                "rate_limit_rejections_total",
                "Requests refused with 429, by scope (user or anon)",
            ),
            &["scope"],
        )
        .expect("valid metric");
        let fail_open_admissions = IntCounter::new(
            "rate_limit_fail_open_admissions_total",
            "Requests admitted while Redis was unavailable (RATE_LIMIT_FAIL_OPEN)",
        )
        .expect("valid metric");
        let db_latency = HistogramVec::new(
            HistogramOpts::new(
                "db_operation_duration_seconds",
                "PostgreSQL latency by operation",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["op"],
        )
        .expect("valid metric");
        let redis_latency = HistogramVec::new(
            HistogramOpts::new(
                "redis_command_duration_seconds",
                "Redis latency by command and outcome",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["command", "outcome"],
        )
        .expect("valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(rate_limit_rejections.clone()),
            Box::new(fail_open_admissions.clone()),
            Box::new(db_latency.clone()),
            Box::new(redis_latency.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Metrics {
            registry,
            requests,
            latency,
            rate_limit_rejections,
            fail_open_admissions,
            db_latency,
            redis_latency,
        }
    }

    /// Records one finished request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        self.requests
            .with_label_values(&[method, route, &status])
            .inc();
        self.latency
            .with_label_values(&[method, route, &status])
            .observe(elapsed.as_secs_f64());
    }

    /// Records a 429.
    pub fn rate_limited(&self, scope: &str) {
        self.rate_limit_rejections.with_label_values(&[scope]).inc();
    }

    /// Records a database operation's latency.
    pub fn db(&self, op: &str, elapsed: Duration) {
        self.db_latency
            .with_label_values(&[op])
            .observe(elapsed.as_secs_f64());
    }

    /// Records a Redis command's latency and outcome (`ok`, `error`, `timeout`).
    pub fn redis(&self, command: &str, outcome: &str, elapsed: Duration) {
        self.redis_latency
            .with_label_values(&[command, outcome])
            .observe(elapsed.as_secs_f64());
    }

    /// The registry can be gathered and holds our metrics (readiness), without encoding them.
    pub fn ready(&self) -> bool {
        !self.registry.gather().is_empty()
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_requests_by_route_template_and_status() {
        let m = Metrics::new();
        m.observe_request(
            "GET",
            "/api/v1/knowledge/files/{id}",
            404,
            Duration::from_millis(3),
        );
        m.rate_limited("user");
        let text = m.render().unwrap();
        assert!(text.contains(r#"http_requests_total{method="GET",route="/api/v1/knowledge/files/{id}",status="404"} 1"#), "{text}");
        assert!(text.contains(r#"rate_limit_rejections_total{scope="user"} 1"#));
        assert!(text.contains("http_request_duration_seconds_bucket"));
    }
}
