//! The HTTP [`Transport`]: reqwest against the target, timing each exchange.
//! Every exchange is kept in the run log by the suites' context; metrics and
//! evidence are built from that log (see [`crate::metrics`], [`crate::report`]).

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use gonogo_suites::transport::Body;
use gonogo_suites::{ApiRequest, ApiResponse, Exchange, Transport};

/// Bodies beyond this are cut: the suites never need more, and it bounds memory.
const MAX_BODY: usize = 1 << 20;

/// Speaks HTTP to one target.
#[derive(Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base_url: String,
}

/// How long one exchange may take unless the caller says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl HttpTransport {
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        Self::with_timeout(base_url, DEFAULT_TIMEOUT)
    }

    /// A transport whose exchanges give up after `timeout` (the canary's
    /// probes wait less than a suite does).
    pub fn with_timeout(base_url: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(32)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn exchange(&self, req: &ApiRequest) -> Result<ApiResponse, String> {
        let mut b = self
            .client
            .request(req.method.clone(), format!("{}{}", self.base_url, req.path));
        for (name, value) in &req.headers {
            b = b.header(name, value);
        }
        b = match &req.body {
            Body::Empty => b,
            Body::Json(v) => b.json(v),
            Body::Raw { content_type, data } => {
                b.header("content-type", content_type).body(data.clone())
            }
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                for p in parts {
                    let mut part = reqwest::multipart::Part::bytes(p.data.to_vec());
                    if let Some(f) = &p.filename {
                        part = part.file_name(f.clone());
                    }
                    if let Some(ct) = &p.content_type {
                        part = part
                            .mime_str(ct)
                            .map_err(|e| format!("bad part content type: {e}"))?;
                    }
                    form = form.part(p.name.clone(), part);
                }
                b.multipart(form)
            }
        };
        let resp = b.send().await.map_err(describe)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = resp.bytes().await.map_err(describe)?;
        body.truncate(MAX_BODY);
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }
}

/// The root cause only (e.g. "Connection refused (os error 111)"): reqwest's
/// chain repeats the URL and wrapper layers, which read badly in one sentence.
pub fn describe(e: reqwest::Error) -> String {
    let mut last = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        last = inner.to_string();
        src = inner.source();
    }
    if e.is_timeout() {
        format!("timed out: {last}")
    } else {
        last
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Exchange> {
        Box::pin(async move {
            let started = Instant::now();
            let response = self.exchange(&request).await;
            let latency = started.elapsed();
            let received_at = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
            Exchange {
                request,
                response,
                latency,
                received_at,
            }
        })
    }
}
