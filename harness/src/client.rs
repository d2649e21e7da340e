//! The HTTP [`Transport`]: reqwest against the target, timing each exchange.
//! Every exchange is kept in the run log by the suites' context; metrics and
//! evidence are built from that log (see [`crate::metrics`], [`crate::report`]).

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use gonogo_suites::check::transport::Body;
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

/// Certificate authorities a target's certificate may chain to besides the
/// platform's trust store and webpki's roots: `--cacert FILE`.
#[derive(Clone, Default)]
pub struct ExtraRoots(Vec<reqwest::Certificate>);

impl std::fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtraRoots([{} certificates])", self.0.len())
    }
}

impl ExtraRoots {
    /// Every certificate of the PEM file at `path`; why not, as a clause.
    pub fn from_pem_file(path: &std::path::Path) -> Result<ExtraRoots, CaFileError> {
        let pem = std::fs::read(path)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(CaFileError::Pem)?;
        if certs.is_empty() {
            return Err(CaFileError::Empty);
        }
        Ok(ExtraRoots(certs))
    }
}

/// Why a CA file cannot be trusted, as a clause (the caller names the file).
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    #[error("{0}")]
    Read(#[from] std::io::Error),
    #[error("{}", root_cause(.0))]
    Pem(reqwest::Error),
    #[error("it holds no PEM certificate")]
    Empty,
}

/// A client builder that trusts what curl trusts: the platform's store (a
/// private CA installed there), webpki's built-in roots (a machine or image
/// with no store still reaches public HTTPS), and `extra`.
pub fn client_builder(extra: &ExtraRoots) -> reqwest::ClientBuilder {
    extra
        .0
        .iter()
        .cloned()
        .fold(reqwest::Client::builder(), |b, cert| {
            b.add_root_certificate(cert)
        })
        .tls_built_in_root_certs(true)
        // Never elsewhere than the target named.
        .redirect(reqwest::redirect::Policy::none())
}

/// Why the target did not answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreached {
    /// The TLS certificate did not verify: rustls's kind of failure
    /// (`UnknownIssuer`, `Expired`, …).
    Certificate(String),
    /// Anything else (refused, timed out, no such host), as [`describe`] says it.
    Other(String),
}

impl HttpTransport {
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        Self::with_timeout(base_url, DEFAULT_TIMEOUT)
    }

    /// A transport whose exchanges give up after `timeout` (the canary's
    /// probes wait less than a suite does).
    pub fn with_timeout(base_url: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        Self::with_roots(base_url, timeout, &ExtraRoots::default())
    }

    /// [`HttpTransport::new`] that also trusts `roots` (`--cacert`).
    pub fn trusting(base_url: &str, roots: &ExtraRoots) -> Result<Self, reqwest::Error> {
        Self::with_roots(base_url, DEFAULT_TIMEOUT, roots)
    }

    /// [`HttpTransport::with_timeout`] that also trusts `roots` (`--cacert`).
    pub fn with_roots(
        base_url: &str,
        timeout: Duration,
        roots: &ExtraRoots,
    ) -> Result<Self, reqwest::Error> {
        let client = client_builder(roots)
            .timeout(timeout)
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET /health`: any HTTP answer means the target is reached; a
    /// certificate that does not verify is told apart from no answer.
    pub async fn reach(&self) -> Result<(), Unreached> {
        let url = format!("{}/health", self.base_url);
        match self.client.get(url).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(match certificate_error(&e) {
                Some(kind) => Unreached::Certificate(kind),
                None => Unreached::Other(describe(e)),
            }),
        }
    }

    async fn exchange(&self, req: &ApiRequest) -> Result<ApiResponse, ExchangeError> {
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
                        part = part.mime_str(ct).map_err(ExchangeError::PartType)?;
                    }
                    form = form.part(p.name.clone(), part);
                }
                b.multipart(form)
            }
        };
        let resp = b.send().await.map_err(ExchangeError::Http)?;
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
        let mut body = resp.bytes().await.map_err(ExchangeError::Http)?;
        body.truncate(MAX_BODY);
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }
}

/// Why an exchange got no response.
#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error("bad part content type: {0}")]
    PartType(#[source] reqwest::Error),
    #[error("{}", root_cause(.0))]
    Http(#[source] reqwest::Error),
}

/// The root cause only (e.g. "Connection refused (os error 111)"): reqwest's
/// chain repeats the URL and wrapper layers, which read badly in one sentence.
pub fn describe(e: reqwest::Error) -> String {
    root_cause(&e)
}

/// [`describe`] of a borrowed error (what error types' messages show).
pub fn root_cause(e: &reqwest::Error) -> String {
    let mut last = e.to_string();
    let mut src = std::error::Error::source(e);
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

/// rustls's certificate failure somewhere in `e`'s chain, by its kind
/// (`UnknownIssuer`; the variant's name without its details).
fn certificate_error(e: &reqwest::Error) -> Option<String> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(mut err) = src {
        // An io::Error hides the error it wraps from `source()` (and wraps
        // another io::Error in turn): look inside it directly.
        while let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            err = inner;
        }
        if let Some(rustls::Error::InvalidCertificate(kind)) = err.downcast_ref() {
            let kind = format!("{kind:?}");
            let name = kind.split(['(', ' ', '{']).next().unwrap_or(&kind);
            return Some(name.to_owned());
        }
        src = err.source();
    }
    None
}

impl Transport for HttpTransport {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Exchange> {
        Box::pin(async move {
            let started = Instant::now();
            // The suites record why there was no response as text.
            let response = self.exchange(&request).await.map_err(|e| e.to_string());
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
